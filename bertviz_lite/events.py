"""What the app's events compute, from a ViewState to values by name; no Gradio here.

Models load once per process; analyses are kept in a small cache bounded by bytes, so that moving
a slider or opening a tab draws from memory instead of running the model again. Only the open
view is drawn. Bad input never raises anything but UserError, whose message is shown as text.
`timing_hook`, when set (by the benchmark), receives each step's name and seconds.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import numpy as np

from . import catalog, corpora
from .analysis import Analysis
from .config import CheckpointError
from .context import Memo, ViewContext
from .defaults import DEFAULT_MODEL, DEFAULT_VARIANT, PAGE_VARIANTS
from .downloads import export_files
from .model import LoadedModel, load
from .views import NAMED, VIEWS, UserError, ViewState
from .views.base import Shape
from .views.prediction import prediction_values

MAX_CHARS = 100_000  # of text kept before tokenizing; the model's 512 tokens come far earlier
MAX_NAME = 60  # characters of a bad name quoted back in a message

timing_hook: Callable[[str, float], None] | None = None

__all__ = ["MAX_CHARS", "UserError", "analysis", "analyze", "clean", "model", "render", "shape"]


@contextmanager
def timed(step: str) -> Iterator[None]:
    if timing_hook is None:
        yield
        return
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timing_hook(step, time.perf_counter() - t0)


_load_lock = threading.Lock()


def model(name: Any, variant: str = DEFAULT_VARIANT) -> LoadedModel:
    """A catalog model, loaded once; anything else is refused with the list of names."""
    if not isinstance(name, str) or name not in catalog.entries():
        shown = repr(name if isinstance(name, str) else type(name).__name__)[:MAX_NAME]
        raise UserError(f"Unknown model {shown}: choose one of {', '.join(catalog.names())}.")
    if variant not in PAGE_VARIANTS:
        shown = repr(variant if isinstance(variant, str) else type(variant).__name__)[:MAX_NAME]
        raise UserError(f"Unknown variant {shown}: choose one of {', '.join(PAGE_VARIANTS)}.")
    return _load(name, variant)


@cache
def _load(name: str, variant: str) -> LoadedModel:
    with _load_lock:  # two first requests for one model must not export it twice
        try:
            return load(name, variant=variant, progress=False)
        except CheckpointError as e:
            raise UserError(str(e)) from None


def drift_note(name: str, variant: str) -> str:
    """What the page says when attention is not the model's own: measured, not guessed."""
    if variant == DEFAULT_VARIANT:
        return ""
    measured = catalog.drift().get(name, {}).get(variant)
    if not measured:
        return f"{PAGE_VARIANTS[variant]}: attention differs from the exact values (not yet measured)."
    return (f"{PAGE_VARIANTS[variant]}: attention probabilities differ from the exact (fp32) ones by up "
            f"to {measured['max']:.2f} (mean {measured['mean']:.4f}; {measured['heads_over_pct']:.0f}% "
            f"of heads move by more than 0.05), measured on {measured['texts']} real texts. "
            "Pick Exact for figures.")  # fmt: skip


def shape(name: Any) -> Shape:
    """Layers, heads, labels and task of a catalog model; the default model's for an unknown name."""
    known = isinstance(name, str) and name in catalog.entries()
    name = name if known else catalog.names()[0]
    c = (m := model(name)).config
    return Shape(c.num_hidden_layers, c.num_attention_heads, tuple(m.labels or ()), m.task, name)


def _as_text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UserError(f"The {what} must be text, not {type(value).__name__}.")
    # A lone surrogate (from JSON "\ud800") cannot be encoded: replace it, as a browser would.
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def clean(text: Any, pair: Any) -> tuple[str, str | None, list[str]]:
    """The text and pair as the model will see them, with notes on what was changed."""
    notes = []
    text, pair = _as_text(text, "text"), _as_text(pair, "second sentence")
    if not text.strip():
        raise UserError("Type a text to analyze (it is empty).")
    for name, value in (("text", text), ("second sentence", pair)):
        if len(value) > MAX_CHARS:
            notes.append(f"The {name} was cut to its first {MAX_CHARS:,} characters.")
    return text[:MAX_CHARS], pair[:MAX_CHARS].strip() or None, notes


CACHE = Memo(max_bytes=int(os.environ.get("BERTVIZ_LITE_CACHE_MB", "256")) * 2**20)


def analysis(
    name: str,
    text: str,
    pair: str | None,
    head_mask: np.ndarray | None = None,
    variant: str = DEFAULT_VARIANT,
) -> Analysis:
    """The analysis of these (cleaned) inputs, from the cache when a view was just drawn from it."""
    m = model(name, variant)
    off = () if head_mask is None else tuple(np.flatnonzero(np.asarray(head_mask) < 1).tolist())
    # The key is the one ViewContext uses for the same input and heads: views find it there.
    return CACHE.get((m.name, variant, text, pair, off),
                     lambda: m.analyze(text, pair=pair, head_mask=head_mask))  # fmt: skip


def run_inputs(
    name: Any, text: Any, pair: Any, variant: str = DEFAULT_VARIANT
) -> tuple[Analysis, list[str]]:
    """The analysis of the form's raw values, and notes on what cleaning changed."""
    with timed("clean + analysis (model)"):
        text, pair_, notes = clean(text, pair)
        return analysis(name, text, pair_, variant=variant), notes


def notes(r: Analysis, extra: list[str]) -> str:
    """What the person should know about this input, as plain lines (shown as text)."""
    lines = list(extra)
    if r.truncated:
        lines.append(
            f"The input is longer than the model's {len(r.tokens)} positions: showing the first "
            f"{len(r.tokens)} of {r.encoding.original_length} tokens."
        )
    return "\n".join(lines)


def _known_view(name: Any) -> str:
    if name not in VIEWS:
        raise UserError(f"Unknown view {str(name)[:MAX_NAME]!r}: choose one of {', '.join(VIEWS)}.")
    return name


def render(state: ViewState, view: str | None = None, parts: frozenset[str] | None = None,
           r: Analysis | None = None) -> dict:
    """The outputs of one view (the state's open one by default) as {view.output: value}; `r`:
    the state's analysis, when the caller has it (the input is then not cleaned again)."""
    name = _known_view(view or state.view)
    loaded = model(state.model, state.variant)
    if r is None:
        with timed("clean + analysis (model)"):
            text, pair, _ = clean(state.text, state.pair)
            r = analysis(state.model, text, pair, variant=state.variant)
    ctx = ViewContext(r, loaded, CACHE, lambda other: model(other, state.variant),
                      lambda corpus: corpora.open_corpus(corpus, state.model))
    with timed(f"render {name}"):
        values = VIEWS[name].render(ctx, state, parts)
    return {f"{name}.{key}": value for key, value in values.items()}


def analyze(state: ViewState) -> dict[str, Any]:
    """What the Analyze button shows: the prediction, notes, and the open view (unless that view
    waits for its own button: attributions, the head sweep and downloads are not run unasked)."""
    view = VIEWS[_known_view(state.view)]
    r, extra = run_inputs(state.model, state.text, state.pair, state.variant)
    extra = [*extra, drift] if (drift := drift_note(state.model, state.variant)) else extra
    label, entities = prediction_values(r.predictions, r.encoding.text)
    drawn = {}
    if not view.action:
        try:
            drawn = render(state, r=r)
        except UserError as e:  # the view does not apply (fill the mask, a classifier): say why
            extra = [*extra, f"{view.title}: {e}"]
    return {"prediction": label, "entities": entities, "notes": notes(r, extra), **drawn,
            **named_choices(state, r)}  # fmt: skip


def named_choices(state: ViewState, r: Analysis) -> dict[str, dict]:
    """The choices and value of each picker whose choices this analysis names (Control.names:
    "entity 1" is "Paris (LOC)"), the picked one kept where it still applies (else the first)."""
    out = {}
    for c in NAMED:
        named = c.names(r)
        if named is None:
            continue
        picked = state.settings.get(c.name)
        value = picked if picked in [v for _, v in named] else named[0][1]
        out[c.name] = {"choices": named, "value": value}
    return out


def tensors(r: Analysis, layers: list[int] | None = None) -> dict[str, np.ndarray]:
    """The analysis's tensors, attention only for `layers` (1-based; None: every layer)."""
    total = r.attentions.shape[0]
    picked = list(range(total)) if layers is None else sorted({int(i) - 1 for i in layers})
    if any(not 0 <= i < total for i in picked):
        raise UserError(f"layers must lie between 1 and {total}.")
    return {"attentions": r.attentions[picked], "hidden_states": r.hidden_states,
            "layers": np.array([i + 1 for i in picked])}  # fmt: skip


# The API (gradio_client): plain values in, JSON (and a file) out.
def predict_api(text: str, pair: str = "", model: str = DEFAULT_MODEL) -> dict:
    """Predictions of a model for a text (and optional second sentence)."""
    r, notes = run_inputs(model, text, pair)
    return {"model": model, "tokens": r.tokens, "truncated": r.truncated,
            "notes": notes, "predictions": r.predictions}  # fmt: skip


def analyze_api(text: str, pair: str = "", model: str = DEFAULT_MODEL) -> tuple[dict, str]:
    """Tokens and predictions as JSON, and every layer's attention and token vectors (float16)
    in an NPZ file: np.load(path)["attentions"] is [layers, heads, T, T]."""
    r, notes = run_inputs(model, text, pair)
    key = "\x1f".join((model, DEFAULT_VARIANT, r.encoding.text, r.encoding.pair or ""))
    npz, _ = export_files(r, key)
    return {"model": model, "notes": notes, **r.summary()}, npz

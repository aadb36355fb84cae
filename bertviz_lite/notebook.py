"""The app's views inline in Jupyter, offline (nothing from a CDN), and bertviz's calls.

    r = bv.load("minilm").analyze("The cat sat on the mat.")
    r.show("head", layer=2, head=5)           # the app's figure for this view and settings
    bv.head_view(attention, tokens)           # what bertviz's head_view takes: the tuple of
    bv.model_view(attention, tokens)          # per-layer tensors transformers returns

plotly.js (4.8 MB) is sent once per Python process: the first figure displayed carries it inline,
later ones use the page's `window.Plotly`. A figure whose library is gone (its output cleared, a
notebook reopened without it) says so in its place; display `plotly_library()` to bring it back.
A Shown's HTML is fixed when first displayed, so displaying it again shows the same thing.
`shown.data` and `shown.standalone()` (a whole page, for a file) are self-contained: plotly.js
included when there is a figure. Images are data URLs.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import notebook_html as page
from .analysis import Analysis
from .context import Memo, ViewContext
from .tokenizer import Encoding
from .urlstate import default_state
from .views import VIEWS, UserError
from .views.base import Output, Shape

# Tokens that are no word of the text, in the families' spellings.
SPECIAL = {"[CLS]", "[SEP]", "[PAD]", "<s>", "</s>", "<pad>", "<cls>", "<sep>"}


class Shown:
    """HTML that Jupyter displays (`_repr_html_`): plotly.js in it only if this is the first
    figure displayed in the process. `.data` (as in bertviz) holds a self-contained copy."""

    def __init__(self, body: str, plots: bool = False, library: bool = False):
        self.body, self.plots, self.library = body, plots, library
        self._displayed: str | None = None

    def _repr_html_(self) -> str:
        if self._displayed is None:
            library = page.library_once() if self.plots or self.library else ""
            self._displayed = (page.library_html() if self.library else library) + self.body
        return self._displayed

    @property
    def data(self) -> str:
        """The HTML with plotly.js inline where it has a figure: works wherever it is put."""
        return (page.library_html() if self.plots or self.library else "") + self.body

    def standalone(self, title: str = "bertviz_lite") -> str:
        """A whole HTML page of this output, self-contained and offline: write it to a file."""
        return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}"
                f"</title></head><body>{self.data}</body></html>")  # fmt: skip


def plotly_library() -> Shown:
    """plotly.js alone: display it where the output that carried it was cleared, and the
    figures waiting for it draw."""
    return Shown("", library=True)


def _html(value: Any, output: Output | None, caption: str = "") -> str:
    kind = output.kind if output is not None else ""
    if value is None or (isinstance(value, str) and not value):
        return ""
    heading = ""
    if kind in ("label", "entities", "text") and output.label:  # which is which (before/after)
        heading = f'<div style="font-weight:600;margin:6px 0 2px">{html.escape(output.label)}</div>'
    return heading + _body(value, output, kind, caption)


def _body(value: Any, output: Output | None, kind: str, caption: str) -> str:
    if hasattr(value, "to_json"):
        return page.figure_html(value)
    if isinstance(value, np.ndarray):
        return page.image_html(value, output.label if output else "", caption)
    if kind in ("entities", "words") or (isinstance(value, dict) and "entities" in value):
        return page.highlighted_html(value)
    if kind == "html" or (isinstance(value, str) and value.lstrip().startswith("<iframe")):
        return value  # the views' own HTML (user text escaped), as the app's gr.HTML shows it
    if isinstance(value, dict):  # label → probability
        return page.label_table(value)
    return f"<pre>{html.escape(str(value))}</pre>"


def _caption(view: str, shape: tuple[int, ...]) -> str:
    if view != "overview":
        return ""
    layers, heads = shape[0], shape[1]
    return (f"Every head: rows are layers L1–L{layers} (L1 at the top), columns heads "
            f"H1–H{heads} (H1 at the left), numbered in the margins; each tile is one head's map, "
            "rows attending to columns; darker is stronger (√weight, colour bar below).")  # fmt: skip


# What a notebook's views run again (heads off, attributions, another model) is kept here, as
# the app keeps it: drawing a view twice repeats no forward pass.
MEMO = Memo(max_bytes=256 * 2**20)


def show(r: Analysis, view: str = "head", model: Any = None, corpus: Any = None,
         **settings: Any) -> Shown:  # fmt: skip
    """One view of an analysis as in the app. Views that run the model again (heads off,
    Explain, the head sweep, another model) run `model`, by default the one that made `r`; the
    corpus views draw from `corpus` (a bv.corpus.Corpus; `corpus.show(view)` passes itself)."""
    if view not in VIEWS:
        raise UserError(f"Unknown view {view!r}: choose one of {', '.join(VIEWS)}.")
    loaded = model or r.model
    shape = r.attentions.shape[:2]
    if loaded is not None:
        shape = Shape(*shape, tuple(loaded.labels or ()), loaded.task, loaded.name)
    state = default_state(shape, view=view, **({"model": loaded.name} if loaded else {}))
    ctx = ViewContext(r, loaded, MEMO, lambda name: _load(name, loaded),
                      None if corpus is None else lambda name: corpus)
    values = VIEWS[view].render(ctx, state.replace(**settings))
    outputs = {o.name: o for o in VIEWS[view].outputs}
    caption = _caption(view, r.attentions.shape)
    body = "".join(_html(v, outputs.get(k), caption) for k, v in values.items())
    return Shown(body, plots=any(hasattr(v, "to_json") for v in values.values()))


def _load(name: str, like: Any) -> Any:
    from .model import load

    return load(name, variant=like.variant if like is not None else "auto", progress=False)


def from_attention(
    attention: Sequence[Any], tokens: Sequence[str], sentence_b_start: int | None = None,
    prettify_tokens: bool = True,
) -> Analysis:  # fmt: skip
    """An Analysis of bertviz's inputs: per-layer attention [batch, heads, T, T] (torch or NumPy;
    the first item of the batch) and the tokens."""
    layers = [np.asarray(a.detach().cpu().float() if hasattr(a, "detach") else a, np.float32)
              for a in attention]  # fmt: skip
    att = np.stack([a[0] if a.ndim == 4 else a for a in layers])
    tokens = list(tokens)
    if att.shape[-1] != len(tokens):
        raise ValueError(f"{len(tokens)} tokens for attention over {att.shape[-1]} positions")
    if prettify_tokens:  # byte-level BPE and SentencePiece word starts, shown as words
        tokens = [t.replace("Ġ", " ").replace("▁", " ").strip() or t for t in tokens]
    b = len(tokens) if sentence_b_start is None else sentence_b_start
    special = [t in SPECIAL for t in tokens]
    sequence = [None if s else int(i >= b) for i, s in enumerate(special)]
    words, word = [], -1
    for t, s in zip(tokens, special):
        if not s and not t.startswith("##"):
            word += 1
        words.append(None if s else max(word, 0))
    enc = Encoding(text=" ".join(tokens), pair=None, tokens=tokens, ids=[0] * len(tokens),
                   type_ids=[int(i >= b) for i in range(len(tokens))],
                   offsets=[(0, 0)] * len(tokens), sequence_ids=sequence, word_ids=words,
                   original_length=len(tokens))  # fmt: skip
    hidden = np.zeros((att.shape[0] + 1, len(tokens), 1), np.float32)
    return Analysis(tokens=tokens, word_ids=words, attentions=att, hidden_states=hidden,
                    predictions=None, truncated=False, encoding=enc)  # fmt: skip


def head_view(
    attention: Sequence[Any], tokens: Sequence[str], sentence_b_start: int | None = None,
    prettify_tokens: bool = True, layer: int | None = None, heads: Sequence[int] | None = None,
    html_action: str = "view", **ignored: Any,
) -> Shown | None:  # fmt: skip
    """bertviz's head_view call: token links with a layer picker ("Layer 1"…), `layer` (0-based,
    as bertviz counts) picked first, else layer 1; one head when `heads` names one, else the
    layer's head average."""
    r = from_attention(attention, tokens, sentence_b_start, prettify_tokens)
    one = heads is not None and len(heads) == 1
    settings = dict(style="links", head=(heads[0] + 1) if one else 1,
                    source="head" if one else "layer average")  # fmt: skip
    drawings = [show(r, "head", layer=i + 1, **settings).body for i in range(r.attentions.shape[0])]
    picked = min(max(layer or 0, 0), len(drawings) - 1)
    return _act(Shown(page.layer_picker(drawings, picked)), html_action)


def model_view(
    attention: Sequence[Any], tokens: Sequence[str], sentence_b_start: int | None = None,
    prettify_tokens: bool = True, html_action: str = "view", **ignored: Any,
) -> Shown | None:  # fmt: skip
    """bertviz's model_view call: every layer × head at a glance, layers and heads labelled."""
    r = from_attention(attention, tokens, sentence_b_start, prettify_tokens)
    return _act(show(r, "overview"), html_action)


def _act(shown: Shown, html_action: str) -> Shown | None:
    if html_action == "return":
        return shown
    try:
        from IPython.display import display
    except ImportError:  # not in a notebook: hand it back
        return shown
    display(shown)
    return None

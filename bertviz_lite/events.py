"""What each event of the app computes: from the form's values to every view's payload.

Kept apart from ui.py (layout and wiring) so it can be tested without a browser. Models load once
per process; analyses are kept in a small LRU keyed by their inputs, so moving a slider redraws
from memory instead of running the model again. Bad input never raises anything but UserError,
whose message is shown to the person as it is.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from functools import cache
from pathlib import Path

import numpy as np

from . import catalog
from .analysis import Analysis
from .config import CheckpointError
from .model import LoadedModel, load
from .predictions import ablation_delta
from .views.embeddings import projection_figure, similarity_figure
from .views.head import heatmap
from .views.links import links_html
from .views.overview import head_at, overview_image
from .views.selection import Selection, select

MAX_CHARS = 100_000  # of text kept before tokenizing; the model's 512 tokens come far earlier


class UserError(ValueError):
    """Something the person can fix; the message says what."""


_load_lock = threading.Lock()


@cache
def model(name: str) -> LoadedModel:
    if name not in catalog.entries():
        raise UserError(f"Unknown model {name[:60]!r}: choose one of {', '.join(catalog.names())}.")
    with _load_lock:  # two first requests for one model must not export it twice
        try:
            return load(name, progress=False)
        except CheckpointError as e:
            raise UserError(str(e)) from None


def shape(name: str) -> tuple[int, int]:
    """(layers, heads) of a catalog model; the default model's for an unknown name."""
    c = model(name if name in catalog.entries() else catalog.names()[0]).config
    return c.num_hidden_layers, c.num_attention_heads


def clean(text: str, pair: str) -> tuple[str, str | None, list[str]]:
    """The text and pair as the model will see them, with notes on what was changed."""
    notes = []
    text, pair = (text or "").replace("\x00", ""), (pair or "").replace("\x00", "")
    if not text.strip():
        raise UserError("Type a text to analyze (it is empty).")
    for name, value in (("text", text), ("second sentence", pair)):
        if len(value) > MAX_CHARS:
            notes.append(f"The {name} was cut to its first {MAX_CHARS:,} characters.")
    return text[:MAX_CHARS], pair[:MAX_CHARS].strip() or None, notes


def heads_off_mask(name: str, heads_off: tuple[str, ...]) -> np.ndarray | None:
    """A head mask from labels like "L2H5" (1-based); None when no head is off."""
    if not heads_off:
        return None
    layers, heads = shape(name)
    mask = np.ones((layers, heads), np.float32)
    for label in heads_off:
        try:
            layer, head = (int(x) for x in label.upper().removeprefix("L").split("H"))
            mask[layer - 1, head - 1] = 0
        except (ValueError, IndexError):
            raise UserError(f"{label[:20]!r} is not a head (write it like L2H5).") from None
    return mask


class AnalysisCache:
    """Recent analyses, bounded by bytes rather than count: one 512-token analysis of MiniLM
    holds 75 MB of attention, forty short ones less than one such."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.items: OrderedDict[tuple, Analysis] = OrderedDict()
        self.lock = threading.Lock()

    @staticmethod
    def size(r: Analysis) -> int:
        return r.attentions.nbytes + r.hidden_states.nbytes

    def get(self, key: tuple, compute) -> Analysis:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        r = compute()  # outside the lock: other requests need not wait for this one
        with self.lock:
            self.items[key] = r
            while len(self.items) > 1 and sum(map(self.size, self.items.values())) > self.max_bytes:
                self.items.popitem(last=False)
        return r


CACHE = AnalysisCache(max_bytes=int(os.environ.get("BERTVIZ_LITE_CACHE_MB", "256")) * 2**20)


def analysis(name: str, text: str, pair: str | None, heads_off: tuple[str, ...] = ()) -> Analysis:
    """The analysis of these inputs, from the cache when a view was just drawn from it."""
    mask = heads_off_mask(name, heads_off)
    return CACHE.get((name, text, pair, heads_off),
                     lambda: model(name).analyze(text, pair=pair, head_mask=mask))  # fmt: skip


def run_inputs(name: str, text: str, pair: str) -> tuple[Analysis, list[str]]:
    """The analysis of the form's raw values, and notes on what cleaning changed."""
    text, pair_, notes = clean(text, pair)
    return analysis(name, text, pair_), notes


def notes(r: Analysis, extra: list[str]) -> str:
    lines = list(extra)
    if r.truncated:
        lines.append(
            f"The input is longer than the model's {len(r.tokens)} positions: showing the first "
            f"{len(r.tokens)} of {r.encoding.original_length} tokens."
        )
    return "\n".join(f"- {line}" for line in lines)


def prediction_outputs(predictions: dict | None, text: str) -> tuple[dict | None, dict | None]:
    """(class probabilities for gr.Label, entities for gr.HighlightedText) of one prediction."""
    p = predictions or {}
    if p.get("task") == "classification":
        return p["probabilities"], None
    if p.get("task") == "ner":
        spans = [e for e in p["entities"] if e["sequence"] == 0]
        return None, {
            "text": text,
            "entities": [
                {"entity": e["label"], "start": e["start"], "end": e["end"]} for e in spans
            ],
        }
    return None, None


def head_view(r: Analysis, sel: Selection, style: str):
    """(heatmap figure, None) or (None, link-view HTML): only the chosen style is sent."""
    m = select(r, sel)
    if style == "links":
        return None, links_html(m, sel.title())
    return heatmap(m, sel.title()), None


def overview(r: Analysis) -> np.ndarray:
    return overview_image(r.attentions)


def overview_click(r: Analysis, x: int, y: int) -> tuple[int, int] | None:
    """The 1-based (layer, head) under a click on the overview image."""
    layers, heads = r.attentions.shape[:2]
    hit = head_at(x, y, len(r.tokens), layers, heads)
    return None if hit is None else (hit[0] + 1, hit[1] + 1)


def embeddings(r: Analysis, layer: int):
    """(projection figure with a layer slider, similarity map at `layer`; 0 = embeddings)."""
    return projection_figure(r, _hidden_layer(r, layer)), similarity(r, layer)


def similarity(r: Analysis, layer: int):
    """The cosine-similarity map at `layer` alone: its slider need not rebuild the projection."""
    return similarity_figure(r, _hidden_layer(r, layer))


def _hidden_layer(r: Analysis, layer: int) -> int:
    return min(max(int(layer), 0), r.hidden_states.shape[0] - 1)


def ablate(name: str, text: str, pair: str | None, heads_off: tuple[str, ...]) -> dict:
    """Predictions with every head on and with `heads_off` switched off, and what changed."""
    before = analysis(name, text, pair)
    if before.predictions is None:
        raise UserError("The base encoder has no prediction to compare: pick a task model.")
    after = analysis(name, text, pair, tuple(sorted(set(heads_off))))
    return {"before": before.predictions, "after": after.predictions,
            "delta": ablation_delta(before.predictions, after.predictions)}  # fmt: skip


def packed(array: np.ndarray) -> dict:
    """An array as JSON: base64 of float16 bytes with its shape (3× smaller than a float list)."""
    a = np.ascontiguousarray(array, np.float16)
    return {
        "dtype": "float16",
        "shape": list(a.shape),
        "data": base64.b64encode(a.tobytes()).decode(),
    }


def tensors_json(r: Analysis) -> dict:
    """Everything about one analysis, JSON-ready, tensors packed."""
    return {
        **r.summary(),
        "attentions": packed(r.attentions),
        "hidden_states": packed(r.hidden_states),
    }


EXPORTS = Path(tempfile.gettempdir()) / "bertviz-lite-exports"
EXPORT_MAX_AGE_S = 900


def export_files(r: Analysis) -> tuple[str, str]:
    """(NPZ with the tensors, JSON with everything) in a fresh folder; old folders are pruned."""
    EXPORTS.mkdir(exist_ok=True)
    now = time.time()
    for old in EXPORTS.iterdir():
        if now - old.stat().st_mtime > EXPORT_MAX_AGE_S:
            shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(dir=EXPORTS))
    npz = folder / "analysis.npz"
    np.savez_compressed(
        npz, attentions=r.attentions.astype(np.float16), hidden_states=r.hidden_states.astype(np.float16),
        tokens=np.array(r.tokens), segment_ids=np.array(r.encoding.type_ids),
    )  # fmt: skip
    js = folder / "analysis.json"
    js.write_text(json.dumps(tensors_json(r)))
    return str(npz), str(js)

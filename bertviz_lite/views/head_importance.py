"""Which heads matter for this prediction (Michel et al. 2019): each head switched off alone, all
of them in a few batched runs, scored by how much the prediction drops.

A layers × heads grid coloured by importance (click a head to open it), and the ranking put to
the test: the prediction with the top k heads off beside the one with the bottom k off.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import budget
from ..analysis import Analysis
from ..attribution import resolve_target
from ..context import ViewContext
from .base import Control, Output, View, ViewState
from .explain import chosen_target, named_targets, targets
from .overview import GAP, grid_cell, labelled

CELL = 36  # pixels a side per head
# Blue (the prediction rose with the head off) through white (no change) to red (it dropped).
_ANCHORS = np.array([[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130],
                     [178, 24, 43]])  # fmt: skip
DIVERGING = np.stack([np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_ANCHORS)),
                                _ANCHORS[:, c]) for c in range(3)], axis=1).astype(np.uint8)  # fmt: skip
NICE = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
FLOOR = 0.05  # the scale never ends below this: a drop of 0.003 stays near white


def scale_end(importance: np.ndarray) -> float:
    """The colour scale's end: the largest change rounded up to a round number, at least FLOOR,
    the same either side of zero (so a colour means the same size of change everywhere)."""
    top = float(np.abs(importance).max()) if importance.size else 0.0
    return next((n for n in NICE if n >= max(top, FLOOR)), NICE[-1])


def importance_image(importance: np.ndarray) -> np.ndarray:
    """uint8 RGB of the layers × heads grid with its layer and head numbers and a colour bar:
    red where switching the head off lowers the prediction, blue where it raises it, on a
    symmetric scale whose range the bar states."""
    end = scale_end(importance)
    levels = np.round((np.clip(importance / end, -1, 1) + 1) / 2 * 255).astype(np.uint8)
    cells = np.broadcast_to(levels[:, :, None, None], (*levels.shape, CELL, CELL))
    L, H = levels.shape
    grid = np.full((L * (CELL + GAP) - GAP, H * (CELL + GAP) - GAP, 3), 255, np.uint8)
    for layer in range(L):
        for head in range(H):
            y, x = layer * (CELL + GAP), head * (CELL + GAP)
            grid[y : y + CELL, x : x + CELL] = DIVERGING[cells[layer, head]]
    ticks = [(0, f"-{end:g}"), (0.5, "0"), (1, f"+{end:g}")]
    return labelled(grid, CELL, DIVERGING, ticks, "drop with the head off")


def cell_at(x: int, y: int, layers: int, heads: int) -> tuple[int, int] | None:
    return grid_cell(x, y, CELL, layers, heads)


def _names(flat: np.ndarray, heads: int) -> str:
    return ", ".join(f"L{i // heads + 1}H{i % heads + 1}" for i in flat)


class HeadImportanceView(View):
    name = "heads"
    title = "Which heads matter"
    intro = ("Each head switched off alone: how much the prediction drops (red: it drops, blue: "
             "it rises; the colour bar gives the range). Rows are layers, columns heads. Click "
             "a head to open it. Below, the ranking put to the test.")  # fmt: skip
    controls = (
        Control("heads_target", "For", "radio", lambda shape: targets(shape)[0], choices=targets,
                redraws=(), names=named_targets),
        Control("heads_k", "Switch off the top / bottom k", "slider", 3, low=1, high=12,
                redraws=()),
    )  # fmt: skip
    outputs = (
        Output("grid", "image", "Importance of each head (layers × heads)", options={"elem_id": "heads-grid", "show_label": False}),
        Output("test", "text", "Top k off against bottom k off", options={
            "elem_id": "heads-test", "placeholder": "Rank the heads: the top k and the bottom k "
            "are then switched off together and compared."}),
    )  # fmt: skip
    action = "Rank the heads"
    clickable = "grid"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        model = ctx.model
        target = chosen_target(state.heads_target)
        importance = ctx.head_importance(target, progress=lambda done, total: budget.check(
            done, total, "Each head switched off"))
        layers, heads = importance.shape
        k = min(int(state.heads_k), layers * heads // 2)
        order = np.argsort(importance, axis=None)
        lines = []
        if model.task in ("classification", "ner"):
            goal = resolve_target(model, r, target)
            before = goal.value(r.logits)
            for name, flat in (("top", order[::-1][:k]), ("bottom", order[:k])):
                mask = np.ones((layers, heads), np.float32)
                mask.flat[flat] = 0
                after = goal.value(ctx.with_heads_off(mask).logits)
                lines.append(f"{name} {k} off ({_names(flat, heads)}): p({goal.label}) "
                             f"{before:.3f} → {after:.3f}")  # fmt: skip
        else:
            lines.append(f"Most important: {_names(order[::-1][:k], heads)} (how far the last "
                         "layer's mean token vector turns, 1 − cosine).")  # fmt: skip
        return {"grid": importance_image(importance), "test": "\n".join(lines)}

    def select(self, r: Analysis, state: ViewState, index: Any) -> dict[str, Any]:
        layers, heads = r.attentions.shape[:2]
        hit = cell_at(index[0], index[1], layers, heads)
        return {} if hit is None else {"layer": hit[0] + 1, "head": hit[1] + 1, "view": "head"}

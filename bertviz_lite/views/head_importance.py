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
from .explain import chosen_target, targets
from .overview import GAP, tiled

CELL = 36  # pixels a side per head


def importance_image(importance: np.ndarray) -> np.ndarray:
    """uint8 RGB [layers·(cell+gap), heads·(cell+gap), 3]: darker is more important."""
    top = float(np.abs(importance).max()) or 1.0
    levels = np.round(np.clip(importance / top, 0, 1) * 255).astype(np.uint8)
    return tiled(np.broadcast_to(levels[:, :, None, None], (*levels.shape, CELL, CELL)))


def cell_at(x: int, y: int, layers: int, heads: int) -> tuple[int, int] | None:
    step = CELL + GAP
    layer, head = int(y) // step, int(x) // step
    if not (0 <= layer < layers and 0 <= head < heads) or y % step >= CELL or x % step >= CELL:
        return None
    return layer, head


def _names(flat: np.ndarray, heads: int) -> str:
    return ", ".join(f"L{i // heads + 1}H{i % heads + 1}" for i in flat)


class HeadImportanceView(View):
    name = "heads"
    title = "Which heads matter"
    intro = ("Each head switched off alone: how much the prediction drops (darker: more). Click "
             "a head to open it. Below, the ranking put to the test.")  # fmt: skip
    controls = (
        Control("heads_target", "For", "radio", lambda shape: targets(shape)[0], choices=targets,
                redraws=()),
        Control("heads_k", "Switch off the top / bottom k", "slider", 3, low=1, high=12,
                redraws=()),
    )  # fmt: skip
    outputs = (
        Output("grid", "image", "Importance of each head", options={"elem_id": "heads-grid"}),
        Output("test", "text", "Top k off against bottom k off", options={"elem_id": "heads-test"}),
    )  # fmt: skip
    action = "Rank the heads"
    clickable = "grid"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        model = ctx.model
        target = chosen_target(state.heads_target)
        importance = ctx.head_importance(target, progress=lambda done, total: budget.check())
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

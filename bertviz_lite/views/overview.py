"""Every layer × head at a glance: one tiled image, not 72 plots.

Each head's map is max-pooled to at most TILE pixels a side (strong links stay visible when a long
input is shrunk), coloured through one lookup table, and laid out layers × heads with thin gaps.
The page receives one compressed image; a click on it maps back to (layer, head).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis import Analysis
from ..context import ViewContext
from ..downloads import export_image
from .base import Control, Output, View, ViewState
from .selection import WEIGHTINGS, weighted_attention

TILE = 64  # pixels a side per head: 6×12 heads of MiniLM make a 396×792 image
GAP = 2
# Light to dark blue; weights are shown as sqrt(w) so that weak but structured heads still show.
_ANCHORS = np.array(
    [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]]
)
LUT = np.stack(
    [
        np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_ANCHORS)), _ANCHORS[:, c])
        for c in range(3)
    ],
    axis=1,
).astype(np.uint8)


def pooled(maps: np.ndarray, size: int) -> np.ndarray:
    """[..., T, T] → [..., n, n] with n = min(T, size), each pixel the max of its block."""
    T = maps.shape[-1]
    if size >= T:
        return maps
    edges = np.linspace(0, T, size + 1).round().astype(int)
    rows = np.maximum.reduceat(maps, edges[:-1], axis=-2)
    return np.maximum.reduceat(rows, edges[:-1], axis=-1)


def tile_pixels(T: int) -> int:
    """Side of one tile: small inputs are scaled up so that a tile is never tiny."""
    n = min(T, TILE)
    return n * max(1, TILE // n)


def overview_image(attentions: np.ndarray, tile: int = TILE) -> np.ndarray:
    """uint8 RGB image [layers·(tile+gap), heads·(tile+gap), 3] of every head's attention;
    `tile` ≥ T keeps one pixel per weight (the full-resolution download)."""
    maps = pooled(attentions, tile)
    scale = max(1, tile // maps.shape[-1])
    maps = np.repeat(np.repeat(maps, scale, axis=-2), scale, axis=-1)
    return tiled(np.round(np.sqrt(np.clip(maps, 0, 1)) * 255).astype(np.uint8))


def tiled(levels: np.ndarray) -> np.ndarray:
    """uint8 levels [layers, heads, side, side] → one RGB image of tiles through LUT, GAP apart."""
    L, H, side = levels.shape[0], levels.shape[1], levels.shape[-1]
    image = np.full((L * (side + GAP) - GAP, H * (side + GAP) - GAP, 3), 255, np.uint8)
    for layer in range(L):
        for head in range(H):
            y, x = layer * (side + GAP), head * (side + GAP)
            image[y : y + side, x : x + side] = LUT[levels[layer, head]]
    return image


def head_at(x: int, y: int, T: int, layers: int, heads: int) -> tuple[int, int] | None:
    """The (layer, head) under pixel (x, y) of the overview image, or None on a gap or outside."""
    step = tile_pixels(T) + GAP
    layer, head = y // step, x // step
    if (
        not (0 <= layer < layers and 0 <= head < heads)
        or y % step >= step - GAP
        or x % step >= step - GAP
    ):
        return None
    return int(layer), int(head)


class OverviewView(View):
    name = "overview"
    title = "All heads"
    intro = "Rows are layers, columns heads; darker is stronger (√weight). Click a head to open it."
    controls = (
        Control("overview_weighting", "Weights", "radio", "raw", choices=WEIGHTINGS),
    )
    outputs = (
        Output("grid", "image", "Every head", options={"elem_id": "overview"}),
        Output("full", "file", "Every head, one pixel per weight (PNG)", row=1,
               on_demand="Full-resolution image"),
    )  # fmt: skip
    clickable = "grid"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        att = weighted_attention(r, state.overview_weighting)
        if parts is not None and "full" in parts:
            image = overview_image(att, tile=max(TILE, len(r.tokens)))
            key = "\x1f".join(("overview", state.model, state.variant, state.overview_weighting,
                                r.encoding.text, r.encoding.pair or ""))  # fmt: skip
            return {"full": export_image(image, key, "every-head.png")}
        return {"grid": overview_image(att)}

    def select(self, r: Analysis, state: ViewState, index: Any) -> dict[str, Any]:
        layers, heads = r.attentions.shape[:2]
        hit = head_at(index[0], index[1], len(r.tokens), layers, heads)
        return {} if hit is None else {"layer": hit[0] + 1, "head": hit[1] + 1, "view": "head"}

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


def overview_legend(image: np.ndarray, side: int) -> np.ndarray:
    """The overview with its layer and head numbers and a colour bar of the weights (√ scale)."""
    weights = (0, 0.1, 0.25, 0.5, 1)
    ticks = [(w, f"{w:g}") for w in weights]
    bar = LUT[np.round(np.sqrt(np.linspace(0, 1, 256)) * 255).astype(int)]
    return labelled(image, side, bar, ticks, "attention weight (colour: its square root)")


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
    """The (layer, head) under pixel (x, y) of the overview image, or None on a gap or outside;
    a click on the labels right of or below the tiles opens the nearest head."""
    return grid_cell(x, y, tile_pixels(T), layers, heads)


def grid_cell(x: int, y: int, side: int, layers: int, heads: int) -> tuple[int, int] | None:
    """The (layer, head) of a `labelled` grid of `side`-pixel tiles under pixel (x, y)."""
    step = side + GAP
    width, height = heads * step - GAP + RIGHT, layers * step - GAP + BELOW
    if not (0 <= x < width and 0 <= y < height):
        return None
    layer, head = min(int(y) // step, layers - 1), min(int(x) // step, heads - 1)
    inside = int(y) < layers * step - GAP and int(x) < heads * step - GAP
    if inside and (y % step >= side or x % step >= side):
        return None
    return layer, head


RIGHT, BELOW = 40, 58  # the margins `labelled` adds: layer numbers; head numbers and colour bar
INK = (60, 60, 60)


def font(size: int = 13) -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def labelled(grid: np.ndarray, side: int, bar: np.ndarray, ticks: list[tuple[float, str]],
             caption: str) -> np.ndarray:  # fmt: skip
    """A layers × heads grid of `side`-pixel tiles with its axes written out: layer numbers on
    the right, head numbers below, and under them a colour bar (`bar`: RGB [n, 3] from the low
    end to the high) with `ticks` (position 0–1, text) and a `caption` saying what it shows.
    The tiles stay where they were (pixel (0, 0) is layer 1, head 1's), so clicks map as before."""
    from PIL import Image, ImageDraw

    h, w = grid.shape[:2]
    step = side + GAP
    layers, heads = (h + GAP) // step, (w + GAP) // step
    canvas = Image.new("RGB", (w + RIGHT, h + BELOW), "white")
    canvas.paste(Image.fromarray(grid), (0, 0))
    draw, small = ImageDraw.Draw(canvas), font(12)
    for layer in range(layers):
        draw.text((w + 4, layer * step + side / 2), f"L{layer + 1}", fill=INK, font=small,
                  anchor="lm")  # fmt: skip
    for head in range(heads):
        draw.text((head * step + side / 2, h + 3), f"H{head + 1}", fill=INK, font=small,
                  anchor="mt")  # fmt: skip
    draw.text((w + RIGHT - 2, h + 3), "layer L,\nhead H", fill=INK, font=font(10), anchor="ra")
    length = min(max(w // 2, 160), w)
    x0, y0 = 0, h + 22
    colours = bar[np.linspace(0, len(bar) - 1, length).round().astype(int)]
    strip = np.broadcast_to(colours[None], (10, length, 3)).astype(np.uint8)
    canvas.paste(Image.fromarray(np.ascontiguousarray(strip)), (x0, y0))
    draw.rectangle((x0, y0, x0 + length - 1, y0 + 9), outline=(150, 150, 150))
    for where, text in ticks:
        x = x0 + round(where * (length - 1))
        draw.line((x, y0 + 10, x, y0 + 13), fill=INK)
        anchor = "lt" if where == 0 else "rt" if where == 1 else "mt"
        draw.text((x, y0 + 14), text, fill=INK, font=font(11), anchor=anchor)
    draw.text((x0 + length + 8, y0 + 5), caption, fill=INK, font=font(11), anchor="lm")
    return np.asarray(canvas)


class OverviewView(View):
    name = "overview"
    title = "All heads"
    intro = ("Rows are layers (L1 at the top), columns heads (H1 at the left); each tile is one "
             "head's map, rows attending to columns; darker is stronger (√weight, colour bar "
             "below). Click a head to open it.")  # fmt: skip
    controls = (Control("overview_weighting", "Weights", "radio", "raw", choices=WEIGHTINGS),)
    outputs = (
        Output("grid", "image", "Every head", options={"elem_id": "overview", "show_label": False}),
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
        return {"grid": overview_legend(overview_image(att), tile_pixels(len(r.tokens)))}

    def select(self, r: Analysis, state: ViewState, index: Any) -> dict[str, Any]:
        layers, heads = r.attentions.shape[:2]
        hit = head_at(index[0], index[1], len(r.tokens), layers, heads)
        return {} if hit is None else {"layer": hit[0] + 1, "head": hit[1] + 1, "view": "head"}

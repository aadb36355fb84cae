"""Token vectors: where each token sits per layer (PCA to 2-D), and how alike tokens are.

The projection figure carries every layer as a Plotly frame with a slider, so moving through the
layers happens in the browser without a round trip; axes are fixed across layers so the motion is
real. The similarity map is one layer's token-to-token cosine, sent as int8 percent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis import Analysis, cosine_similarity, project_2d
from ..context import ViewContext
from .base import Control, FigureSpec, Output, View, ViewState
from .heatmap import distinct_labels, heatmap_figure, plain

SEGMENT_COLOURS = {None: "#9e9e9e", 0: "#1f77b4", 1: "#ff7f0e"}


WRITTEN = 40  # tokens up to which each point carries its word; beyond, hover names them
PLACES = ("top center", "bottom center", "middle right", "middle left")


def label_places(xy: np.ndarray) -> list[str]:
    """A place for each point's word, around it, so that close points' words do not pile up:
    each point takes the first place whose spot is farthest from the words already placed
    (in units of the plot's extent)."""
    span = np.ptp(xy, axis=0) + 1e-9
    unit = xy / span
    offsets = {"top center": (0, 0.04), "bottom center": (0, -0.04),
               "middle right": (0.06, 0), "middle left": (-0.06, 0)}  # fmt: skip
    spots: list[np.ndarray] = []
    places = []
    for p in unit:
        best, room = PLACES[0], -1.0
        for place in PLACES:
            spot = p + np.array(offsets[place])
            near = min((float(np.sum(((spot - s) * (1, 2.5)) ** 2)) for s in spots), default=1.0)
            if near > room + 1e-12:
                best, room = place, near
        places.append(best)
        spots.append(p + np.array(offsets[best]))
    return places


def projection_figure(analysis: Analysis, layer: int = 0) -> FigureSpec:
    """Tokens as labelled points, one frame per layer (0 = embeddings), starting at `layer`."""
    points, explained = project_2d(analysis.hidden_states)
    points = np.round(points, 3)
    labels = [plain(t) for t in analysis.tokens]
    colours = [SEGMENT_COLOURS[s] for s in analysis.encoding.sequence_ids]

    written = len(labels) <= WRITTEN

    def trace(i: int) -> dict:
        return dict(
            type="scatter", x=points[i, :, 0], y=points[i, :, 1],
            mode="markers+text" if written else "markers", text=labels,
            textposition=label_places(points[i]) if written else "top center",
            textfont=dict(size=11), marker=dict(color=colours, size=8),
            hovertemplate="%{text}<extra></extra>",
        )  # fmt: skip

    names = ["embeddings"] + [f"layer {i}" for i in range(1, len(points))]
    pad = 0.08 * (points.max(axis=(0, 1)) - points.min(axis=(0, 1)) + 1e-6)
    lo, hi = points.min(axis=(0, 1)) - pad, points.max(axis=(0, 1)) + pad
    animate = dict(mode="immediate", frame=dict(duration=300, redraw=True))
    steps = [dict(method="animate", label=n, args=[[n], animate]) for n in names]
    layout = dict(
        template="none", height=520, margin=dict(l=30, r=10, t=60, b=10), showlegend=False,
        # Two short lines from the left: a phone's 390 px cut a centred one at both ends.
        title=dict(text=f"Token vectors, PCA to 2-D per layer<br>"
                        f"({explained[layer].sum():.0%} of variance at the start"
                        + (")" if written else "; hover a point)"),
                   x=0.01, xanchor="left", font=dict(size=14)),
        xaxis=dict(range=[lo[0], hi[0]], zeroline=False), yaxis=dict(range=[lo[1], hi[1]], zeroline=False),
        sliders=[dict(active=layer, steps=steps, currentvalue=dict(prefix=""), pad=dict(t=30))],
    )  # fmt: skip
    frames = [dict(data=[trace(i)], name=n) for i, n in enumerate(names)]
    # Plain dicts without Plotly's per-value validation (per-point marker colours in 7 frames
    # cost ~50 ms to validate at 128 tokens, ~200 at 512); the keys above are Plotly's own.
    return FigureSpec(data=[trace(layer)], layout=layout, frames=frames)


def similarity_figure(analysis: Analysis, layer: int) -> FigureSpec:
    """Cosine similarity of every token pair at one layer (0 = embeddings)."""
    sim = np.round(cosine_similarity(analysis.hidden_states[layer]) * 100).astype(np.int8)
    labels = distinct_labels(analysis.tokens)
    where = "embeddings" if layer == 0 else f"layer {layer}"
    return heatmap_figure(sim, labels, labels, f"Cosine similarity, {where}", -100,
                          "%{y} ↔ %{x}: %{z}%", "cos %", min(900, 260 + 12 * len(labels)),
                          how="How alike two tokens' vectors are: red alike, blue opposite<br>"
                              "(cosine, −100…100%). Hover for values.")  # fmt: skip


class EmbeddingsView(View):
    name = "embeddings"
    title = "Token vectors"
    intro = ("Every token's vector layer by layer, projected to 2-D by PCA (aligned from layer to "
             "layer; the slider under the plot moves through them), and how alike each pair of "
             "tokens' vectors is at the layer picked (cosine). Points near each other are alike "
             "in the two directions shown, not necessarily alike in meaning.")  # fmt: skip
    controls = (
        Control("vectors_layer", "Similarity at layer (0 = embeddings)", "slider", "layers",
                high="layers", redraws=("similarity",)),
    )  # fmt: skip
    outputs = (
        Output("projection", "plot", "PCA per layer (slider below the plot)",
               options={"elem_id": "projection"}),
        Output("similarity", "plot", "Cosine similarity", options={"elem_id": "similarity"}),
    )  # fmt: skip

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        layer = min(max(int(state.vectors_layer), 0), r.hidden_states.shape[0] - 1)
        out = {}
        if parts is None or "projection" in parts:
            out["projection"] = projection_figure(r, layer)
        if parts is None or "similarity" in parts:
            out["similarity"] = similarity_figure(r, layer)
        return out

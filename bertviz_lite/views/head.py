"""One attention head as a T×T heatmap: rows attend (queries) to columns (keys).

Token labels are HTML-escaped (Plotly renders a subset of HTML in text) and placed on numeric
axes, so repeated tokens keep their own rows instead of merging into one category. Weights are
sent rounded to 3 decimals: more digits only make the page heavier.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from ..explainer import Analysis


def token_labels(analysis: Analysis) -> list[str]:
    return [html.escape(t) for t in analysis.tokens]


def head_heatmap(analysis: Analysis, layer: int, head: int) -> go.Figure:
    """The attention map of one head, with hover values and token labels."""
    weights = np.round(analysis.attentions[layer, head].astype(np.float64), 3)
    labels = token_labels(analysis)
    ticks = list(range(len(labels)))
    fig = go.Figure(
        go.Heatmap(
            z=weights,
            customdata=np.array([[[q, k] for k in labels] for q in labels], dtype=object),
            hovertemplate="%{customdata[0]} → %{customdata[1]}: %{z:.3f}<extra></extra>",
            colorscale="Blues",
            zmin=0,
            zmax=1,
        )
    )
    side = min(900, 260 + 14 * len(labels))
    fig.update_layout(
        title=f"Layer {layer + 1}, head {head + 1}",
        width=side + 80,
        height=side,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(tickvals=ticks, ticktext=labels, side="top", tickangle=-60, title="attends to"),
        yaxis=dict(tickvals=ticks, ticktext=labels, autorange="reversed", title="token"),
    )
    return fig

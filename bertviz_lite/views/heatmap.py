"""One attention matrix as a heatmap: rows (the attending tokens) against columns.

Weights go to the page as uint8 percent in a base64 typed array (Plotly ≥ 2.28 reads it), with a
bare template: 128 tokens weigh ~20 kB instead of the ~300 kB of a float list. Labels are
HTML-escaped (Plotly renders a subset of HTML in text), and repeated tokens are kept apart with
zero-width spaces so that a second "the" gets its own row.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from .selection import Matrix


def plain(text: str) -> str:
    """Text for a Plotly label: its HTML subset escaped, quotes left as they are (Plotly shows
    `&quot;` literally, so escaping them would put entities on screen)."""
    return html.escape(text, quote=False)


def distinct_labels(labels: list[str]) -> list[str]:
    """Escaped labels, repeats made distinct by invisible suffixes (Plotly merges equal ones)."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        n = seen.get(label, 0)
        seen[label] = n + 1
        out.append(plain(label) + "\u200b" * n)
    return out


def heatmap(m: Matrix, title: str, diverging: bool = False) -> go.Figure:
    """The matrix with hover values in percent; `diverging` for differences in [-1, 1]."""
    rows, cols = distinct_labels(m.rows), distinct_labels(m.cols)
    low = -1 if diverging else 0
    percent = np.round(np.clip(m.values, low, 1) * 100).astype(np.int8 if diverging else np.uint8)
    fig = go.Figure(
        go.Heatmap(
            z=percent,
            x=cols,
            y=rows,
            zmin=low * 100,
            zmax=100,
            colorscale="RdBu" if diverging else "Blues",
            reversescale=diverging,
            hovertemplate="%{y} → %{x}: %{z}%<extra></extra>",
            colorbar=dict(title="Δ %" if diverging else "%", thickness=12),
        )
    )
    side = min(820, 240 + 13 * max(len(rows), len(cols)))
    fig.update_layout(
        template="none",
        title=dict(text=plain(title), x=0.01),
        width=side + 90,
        height=side,
        margin=dict(l=10, r=10, t=70, b=10),
        xaxis=dict(side="top", tickangle=-60, type="category", automargin=True),
        yaxis=dict(autorange="reversed", type="category", automargin=True),
    )
    return fig

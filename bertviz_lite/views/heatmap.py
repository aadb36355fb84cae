"""One attention matrix as a heatmap: rows (the attending tokens) against columns.

Weights go to the page as uint8 percent in a base64 typed array (Plotly ≥ 2.28 reads it), with a
bare template: 128 tokens weigh ~20 kB instead of the ~300 kB of a float list. Labels are
HTML-escaped (Plotly renders a subset of HTML in text), and repeated tokens are kept apart with
zero-width spaces so that a second "the" gets its own row.
"""

from __future__ import annotations

import base64
import html

import numpy as np
import plotly.colors

from .base import FigureSpec
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


def typed_array(a: np.ndarray) -> dict[str, str]:
    """A NumPy array as Plotly.js (≥ 2.28) reads it: its bytes in base64, dtype and shape."""
    spec = {"dtype": np.dtype(a.dtype).str[1:], "bdata": base64.b64encode(a.tobytes()).decode()}
    return spec | ({"shape": ", ".join(map(str, a.shape))} if a.ndim > 1 else {})


# Colour scales as plotly.py spells them out: Plotly.js has its own, different scales under the
# same names (its "Blues" runs from dark to light), and a figure built without go.Figure sends
# names as they are.
SCALES = {name: plotly.colors.get_colorscale(name) for name in ("Blues", "RdBu")}


def heatmap_figure(z: np.ndarray, rows: list[str], cols: list[str], title: str, low: int,
                   hover: str, unit: str, height: int, width: int | None = None) -> FigureSpec:  # fmt: skip
    """Percentages z [rows, cols] (int8 or uint8) from `low` to 100, as Plotly's own JSON: built
    without go.Figure's per-value validation, which cost more than the rest of the event."""
    diverging = low < 0
    trace = dict(type="heatmap", z=typed_array(z), x=cols, y=rows, zmin=low, zmax=100,
                 colorscale=SCALES["RdBu" if diverging else "Blues"], reversescale=diverging,
                 hovertemplate=hover + "<extra></extra>",
                 colorbar=dict(title=dict(text=unit), thickness=12))  # fmt: skip
    layout = dict(
        template="none", title=dict(text=plain(title), x=0.01), height=height,
        margin=dict(l=10, r=10, t=70, b=10),
        xaxis=dict(side="top", tickangle=-60, type="category", automargin=True),
        yaxis=dict(autorange="reversed", type="category", automargin=True),
    )  # fmt: skip
    return FigureSpec(data=[trace], layout=layout | ({"width": width} if width else {}))


def heatmap(m: Matrix, title: str, diverging: bool = False) -> FigureSpec:
    """The matrix with hover values in percent; `diverging` for differences in [-1, 1]."""
    rows, cols = distinct_labels(m.rows), distinct_labels(m.cols)
    low = -1 if diverging else 0
    percent = np.round(np.clip(m.values, low, 1) * 100).astype(np.int8 if diverging else np.uint8)
    side = min(820, 240 + 13 * max(len(rows), len(cols)))
    return heatmap_figure(percent, rows, cols, title, low * 100, "%{y} → %{x}: %{z}%",
                          "Δ %" if diverging else "%", side, side + 90)  # fmt: skip

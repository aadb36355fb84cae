"""One attention matrix as a heatmap: rows (the attending tokens) against columns.

Weights go to the page as uint8 percent in a base64 typed array (Plotly ≥ 2.28 reads it), with a
bare template: 128 tokens weigh ~20 kB instead of the ~300 kB of a float list. Labels are
HTML-escaped (Plotly renders a subset of HTML in text), and repeated tokens are kept apart with
zero-width spaces so that a second "the" gets its own row.
"""

from __future__ import annotations

import base64
import html
import textwrap

import numpy as np
import plotly.colors

from .base import FigureSpec
from .selection import Matrix


def plain(text: str) -> str:
    """Text for a Plotly label: its HTML subset escaped, quotes left as they are (Plotly shows
    `&quot;` literally, so escaping them would put entities on screen)."""
    return html.escape(text, quote=False)


def title_lines(text: str, width: int = 40) -> str:
    """A figure's title escaped and broken between words into lines of at most `width`
    characters: a phone's card (~330 px) shows ~40 of them whole; Plotly never wraps a title."""
    return "<br>".join(plain(line) for line in textwrap.wrap(text, width) or [""])


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
                   hover: str, unit: str, height: int, high: int = 100,
                   how: str = "") -> FigureSpec:  # fmt: skip
    """Percentages z [rows, cols] (int8 or uint8) coloured from `low` to `high` (the colour bar
    says the range; values beyond it take the end colour, their hover the true value), as
    Plotly's own JSON: built without go.Figure's per-value validation, which cost more than the
    rest of the event. No width: the figure fits its card (Plotly's zoom reaches long inputs'
    cells); the title sits above the slanted column labels, `how` (how to read it) below."""
    diverging = low < 0
    bar = f"{unit}<br>{low}…{high}" + ("<br>(adapted)" if high < 100 else "")
    trace = dict(type="heatmap", z=typed_array(z), x=cols, y=rows, zmin=low, zmax=high,
                 colorscale=SCALES["RdBu" if diverging else "Blues"], reversescale=diverging,
                 hovertemplate=hover + "<extra></extra>",
                 colorbar=dict(title=dict(text=bar), thickness=12))  # fmt: skip
    layout = dict(
        template="none", height=height, margin=dict(l=10, r=10, t=10, b=60 if how else 10),
        title=dict(text=title_lines(title), x=0.01, xanchor="left", y=0.995, yanchor="top",
                   yref="container", automargin=True, pad=dict(t=30)),  # below the card's label
        xaxis=dict(side="top", tickangle=-60, type="category", automargin=True),
        yaxis=dict(autorange="reversed", type="category", automargin=True),
    )  # fmt: skip
    if how:
        layout["annotations"] = [dict(text=how, showarrow=False, xref="paper", yref="paper",
                                      x=0, y=0, xanchor="left", yanchor="top", yshift=-6,
                                      font=dict(size=11, color="#555"), align="left")]  # fmt: skip
    return FigureSpec(data=[trace], layout=layout)


def adapted(percent: np.ndarray, diverging: bool) -> int:
    """The colour scale's end for these percentages: the 99.5th percentile of their size,
    rounded up to a whole percent (at least 1): a long input's small weights stay visible and a
    few strong ones take the darkest colour (their hover still says how strong)."""
    size = np.abs(percent.astype(np.int16))
    return int(min(100, max(1, np.ceil(np.percentile(size, 99.5))))) if size.size else 100


def heatmap(m: Matrix, title: str, diverging: bool = False, reading: str = "") -> FigureSpec:
    """The matrix with hover values in percent; `diverging` for differences in [-1, 1];
    `reading`: how to read a row, when it is not attention."""
    rows, cols = distinct_labels(m.rows), distinct_labels(m.cols)
    low = -1 if diverging else 0
    percent = np.round(np.clip(m.values, low, 1) * 100).astype(np.int8 if diverging else np.uint8)
    high = adapted(percent, diverging)
    side = min(820, 240 + 13 * max(len(rows), len(cols)))
    how = reading or (
        "Each row: how much its token attends<br>to each column's token. "
        if not diverging
        else "Each row attends to the columns;<br>red: more than the other, blue: less. "
    )
    how += f"Colours span<br>{-high if diverging else 0}…{high}%; darkest: that or more. Hover for values."
    return heatmap_figure(percent, rows, cols, title, -high if diverging else 0,
                          "%{y} → %{x}: %{z}%", "Δ %" if diverging else "%", side, high,
                          how)  # fmt: skip

"""The token-link view (after bertviz's head view): lines from each token to those it attends to.

A self-contained page in an iframe's srcdoc: gr.HTML does not run scripts, and nothing may come
from a CDN (the app must work offline). The iframe is sandboxed to scripts only, tokens are set
with textContent, and the data is JSON with "<" escaped: user text can neither leave the frame
nor run. Links below 1% are not sent; the rest travel as (row, col, percent) byte triplets.
"""

from __future__ import annotations

import base64
import html
import json
from functools import cache
from pathlib import Path

import numpy as np

from .selection import Matrix

ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"
STYLE = """body{margin:0;font:13px system-ui,sans-serif}#view{position:relative}
#lines{position:absolute;top:0}.tok{position:absolute;width:140px;height:16px;line-height:16px;
padding:0 4px;overflow:hidden;white-space:pre;text-overflow:ellipsis;border-left:3px solid;
cursor:pointer;box-sizing:border-box}.tok.row{text-align:right;border-left:0;border-right:3px solid}
.tok.dim{opacity:.35}.tok.picked{background:#fff3c4}.sum{color:#b35c00;font-weight:600}
h4{margin:4px 0 2px;font-weight:600}p{margin:0 0 4px;color:#666}"""


@cache
def script() -> str:
    return (ASSETS / "links.js").read_text()


def pack_links(values: np.ndarray, floor: float = 0.01) -> str:
    """Base64 of (row, col, percent) bytes for every weight ≥ floor; 16-bit indices past 255."""
    i, j = np.nonzero(values >= floor)
    percent = np.round(values[i, j] * 100).astype(np.uint8)
    if max(values.shape) > 255:
        parts = [(i >> 8), i & 255, (j >> 8), j & 255, percent]
    else:
        parts = [i, j, percent]
    return base64.b64encode(np.stack(parts, axis=1).astype(np.uint8).tobytes()).decode()


def links_html(m: Matrix, title: str, height: int = 560) -> str:
    """An <iframe> whose srcdoc draws the matrix's links; safe to put in gr.HTML."""
    data = {"rows": m.rows, "cols": m.cols, "rowSegments": m.row_segments,
            "colSegments": m.col_segments, "links": pack_links(m.values)}  # fmt: skip
    payload = json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("<", "\\u003c")
    doc = (
        f"<!doctype html><meta charset=utf-8><style>{STYLE}</style>"
        f"<h4>{html.escape(title)}</h4><p>Hover a token to see its links; click to select it, "
        "shift-click to add more: the other column shows their summed attention.</p>"
        "<div id=view><canvas id=lines></canvas></div>"
        f"<script>const DATA={payload};\n{script()}</script>"
    )
    return (
        f'<iframe title="token links" sandbox="allow-scripts" style="width:100%;height:{height}px;'
        f'border:0" srcdoc="{html.escape(doc, quote=True)}"></iframe>'
    )

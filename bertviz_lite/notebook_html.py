"""The HTML a notebook shows for each kind of view output (notebook.py puts them together).

plotly.js (4.8 MB) travels once per Python process: `library_once()` hands it to the first
figure shown and "" afterwards; every figure waits for `window.Plotly` and, while it is missing
(the output that carried it was cleared), says so in its place instead of failing.
"""

from __future__ import annotations

import base64
import html
import io
import json
import uuid
import zlib
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

_sent = False  # whether this process has shown plotly.js already

MISSING = ("plotly.js is not on this page (the output that carried it was cleared?): display "
           "bertviz_lite.notebook.plotly_library() in a cell, or this figure's .standalone().")


@cache
def library_html() -> str:
    """plotly.js inline, as plotly's own to_html(include_plotlyjs=True) writes it."""
    from plotly.offline import get_plotlyjs

    return ("<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>"
            f'<script charset="utf-8">{get_plotlyjs()}</script>')  # fmt: skip


def library_once() -> str:
    """plotly.js the first time a figure is shown in this process, then ""."""
    global _sent
    if _sent:
        return ""
    _sent = True
    return library_html()


def _in_script(json_text: str) -> str:
    """JSON safe inside <script>: no "<" (so no "</script>" from user text)."""
    return json_text.replace("<", "\\u003c")


def figure_html(figure: Any) -> str:
    """A Plotly figure without the library: drawn as soon as window.Plotly exists; until then
    (after 5 s) a line saying how to load it, still drawn if the library arrives later."""
    import plotly.graph_objects as go
    import plotly.io

    # A FigureSpec skips validation for the app's speed; here Plotly fills in its defaults.
    fig = figure if isinstance(figure, go.Figure) else go.Figure(dict(figure))
    layout = fig.layout
    height = layout.height or (layout.template.layout.height if layout.template else None)
    div = f"bvl-{uuid.uuid4().hex}"
    spec = _in_script(plotly.io.to_json(fig, validate=False))
    config = json.dumps({"displaylogo": False, "responsive": True})
    script = (
        f'(function(){{var id="{div}",s=document.currentScript,t=Date.now(),said=false;'
        "var el=s&&s.previousElementSibling&&s.previousElementSibling.id===id?"
        "s.previousElementSibling:document.getElementById(id);if(!el)return;"
        f"var fig={spec};function draw(){{if(!el.isConnected)return;"
        "if(window.Plotly){el.textContent='';"
        f"window.Plotly.newPlot(el,fig.data,fig.layout||{{}},{config});return}}"
        f"if(!said&&Date.now()-t>5000){{said=true;el.textContent={json.dumps(MISSING)}}}"
        "setTimeout(draw,said?1000:50)}draw()})();"
    )
    size = f"height:{height}px" if height else "height:100%"
    return (f'<div style="{size};width:100%"><div id="{div}" class="plotly-graph-div" '
            f'style="height:100%;width:100%"></div><script>{script}</script></div>')  # fmt: skip


def image_html(image: np.ndarray, alt: str, caption: str = "") -> str:
    """A PNG data URL; `caption` as a line of text under it."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    data = base64.b64encode(buffer.getvalue()).decode()
    img = f'<img alt="{html.escape(alt or "figure")}" src="data:image/png;base64,{data}">'
    if not caption:
        return img
    return f"<figure style='margin:0'>{img}<figcaption>{html.escape(caption)}</figcaption></figure>"


def label_table(value: dict) -> str:
    """label → probability as a table, likeliest first (as given)."""
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{float(v):.3f}</td></tr>"
                   for k, v in value.items())  # fmt: skip
    return f"<table>{rows}</table>"


def spans(value: Any) -> list[tuple[str, str | None]]:
    """A gr.HighlightedText value as (text, tag or None) pieces in order: a {"text",
    "entities": [{"entity" (or "entity_group", "label"), "start", "end"}]} dict (overlapping
    entities after the first are left plain) or a list of (text, tag) pairs."""
    if not isinstance(value, dict):
        return [(str(t), None if tag is None else str(tag)) for t, tag in value]
    text, out, at = str(value.get("text") or ""), [], 0
    for e in sorted(value.get("entities") or (), key=lambda e: (e["start"], e["end"])):
        a, b = int(e["start"]), int(e["end"])
        if a < at or b <= a:
            continue
        tag = next((e[k] for k in ("entity", "entity_group", "label") if e.get(k) is not None), "")
        out += [(text[at:a], None), (text[a:b], str(tag))]
        at = b
    return [*out, (text[at:], None)]


PALETTE = ("#ffe08a", "#b8e1ff", "#c6efc0", "#ffc9de", "#ddd0ff", "#ffd6ad", "#c9f0ee", "#eadcc4")


def highlighted_html(value: Any) -> str:
    """Text with each tagged span in a <mark>, its tag after it in small type; all escaped."""
    pieces = []
    for text, tag in spans(value):
        if not text:
            continue
        if tag is None:
            pieces.append(html.escape(text))
            continue
        colour = PALETTE[zlib.crc32(tag.encode()) % len(PALETTE)]
        label = (f'<span class="bvl-tag" style="font-size:.7em;font-weight:600;margin-left:4px;'
                 f'opacity:.7">{html.escape(tag)}</span>') if tag else ""  # fmt: skip
        pieces.append(f'<mark style="background:{colour};padding:1px 3px;border-radius:3px">'
                      f"{html.escape(text)}{label}</mark>")  # fmt: skip
    return f'<div class="bvl-text" style="white-space:pre-wrap;line-height:2">{"".join(pieces)}</div>'


def layer_picker(drawings: Sequence[str], selected: int) -> str:
    """A <select> of layers ("Layer 1"…) over one drawing per layer: `selected` is shown, every
    layer's drawing waits in a <template> (inert until picked)."""
    root = f"bvl-{uuid.uuid4().hex}"
    options = "".join(f'<option value="{i}"{" selected" if i == selected else ""}>Layer {i + 1}'
                      "</option>" for i in range(len(drawings)))  # fmt: skip
    templates = "".join(f'<template data-layer="{i}">{d}</template>' for i, d in enumerate(drawings))
    script = (
        f'(function(){{var s=document.currentScript,id="{root}";'
        "var root=s&&s.parentElement&&s.parentElement.id===id?s.parentElement:"
        "document.getElementById(id);if(!root)return;var pick=root.querySelector('select'),"
        "shown=root.querySelector('.bvl-layer');pick.addEventListener('change',function(){"
        "var t=root.querySelector('template[data-layer=\"'+pick.value+'\"]');"
        "if(t)shown.replaceChildren(t.content.cloneNode(true))})})();"
    )
    return (f'<div id="{root}" class="bvl-layers"><select aria-label="Layer">{options}</select>'
            f'<div class="bvl-layer">{drawings[selected]}</div>{templates}'
            f"<script>{script}</script></div>")  # fmt: skip

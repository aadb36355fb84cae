"""One head (or a layer's head average, or rollout) as a heatmap or as token links.

Both styles draw the same matrix (selection.py), so they always show the same numbers; only the
chosen style is sent to the page.
"""

from __future__ import annotations

from typing import Any

from ..context import ViewContext
from .base import Control, Output, View, ViewState
from .heatmap import heatmap
from .links import links_html
from .selection import SEGMENTS, SOURCES, WEIGHTINGS, select, title

STYLES = ("heatmap", "links")


class HeadView(View):
    name = "head"
    title = "One head"
    intro = ("One head's attention (or its layer's average, or rollout): each row is a token "
             "attending, each column a token it attends to, a row's weights summing to 100%. As "
             "links: a line from each token to those it attends to, stronger for more.")  # fmt: skip
    controls = (
        Control("layer", "Layer", "slider", 1, low=1, high="layers"),
        Control("head", "Head", "slider", 1, low=1, high="heads"),
        Control("source", "Show", "radio", "head", choices=SOURCES),
        Control("weighting", "Weights", "radio", "raw", choices=WEIGHTINGS),
        Control("style", "As", "radio", "heatmap", choices=STYLES),
        Control("words", "Whole words", "checkbox", False),
        Control("special", "Show special tokens", "checkbox", True),
        Control("segment", "Sentence pair: from → to", "radio", "all", choices=SEGMENTS),
        Control("threshold", "Hide links below", "slider", 0.0, high=0.5, step=0.01),
    )
    outputs = (
        Output("plot", "plot", "Attention", options={"elem_id": "head-plot"}),
        Output("links", "html", options={"elem_id": "head-links"}),
    )

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        m = select(r, state)
        # A figure saved from the page says when its numbers are not the model's own.
        name = title(state) + ("" if state.variant == "fp32" else f" ({state.variant}, approximate)")
        if state.style == "links":
            return {"plot": None, "links": links_html(m, name)}
        return {"plot": heatmap(m, name), "links": ""}

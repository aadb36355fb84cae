"""Context mixing: how much each token's output (a row) draws on each token (a column), by the
measure picked — attention, norm-based, value zeroing, ALTI (mixing.py) or attention flow
(analysis/flow.py) — at one layer or composed from the input up to it, each with its caveat.

Value zeroing's cost grows with T² (every token's value zeroed, the layer's second half rerun for
each) and flow's faster still, so the app offers them up to a length and says so beyond it; the
Python API computes them at any length.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from ..analysis import MAX_FLOW_TOKENS, content_mask, merge_to_words, unit_labels, word_spans
from ..context import ViewContext
from ..mixing import MEASURES, compose
from .base import Control, Output, View, ViewState
from .heatmap import heatmap
from .selection import Matrix

METHODS = {"ALTI": "alti", "value zeroing": "value-zeroing", "norm": "norm",
           "attention": "attention", "attention flow": "flow"}  # fmt: skip
ACROSS = ("this layer", "from the input")
MAX_ZEROING_TOKENS = 256  # ~7 s on 2 cores; ~4× that at 512 tokens
FLOW_CAVEAT = ("the most attention that can flow from each input token to each token of the "
               "layer through the layers' attention with the residual, as a maximum flow (Abnar & "
               "Zuidema 2020); attention weights alone, always from the input.")  # fmt: skip
READING = "Each row: how much its token's output<br>draws on each column's token. "


def _too_long(method: str, tokens: int) -> str:
    """Why the app does not compute `method` for an input this long ("" when it does)."""
    limit, cost = {"value-zeroing": (MAX_ZEROING_TOKENS, "grows with the square of the length"),
                   "flow": (MAX_FLOW_TOKENS, "grows faster than the cube of the length")
                   }.get(method, (None, ""))  # fmt: skip
    if limit is None or tokens <= limit:
        return ""
    return (f"The app computes this measure for texts of up to {limit} tokens (its cost {cost}); "
            f"this one has {tokens}. Pick ALTI, norm or attention, or shorten the text; the "
            "Python API (ex.context_mixing, ex.attention_flow) computes it at any length.")


class MixingView(View):
    name = "mixing"
    title = "Context mixing"
    intro = ("How much each token's output at a layer draws on every token, by measures that "
             "account for more than attention: the value vectors, the residual, the LayerNorms, "
             "the feed-forward. Rows sum to 100%.")  # fmt: skip
    controls = (
        Control("mixing_method", "Measure", "radio", "ALTI", choices=tuple(METHODS)),
        Control("mixing_across", "Layers", "radio", ACROSS[0], choices=ACROSS),
        Control("mixing_layer", "Layer", "slider", "layers", low=1, high="layers"),
        Control("mixing_words", "Whole words", "checkbox", False),
        Control("mixing_special", "Show special tokens", "checkbox", True),
    )
    outputs = (  # the caveat above a figure as wide as the page
        Output("mixing_note", "html", options={"elem_id": "mixing-note"}),
        Output("mixing_plot", "plot", "Context mixing", row=1, options={"elem_id": "mixing-plot"}),
    )

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        method, layer = METHODS[state.mixing_method], int(state.mixing_layer)
        refused = _too_long(method, len(r.tokens))
        if refused:
            return {"mixing_plot": None, "mixing_note": f"<p>{html.escape(refused)}</p>"}
        rolled = method == "flow" or state.mixing_across != ACROSS[0]
        what = f"{state.mixing_method}, " + (f"input → layer {layer}" if rolled else f"layer {layer}")
        if method == "flow":
            m, named, caveat = ctx.flow(layer), "attention flow (Abnar & Zuidema 2020)", FLOW_CAVEAT
        else:
            measure = MEASURES[method]
            per_layer = ctx.mixing(method)
            m = compose(per_layer[:layer], method)[-1] if rolled else per_layer[layer - 1]
            named, caveat = measure.title, measure.caveat
        matrix = _matrix(r, m, bool(state.mixing_words), bool(state.mixing_special))
        figure = heatmap(matrix, what, reading=READING)
        note = f"<p><b>{html.escape(named)}</b>, {html.escape(what.split(', ', 1)[1])}: {html.escape(caveat)}</p>"
        return {"mixing_plot": figure, "mixing_note": note}


def _matrix(r: Any, m: np.ndarray, words: bool, special: bool) -> Matrix:
    """The [T, T] matrix as the heatmap draws it: merged into words (rows averaged, columns
    summed) and without [CLS]/[SEP] when asked."""
    labels, word_ids, types = list(r.tokens), list(r.word_ids), list(r.encoding.type_ids)
    if words:
        units = word_spans(r.word_ids, r.encoding.sequence_ids)
        m, labels = merge_to_words(m, units), unit_labels(r.tokens, units, r.encoding)
        word_ids = [r.word_ids[u[0]] for u in units]
        types = [types[u[0]] for u in units]
    keep = np.arange(len(labels)) if special else np.flatnonzero(content_mask(word_ids))
    m = np.asarray(m, np.float32)[np.ix_(keep, keep)]
    pick = [labels[i] for i in keep]
    return Matrix(m, pick, pick, [types[i] for i in keep], [types[i] for i in keep])

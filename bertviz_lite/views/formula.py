"""The attention formula, step by step: softmax(q·kᵀ/√d_k)·V for one layer, head and query token,
with the model's own queries, keys and values (as bertviz's neuron view does for its bundled
models only): the query vector, each key, q·k/√d_k, the softmax weight, and the weighted sum of
the value vectors.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from ..context import ViewContext
from .base import Control, FigureSpec, Output, View, ViewState
from .heatmap import distinct_labels

SHOWN = 8  # vector components written out; the rest are summarised by the norm
STYLE = (
    "<style>.formula td,.formula th{padding:1px 6px;text-align:right;font-variant-numeric:"
    "tabular-nums}.formula td.tok{text-align:left}.formula .vec{color:#666}</style>"
)


def steps(queries: np.ndarray, keys: np.ndarray, values: np.ndarray, query: int,
          valid: np.ndarray) -> dict[str, np.ndarray]:  # fmt: skip
    """Each step for one head's query token: scores q·k/√d (−inf where masked), the softmax
    weights, and the output Σ_j w_j v_j. queries/keys/values: [T, d]."""
    d = queries.shape[-1]
    scores = keys @ queries[query] / np.sqrt(d)
    masked = np.where(valid, scores, -np.inf)
    weights = np.exp(masked - masked.max())
    weights /= weights.sum()
    return {"scores": scores, "weights": weights, "output": weights @ values}


def _vector(v: np.ndarray) -> str:
    head = " ".join(f"{x:+.2f}" for x in v[:SHOWN])
    return f"[{head}{' …' if len(v) > SHOWN else ''}] ‖·‖ = {np.linalg.norm(v):.2f}"


class FormulaView(View):
    name = "formula"
    title = "The formula"
    intro = "softmax(q·kᵀ/√d_k)·V for one query token, with this model's own vectors."
    controls = (
        Control("formula_layer", "Layer", "slider", 1, low=1, high="layers"),
        Control("formula_head", "Head", "slider", 1, low=1, high="heads"),
        Control("formula_query", "Query token (its position, 0 = the first)", "number", 1,
                low=0, high=511),
    )  # fmt: skip
    outputs = (
        Output("steps", "html", options={"elem_id": "formula-steps"}),
        Output("weights", "plot", "q·k/√d_k and the softmax weights",
               options={"elem_id": "formula-plot"}),
    )  # fmt: skip

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        full = ctx.with_extra(("queries", "keys", "values"))
        layer, head = state.formula_layer - 1, state.formula_head - 1
        query = min(max(int(state.formula_query), 0), len(r.tokens) - 1)
        q, k, v = (getattr(full, n)[layer, head] for n in ("queries", "keys", "values"))
        s = steps(q, k, v, query, np.ones(len(r.tokens), bool))
        labels = r.tokens
        rows = "".join(
            f"<tr><td class=tok>{html.escape(labels[j])}</td><td class=vec>{_vector(k[j])}</td>"
            f"<td>{s['scores'][j]:+.3f}</td><td>{s['weights'][j]:.3f}</td>"
            f"<td>{full.attentions[layer, head, query, j]:.3f}</td></tr>"
            for j in range(len(labels))
        )  # fmt: skip
        table = (
            f"{STYLE}<p><b>Query</b> {html.escape(labels[query])} (position {query}), layer "
            f"{layer + 1}, head {head + 1}, d_k = {q.shape[-1]}: q = {_vector(q[query])}</p>"
            f"<table class=formula><tr><th>key token</th><th>k</th><th>q·k/√d_k</th>"
            f"<th>softmax</th><th>model's attention</th></tr>{rows}</table>"
            f"<p><b>Output</b> Σ_j softmax_j · v_j = {_vector(s['output'])}</p>"
        )
        x = distinct_labels(labels)
        figure = FigureSpec(data=[
            dict(type="bar", x=x, y=np.round(s["scores"], 4), name="q·k/√d_k", yaxis="y"),
            dict(type="scatter", x=x, y=np.round(s["weights"], 4), name="softmax", yaxis="y2",
                 mode="lines+markers")], layout=dict(
            template="none", height=360, margin=dict(l=50, r=50, t=40, b=10),
            xaxis=dict(type="category", tickangle=-60, automargin=True,
                       title=dict(text="key token", standoff=4)),
            yaxis=dict(title=dict(text="q·k/√d_k (bars)"), automargin=True),
            yaxis2=dict(title=dict(text="softmax weight (line)"), overlaying="y", side="right",
                        range=[0, 1], automargin=True),
            # above the plot, right (the card's label is left): below, it covered the token labels
            legend=dict(orientation="h", x=1, y=1.02, xanchor="right", yanchor="bottom")))  # fmt: skip
        return {"steps": table, "weights": figure}

"""What fine-tuning changed: the same input through this model and another (its base, say).

Our task models are adapters on one base, so the comparison is exact: for each head the mean
|Δ| of its attention (task minus base), one head's Δ map on a diverging scale, and per layer
the linear CKA of the two models' token vectors (Kornblith et al. 2019). Merchant et al. (2020)
found that fine-tuning mostly changes the top layers; this view lets a person check that on
their own sentence. Any two models with the same tokenizer and shape compare the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..analysis import Analysis, linear_cka
from ..catalog import entries, names
from ..context import ViewContext
from .base import Control, Output, UserError, View, ViewState
from .heatmap import heatmap, title_lines
from .selection import Matrix


def attention_change(model: Analysis, base: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """(Δ attention [layers, heads, T, T] = model − base, mean |Δ| per head [layers, heads])."""
    if model.tokens != base.tokens or model.attentions.shape != base.attentions.shape:
        raise UserError("These two models tokenize or are shaped differently: pick a model that "
                        "shares this one's tokenizer and size.")  # fmt: skip
    delta = model.attentions - base.attentions
    return delta, np.abs(delta).mean(axis=(2, 3))


def layer_similarity(model: Analysis, base: Analysis) -> np.ndarray:
    """Linear CKA of the two models' token vectors at each layer (0 = embeddings)."""
    return np.array([linear_cka(a, b) for a, b in zip(model.hidden_states, base.hidden_states)])


AUTO = "its counterpart"  # a task model's base; a base's first task model


def counterpart(name: str) -> str:
    """What a model is compared with by default: a task model's base encoder (same checkpoint,
    no adapter); for a base, its first task model."""
    known = entries()
    me = known.get(name)
    if me is None:
        return name
    same = [e.name for e in known.values() if e.checkpoint == me.checkpoint and e.name != name]
    bases = [n for n in same if not known[n].adapter]
    return (bases or same or [name])[0] if me.adapter else (same or [name])[0]


def _role(name: str, other: str) -> str:
    """What the other model is to this one, where the catalog says: " (its base)", " (its task
    model)", or nothing."""
    known = entries()
    me, it = known.get(name), known.get(other)
    if me is None or it is None or me.checkpoint != it.checkpoint:
        return ""
    return " (its base)" if me.adapter and not it.adapter else (
        " (its task model)" if it.adapter and not me.adapter else "")  # fmt: skip


def _grid(change: np.ndarray, title: str) -> go.Figure:
    layers, heads = change.shape
    fig = go.Figure(go.Heatmap(
        z=np.round(change * 1000) / 10, x=[f"H{h}" for h in range(1, heads + 1)],
        y=[f"L{i}" for i in range(1, layers + 1)], colorscale="Oranges", zmin=0,
        hovertemplate="%{y} %{x}: mean |Δ| %{z}%<extra></extra>",
        zmax=max(float(change.max()) * 100, 0.1), colorbar=dict(title="|Δ| %", thickness=12)))  # fmt: skip
    fig.update_layout(template="none",
                      title=dict(text=title_lines(title), x=0.01, font=dict(size=14)),
                      height=140 + 34 * layers, margin=dict(l=10, r=10, t=70, b=10),
                      xaxis=dict(type="category", automargin=True),
                      yaxis=dict(autorange="reversed", type="category", automargin=True))  # fmt: skip
    return fig


CKA_TITLE = "Token vectors alike, per layer (linear CKA; 1 = same)"


def _cka(similarity: np.ndarray) -> go.Figure:
    names_ = ["emb"] + [f"L{i}" for i in range(1, len(similarity))]
    fig = go.Figure(go.Bar(x=names_, y=np.round(similarity, 4), marker_color="#1f77b4",
                           hovertemplate="%{x}: CKA %{y}<extra></extra>"))  # fmt: skip
    fig.update_layout(template="none", height=300, yaxis=dict(range=[0, 1.02], title="CKA"),
                      title=dict(text=title_lines(CKA_TITLE), x=0.01, font=dict(size=14)),
                      margin=dict(l=50, r=10, t=60, b=30))  # fmt: skip
    return fig


class CompareView(View):
    name = "compare"
    title = "What fine-tuning changed"
    intro = ("The same input through this model and another: how much each head's attention "
             "moved, one head's change, and how alike the token vectors stay per layer. Its "
             "counterpart: a task model's base, or a base model's first task model.")  # fmt: skip
    controls = (
        Control("against", "Compare with", "radio", AUTO, choices=lambda shape: [AUTO, *names()]),
        Control("delta_layer", "Layer", "slider", "layers", low=1, high="layers",
                redraws=("delta",)),
        Control("delta_head", "Head", "slider", 1, low=1, high="heads", redraws=("delta",)),
    )  # fmt: skip
    outputs = (
        Output("grid", "plot", "Mean |Δ| per head", row=1, options={"elem_id": "compare-grid"}),
        Output("delta", "plot", "One head: this model − the other", row=1,
               options={"elem_id": "compare-delta"}),
        Output("similarity", "plot", "Token vectors", row=2,
               options={"elem_id": "compare-cka"}),
    )  # fmt: skip

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        against = counterpart(state.model) if state.against == AUTO else state.against
        if against == state.model:  # a model of its own, with no base or task model beside it
            raise UserError(f"{state.model} has no base or task model here to compare with: "
                            "pick another model under \"Compare with\".")  # fmt: skip
        other = ctx.through(against)
        delta, change = attention_change(r, other)
        layer, head = state.delta_layer - 1, state.delta_head - 1
        m = Matrix(values=delta[layer, head], rows=r.tokens, cols=r.tokens,
                   row_segments=r.encoding.type_ids, col_segments=r.encoding.type_ids)  # fmt: skip
        role = _role(state.model, against)
        title = f"layer {layer + 1}, head {head + 1}: {state.model} − {against}{role}"
        out = {"delta": heatmap(m, title, diverging=True)}
        if parts is None or "grid" in parts:
            top = np.unravel_index(change.argmax(), change.shape)
            out["grid"] = _grid(change, f"{state.model} against {against}{role}: most changed "
                                        f"L{top[0] + 1}H{top[1] + 1}")  # fmt: skip
        if parts is None or "similarity" in parts:
            out["similarity"] = _cka(layer_similarity(r, other))
        return out

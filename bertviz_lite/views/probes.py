"""What each layer knows: a linear probe of a label (part of speech, dependency relation, entity)
on every layer's token vectors over the corpus, beside a control task's accuracy (Hewitt & Liang
2019) and the majority baseline, with the expected layer (Tenney et al. 2019) marked; and the
same probe of the other model of the checkpoint (base or fine-tuned) as a second line.

Probing every layer takes seconds to tens of seconds (corpus/probes.py), so the view waits for
its button, and each result is kept in the memo.
"""

from __future__ import annotations

import html
from typing import Any

from .. import corpora
from ..context import ViewContext
from ..corpus.probes import LABELS
from .base import Control, FigureSpec, Output, View, ViewState
from .compare import counterpart

SAYS = {"pos": "part of speech", "dep": "dependency relation to the head word",
        "entity": "named-entity tag (BIO)"}  # fmt: skip
READING = ("A probe shows what a linear classifier can read from a layer's vectors, not what the "
           "model uses. Selectivity is its accuracy minus a control task's (each word type given "
           "a random label, Hewitt & Liang 2019): a probe that scores high on both learnt the "
           "words, not the label. The expected layer (Tenney et al. 2019) is where the accuracy "
           "gains lie, weighted by their size.")  # fmt: skip
COLOURS = {"accuracy": "#1f77b4", "control": "#ff7f0e", "selectivity": "#2ca02c",
           "majority": "#7f7f7f", "base": "#9467bd"}  # fmt: skip


class ProbesView(View):
    name = "probes"
    title = "What each layer knows"
    intro = ("A linear probe per layer over the corpus picked in the Head atlas: how well each "
             "layer's token vectors tell the label picked, beside a control task and the "
             "majority baseline.")  # fmt: skip
    controls = (
        Control("probe_label", "Label", "radio", "pos", choices=LABELS, redraws=()),
        Control("probe_compare", "Beside the other model of this checkpoint (base or "
                "fine-tuned)", "checkbox", False, redraws=()),
    )  # fmt: skip
    outputs = (
        Output("probe_plot", "plot", "Probe accuracy per layer", options={"elem_id": "probe-plot"}),
        Output("probe_note", "html", row=1, options={"elem_id": "probe-note"}),
    )
    action = "Probe every layer"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        corpus = ctx.corpus(state.corpus)
        label, other, waiting = state.probe_label, None, ""
        if state.probe_compare:
            other, waiting = _other_corpus(corpus.model)
        key = ("probe", str(corpus.folder), label, str(other.folder) if other else None)
        result = ctx.memo.get(key, lambda: corpus.probe(label, compare=other))
        notes = [waiting] if waiting else []
        return {"probe_plot": figure(result), "probe_note": note(result, notes)}


def _other_corpus(model: str) -> tuple[Any, str]:
    """The default corpus of the checkpoint's other model, or None and why not (yet)."""
    other = counterpart(model)
    if other == model:
        return None, f"{model} has no base or fine-tuned model in the catalog to compare with."
    try:
        return corpora.open_corpus(corpora.DEFAULT, other), ""
    except Exception as e:  # being built (its build is started), or not installed
        return None, f"Not beside {other} yet: {e}"


def figure(result: Any) -> FigureSpec:
    """Accuracy, control accuracy and selectivity per layer, the majority baseline, the other
    model's accuracy and selectivity when asked, the expected layer as a vertical line."""
    rows = result.rows
    layers = [row["layer"] for row in rows]

    def line(name: str, key: str, colour: str, dash: str = "solid") -> dict:
        return dict(type="scatter", mode="lines+markers", name=name, x=layers,
                    y=[row.get(key) for row in rows], line=dict(color=colour, dash=dash),
                    hovertemplate=f"layer %{{x}}: %{{y:.3f}}<extra>{html.escape(name)}</extra>")  # fmt: skip

    data = [line(f"{result.model}: accuracy", "accuracy", COLOURS["accuracy"])]
    if rows and rows[0].get("control_accuracy") is not None:
        data += [line("control task", "control_accuracy", COLOURS["control"], "dot"),
                 line(f"{result.model}: selectivity", "selectivity", COLOURS["selectivity"])]  # fmt: skip
    data.append(line("majority label", "majority", COLOURS["majority"], "dash"))
    if result.base_model:
        data += [line(f"{result.base_model}: accuracy", "base_accuracy", COLOURS["base"]),
                 line(f"{result.base_model}: selectivity", "base_selectivity", COLOURS["base"],
                      "dashdot")]  # fmt: skip
    shapes, notes = [], []
    if result.expected_layer is not None:
        shapes.append(dict(type="line", x0=result.expected_layer, x1=result.expected_layer,
                           y0=0, y1=1, yref="paper", line=dict(color="#444", dash="dot")))  # fmt: skip
        notes.append(dict(x=result.expected_layer, y=1, yref="paper", showarrow=False,
                          text=f"expected layer {result.expected_layer:.2f}", yanchor="bottom",
                          font=dict(size=11)))  # fmt: skip
    values = [v for trace in data for v in trace["y"] if v is not None]
    low = min(-0.05, min(values, default=0) - 0.05)  # selectivity may fall below zero
    layout = dict(
        template="none", height=440, margin=dict(l=50, r=10, t=10, b=90),
        title=dict(text=html.escape(f"{result.label} probe, {result.model}'s corpus"),
                   x=0.01, xanchor="left", y=0.995, yanchor="top", yref="container",
                   automargin=True, pad=dict(t=30)),  # below the card's label
        xaxis=dict(title=dict(text="layer (0: embeddings)"), dtick=1),
        yaxis=dict(title=dict(text="accuracy on held-out texts"), range=[low, 1.05]),
        legend=dict(orientation="h", y=-0.25, x=0), shapes=shapes, annotations=notes,
    )  # fmt: skip
    return FigureSpec(data=data, layout=layout)


def note(result: Any, extra: list[str]) -> str:
    """The reading, the expected layers and the probe's notes, as escaped text."""
    fmt = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
    said = f"{SAYS[result.label]}: expected layer {result.model} {fmt(result.expected_layer)}"
    if result.base_model:
        said += f", {result.base_model} {fmt(result.base_expected_layer)}"
    items = "".join(f"<li>{html.escape(n)}</li>" for n in [*extra, *result.notes])
    return (f"<p>{html.escape(READING)}</p><p><b>{html.escape(said)}.</b></p>"
            f"<ul>{items}</ul>")

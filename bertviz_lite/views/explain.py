"""Explain a prediction: which tokens it rests on, by every method of attribution.METHODS side by
side, and how far attention-based scores agree with them.

Raw attention is what every tool shows, and it misleads (Jain & Wallace 2019): here the text is
coloured by each method and by attention rollout, each with its caveat, and a table gives
Spearman's ρ between the attention scores and the attributions (Abnar & Zuidema 2020 compared
rollout and flow by exactly this).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from .. import attribution as at
from ..context import ViewContext
from .base import Control, Output, Shape, View, ViewState

MAX_ENTITIES = 8
ROLLOUT = ("attention alone, multiplied through the layers with the residual (Abnar & "
           "Zuidema 2020); ignores the size of the value vectors and the feed-forward part.")


def targets(shape: Shape) -> list[str]:
    """What can be explained: the predicted label or another (a classifier); an entity (NER)."""
    if shape.task == "ner":
        return [f"entity {i}" for i in range(1, MAX_ENTITIES + 1)]
    return ["predicted", *shape.labels]


def chosen_target(chosen: str) -> Any:
    """A target picker's value as attribution.resolve_target takes it: None for "predicted", an
    entity's index for "entity N", else the label."""
    if chosen.startswith("entity "):
        return int(chosen.split()[1]) - 1
    return None if chosen == "predicted" else chosen


def _title(a: at.Attribution) -> str:
    gap = "" if a.delta is None else f" (completeness gap {a.delta:.1e})"
    return f"{a.method.replace('-', ' ')}, {a.target}{gap}"


def _row(name: str, labels: list[str], scores: np.ndarray, note: str) -> str:
    top = float(np.abs(scores).max()) or 1.0
    spans = []
    for label, score in zip(labels, scores):
        strength = abs(float(score)) / top
        colour = "255,127,14" if score >= 0 else "31,119,180"
        spans.append(f'<span class=tok style="background:rgba({colour},{strength:.2f})" '
                     f'title="{float(score):+.4f}">{html.escape(label)}</span>')  # fmt: skip
    return (f"<div class=method><b>{html.escape(name)}</b> <small>{html.escape(note)}</small>"
            f"<div class=tokens>{' '.join(spans)}</div></div>")  # fmt: skip


def _agreement_html(table: dict[str, dict[str, float]]) -> str:
    methods = list(next(iter(table.values())))
    head = "".join(f"<th>{html.escape(m)}</th>" for m in methods)
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th>"
        + "".join(f"<td>{row[m]:+.2f}</td>" for m in methods) + "</tr>"
        for name, row in table.items()
    )  # fmt: skip
    best = max(((abs(v), n, m) for n, row in table.items() for m, v in row.items()))
    reading = (f"Spearman's ρ between attention scores and |attribution| over this text's tokens "
               f"(1: same order). The closest pair here is {best[1]} and {best[2]} "
               f"(ρ = {table[best[1]][best[2]]:+.2f})"
               + (": attention says little about what this prediction rests on."
                  if best[0] < 0.5 else "."))  # fmt: skip
    return (f"<table class=agreement><tr><th></th>{head}</tr>{rows}</table>"
            f"<p>{html.escape(reading)}</p>")


STYLE = ("<style>.method{margin:6px 0}.tokens{line-height:1.9}.tok{padding:1px 3px;"
         "border-radius:3px}.agreement td,.agreement th{padding:2px 8px;text-align:right}</style>")


# Past these lengths the app cuts the cost down (and says so): occlusion in at most MAX_RUNS runs,
# integrated gradients in fewer steps. A 512-token Explain took 45 s alone on 2 cores, and
# minutes with other visitors; the Python API keeps the full methods.
FULL_UP_TO = 128  # tokens computed in full
MAX_RUNS = 64
STEPS_BY_LENGTH = ((FULL_UP_TO, at.MAX_STEPS), (256, 16), (512, 8))


def cost_bounds(tokens: int) -> dict[str, Any]:
    """How far the app bounds the methods for an input of `tokens` tokens."""
    steps = next((s for length, s in STEPS_BY_LENGTH if tokens <= length), STEPS_BY_LENGTH[-1][1])
    return {"max_units": None if tokens <= FULL_UP_TO else MAX_RUNS, "max_steps": steps}


class ExplainView(View):
    name = "explain"
    title = "Explain"
    intro = ("Which tokens the prediction rests on, by several methods side by side (orange: for "
             "the label, blue: against it), and how far attention agrees with them.")  # fmt: skip
    controls = (
        Control("explain_target", "Explain", "radio", lambda shape: targets(shape)[0],
                choices=targets, redraws=()),
        Control("explain_words", "Whole words (occlusion)", "checkbox", False, redraws=()),
    )  # fmt: skip
    outputs = (
        Output("methods", "html", options={"elem_id": "explain-methods"}),
        Output("agreement", "html", options={"elem_id": "explain-agreement"}),
    )
    action = "Explain this prediction"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        target, words = chosen_target(state.explain_target), bool(state.explain_words)
        bounds = cost_bounds(len(r.tokens))
        done = [ctx.attribution(name, target, words, **bounds) for name in at.METHODS]
        rows = [_row(_title(a), a.tokens, a.scores, at.METHODS[a.method].caveat) for a in done]
        tokens = [u[0] for u in at.units_of(r.encoding, False)]
        roll = at.attention_scores(r)["rollout"]
        rows.append(_row("attention rollout ([CLS] row)", [r.tokens[i] for i in tokens],
                         roll[tokens], ROLLOUT))  # fmt: skip
        cut = [a.note for a in done if a.note]
        if cut:
            rows.insert(0, f"<p class=cut>Long input ({len(r.tokens)} tokens), so that this "
                           f"finishes on a shared server: {html.escape('; '.join(cut))}. The "
                           "Python API computes them in full.</p>")  # fmt: skip
        table = at.agreement(r, done)
        return {"methods": STYLE + "".join(rows), "agreement": STYLE + _agreement_html(table)}

"""Explain a prediction: which tokens it rests on, by every method of attribution.METHODS side by
side, and how far attention-based scores agree with them.

Raw attention is what every tool shows, and it misleads (Jain & Wallace 2019): here the text is
coloured by each method and by the rollouts of attention, value zeroing and ALTI, each with its
caveat, and a table scores every explanation's faithfulness (ERASER's comprehensiveness and
sufficiency, against a random floor) beside Spearman's ρ with each attribution (Abnar & Zuidema
2020 compared rollout and flow by exactly this).
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

import numpy as np

from .. import attribution as at
from ..analysis import Analysis
from ..context import ViewContext
from ..mixing import compose
from .base import Control, Output, Shape, View, ViewState

MAX_ENTITIES = 8


def targets(shape: Shape) -> list[str]:
    """What can be explained: the predicted label or another (a classifier); an entity (NER)."""
    if shape.task == "ner":
        return [f"entity {i}" for i in range(1, MAX_ENTITIES + 1)]
    return ["predicted", *shape.labels]


def named_targets(r: Analysis) -> list[tuple[str, str]] | None:
    """An NER analysis's entities by name ("Paris (LOC)"; a name seen before gets its count,
    "Paris (LOC) #2") for the pickers' "entity N" (at most MAX_ENTITIES; one placeholder when
    there is none); None for a classifier (its labels are their own names)."""
    p = r.predictions or {}
    if p.get("task") != "ner":
        return None
    sides = (r.encoding.text, r.encoding.pair or "")
    seen: Counter[str] = Counter()
    named = []
    for i, e in enumerate(p["entities"][:MAX_ENTITIES], 1):
        name = f"{sides[e.get('sequence', 0)][e['start']:e['end']]} ({e['label']})"
        seen[name] += 1
        named.append((name if seen[name] == 1 else f"{name} #{seen[name]}", f"entity {i}"))
    return named or [("no entity found", "entity 1")]


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


def _cell(value: float | None, best: bool = False) -> str:
    if value is None:
        return "<td>—</td>"
    text = f"{value:+.3f}"
    return f"<td><b>{text}</b></td>" if best else f"<td>{text}</td>"


def _table_html(faithful: dict[str, at.Faithfulness], table: dict[str, dict[str, float]],
                methods: list[str], skipped: str) -> str:  # fmt: skip
    """One row per explanation: comprehensiveness (↑), sufficiency (↓) and Spearman's ρ with
    each attribution; the random floor last. The best of each faithfulness column in bold."""
    ranked = [n for n in faithful if n != "random"]
    top_c = max(ranked, key=lambda n: faithful[n].comprehensiveness, default=None)
    top_s = min(ranked, key=lambda n: faithful[n].sufficiency, default=None)
    head = ("<th>comprehensiveness ↑</th><th>sufficiency ↓</th>"
            + "".join(f"<th>ρ {html.escape(m)}</th>" for m in methods))  # fmt: skip
    rows = []
    for name, f in faithful.items():
        rho = table.get(name, {})
        cells = (_cell(f.comprehensiveness, name == top_c) + _cell(f.sufficiency, name == top_s)
                 + "".join(_cell(None if m == name else rho.get(m)) for m in methods))  # fmt: skip
        rows.append(f"<tr><th>{html.escape(name)}</th>{cells}</tr>")
    floor = faithful.get("random")
    fractions = ", ".join(f"{f:.0%}" for f in at.FRACTIONS)
    reading = (f"Comprehensiveness: how much p({next(iter(faithful.values())).target}) drops when "
               f"the explanation's top tokens are masked; sufficiency: how much it drops when "
               f"only they are kept (DeYoung et al. 2020, ERASER); each the mean over the top "
               f"{fractions} of the tokens. ")  # fmt: skip
    if floor is not None:
        reading += (f"random: the mean of {floor.draws} random rankings (comprehensiveness "
                    f"{floor.comprehensiveness:+.3f}, sufficiency {floor.sufficiency:+.3f}): an "
                    "explanation is faithful only where it beats it. ")  # fmt: skip
    reading += "ρ: Spearman's rank correlation with |attribution| over this text's tokens."
    if skipped:
        reading += " " + skipped
    return (f"<div class=scroll><table class=agreement><tr><th></th>{head}</tr>{''.join(rows)}"
            f"</table></div><p>{html.escape(reading)}</p>")


def per_token(a: at.Attribution, tokens: int) -> np.ndarray:
    """An attribution's |scores| spread over its units' tokens (a unit's tokens sum to it)."""
    out = np.zeros(tokens, np.float32)
    for unit, score in zip(a.units, a.scores):
        out[unit] = abs(float(score)) / len(unit)
    return out


STYLE = ("<style>.method{margin:6px 0}.tokens{line-height:1.9}.tok{padding:1px 3px;"
         "border-radius:3px}.agreement td,.agreement th{padding:2px 8px;text-align:right}"
         ".scroll{overflow-x:auto}</style>")


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
             "the label, blue: against it), how faithful each is, and how far they agree.")  # fmt: skip
    controls = (
        Control("explain_target", "Explain", "radio", lambda shape: targets(shape)[0],
                choices=targets, redraws=(), names=named_targets),
        Control("explain_words", "Whole words (occlusion)", "checkbox", False, redraws=()),
    )  # fmt: skip
    outputs = (
        Output("methods", "html", options={"elem_id": "explain-methods"}),
        Output("agreement", "html", row=1, options={"elem_id": "explain-agreement"}),
    )
    action = "Explain this prediction"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        target, words = chosen_target(state.explain_target), bool(state.explain_words)
        goal = at.resolve_target(ctx.model, r, target)
        bounds = cost_bounds(len(r.tokens))
        done = [ctx.attribution(name, target, words, **bounds) for name in at.METHODS]
        rows = [_row(_title(a), a.tokens, a.scores, at.METHODS[a.method].caveat) for a in done]
        tokens = [u[0] for u in at.units_of(r.encoding, False)]
        read = [n for n in at.FROM_MIXING if len(r.tokens) <= FULL_UP_TO or n not in SLOW]
        scores = {n: at.explain(ctx.model, r, n, goal, mixing=_mixing(ctx)) for n in read}
        for name in ("rollout", *SLOW):
            if name in scores:
                where = "entity rows" if goal.positions else "[CLS] row"
                rows.append(_row(f"{name} ({where})", [r.tokens[i] for i in tokens],
                                 scores[name][tokens], at.CAVEATS[name]))  # fmt: skip
        cut = [a.note for a in done if a.note]
        if cut:
            rows.insert(0, f"<p class=cut>Long input ({len(r.tokens)} tokens), so that this "
                           f"finishes on a shared server: {html.escape('; '.join(cut))}. The "
                           "Python API computes them in full.</p>")  # fmt: skip
        settings = (words, bounds["max_units"], bounds["max_steps"])
        faithful = {a.method: ctx.faithfulness(a.method, a, target, *settings) for a in done}
        faithful |= {n: ctx.faithfulness(n, s, target) for n, s in scores.items()}
        draws = 8 if len(r.tokens) <= FULL_UP_TO else 3
        faithful["random"] = ctx.faithfulness("random", None, target, draws=draws)
        spread = {a.method: per_token(a, len(r.tokens)) for a in done}
        table = at.agreement(r, done, spread | scores)
        skipped = ("" if len(read) == len(at.FROM_MIXING) else
                   f"Value zeroing and ALTI are left out past {FULL_UP_TO} tokens here (the "
                   "Context mixing tab and the Python API compute them).")  # fmt: skip
        methods = [a.method for a in done]
        return {"methods": STYLE + "".join(rows),
                "agreement": STYLE + _table_html(faithful, table, methods, skipped)}


SLOW = ("value-zeroing rollout", "ALTI rollout")  # from the mixing graph: cost grows with T²


def _mixing(ctx: ViewContext):
    """explanations.explain's `mixing`: the context's kept per-layer matrices, composed."""

    def mixing(measure: str, across: str | None) -> np.ndarray:
        per_layer = ctx.mixing(measure)
        return per_layer if across is None else compose(per_layer, measure)

    return mixing

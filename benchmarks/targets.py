"""The Targets table and, for each missed target, a paragraph on what limits it (from this run)."""

from __future__ import annotations

from .common import TARGETS, fill, ms, p50, pct, rows
from .forward import EAGER, INT8, ForwardResult, forward_paragraph
from .request import RequestResult, request_paragraph
from .start import StartResult, start_paragraph
from .weight import WeightResult


def targets(
    f: ForwardResult | None,
    rq: RequestResult | None,
    w: WeightResult | None,
    st: StartResult | None,
) -> tuple[str, list[str]]:
    """(table rows, paragraphs) for the Targets section."""
    table, paragraphs = [], []
    goal = TARGETS["int8_speedup"]
    for n in (128, 512) if f else ():
        what = fill("targets.int8", goal=f"{goal:g}", n=n)
        if n not in f.lengths:
            table.append([what, fill("targets.not_measured"), "–"])
            continue
        x = f.speedup(INT8, n)
        verdict = (
            "met"
            if x >= goal
            else fill("targets.missed_ratio", by=f"{goal - x:.2f}", reached=f"{x / goal:.0%}")
        )
        table.append(
            [what, f"{x:.2f}× ({ms(f.p50(INT8, n))} vs {ms(f.p50(EAGER, n))} ms)", verdict]
        )
        if x < goal and n in f.profile:
            paragraphs.append(forward_paragraph(f, n))
    for n, goal_ms in TARGETS["above_floor_ms"].items() if rq else ():
        what = fill("targets.request_name", goal=f"{goal_ms:.0f}", n=n)
        if not rq.client.get(n):
            table.append([what, fill("targets.not_measured"), "–"])
            continue
        above = rq.worst_above_floor(n) * 1000  # as the page calls and through gradio_client
        measured = fill("targets.request_measured", above=ms(rq.above_floor(n, page=True)),
                        explore=ms(p50(rq.page[n])), floor=ms(p50(rq.page_floor[n])),
                        client_above=ms(rq.above_floor(n)))  # fmt: skip
        verdict = (
            "met"
            if above <= goal_ms
            else fill(
                "targets.missed_ms", by=f"{above - goal_ms:.0f}", times=f"{above / goal_ms:.1f}"
            )
        )
        table.append([what, measured, verdict])
        if above > goal_ms:
            paragraphs.append(request_paragraph(rq, n))
    for n in w.lengths if w else ():
        name, raw, zipped = w.worst(n)
        verdict = (
            "met"
            if raw <= TARGETS["weight_ratio"]
            else fill("targets.missed_limit", times=f"{raw / TARGETS['weight_ratio']:.1f}")
        )
        table.append([fill("targets.weight_name", n=n),
                      fill("targets.weight_measured", view=name, raw=pct(raw), gz=pct(zipped)),
                      verdict])  # fmt: skip
    if st and st.warm:
        answer, goal_s = st.warm_answer(), TARGETS["warm_start_s"]
        verdict = (
            "met"
            if answer <= goal_s
            else fill(
                "targets.missed_s", by=f"{answer - goal_s:.1f}", times=f"{answer / goal_s:.1f}"
            )
        )
        table.append([fill("targets.start_name", goal=f"{goal_s:g}"), f"{answer:.1f} s", verdict])
        if answer > goal_s:
            paragraphs.append(start_paragraph(st))
    return rows(table), paragraphs

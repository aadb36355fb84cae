"""2. Whole request: /explore through gradio_client against Gradio's floor, and in-process steps.

The floor is an echo app (echo.py) with the app's queue settings, called with the same text in
the same run, alternately with /explore: what any Gradio request costs. In-process, a fresh
interpreter (no torch, like the server) runs `events.analyze` with `events.timing_hook` set, then
serializes the outputs as Gradio would, and draws the other views from the cached analysis.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .appserver import ROOT, App, die_with_parent
from .common import (
    MODEL,
    TARGETS,
    Budget,
    Corpus,
    Settings,
    bullets,
    call,
    client,
    explore,
    fill,
    log,
    ms,
    p50,
    p50_p90,
    pct,
    rows,
    size,
)  # fmt: skip
from .pageclient import PageClient

MODEL_STEP = "clean + analysis (model)"
GLUE = "events.analyze itself (prediction, notes)"
VIEWS = ("overview", "embeddings")  # drawn from the cached analysis when their tab opens
KEYS = ("steps", "total", "views")  # what the in-process child hands back


@dataclass
class RequestResult:
    lengths: tuple[int, ...]
    client: dict[int, list[float]] = field(default_factory=dict)  # /explore, seconds
    floor: dict[int, list[float]] = field(default_factory=dict)  # the echo app, same texts
    page: dict[int, list[float]] = field(default_factory=dict)  # the same, as the page calls
    page_floor: dict[int, list[float]] = field(default_factory=dict)
    answer: dict[int, int] = field(default_factory=dict)  # bytes of /explore's answer as JSON
    inputs_outputs: tuple[int, int] = (0, 0)  # /explore's parameters and return values
    steps: dict[int, dict[str, list[float]]] = field(default_factory=dict)
    total: dict[int, list[float]] = field(default_factory=dict)  # in-process analyze + serialize
    views: dict[int, dict[str, list[float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def above_floor(self, n: int, page: bool = False) -> float:
        """/explore p50 − echo p50 at n tokens, through gradio_client or as the page calls."""
        if page:
            return p50(self.page[n]) - p50(self.page_floor[n])
        return p50(self.client[n]) - p50(self.floor[n])

    def worst_above_floor(self, n: int) -> float:
        return max(self.above_floor(n), self.above_floor(n, page=bool(self.page.get(n))))


def bench_request_client(
    s: Settings, corpus: Corpus, app: App, echo: App, r: RequestResult, budget: Budget
) -> None:
    """/explore and the echo app, alternately, with the same fresh text each repetition, through
    gradio_client and as the page calls them (pageclient.py)."""
    c, e = client(app.url), client(echo.url)
    page_explore, page_echo = PageClient(app.url, "explore"), PageClient(echo.url, "echo")
    api = c.view_api(print_info=False, return_format="dict")["named_endpoints"]["/explore"]
    r.inputs_outputs = (len(api["parameters"]), len(api["returns"]))
    counter, answer = 0, None
    for n in s.request_lengths:
        times, floor, page, page_floor = [], [], [], []
        calls = [
            (floor, lambda text: call(e, "/echo", s.request_timeout, text=text)),
            (times, lambda text: explore(c, text, s.request_timeout)),
            (page_floor, lambda text: page_echo(text=text)),
            (page, lambda text: page_explore(text=text, pair="", model=MODEL)),
        ]
        for rep in range(s.request_warmup + s.request_reps[n]):
            if rep >= s.request_warmup + s.min_reps and budget.spent():
                r.notes.append(fill("request.budget", n=n, reps=len(times)))
                break
            counter += 1
            text = corpus.text(n, f"request {counter}")
            for into, send in calls if rep % 2 else calls[::-1]:  # none always goes first
                t0 = time.perf_counter()
                result = send(text)
                dt = time.perf_counter() - t0
                answer = result if into is times else answer
                if rep >= s.request_warmup:
                    into.append(dt)
        r.client[n], r.floor[n], r.page[n], r.page_floor[n] = times, floor, page, page_floor
        r.answer[n] = len(json.dumps(answer, default=str))
        log(f"/explore {n} tokens: p50 {ms(p50(times))} ms, echo floor {ms(p50(floor))} ms; "
            f"as the page calls: {ms(p50(page))} ms, floor {ms(p50(page_floor))} ms")
    page_explore.close()
    page_echo.close()


def serialize(outputs: dict, record: dict[str, float], prefix: str = "serialize: ") -> None:
    """What Gradio does with the event's outputs before sending: figures to JSON, images to WEBP."""
    from PIL import Image

    for value in outputs.values():
        t0 = time.perf_counter()
        if hasattr(value, "to_json"):
            value.to_json()
            label = "figures to_json"
        elif isinstance(value, np.ndarray) and value.ndim == 3:
            Image.fromarray(value).save(io.BytesIO(), "WEBP")  # as gr.Image(format="webp")
            label = "image WEBP"
        else:
            continue
        label = prefix + label
        record[label] = record.get(label, 0.0) + time.perf_counter() - t0


def bench_request_inprocess(s: Settings, r: RequestResult, budget: Budget) -> None:
    """events.analyze as /explore runs it, timed by events.timing_hook; then the other views."""
    from bertviz_lite import events, urlstate

    corpus = Corpus(events.model(MODEL).tokenizer)
    shape = events.shape(MODEL)
    record: dict[str, float] = {}

    def hook(step: str, seconds: float) -> None:
        record[step] = record.get(step, 0.0) + seconds

    events.timing_hook = hook
    counter = 0
    for n in s.request_lengths:
        steps: dict[str, list[float]] = {}
        views: dict[str, list[float]] = {}
        totals: list[float] = []
        for rep in range(s.request_warmup + s.request_reps[n]):
            if rep >= s.request_warmup + s.min_reps and budget.spent():
                break
            counter += 1
            state = urlstate.default_state(shape, text=corpus.text(n, f"inprocess {counter}"))
            record.clear()
            t0 = time.perf_counter()
            outputs = events.analyze(state)
            event = dict(record)
            event[GLUE] = time.perf_counter() - t0 - sum(record.values())
            serialize(outputs, event)
            drawn: dict[str, float] = {}
            for view in VIEWS:  # the tab opened afterwards: drawn from the cached analysis
                record.clear()
                values = events.render(state, view)
                drawn[f"{view}: render"] = record.get(f"render {view}", 0.0)
                serialize(values, drawn, f"{view}: ")
            if rep >= s.request_warmup:
                totals.append(sum(event.values()))
                for label, seconds in event.items():
                    steps.setdefault(label, []).append(seconds)
                for label, seconds in drawn.items():
                    views.setdefault(label, []).append(seconds)
        r.steps[n], r.total[n], r.views[n] = steps, totals, views
        log(f"in-process {n} tokens: {ms(p50(totals))} ms")
    events.timing_hook = None


def inprocess_in_child(s: Settings, r: RequestResult, scratch: Path, budget_s: float) -> None:
    """bench_request_inprocess in a fresh interpreter set up like app.py (no torch loaded)."""
    out = scratch / "inprocess.json"
    env = {**os.environ, "TMPDIR": str(scratch), "BENCH_BUDGET_S": str(budget_s),
           "OPENBLAS_NUM_THREADS": "1"}  # fmt: skip
    args = [sys.executable, "-m", "benchmarks", "--inprocess-json", str(out)]
    proc = subprocess.Popen([*args, *(["--quick"] if s.quick else [])], cwd=ROOT, env=env,
                            preexec_fn=die_with_parent)  # fmt: skip
    try:
        proc.wait(timeout=budget_s + 240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=20)
    if proc.returncode != 0 or not out.is_file():
        r.notes.append(fill("request.child_failed", code=proc.returncode))
        return
    data = json.loads(out.read_text())
    for key in KEYS:
        setattr(r, key, {int(n): v for n, v in data[key].items()})


def inprocess_main(s: Settings, out: Path) -> None:
    """The child's side of inprocess_in_child: measure, write JSON."""
    r = RequestResult(lengths=s.request_lengths)
    bench_request_inprocess(s, r, Budget(float(os.environ.get("BENCH_BUDGET_S", 300))))
    out.write_text(json.dumps({k: getattr(r, k) for k in KEYS}))


def target_cell(n: int) -> str:
    target = TARGETS["above_floor_ms"].get(n)
    return f"≤ {target:.0f}" if target else "–"


def render_request(r: RequestResult) -> str:
    table = []
    for n in r.lengths:
        if not r.client.get(n):
            continue
        c50, c90 = p50_p90(r.client[n])
        inproc = ms(p50(r.total[n])) if r.total.get(n) else "–"
        g50, g90 = p50_p90(r.page[n])
        table.append([n, len(r.client[n]), ms(p50(r.page_floor[n])), ms(g50), ms(g90),
                      ms(r.above_floor(n, page=True)), ms(p50(r.floor[n])), ms(c50), ms(c90),
                      ms(r.above_floor(n)), target_cell(n), inproc, size(r.answer[n])])  # fmt: skip
    lengths = [n for n in r.lengths if r.steps.get(n)]
    header = " | ".join(f"{n} tokens" for n in lengths)
    line = "|---" * (len(lengths) + 1) + "|"

    def step_rows(data: dict[int, dict[str, list[float]]]) -> str:
        names = list(dict.fromkeys(k for n in lengths for k in data[n]))
        cells = [[name, *(ms(p50(data[n][name])) if name in data[n] else "–" for n in lengths)]
                 for name in names]  # fmt: skip
        return rows(cells)

    steps = step_rows(r.steps) if lengths else ""
    total = rows([["total", *(ms(p50(r.total[n])) for n in lengths)]]) if lengths else ""
    views = step_rows(r.views) if lengths else ""
    return fill("request", rows=rows(table), header=header, line=line, steps=steps, total=total,
                views=views, notes=bullets(r.notes))  # fmt: skip


def request_paragraph(r: RequestResult, n: int) -> str:
    """Where /explore's time above the floor goes at n tokens, from this run."""
    steps = {k: p50(v) for k, v in r.steps.get(n, {}).items()}
    inproc = p50(r.total[n]) if r.total.get(n) else 0.0
    ranked = sorted(steps.items(), key=lambda kv: -kv[1])
    top = "; ".join(f"{k} {ms(v)} ms" for k, v in ranked[:3])
    model = steps.get(MODEL_STEP, 0.0)
    page_p50 = p50(r.page[n])
    gap = r.above_floor(n, page=True) - inproc
    return fill("targets.request", n=n, client=ms(page_p50), floor=ms(p50(r.page_floor[n])),
                above=ms(r.above_floor(n, page=True)),
                client_above=ms(r.above_floor(n)), target=f"{TARGETS['above_floor_ms'][n]:.0f}",
                inprocess=ms(inproc), top=top or "not measured", model=ms(model),
                share=pct(model / page_p50), gap=ms(gap), answer=size(r.answer[n]),
                inputs=r.inputs_outputs[0], outputs=r.inputs_outputs[1])  # fmt: skip

"""`python -m benchmarks`: ours against `transformers` and bertviz, side by side in one run.

Prints a Markdown report and writes it (default BENCHMARKS.md) with the machine it ran on:
1. model forward (forward.py), 2. whole request against Gradio's floor (request.py), 3. page
weight (weight.py), 4. start-up (start.py), 5. throughput (throughput.py), then the Targets
(targets.py). The prose is report.md's. Everything is bounded in time and every app subprocess
is always stopped. `--quick` runs tiny repetition counts and skips the cold start (for tests).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
import time
from pathlib import Path

from .appserver import ROOT, running_app
from .common import (
    MODEL,
    Budget,
    Corpus,
    Settings,
    cpus,
    fill,
    load_average,
    log,
    machine,
    rows,
)  # fmt: skip
from .forward import bench_forward, render_forward
from .request import (
    RequestResult,
    bench_request_client,
    inprocess_in_child,
    inprocess_main,
    render_request,
)  # fmt: skip
from .start import StartResult, first_answer, import_time, render_start
from .targets import targets
from .throughput import ThroughputResult, bench_throughput, render_throughput
from .weight import bench_weight, render_weight

ECHO = ("-m", "benchmarks.echo")


def run(s: Settings) -> str:
    """Run every section and return the Markdown report."""
    # Every temporary file of this run (export files, the apps' Gradio caches, the cold start's
    # export) goes under one folder that is removed at the end.
    with tempfile.TemporaryDirectory(prefix="bertviz-bench-") as tmp:
        previous, tempfile.tempdir = tempfile.tempdir, tmp
        try:
            return _run(s, Path(tmp))
        finally:
            tempfile.tempdir = previous


def _run(s: Settings, scratch: Path) -> str:
    from bertviz_lite import cache, catalog
    from bertviz_lite import model as loaded_model

    started = time.monotonic()
    info = machine()
    load_start = load_average()
    checkpoint = catalog.checkpoint_dir(catalog.entries()[MODEL])
    warm_cache = cache.cache_root()
    log(f"checkpoint {checkpoint}; export cache {warm_cache}")
    # The app's own model (its default variant) exported before anything is timed: a warm cache.
    ex = loaded_model.load(MODEL, device="cpu", progress=False)
    corpus = Corpus(ex.tokenizer)
    for n in {*s.lengths, *s.request_lengths, *s.weight_lengths}:
        corpus.text(n)

    log("1. model forward")
    forward = bench_forward(s, corpus, checkpoint, Budget(30 if s.quick else 400))
    log("3. page weight")
    weight = bench_weight(s, corpus, checkpoint)

    request = RequestResult(lengths=s.request_lengths)
    start = StartResult()
    tput = ThroughputResult()
    start.import_s = import_time()
    log("4. warm start (and 2., 5. on the last one)")
    for i in range(s.warm_starts):
        (scratch / f"run{i}").mkdir()
        with running_app(warm_cache, scratch / f"run{i}") as app:
            start.warm.append((app.listening, first_answer(app, s.request_timeout)))
            log(f"warm start: {start.warm[-1][1]:.1f} s")
            if i == s.warm_starts - 1:
                log("2. whole request, against the echo app's floor")
                with running_app(warm_cache, scratch / "echo", command=ECHO) as echo:
                    budget = Budget(30 if s.quick else 300)
                    bench_request_client(s, corpus, app, echo, request, budget)
                log("5. throughput")
                tput = bench_throughput(s, corpus, app)
        shutil.rmtree(scratch / f"run{i}", ignore_errors=True)
    log("2. in-process steps")
    inprocess_in_child(s, request, scratch, 30 if s.quick else 300)
    if s.cold_start:
        log("4. cold start")
        (scratch / "cold" / "cache").mkdir(parents=True)
        with running_app(scratch / "cold" / "cache", scratch / "cold", timeout=400) as app:
            start.cold = (app.listening, first_answer(app, 400))
        log(f"cold start: {start.cold[1]:.1f} s")

    parts = [render_forward(forward, s), render_request(request), render_weight(weight),
             render_start(start, s), render_throughput(tput)]  # fmt: skip
    target_rows, paragraphs = targets(forward, request, weight, start)
    limits = fill("limits", paragraphs="\n\n".join(paragraphs)) if paragraphs else ""
    mode = fill("mode.quick") if s.quick else fill("mode.full")
    return fill("report", mode=mode, variant=ex.variant, seconds=f"{time.monotonic() - started:.0f}",
                machine=rows([[k, v] for k, v in info.items()]), load_start=load_start,
                load_end=load_average(), cpus=cpus(), sections="\n\n".join(parts),
                targets=target_rows, limits=limits).rstrip() + "\n"  # fmt: skip


def _stop(signum, frame):
    # SIGTERM (a timeout, CI cancelling) unwinds like Ctrl-C, so every `finally` stops the app.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark bertviz_lite against transformers and bertviz; write a Markdown report.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="tiny repetition counts, fewer lengths, no cold start")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md",
                        help="where to write the report (default: BENCHMARKS.md)")  # fmt: skip
    # Internal: the in-process part of section 2, run in a fresh interpreter by the bench itself.
    parser.add_argument("--inprocess-json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    if args.inprocess_json:
        inprocess_main(Settings.make(args.quick), args.inprocess_json)
        return
    text = run(Settings.make(args.quick))
    args.out.write_text(text)
    print(text)
    log(f"report written to {args.out}")


if __name__ == "__main__":
    main()

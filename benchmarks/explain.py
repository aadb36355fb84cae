"""The Explain view's costs: every attribution method (warm: torch and the model loaded once)
against one analyze, MiniLM sentiment, real text cut to 128 tokens, same run.

    python -m benchmarks.explain [--reps 3]

Prints a Markdown table; the targets (issue 16, 2 cores) are occlusion ≤ 1 s and integrated
gradients ≤ 3 s at 128 tokens.
"""

from __future__ import annotations

import argparse
import statistics
import time

import bertviz_lite as bv
from bertviz_lite.attribution import METHODS, attribute

from .common import Corpus

TARGETS = {"occlusion": 1.0, "integrated-gradients": 3.0}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args(argv)
    model = bv.load("sentiment", progress=False)
    corpus = Corpus(model.tokenizer)
    rows = []
    for method in ("analyze", *METHODS):  # every registered method, each against its target
        times = []
        for rep in range(args.reps + 1):  # the first is the warm-up (torch, Captum, the model)
            text = corpus.text(args.tokens, f"explain {method} {rep}")
            t0 = time.perf_counter()
            if method == "analyze":
                model.analyze(text)
            else:
                attribute(model, text, method=method)
            if rep:
                times.append(time.perf_counter() - t0)
        p50 = statistics.median(times)
        target = TARGETS.get(method)
        verdict = "" if target is None else f"≤ {target:g} s: {'met' if p50 <= target else 'missed'}"
        rows.append(f"| {method} | {args.tokens} | {p50 * 1000:.0f} ms | {verdict} |")
    print("| method | tokens | p50 | target |\n|---|---|---|---|\n" + "\n".join(rows))


if __name__ == "__main__":
    main()

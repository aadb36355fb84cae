"""Probing every layer of a corpus, against what a person would write with scikit-learn's defaults.

    python -m benchmarks.probes [--label pos] [--model minilm] [--reps 3] [--quick] [--out FILE]

On the model's default corpus (assets/default_corpus.txt, built in the cache at first use), times
`c.probe(label)` over every layer with its control task (the median of `--reps` runs after none:
each run is a whole probe, seconds long), and beside it, on the same tokens, labels and split
(the probe's own functions read them), the plain loop: `LogisticRegression()` with its defaults
(lbfgs, max_iter 100, tol 1e-4) on unscaled vectors, the task and the control task per layer.
Reports both times, their ratio and the largest difference in accuracy. Target (issue 27): every
layer for pos over the default corpus ≤ 20 s on 2 cores. `--quick`: three layers, 2,000 tokens.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from .common import load_average, log, machine, p50

TARGET_S = 20.0


def plain_loop(corpus, label: str, layers: list[int], max_tokens: int) -> tuple[float, list[float]]:
    """The same probes as a person would write them: defaults, no scaling (seconds, accuracies)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from bertviz_lite.corpus.probes import control_labels, split, tokens, vectors

    d = tokens(corpus, label)
    train, test, _ = split(d["sentence"], 0, 0.2, max_tokens)
    _, y = np.unique(d["y"], return_inverse=True)
    y_control = control_labels(d["type"], y, train, 0)
    started, accuracy = time.perf_counter(), []
    for layer in layers:
        x = vectors(corpus, layer, d["sentence"], d["position"])
        for target in (y, y_control):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fitted = LogisticRegression().fit(x[train], target[train])
            if target is y:
                accuracy.append(float(fitted.score(x[test], target[test])))
    return time.perf_counter() - started, accuracy


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="pos")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    from bertviz_lite import corpora

    log(f"opening (building if need be) {args.model}'s default corpus")
    corpus = corpora.wait_for_default(args.model)
    layers = list(corpus.manifest["vectors_layers"])
    max_tokens = 20_000
    if args.quick:
        layers, max_tokens, args.reps = [0, len(layers) // 2, layers[-1]], 2_000, 1
    before = load_average()
    ours, result = [], None
    for _ in range(args.reps):
        started = time.perf_counter()
        result = corpus.probe(args.label, layers=layers, max_tokens=max_tokens)
        ours.append(time.perf_counter() - started)
    plain, accuracy = plain_loop(corpus, args.label, layers, max_tokens)
    gap = max(abs(row["accuracy"] - a) for row, a in zip(result.rows, accuracy))
    m = machine()
    report = "\n".join([
        f"# Probing every layer ({args.label}, {args.model}'s default corpus, {len(layers)} layers)",
        "",
        f"{m['CPU']}; load average {before} before, {load_average()} after",
        "",
        "| run | seconds | × ours | accuracy |",
        "|---|---|---|---|",
        f"| ours: `c.probe('{args.label}')` (StandardScaler + LogisticRegression, tol 1e-3, one "
        f"BLAS thread), median of {args.reps} | {p50(ours):.1f} | 1.00 | |",
        f"| scikit-learn's defaults on unscaled vectors, same split | {plain:.1f} | "
        f"{plain / p50(ours):.2f} | max difference {gap:.3f} |",
        "",
        f"Target: ≤ {TARGET_S:.0f} s: {'met' if p50(ours) <= TARGET_S else 'missed'}.",
        "", result.table(),
    ])  # fmt: skip
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    return {"ours": p50(ours), "plain": plain, "gap": gap, "rows": result.rows}


if __name__ == "__main__":
    main()

"""Train a task adapter, or evaluate a committed one.

    python -m bertviz_lite.train {sentiment,topic,ner} [--epochs N] [--max-steps N] [--out DIR]
    python -m bertviz_lite.train eval {sentiment,topic,ner} [--variant int8|fp32] [--card]

Training fine-tunes MiniLM with LoRA on the train split, picks the epoch by the dev split, writes
adapter.safetensors + adapter.json + README.md into models/<task>/ and prints the test figures
(read once, at the end): `fit.train_task`. `eval` scores the adapter on the test split twice --
through fp32 torch (`adapter.load_merged`) and through the ONNX model the app runs (`bv.load`) --
on exactly the same token ids, and prints both and their difference (`evaluate`); `--card`
writes the figures into README.md (`cards`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import time
from pathlib import Path

# Before torch (and its OpenMP runtime) loads: idle OpenMP threads spin only briefly, then sleep.
# On this 2-core machine shared with other busy processes, libgomp's default spinning made each
# step 4-25x slower (0.2 s → 1-9 s); fully passive waiting cost up to 3x when the CPU was free.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from .cards import headline, write_card
from .tasks import TASKS, default_out


def cmd_train(args: argparse.Namespace, command: str) -> None:
    from .fit import train_task

    out = Path(args.out) if args.out else None
    train_task(args.task, command, out, args.epochs, args.max_steps, args.limit)


def cmd_eval(args: argparse.Namespace) -> None:
    from .evaluate import evaluate_committed
    from .loop import score

    task, variant = args.task, args.variant
    adapter_dir = (Path(args.adapter) if args.adapter else default_out(task)).resolve()
    started = time.perf_counter()
    figures = evaluate_committed(task, adapter_dir, variant, args.limit)
    a, b = figures["torch_fp32"], figures[f"onnx_{variant}"]
    print(f"{task} test, torch fp32:      {headline(task, a)}")
    print(f"{task} test, ONNX {variant}:{' ' * (8 - len(variant))} {headline(task, b)}")
    print(f"difference (ONNX - torch): {100 * (score(task, b) - score(task, a)):+.2f} points")
    if f"onnx_{variant}_app" in figures:
        c = figures[f"onnx_{variant}_app"]
        print(
            f"{task} test, ONNX {variant} via analyze_batch (up to 512 tokens): {headline(task, c)}"
        )
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.card:
        write_card(task, adapter_dir, figures)
        print(f"wrote {adapter_dir / 'README.md'}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if argv and argv[0] == "eval":
        p = argparse.ArgumentParser(prog="python -m bertviz_lite.train eval")
        p.add_argument("task", choices=list(TASKS))
        p.add_argument("--variant", choices=["int8", "fp32"], default="int8")
        p.add_argument("--adapter", help="adapter folder (default: models/<task>)")
        p.add_argument("--limit", type=int, help="only the first N test items (smoke runs)")
        p.add_argument("--card", action="store_true", help="write the figures into README.md")
        p.add_argument("--json", help="also write the figures to this file")
        cmd_eval(p.parse_args(argv[1:]))
        return
    p = argparse.ArgumentParser(prog="python -m bertviz_lite.train")
    p.add_argument("task", choices=list(TASKS))
    p.add_argument("--epochs", type=int, help="override the task's epochs")
    p.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    p.add_argument("--out", help="output folder (default: models/<task>)")
    p.add_argument("--limit", type=int, help="only the first N items of each split (smoke runs)")
    cmd_train(p.parse_args(argv), "python -m bertviz_lite.train " + shlex.join(argv))


if __name__ == "__main__":
    main()

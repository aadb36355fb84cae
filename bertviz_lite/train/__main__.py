"""Train a task adapter, or evaluate a committed one.

    python -m bertviz_lite.train {sentiment,topic,ner} [--epochs N] [--max-steps N] [--out DIR]
    python -m bertviz_lite.train eval {sentiment,topic,ner} [--variant int8|fp32] [--card]
    python -m bertviz_lite.train mlm [--whole-word] [--head-only] [--resume] [--epochs N] ...
    python -m bertviz_lite.train eval minilm-mlm [--variant int8|fp32] [--card]

Training fine-tunes MiniLM with LoRA on the train split, picks the epoch by the dev split, writes
adapter.safetensors + adapter.json + README.md into models/<task>/ and prints the test figures
(read once, at the end): `fit.train_task`. `eval` scores the adapter on the test split twice --
through fp32 torch (`adapter.load_merged`) and through the ONNX model the app runs (`bv.load`) --
on exactly the same token ids, and prints both and their difference (`evaluate`); `--card`
writes the figures into README.md (`cards`).

`mlm` (also `minilm-mlm`) pre-trains a masked-LM head and then LoRA + head on the pre-training
text (`pretrain.train_mlm`; models/minilm-mlm/ and its head-only baseline in head-only/), with a
checkpoint after every epoch that `--resume` continues from. Its `eval` scores both on the test
split's single-mask probes through torch fp32, ONNX fp32 and ONNX int8 (`pretrain.evaluate_mlm`;
`--variant` picks one ONNX variant).
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
from .mlm import NAMES as MLM_NAMES
from .tasks import TASKS, default_out


def cmd_train(args: argparse.Namespace, command: str) -> None:
    from .fit import train_task

    out = Path(args.out) if args.out else None
    train_task(args.task, command, out, args.epochs, args.max_steps, args.limit)


def cmd_train_mlm(args: argparse.Namespace, command: str) -> None:
    from .pretrain import train_mlm

    out = Path(args.out) if args.out else None
    train_mlm(command, out, args.epochs, args.head_epochs, args.max_steps, args.limit,
              args.whole_word, args.head_only, args.resume)  # fmt: skip


def cmd_eval_mlm(args: argparse.Namespace) -> None:
    from .cards import write_mlm_card
    from .mlm import default_out as mlm_out
    from .pretrain import evaluate_mlm, headline

    folder = (Path(args.adapter) if args.adapter else mlm_out()).resolve()
    variants = (args.variant,) if args.variant else ("fp32", "int8")
    started = time.perf_counter()
    figures, sizes = evaluate_mlm(folder, variants, args.limit)
    for which, row in figures.items():
        for path, m in row.items():
            print(f"{args.task} test, {which}, {path}:{' ' * (11 - len(path))} {headline(m)}")
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.card:
        write_mlm_card(folder, figures, test_docs=sizes["documents"],
                       test_windows=sizes["windows"])  # fmt: skip
        print(f"wrote {folder / 'README.md'}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


def cmd_eval(args: argparse.Namespace) -> None:
    from .evaluate import evaluate_committed
    from .loop import score

    if args.task in MLM_NAMES:
        cmd_eval_mlm(args)
        return
    task, variant = args.task, args.variant or "int8"
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
        p.add_argument("task", choices=[*TASKS, *MLM_NAMES])
        p.add_argument(
            "--variant", choices=["int8", "fp32"],
            help="the ONNX variant (default: int8; for minilm-mlm both fp32 and int8)",
        )  # fmt: skip
        p.add_argument("--adapter", help="adapter folder (default: models/<task>)")
        p.add_argument("--limit", type=int, help="only the first N test items (smoke runs)")
        p.add_argument("--card", action="store_true", help="write the figures into README.md")
        p.add_argument("--json", help="also write the figures to this file")
        cmd_eval(p.parse_args(argv[1:]))
        return
    p = argparse.ArgumentParser(prog="python -m bertviz_lite.train")
    p.add_argument("task", choices=[*TASKS, *MLM_NAMES])
    p.add_argument("--epochs", type=int, help="override the task's epochs (mlm: stage 2's)")
    p.add_argument("--max-steps", type=int, help="stop after N optimizer steps (mlm: per stage)")
    p.add_argument("--out", help="output folder (default: models/<task>, models/minilm-mlm)")
    p.add_argument("--limit", type=int, help="only the first N items of each split (smoke runs)")
    mlm = p.add_argument_group("masked-LM pre-training (mlm, minilm-mlm)")
    mlm.add_argument("--whole-word", action="store_true", help="mask whole words")
    mlm.add_argument("--head-only", action="store_true", help="stage 1 only: the head alone")
    mlm.add_argument("--head-epochs", type=int, help="override stage 1's epochs")
    mlm.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    args = p.parse_args(argv)
    command = "python -m bertviz_lite.train " + shlex.join(argv)
    if args.task in MLM_NAMES:
        cmd_train_mlm(args, command)
        return
    extra = [f"--{k.replace('_', '-')}" for k in ("whole_word", "head_only", "head_epochs",
                                                   "resume") if getattr(args, k)]  # fmt: skip
    if extra:
        p.error(f"{', '.join(extra)}: only for mlm")
    cmd_train(args, command)


if __name__ == "__main__":
    main()

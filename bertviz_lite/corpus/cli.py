"""`python -m bertviz_lite corpus build|stats|search|examples`: the corpus API on the command line.

python -m bertviz_lite corpus build --model sentiment --data reviews.jsonl --out corpora/reviews
python -m bertviz_lite corpus stats corpora/reviews [--measure norm] [--dependencies]
python -m bertviz_lite corpus search corpora/reviews --text "The bank" --position 2 --layer 4
python -m bertviz_lite corpus examples corpora/reviews --layer 2 --head 5 --stat to_prev
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..config import CheckpointError
from ..errors import UserError


def add_commands(commands) -> None:
    """The `corpus` command and its sub-commands, on the main parser's sub-parsers."""
    parser = commands.add_parser("corpus", help="build a corpus, read its statistics, search it",
                                 description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = parser.add_subparsers(dest="corpus_command", required=True)
    build = sub.add_parser("build", help="run a model over a corpus into a folder (resumes)")
    build.add_argument("--model", default="minilm", help="catalog name, checkpoint folder or hub id")
    build.add_argument("--data", required=True,
                       help="a .txt/.jsonl/.csv/.parquet file, or a named set (bbc, vader, amazon, nyt)")  # fmt: skip
    build.add_argument("--out", required=True, help="the corpus folder")
    build.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="ray: Ray Data, on the cluster RAY_ADDRESS names or a local Ray")  # fmt: skip
    build.add_argument("--column", default="text", help="the text's field or column")
    build.add_argument("--vectors-layers", default="all",
                       help="layers whose token vectors to index: all, none, or e.g. 0,4,6")  # fmt: skip
    build.add_argument("--no-annotate", action="store_true", help="no spaCy tags")
    build.add_argument("--chunk-size", type=int, default=256)
    build.add_argument("--workers", type=int, default=None, help="Ray actors")
    build.add_argument("--variant", choices=("fp32", "int8"), default="fp32",
                       help="int8: faster, and its attention drifts from the model's own")  # fmt: skip
    stats = sub.add_parser("stats", help="per-head statistics (a row per layer and head)")
    stats.add_argument("folder")
    stats.add_argument("--measure", choices=("attention", "norm"), default="attention")
    stats.add_argument("--dependencies", action="store_true",
                       help="each relation's best head against its fixed-offset baseline")  # fmt: skip
    stats.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    search = sub.add_parser("search", help="the corpus tokens nearest a token in context")
    search.add_argument("folder")
    search.add_argument("--text", required=True)
    search.add_argument("--position", type=int, required=True, help="token index, 0 is [CLS]")
    search.add_argument("--layer", type=int, required=True, help="0 is the embeddings")
    search.add_argument("--k", type=int, default=10)
    search.add_argument("--where", default=None, help="e.g. \"pos = 'NOUN'\"")
    search.add_argument("--json", action="store_true")
    examples = sub.add_parser("examples", help="the texts where a head shows a statistic most")
    examples.add_argument("folder")
    examples.add_argument("--layer", type=int, required=True)
    examples.add_argument("--head", type=int, required=True)
    examples.add_argument("--stat", required=True)
    examples.add_argument("--measure", choices=("attention", "norm"), default="attention")
    examples.add_argument("--k", type=int, default=10)
    examples.add_argument("--json", action="store_true")


def run(args) -> int:
    """Carries out a parsed `corpus` command; 2 with a message for what the person can fix."""
    try:
        return _carry_out(args)
    except ModuleNotFoundError as e:  # an install without the store, or without Ray
        if e.name not in ("lancedb", "pyarrow", "ray"):
            raise
        needs = "requirements-scale.txt" if e.name == "ray" else "requirements.txt"
        print(f"error: a corpus needs {e.name}: pip install -r {needs}", file=sys.stderr)
        return 2


def _carry_out(args) -> int:
    from . import CorpusError, build, open

    try:
        if args.corpus_command == "build":
            c = build(args.model, args.data, args.out, engine=args.engine,
                      vectors_layers=_layers(args.vectors_layers),
                      annotate=not args.no_annotate, column=args.column,
                      chunk_size=args.chunk_size, workers=args.workers,
                      variant=args.variant)  # fmt: skip
            m = c.manifest
            print(f"{c.folder}: {m['size']} texts ({m['skipped']} empty skipped), "
                  f"{m['tokens']} tokens, model {m['model']}")  # fmt: skip
            return 0
        c = open(args.folder)
        if args.corpus_command == "stats":
            table = (c.dependency_best(args.measure) if args.dependencies
                     else c.head_stats(args.measure))  # fmt: skip
        elif args.corpus_command == "search":
            table = c.search(args.text, args.position, args.layer, args.k, args.where)
        else:
            table = c.examples(args.layer, args.head, args.stat, args.k, args.measure)
    except (CorpusError, UserError, CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ConnectionError as e:  # ray.init: RAY_ADDRESS names a cluster it cannot reach
        print(f"error: {e} (RAY_ADDRESS={os.environ.get('RAY_ADDRESS')!r})", file=sys.stderr)
        return 2
    show(table.to_pylist(), args.json)
    return 0


def _layers(value: str):
    if value == "all":
        return None
    if value == "none":
        return ()
    try:
        return tuple(int(v) for v in value.split(","))
    except ValueError:
        raise UserError(f"--vectors-layers: all, none or numbers like 0,4,6; not {value!r}") from None


def show(rows: list[dict], as_json: bool) -> None:
    """Rows as JSON lines, or as an aligned table (floats to 4 places, long texts cut)."""
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        print("(nothing found)")
        return

    def cell(v) -> str:
        text = f"{v:.4f}" if isinstance(v, float) else "" if v is None else str(v)
        text = " ".join(text.split())
        return text if len(text) <= 60 else text[:59] + "…"

    cells = [[cell(row[k]) for k in rows[0]] for row in rows]
    widths = [max(len(k), *(len(r[i]) for r in cells)) for i, k in enumerate(rows[0])]
    print("  ".join(k.ljust(w) for k, w in zip(rows[0], widths)))
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))

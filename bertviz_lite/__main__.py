"""Command line: `python -m bertviz_lite analyze|export|models`.

python -m bertviz_lite analyze --model minilm --text "..." [--pair "..."]   # JSON on stdout
python -m bertviz_lite export --model minilm [--variant int8]                # build the cache
python -m bertviz_lite corpus build --model minilm --data texts.txt --out corpora/mine
python -m bertviz_lite corpus stats corpora/mine                             # a row per head
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from . import catalog
from .config import CheckpointError
from .corpus import cli as corpus_cli
from .model import VARIANTS, load
from .runtime import DEVICES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bertviz_lite",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("analyze", "print one input's analysis as JSON"),
                            ("export", "export a model to ONNX and cache it")):  # fmt: skip
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument(
            "--model", default="minilm", help="catalog name, checkpoint folder or hub id"
        )
        sub.add_argument("--device", choices=DEVICES, default="auto")
        sub.add_argument("--variant", choices=VARIANTS, default="auto")
        if name == "analyze":
            sub.add_argument("--text", required=True)
            sub.add_argument("--pair", default=None, help="second sentence of a pair")
            sub.add_argument("--decimals", type=int, default=4)
    commands.add_parser("models", help="list the catalog")
    corpus_cli.add_commands(commands)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )

    if args.command == "corpus":
        return corpus_cli.run(args)
    if args.command == "models":
        for entry in catalog.entries().values():
            print(f"{entry.name:10} {entry.title}: {entry.description}")
        return 0
    try:
        model = load(args.model, device=args.device, variant=args.variant)
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.command == "export":
        where = model.session.path
        print(f"{model.name}: {model.variant} on {model.device}, cached in {where}")
        return 0
    result = model.analyze(args.text, pair=args.pair)
    if result.truncated:
        kept, total = len(result.tokens), result.encoding.original_length
        print(f"note: input truncated to {kept} of {total} tokens", file=sys.stderr)
    json.dump(result.to_dict(args.decimals), sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

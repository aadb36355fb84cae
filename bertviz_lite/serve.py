"""Serving the app: the command line, the person's own models, and launching with the bounds.

`python app.py [--model PATH_OR_HUB_ID [--name NAME]]... [--corpus DIR]... [--share] [--host H]
[--port P]`. Own models also come from BERTVIZ_LITE_MODELS or a models file, own corpora from
BERTVIZ_LITE_CORPORA, so a Space lists them without code. The default model's default corpus
starts building at start (corpora.py), in the background.

The app takes no upload, so the routes through which Gradio writes visitors' files are closed:
`NoUploads`, a middleware given to Gradio's FastAPI app at launch (`app_kwargs`), refuses with
403 before any byte is read every request to /gradio_api/upload or /gradio_api/process_recording
and every multipart body (the form through which Gradio's routes take files; its parser spools
them to disk). The page needs none of them: it sends JSON, and downloads are GET.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from . import catalog, corpora, events
from .config import CheckpointError
from .defaults import DEFAULT_MODEL
from .ui import CONCURRENCY, MAX_UPLOAD, QUEUE_SIZE, SESSIONS, build
from .views import UserError
from .views.links import ASSETS


class NoUploads:
    """ASGI middleware: 403 for Gradio's routes that write a visitor's files, and for any
    multipart body, before the body is read; everything else passes untouched."""

    WRITERS = frozenset({"upload", "process_recording"})  # last path segment, any prefix

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @classmethod
    def refuses(cls, scope: Scope) -> bool:
        if scope["type"] != "http":
            return False
        last = scope["path"].rstrip("/").rsplit("/", 1)[-1].lower()
        if scope["method"] not in ("GET", "HEAD") and last in cls.WRITERS:
            return True
        headers = dict(scope.get("headers") or ())
        return headers.get(b"content-type", b"").lstrip().lower().startswith(b"multipart/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.refuses(scope):
            refusal = PlainTextResponse("This app takes no upload.", status_code=403)
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def app_kwargs() -> dict[str, Any]:
    """What launch() passes to Gradio's FastAPI app: the upload routes closed (NoUploads)."""
    return {"middleware": [Middleware(NoUploads)]}


def add_models(specs: list[str], names: list[str]) -> list[str]:
    """Register the person's own models (--model, --name, BERTVIZ_LITE_MODELS, a models file)
    and check that each loads, so that a bad path fails at start with its reason."""
    added = []
    for i, spec in enumerate(specs):
        checkpoint, name = catalog.from_spec(spec)
        entry = catalog.register(checkpoint, names[i] if i < len(names) else name)
        events.model(entry.name)  # exports once, and fails now rather than on a visitor's click
        added.append(entry.name)
    return added


def add_corpora(folders: list[str]) -> list[str]:
    """Register corpora built with the CLI (--corpus, BERTVIZ_LITE_CORPORA): a bad folder fails
    at start with its reason."""
    return [corpora.register(folder).name for folder in folders]


def model_specs(args: argparse.Namespace) -> list[str]:
    """--model flags, then BERTVIZ_LITE_MODELS (one per line or ';'), then --models-file lines."""
    specs = list(args.model)
    env = os.environ.get("BERTVIZ_LITE_MODELS", "")
    specs += [s for s in env.replace(";", "\n").splitlines() if s.strip()]
    if args.models_file:
        lines = Path(args.models_file).read_text().splitlines()
        specs += [s for s in lines if s.strip() and not s.lstrip().startswith("#")]
    return specs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="bertviz_lite explorer")
    parser.add_argument("--model", action="append", default=[], metavar="PATH_OR_HUB_ID",
                        help="add your own checkpoint to the model list (repeatable; "
                             "NAME=PATH works too)")  # fmt: skip
    parser.add_argument("--name", action="append", default=[],
                        help="the name of the --model of the same position (default: its folder)")
    parser.add_argument("--models-file", default=os.environ.get("BERTVIZ_LITE_MODELS_FILE"),
                        help="a file with one NAME=PATH_OR_HUB_ID per line (for a Space)")  # fmt: skip
    parser.add_argument("--corpus", action="append", default=[], metavar="DIR",
                        help="add a corpus built with `python -m bertviz_lite corpus build` "
                             "(repeatable; shown with the model it was built with)")  # fmt: skip
    parser.add_argument("--share", action="store_true", help="also give a public Gradio link")
    # Loopback unless told otherwise; Spaces sets GRADIO_SERVER_NAME itself.
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    args = parser.parse_args(argv)
    try:
        added = add_models(model_specs(args), args.name)
        env = os.environ.get("BERTVIZ_LITE_CORPORA", "")
        add_corpora(args.corpus + [f for f in env.replace(";", "\n").splitlines() if f.strip()])
    except (CheckpointError, UserError, OSError) as e:
        parser.exit(2, f"error: {e}\n")
    # The corpus views open on the default model: its corpus starts building now (once per
    # model version, in the cache), while the page serves everything else; with
    # BERTVIZ_LITE_CORPUS_AT_START=0, at the first visit of a corpus view instead.
    at_start = os.environ.get("BERTVIZ_LITE_CORPUS_AT_START", "1") != "0"
    building = at_start and corpora.installed() and corpora.prepare(DEFAULT_MODEL, started=True)
    demo = build(extra_examples=added)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    # quiet: Gradio's own lines would tell a person to "set share=True in launch()"; the app's
    # flag is --share, so it says its own.
    demo.launch(server_name=args.host, server_port=args.port, share=args.share,
                css_paths=[ASSETS / "app.css"], js=(ASSETS / "plots.js").read_text(),
                show_error=False, max_file_size=MAX_UPLOAD, app_kwargs=app_kwargs(),
                state_session_capacity=SESSIONS, quiet=True, prevent_thread_lock=True)  # fmt: skip
    print(f"* Running on {demo.local_url}", flush=True)
    if building:
        print(f"* {building}", flush=True)
    print(f"* Public link: {demo.share_url}" if demo.share_url else
          "* For a public link: python app.py --share", flush=True)  # fmt: skip
    demo.block_thread()

"""The corpora the app knows by name: each catalog model's default corpus, and the person's own.

A corpus is shown only with the model it was built with, and links name it, never its folder
(as catalog.py does for models). The default corpus is the texts of assets/default_corpus.txt
(BBC News leads and VADER snippets, tools/default_corpus.py) run through the model: built in the
cache folder at its first use, in a background thread (one build at a time, a file lock against
other processes), while the views say it is being built. `--corpus DIR` adds a corpus built with
the CLI (`register`). The app only reads a corpus folder; building the default writes only its
own cache folder. Needs lancedb and pyarrow (requirements.txt); without them the views say what
to install.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import catalog
from .cache import cache_root
from .errors import UserError

log = logging.getLogger(__name__)

DEFAULT = "default"
DEFAULT_TEXTS = Path(__file__).resolve().parent.parent / "assets" / "default_corpus.txt"
DEFAULT_CHUNK = 128  # texts per chunk of the default build: the page's progress moves this often


@dataclass(frozen=True)
class Known:
    name: str
    folder: Path
    model: str


_registered: dict[str, Known] = {}
_opened: dict[Path, Any] = {}
_building: dict[str, int] = {}  # model -> texts read so far by its default corpus's build
_failed: dict[str, str] = {}  # model -> why its default corpus could not be built
_lock = threading.Lock()


@cache
def installed() -> bool:
    """Whether this install can open a corpus (lancedb and pyarrow)."""
    return all(importlib.util.find_spec(m) is not None for m in ("lancedb", "pyarrow"))


def register(folder: str | Path, name: str | None = None) -> Known:
    """Add a finished corpus folder under a name (default: the folder's name), for `--corpus`.
    Its model must be one the app lists (a catalog model or a --model of the same name)."""
    folder = Path(folder).expanduser().resolve()
    name = name or folder.name
    if not catalog.NAME.fullmatch(name) or name == DEFAULT:
        raise UserError(f"{name[:64]!r} cannot name a corpus: use letters, digits, '.', '_' or "
                        f"'-' (and not {DEFAULT!r})")  # fmt: skip
    try:
        manifest = json.loads((folder / "corpus.json").read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{folder} is not a corpus folder (no readable corpus.json: {e})") from None
    if manifest.get("status") != "complete":
        raise UserError(f"{folder} is an unfinished build: finish it with the same build command")
    model = manifest.get("model")
    if model not in catalog.entries():
        raise UserError(f"{folder} was built with model {model!r}, which the app does not list: "
                        f"add it with --model {model}")  # fmt: skip
    if name in _registered and _registered[name].folder != folder:
        raise UserError(f"two corpora are named {name!r}: rename one folder")
    _registered[name] = Known(name, folder, model)
    return _registered[name]


def names_for(model: str) -> list[str]:
    """The corpora shown with `model`: its default (catalog models only), then the person's own."""
    own = [k.name for k in _registered.values() if k.model == model]
    shipped = [DEFAULT] if model in catalog.shipped_names() else []
    return shipped + own


def default_folder(model: str) -> Path:
    from .model import version

    return cache_root() / "corpora" / f"{DEFAULT}-{model}-{version(model)[:16]}"


def open_corpus(name: str, model: str) -> Any:
    """The corpus `name` of `model`, opened once. UserError says why not: unknown, not built with
    this model, not installed, or the default still being built (its build is then started)."""
    if not installed():
        raise UserError("Corpus views need lancedb and pyarrow: pip install -r requirements.txt")
    names = names_for(model)
    if not names:
        raise UserError(f"No corpus for model {model!r}: build one with `python -m bertviz_lite "
                        f"corpus build --model ...` and start the app with --corpus DIR.")  # fmt: skip
    if name not in names:
        raise UserError(f"No corpus {str(name)[:60]!r} for model {model!r} (its corpora: "
                        f"{', '.join(names)}).")  # fmt: skip
    folder = _registered[name].folder if name in _registered else default_folder(model)
    if folder in _opened:  # every redraw of a corpus view: no file read
        return _opened[folder]
    if name == DEFAULT and not _complete(folder):
        raise UserError(f"{prepare(model)} Open this view again in a moment.")
    with _lock:
        if folder not in _opened:
            from .corpus import CorpusError, open

            try:
                _opened[folder] = open(folder)
            except CorpusError as e:
                raise UserError(str(e)) from None
        return _opened[folder]


def prepare(model: str, started: bool = False) -> str:
    """Start building `model`'s default corpus unless built or under way; what the page says
    (`started`: "" unless this call started the build)."""
    total = _default_size()
    with _lock:
        if model in _failed:
            return f"The default corpus of {model!r} could not be built: {_failed[model]}"
        start = model not in _building and not _complete(default_folder(model))
        if start:
            _building[model] = 0
            threading.Thread(target=_build, args=(model,), daemon=True, name=f"corpus-{model}").start()
        elif started:
            return ""
        done = _building.get(model, total)
    return (f"The default corpus of {model!r} ({total:,} texts) is being built: {done:,} read so "
            "far, about 20 s in all.")


@cache
def _default_size() -> int:
    return sum(1 for line in DEFAULT_TEXTS.open(encoding="utf-8") if line.strip())


def wait_for_default(model: str, timeout: float = 600) -> Any:
    """`model`'s default corpus, built now if it is not (waiting for a build under way)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            return open_corpus(DEFAULT, model)
        except UserError:
            if model in _failed or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _complete(folder: Path) -> bool:
    try:
        return json.loads((folder / "corpus.json").read_text()).get("status") == "complete"
    except (OSError, ValueError):
        return False


def _build(model: str) -> None:
    from filelock import FileLock

    from .corpus import build

    folder = default_folder(model)
    folder.parent.mkdir(parents=True, exist_ok=True)
    log.warning("building the default corpus of %r in %s", model, folder)

    def told(read: int) -> None:
        _building[model] = read

    try:
        with FileLock(str(folder) + ".lock"):  # another process may be building it: wait
            if not _complete(folder):
                build(model, DEFAULT_TEXTS, folder, progress=told, chunk_size=DEFAULT_CHUNK)
        log.warning("the default corpus of %r is ready", model)
    except Exception as e:  # any failure is said on the page, and logged with its trace
        log.exception("the default corpus of %r failed", model)
        _failed[model] = str(e)[:300]
    finally:
        _building.pop(model, None)

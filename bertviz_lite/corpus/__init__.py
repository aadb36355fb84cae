"""A corpus: one model run over many texts, kept as per-head statistics and a searchable token
index (Clark et al. 2019; exBERT), in an embedded LanceDB store, built locally or on Ray Data.

import bertviz_lite as bv
c = bv.corpus.build("sentiment", "amazon", out="corpora/amazon")   # or engine="ray"
c = bv.corpus.open("corpora/amazon")
c.head_stats()                         # a row per (layer, head): to_cls, to_prev, entropy, ...
c.search("The bank raised rates.", position=2, layer=4, where="pos = 'NOUN'")
c.examples(layer=2, head=5, stat="to_prev")

sources: the data; annotate: spaCy's tags aligned to tokens; stats: the statistics; extract: the
Extractor both engines run; store: the folder and its tables; build: the engines; queries: the
opened Corpus. Needs requirements-scale.txt (lancedb; ray for engine="ray").
"""

from pathlib import Path

from .build import ENGINES, build
from .queries import Corpus
from .sources import NAMED
from .stats import MEASURES, STATS
from .store import CorpusError


def open(folder: str | Path) -> Corpus:
    """A finished corpus folder; a CorpusError says what is wrong with any other."""
    return Corpus(folder)


__all__ = ["ENGINES", "MEASURES", "NAMED", "STATS", "Corpus", "CorpusError", "build", "open"]

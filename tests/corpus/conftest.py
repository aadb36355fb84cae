"""A small real corpus, built once for the corpus tests: MiniLM over a dozen varied texts, with
spaCy's annotations and every layer's vectors."""

from __future__ import annotations

import pytest
from corpus_texts import TEXTS

import bertviz_lite as bv


@pytest.fixture(scope="session")
def minilm():
    return bv.load("minilm", progress=False)


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The corpus of TEXTS, in chunks of 4 (so statistics add across chunks)."""
    out = tmp_path_factory.mktemp("corpus") / "small"
    return bv.corpus.build("minilm", TEXTS, out=out, chunk_size=4, progress=False)

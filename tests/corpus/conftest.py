"""A small real corpus, built once for the corpus tests: MiniLM over a dozen varied texts, with
spaCy's annotations and every layer's vectors."""

from __future__ import annotations

import pytest

import bertviz_lite as bv

TEXTS = [
    "The cat sat on the mat.",
    "Apple is buying a U.K. startup for $1 billion, said Tim Cook in London.",
    "",
    "I don't like it at all!!!",
    "The bank raised its rates; the river bank flooded.",
    "Tokenization is unbelievably hard, isn't it?",
    "Mary went to Paris and John went to New York.",
    "   ",
    "She sells sea shells by the sea shore.",
    "A dog chased the red ball across the garden, and the ball rolled away.",
    "Prices rose 3.5% in March, the fastest pace since 2008.",
    "Why?",
]


@pytest.fixture(scope="session")
def minilm():
    return bv.load("minilm", progress=False)


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The corpus of TEXTS, in chunks of 4 (so statistics add across chunks)."""
    out = tmp_path_factory.mktemp("corpus") / "small"
    return bv.corpus.build("minilm", TEXTS, out=out, chunk_size=4, progress=False)

"""The real MiniLM and one analysed sentence pair, shared by the analysis tests."""

from __future__ import annotations

import pytest

import bertviz_lite as bv

PAIR = ("Tokenization is unbelievably hard.", "The cat sat.")


@pytest.fixture(scope="module")
def minilm():
    return bv.load("minilm", progress=False)


@pytest.fixture(scope="module")
def pair_result(minilm):
    return minilm.analyze(*PAIR)

"""The faithful default: what the app and `variant="auto"` show is the model's own attention.

On the app's example sentences, every attention probability of the default variant lies within
0.01 of fp32, with the same predictions; int8 (an explicit choice) is allowed to move them, and the
drift it reports is the one measured here.
"""

from __future__ import annotations

import numpy as np
import pytest

import bertviz_lite as bv
from bertviz_lite.analysis import attention_drift
from bertviz_lite.examples import EXAMPLES

TOLERANCE = 0.01


@pytest.fixture(scope="module")
def loaded():
    cache: dict = {}

    def get(name: str, variant: str):
        if (name, variant) not in cache:
            cache[name, variant] = bv.load(name, variant=variant, progress=False)
        return cache[name, variant]

    return get


@pytest.mark.slow
@pytest.mark.parametrize(("text", "pair", "name"), EXAMPLES)
def test_the_default_keeps_attention_within_a_hundredth_of_fp32(loaded, text, pair, name):
    exact = loaded(name, "fp32").analyze(text, pair or None)
    shown = loaded(name, "auto").analyze(text, pair or None)
    drift = attention_drift(shown, exact)
    assert drift["max"] <= TOLERANCE, drift
    assert shown.predictions == exact.predictions or np.allclose(shown.logits, exact.logits, atol=1e-4)


@pytest.mark.slow
def test_int8_drift_is_measured_not_guessed(loaded):
    text, pair, name = EXAMPLES[0]
    exact = loaded(name, "fp32").analyze(text, pair or None)
    fast = loaded(name, "int8").analyze(text, pair or None)
    drift = attention_drift(fast, exact)
    by_hand = np.abs(fast.attentions - exact.attentions)
    assert drift["max"] == pytest.approx(float(by_hand.max()))
    assert drift["heads_over"] == int((by_hand.max(axis=(2, 3)) > 0.05).sum())
    assert drift["max"] > TOLERANCE  # int8 is approximate: the reason it is not the default

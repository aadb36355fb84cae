"""The head views' shared selection: words, specials, segments, thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from bertviz_lite.views.selection import select, title


def test_head_and_words(pair, state):
    m = select(pair, state.replace(layer=3, head=4))
    np.testing.assert_array_equal(m.values, pair.attentions[2, 3])
    w = select(pair, state.replace(layer=3, head=4, words=True))
    assert "Tokenization" in w.rows and len(w.rows) < len(m.rows)  # the word as written
    np.testing.assert_allclose(w.values.sum(-1), 1, atol=1e-5)


def test_hide_special_and_segments(pair, state):
    m = select(pair, state.replace(special=False))
    assert "[CLS]" not in m.rows and "[SEP]" not in m.cols
    ab = select(pair, state.replace(segment="A→B"))
    assert set(ab.row_segments) == {0} and set(ab.col_segments) == {1}
    assert ab.values.shape == (pair.encoding.type_ids.count(0), pair.encoding.type_ids.count(1))


def test_sources_and_threshold(pair, state):
    avg = select(pair, state.replace(layer=2, source="layer average"))
    np.testing.assert_allclose(avg.values, pair.attentions[1].mean(0), atol=1e-6)
    roll = select(pair, state.replace(layer=6, source="rollout"))
    np.testing.assert_allclose(roll.values.sum(-1), 1, atol=1e-4)
    strong = select(pair, state.replace(threshold=0.2))
    assert ((strong.values == 0) | (strong.values >= 0.2)).all()
    with pytest.raises(ValueError, match="unknown source"):
        select(pair, state.replace(source="magic"))


def test_titles_count_from_one(state):
    assert title(state.replace(layer=3, head=5)) == "layer 3, head 5"
    assert title(state.replace(layer=2, source="rollout", segment="A→B")) == "rollout up to layer 2, A→B"

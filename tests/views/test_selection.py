"""The head views' shared selection: words, specials, segments, thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from bertviz_lite import events
from bertviz_lite.views.selection import Selection, select


@pytest.fixture(scope="module")
def pair():
    return events.analysis("minilm", "Tokenization works.", "It really does.")


def test_head_and_words(pair):
    m = select(pair, Selection(layer=2, head=3))
    np.testing.assert_array_equal(m.values, pair.attentions[2, 3])
    w = select(pair, Selection(layer=2, head=3, words=True))
    assert "tokenization" in w.rows and len(w.rows) < len(m.rows)
    np.testing.assert_allclose(w.values.sum(-1), 1, atol=1e-5)


def test_hide_special_and_segments(pair):
    m = select(pair, Selection(hide_special=True))
    assert "[CLS]" not in m.rows and "[SEP]" not in m.cols
    ab = select(pair, Selection(segment="A→B"))
    assert set(ab.row_segments) == {0} and set(ab.col_segments) == {1}
    assert ab.values.shape == (pair.encoding.type_ids.count(0), pair.encoding.type_ids.count(1))


def test_sources_and_threshold(pair):
    avg = select(pair, Selection(layer=1, source="layer average"))
    np.testing.assert_allclose(avg.values, pair.attentions[1].mean(0), atol=1e-6)
    roll = select(pair, Selection(layer=5, source="rollout"))
    np.testing.assert_allclose(roll.values.sum(-1), 1, atol=1e-4)
    strong = select(pair, Selection(min_weight=0.2))
    assert ((strong.values == 0) | (strong.values >= 0.2)).all()
    with pytest.raises(ValueError, match="unknown source"):
        select(pair, Selection(source="magic"))

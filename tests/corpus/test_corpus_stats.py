"""Every statistic against a recomputation from `analyze`, loop by loop; dependency accuracy
against a hand-worked example."""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import pytest
from corpus_texts import TEXTS

from bertviz_lite.corpus.stats import MEASURES, OFFSETS, STATS, Totals, is_punctuation


def recomputed(analyses, measure: str) -> np.ndarray:
    """[stat, layers, heads]: each statistic's mean over every query token, in plain loops."""
    layers, heads = analyses[0].attentions.shape[:2]
    sums = np.zeros((len(STATS), layers, heads))
    count = 0
    for r in analyses:
        t = len(r.tokens)
        count += t
        special = [i for i, w in enumerate(r.word_ids) if w is None]
        cls, seps = special[0], special[1:]
        # Punctuation is Unicode's (categories P*): "%" is, "$" (a currency symbol) is not.
        punct = [i for i, (tok, w) in enumerate(zip(r.tokens, r.word_ids))
                 if w is not None and all(unicodedata.category(c)[0] == "P" for c in tok)]  # fmt: skip
        for layer in range(layers):
            for head in range(heads):
                a = r.attentions[layer, head].astype(np.float64)
                if measure == "norm":
                    a = a * r.value_norms[layer, head][None, :]
                    a = a / a.sum(1, keepdims=True)
                for i in range(t):
                    row = a[i]
                    sums[:, layer, head] += [
                        row[cls], sum(row[j] for j in seps), row[i],
                        row[i - 1] if i > 0 else 0.0, row[i + 1] if i < t - 1 else 0.0,
                        sum(row[j] for j in punct), -sum(p * math.log(p) for p in row if p > 0),
                    ]  # fmt: skip
    return sums / count


@pytest.mark.slow
@pytest.mark.parametrize("measure", MEASURES)
def test_head_stats_equal_a_recomputation_from_analyze(built, minilm, measure):
    analyses = [minilm.analyze(t) for t in TEXTS if t.strip()]
    expected = recomputed(analyses, measure)
    table = built.head_stats(measure)
    assert table.column_names == ["layer", "head", *STATS]
    assert table.num_rows == 6 * 12
    layer, head = table.column("layer").to_numpy(), table.column("head").to_numpy()
    assert (layer[:12] == 0).all() and (head[:12] == np.arange(12)).all()
    for s, name in enumerate(STATS):
        got = table.column(name).to_numpy().reshape(6, 12)
        np.testing.assert_allclose(got, expected[s], atol=2e-5, err_msg=name)
    # Something real was measured: a head attends to the previous token most of the time.
    assert table.column("to_prev").to_numpy().max() > 0.5


def test_punctuation_is_punctuation_characters_only():
    assert is_punctuation(".") and is_punctuation("!!!") and is_punctuation("##,")
    assert is_punctuation("“")  # Unicode punctuation too
    assert not is_punctuation("$") and not is_punctuation("a.") and not is_punctuation("##")


def hand_worked() -> Totals:
    """[CLS] the ca ##t sat [SEP]: 'the' → 'cat' (det), 'cat' → 'sat' (nsubj); units merge ca+##t.

    Head 0: 'the' puts 0.2 + 0.2 on ca, ##t and 0.3 on sat: the word cat gets 0.4 > 0.3, right
    (token by token, sat's 0.3 would win). 'cat' rows (mean of ca's and ##t's): 0.5 on 'the',
    0.2 on 'sat', so nsubj is wrong. Head 1: 'the' → 0.6 on sat, wrong; 'cat' → 0.7 on sat,
    right. [CLS] holds most of some rows and is never a prediction."""
    t = 6
    a = np.zeros((1, 2, t, t), np.float32)
    a[0, :, :, 0] = 1.0  # rows nobody reads: all on [CLS]
    a[0, 0, 1] = [0.1, 0.0, 0.2, 0.2, 0.3, 0.2]
    a[0, 0, 2] = [0.3, 0.5, 0.0, 0.0, 0.2, 0.0]
    a[0, 0, 3] = [0.3, 0.5, 0.0, 0.0, 0.2, 0.0]
    a[0, 1, 1] = [0.2, 0.0, 0.1, 0.1, 0.6, 0.0]
    a[0, 1, 2] = [0.9, 0.0, 0.0, 0.0, 0.1, 0.0]  # cat's rows average to 0.65 on sat
    a[0, 1, 3] = [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    tokens = ["[CLS]", "the", "ca", "##t", "sat", "[SEP]"]
    word_ids = [None, 0, 1, 1, 2, None]
    units = [[0], [1], [2, 3], [4], [5]]
    totals = Totals(1, 2)
    totals.add_text(a, np.ones((1, 2, t), np.float32), tokens, word_ids, units,
                    [(1, 2, "det"), (2, 3, "nsubj")])  # fmt: skip
    return totals


def test_dependency_accuracy_of_a_hand_worked_example():
    totals = hand_worked()
    assert totals.dependents == {"det": 1, "nsubj": 1}
    attention = MEASURES.index("attention")
    assert totals.correct["det"][attention, 0].tolist() == [1, 0]
    assert totals.correct["nsubj"][attention, 0].tolist() == [0, 1]
    # Both heads sit one word to the right: the baseline's best offset is +1 for each.
    for relation in ("det", "nsubj"):
        assert int(np.argmax(totals.at_offset[relation])) - OFFSETS == 1


def test_totals_survive_bytes_and_add_up():
    a, b = hand_worked(), hand_worked()
    copy = Totals.from_bytes(a.to_bytes())
    assert copy.tokens == a.tokens and np.array_equal(copy.sums, a.sums)
    copy.add(b)
    assert copy.dependents == {"det": 2, "nsubj": 2}
    np.testing.assert_array_equal(copy.sums, 2 * a.sums)

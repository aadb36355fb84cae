"""Probes with control tasks (corpus/probes.py) on MiniLM's default corpus: the split, the
control labels and the expected layer by their definitions, a probe on shuffled vectors at the
majority baseline, and the table's rows."""

from __future__ import annotations

import numpy as np
import pytest

from bertviz_lite.corpus import probes
from bertviz_lite.errors import UserError

SMALL = {"max_tokens": 6_000}  # 6,000 training tokens, 1,500 test tokens: ~1 s a layer


@pytest.fixture(scope="module")
def pos(default_corpus):
    return default_corpus.probe("pos", layers=[0, 3, default_corpus.layers], **SMALL)


@pytest.fixture(scope="module")
def data(default_corpus):
    d = probes.tokens(default_corpus, "pos")
    train, test, note = probes.split(d["sentence"], 0, 0.2, SMALL["max_tokens"])
    return d, train, test, note


@pytest.mark.slow
def test_the_split_keeps_texts_apart_and_within_the_caps(data):
    d, train, test, note = data
    assert not set(d["sentence"][train]) & set(d["sentence"][test])
    assert 0 < train.sum() <= 6_000 and 0 < test.sum() <= 1_500
    assert "capped" in note
    again = probes.split(d["sentence"], 0, 0.2, 6_000)
    assert all(np.array_equal(a, b) for a, b in zip(again[:2], (train, test)))


@pytest.mark.slow
def test_control_labels_are_one_per_word_type_drawn_from_the_training_labels(data):
    d, train, _, _ = data
    labels, y = np.unique(d["y"], return_inverse=True)
    control = probes.control_labels(d["type"], y, train, seed=0)
    by_type: dict[str, set] = {}
    for t, c in zip(d["type"], control):
        by_type.setdefault(t, set()).add(int(c))
    assert all(len(s) == 1 for s in by_type.values())
    assert sum(d["type"] == "the") > 100 and len(by_type) > 2_000
    # one draw per type: the types' labels follow the training split's label distribution
    drawn = np.bincount([next(iter(s)) for s in by_type.values()], minlength=len(labels))
    p = np.bincount(y[train], minlength=len(labels)) / train.sum()
    assert 0.5 * np.abs(drawn / drawn.sum() - p).sum() < 0.05
    assert not np.array_equal(control, probes.control_labels(d["type"], y, train, seed=1))


@pytest.mark.slow
def test_a_probe_of_shuffled_vectors_falls_to_the_majority_baseline(default_corpus, data):
    d, train, test, _ = data
    _, y = np.unique(d["y"], return_inverse=True)
    x = probes.vectors(default_corpus, 3, d["sentence"], d["position"])
    real, _ = probes.fit_score(x[train], y[train], x[test], y[test])
    shuffled = x[np.random.default_rng(0).permutation(len(x))]
    chance, _ = probes.fit_score(shuffled[train], y[train], shuffled[test], y[test])
    majority = np.mean(y[test] == np.bincount(y[train]).argmax())
    # Vectors that say nothing of the token: no better than always guessing the most frequent
    # label (a little worse, as the probe fits the noise: 0.12 against 0.19 when written).
    assert real > 0.8 and majority - 0.1 < chance < majority + 0.02


@pytest.mark.slow
def test_pos_is_selective_in_the_middle_layers(pos, default_corpus):
    rows = pos.to_rows()
    assert [r["layer"] for r in rows] == [0, 3, default_corpus.layers]
    middle = rows[1]
    assert middle["accuracy"] > 0.8 and middle["selectivity"] > 0.1
    assert middle["accuracy"] > middle["majority"] + 0.5
    assert middle["selectivity"] == pytest.approx(middle["accuracy"] - middle["control_accuracy"])
    assert 0 <= pos.expected_layer <= default_corpus.layers
    assert "NOUN" in pos.labels and pos.train_texts and pos.test_texts
    table = pos.table()
    assert "| layer | accuracy | control_accuracy | selectivity | majority |" in table
    assert "expected layer" in table and "capped at 6,000" in table


def test_expected_layer_by_its_definition():
    # gains 0.2 at layer 1, none at 2, 0.1 at 3: (1·0.2 + 3·0.1) / 0.3
    assert probes.expected_layer([0, 1, 2, 3], [0.5, 0.7, 0.6, 0.7]) == pytest.approx(5 / 3)
    assert probes.expected_layer([0, 1], [0.9, 0.8]) is None
    assert probes.expected_layer([0], [0.9]) is None


@pytest.mark.slow
def test_layers_asked_give_those_rows_only(default_corpus):
    r = default_corpus.probe("dep", layers=[0, 3], control=False, max_tokens=2_000)
    assert [row["layer"] for row in r.rows] == [0, 3]
    assert all(row["control_accuracy"] is None for row in r.rows)
    assert r.control_expected_layer is None and "control_accuracy" not in r.table()


@pytest.mark.slow
def test_entity_labels_are_bio(default_corpus):
    d = probes.tokens(default_corpus, "entity")
    assert "O" in d["y"] and "B-GPE" in d["y"] and "I-ORG" in d["y"]
    inside = np.flatnonzero(np.char.startswith(d["y"], "I-"))
    before = d["y"][inside - 1]
    assert all(b[2:] == y[2:] and b[0] in "BI" for b, y in zip(before, d["y"][inside]))


def test_unknown_labels_and_comparisons_are_refused(default_corpus, built):
    with pytest.raises(UserError, match=r"unknown label 'lemma' \(choose from pos, dep, entity\)"):
        default_corpus.probe("lemma")
    with pytest.raises(UserError, match="compare must be a Corpus"):
        default_corpus.probe("pos", layers=[0], compare="no-such-model")
    with pytest.raises(UserError, match="holds none of these texts"):
        default_corpus.probe("pos", layers=[0], compare=built)


@pytest.mark.slow
def test_compare_with_the_same_corpus_gives_the_same_columns(default_corpus):
    r = default_corpus.probe("pos", layers=[3], compare="minilm", max_tokens=2_000)
    row = r.to_rows()[0]
    for key in ("accuracy", "control_accuracy", "selectivity"):
        assert row[f"base_{key}"] == row[key]
    assert r.base_model == "minilm" and "base_accuracy" in r.table()

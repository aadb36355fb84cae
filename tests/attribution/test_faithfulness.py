"""ERASER comprehensiveness and sufficiency, checked against their definitions: every variant's
probability recomputed here, through the full graph, from token ids built by hand."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from bertviz_lite import attribution as at
from bertviz_lite.attribution.faithfulness import FRACTIONS, faithfulness, random_floor
from bertviz_lite.predictions import softmax

TEXT = "The plot was dull but the acting was wonderful, and I would watch it again tomorrow."
POSITIVE = [
    "This movie was absolutely wonderful, I loved every minute of it.",
    "A brilliant, moving film with superb acting and a beautiful score.",
    "What a delightful surprise: funny, warm and perfectly paced.",
]
NEGATIVE = [
    "This movie was absolutely terrible, I hated every minute of it.",
    "A boring, clumsy film with awful acting and a dreadful script.",
    "What a painful waste of time: dull, ugly and far too long.",
]


def spy(model, monkeypatch) -> list[list[int]]:
    """Records the ids of every variant the measure sends through `model.logits`."""
    seen: list[list[int]] = []
    original = model.logits

    def logits(encodings, head_mask=None):
        seen.extend(list(e.ids) for e in encodings)
        return original(encodings, head_mask)

    monkeypatch.setattr(model, "logits", logits)
    return seen


def p_of(model, r, goal: at.Target, ids: list[int]) -> float:
    """The target's probability for these ids, through the full graph, softmax in float64."""
    logits = model.run([replace(r.encoding, ids=ids)], outputs=["logits"])["logits"][0]
    p = softmax(logits.astype(np.float64))
    if not goal.positions:
        return float(p[goal.classes[0]])
    return float(np.mean([p[i, c] for i, c in zip(goal.positions, goal.classes)]))


def expected(model, r, goal, ranked: list[list[int]], fractions) -> tuple[list, list, list]:
    """By hand: for each fraction the top whole units up to k = ceil(f·n) tokens, masked
    (comprehensiveness) or alone kept (sufficiency)."""
    mask = model.tokenizer.mask_id
    content = [i for i, w in enumerate(r.encoding.word_ids) if w is not None]
    n, f_x = len(content), goal.value(r.logits)
    comps, suffs, kept = [], [], []
    for f in fractions:
        k = min(n, max(1, math.ceil(round(f * n, 9))))
        top: list[int] = []
        for unit in ranked:
            if len(top) >= k:
                break
            top += unit
        comp = [mask if i in top else t for i, t in enumerate(r.encoding.ids)]
        suff = [mask if i in content and i not in top else t for i, t in enumerate(r.encoding.ids)]
        comps.append(f_x - p_of(model, r, goal, comp))
        suffs.append(f_x - p_of(model, r, goal, suff))
        kept.append(len(top))
    return comps, suffs, kept


def check_specials_kept(r, seen: list[list[int]]) -> None:
    for ids in seen:
        assert len(ids) == len(r.encoding.ids)
        for i, w in enumerate(r.encoding.word_ids):
            if w is None:
                assert ids[i] == r.encoding.ids[i]


def test_each_fraction_is_the_drop_for_its_variant(sentiment, monkeypatch):
    r = sentiment.analyze(TEXT)
    goal = at.resolve_target(sentiment, r, None)
    n = sum(w is not None for w in r.encoding.word_ids)
    # Small integers: many ties (broken by position) and negative scores; specials get the
    # highest scores of all, which must be ignored.
    scores = np.random.default_rng(3).integers(-3, 4, len(r.tokens)).astype(np.float64)
    specials = [i for i, w in enumerate(r.encoding.word_ids) if w is None]
    scores[specials] = 100.0
    seen = spy(sentiment, monkeypatch)
    got = faithfulness(sentiment, r, scores)
    content = [i for i in range(len(r.tokens)) if i not in specials]
    ranked = [[i] for i in sorted(content, key=lambda i: (-scores[i], i))]
    comps, suffs, kept = expected(sentiment, r, goal, ranked, FRACTIONS)
    assert got.kept == kept == [max(1, math.ceil(round(f * n, 9))) for f in FRACTIONS]
    assert n == 18 and kept == [1, 1, 2, 4, 9]  # 0.01 and 0.05 share one variant
    np.testing.assert_allclose(got.per_fraction["comprehensiveness"], comps, atol=1e-5)
    np.testing.assert_allclose(got.per_fraction["sufficiency"], suffs, atol=1e-5)
    assert got.comprehensiveness == pytest.approx(np.mean(comps), abs=1e-5)
    assert got.sufficiency == pytest.approx(np.mean(suffs), abs=1e-5)
    assert got.target == goal.label and got.fractions == FRACTIONS
    assert got.f_input == pytest.approx(r.predictions["probabilities"][goal.label], abs=1e-6)
    check_specials_kept(r, seen)
    assert len(seen) == len(set(map(tuple, seen))) == 8  # 10 variants, 2 of them repeated
    mask = sentiment.tokenizer.mask_id
    masked = sorted(sum(t == mask for t in ids) for ids in seen)
    assert masked == sorted([*set(kept), *{n - k for k in kept}])  # k masked, or n − k


def test_the_whole_input_is_sufficient(sentiment):
    r = sentiment.analyze(TEXT)
    goal = at.resolve_target(sentiment, r, "negative")
    got = faithfulness(sentiment, r, np.zeros(len(r.tokens)), target="negative", fractions=(1.0,))
    assert got.sufficiency == 0.0 and got.per_fraction["sufficiency"] == [0.0]
    mask = sentiment.tokenizer.mask_id
    masked = [t if w is None else mask for t, w in zip(r.encoding.ids, r.encoding.word_ids)]
    drop = goal.value(r.logits) - p_of(sentiment, r, goal, masked)
    assert got.comprehensiveness == pytest.approx(drop, abs=1e-5)
    assert got.kept == [len(r.tokens) - 2] and got.target == "negative"


def test_word_units_are_removed_whole(sentiment, monkeypatch):
    text = "Tokenization is unbelievably good, and the soundtrack is extraordinary."
    a = sentiment.attribute(text, words=True)
    r = sentiment.analyze(text)
    goal = at.resolve_target(sentiment, r, None)
    assert any(len(u) > 1 for u in a.units)
    seen = spy(sentiment, monkeypatch)
    got = faithfulness(sentiment, r, a)
    order = np.argsort(-np.asarray(a.scores, np.float64), kind="stable")
    comps, suffs, kept = expected(sentiment, r, goal, [a.units[i] for i in order], FRACTIONS)
    assert got.kept == kept and got.method == "occlusion"
    np.testing.assert_allclose(got.per_fraction["comprehensiveness"], comps, atol=1e-5)
    np.testing.assert_allclose(got.per_fraction["sufficiency"], suffs, atol=1e-5)
    mask = sentiment.tokenizer.mask_id
    for ids in seen:
        for unit in a.units:
            assert len({ids[i] == mask for i in unit}) == 1  # all of a word, or none of it
    check_specials_kept(r, seen)
    with pytest.raises(ValueError, match="scores for"):
        faithfulness(sentiment, r, replace(a, scores=a.scores[:-1]))
    other = sentiment.attribute("A short one.", words=True)
    with pytest.raises(ValueError, match="not this input"):
        faithfulness(sentiment, r, other)
    with pytest.raises(ValueError, match="one per token"):
        faithfulness(sentiment, r, np.zeros(len(r.tokens) - 1))


@pytest.mark.slow
def test_occlusion_beats_the_random_floor(sentiment):
    rows = []
    for text in POSITIVE + NEGATIVE:
        r = sentiment.analyze(text)
        occ = faithfulness(sentiment, r, sentiment.attribute(text, method="occlusion"))
        floor = random_floor(sentiment, r)
        rows.append((occ.comprehensiveness, floor.comprehensiveness,
                     occ.sufficiency, floor.sufficiency))  # fmt: skip
    labels = [sentiment.analyze(t).predictions["label"] for t in POSITIVE + NEGATIVE]
    assert labels == ["positive"] * 3 + ["negative"] * 3
    occ_c, floor_c, occ_s, floor_s = np.mean(rows, axis=0)
    assert occ_c > floor_c and occ_s < floor_s, rows


def test_named_scores_keep_their_name_in_the_result_and_the_progress(sentiment):
    """A view measures several explanations in a row: each one's progress line names it (the
    bar went 4, 0, 8, 4… of 10 under one label), and so does its result."""
    from bertviz_lite.budget import LongWork

    r = sentiment.analyze(TEXT)
    heard = []
    with LongWork(time_limit=600).job(report=lambda done, line: heard.append(line)):
        named = faithfulness(sentiment, r, np.arange(len(r.tokens), dtype=float), name="rollout")
        floor = random_floor(sentiment, r, draws=2)
    assert named.method == "rollout" and floor.method == "random"
    assert heard and all(line.startswith(("Faithfulness of rollout,",
                                          "Faithfulness of random rankings,"))
                         for line in heard), heard  # fmt: skip
    assert faithfulness(sentiment, r, np.arange(len(r.tokens), dtype=float)).method == "scores"


def test_random_floor_is_seeded(sentiment):
    r = sentiment.analyze(TEXT)
    np.random.seed(1)
    a = random_floor(sentiment, r, draws=3, seed=5)
    np.random.seed(2)  # global state plays no part
    b = random_floor(sentiment, r, draws=3, seed=5)
    c = random_floor(sentiment, r, draws=3, seed=6)
    assert a.per_fraction == b.per_fraction and a.method == "random" and a.draws == 3
    assert a.per_fraction != c.per_fraction
    per_draw = np.array([d["comprehensiveness"] for d in a.per_draw])
    np.testing.assert_allclose(per_draw.mean(0), a.per_fraction["comprehensiveness"])
    assert len({tuple(d["comprehensiveness"]) for d in a.per_draw}) > 1  # the draws differ


def test_an_entity_is_measured(ner, monkeypatch):
    text = "Angela Merkel met Emmanuel Macron in Paris."
    r = ner.analyze(text)
    goal = at.resolve_target(ner, r, None)
    a = ner.attribute(text)
    seen = spy(ner, monkeypatch)
    got = faithfulness(ner, r, a)
    assert got.target == goal.label == "PER Angela Merkel"
    order = np.argsort(-np.asarray(a.scores, np.float64), kind="stable")
    comps, suffs, kept = expected(ner, r, goal, [a.units[i] for i in order], FRACTIONS)
    assert got.kept == kept
    np.testing.assert_allclose(got.per_fraction["comprehensiveness"], comps, atol=1e-5)
    np.testing.assert_allclose(got.per_fraction["sufficiency"], suffs, atol=1e-5)
    check_specials_kept(r, seen)
    assert got.comprehensiveness > random_floor(ner, r).comprehensiveness

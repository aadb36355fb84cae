"""Attention summaries, word merging and filters, by hand and on the real MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from bertviz_lite import analysis as an


def random_attention(shape, seed=0) -> np.ndarray:
    """Row-stochastic random attention of shape [..., T, T]."""
    a = np.random.default_rng(seed).random(shape).astype(np.float32)
    return a / a.sum(-1, keepdims=True)


# --- head average and rollout -------------------------------------------------------------------


def test_head_average_by_hand():
    a = np.zeros((2, 2, 2, 2), np.float32)
    a[0, 0] = [[1, 0], [0, 1]]
    a[0, 1] = [[0, 1], [1, 0]]
    a[1, :] = [[1, 0], [1, 0]]
    np.testing.assert_allclose(an.head_average(a, 0), [[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_allclose(an.head_average(a, 1), [[1, 0], [1, 0]])
    np.testing.assert_allclose(an.head_average(a), [[0.75, 0.25], [0.75, 0.25]])


@pytest.mark.parametrize("residual", [True, False])
def test_rollout_of_identity_is_identity(residual):
    eye = np.broadcast_to(np.eye(5, dtype=np.float32), (3, 4, 5, 5))
    r = an.rollout(eye, add_residual=residual)
    assert r.shape == (3, 5, 5)
    np.testing.assert_allclose(r, np.broadcast_to(np.eye(5), r.shape), atol=1e-6)


def test_rollout_by_hand():
    # Two layers, one head, T=2; without the residual the rollout is the plain product.
    a1 = np.array([[1, 0], [1, 0]], np.float32)  # everything attends to token 0
    a2 = np.array([[0, 1], [0, 1]], np.float32)  # everything attends to token 1
    r = an.rollout(np.stack([a1, a2])[:, None], add_residual=False)
    np.testing.assert_allclose(r[0], a1)
    np.testing.assert_allclose(r[1], a2 @ a1)  # = [[1, 0], [1, 0]]: token 1 got it from token 0
    # With the residual: layer 1 becomes [[1, 0], [.5, .5]].
    r = an.rollout(a1[None, None], add_residual=True)
    np.testing.assert_allclose(r[0], [[1, 0], [0.5, 0.5]])


def test_rollout_is_row_stochastic_and_survives_masked_heads():
    a = random_attention((3, 4, 6, 6))
    a[1] = 0  # every head of layer 1 switched off
    a[2, :2] = 0  # half the heads of layer 2 switched off
    for residual in (True, False):
        r = an.rollout(a, add_residual=residual)
        assert np.isfinite(r).all()
        np.testing.assert_allclose(r.sum(-1), 1, atol=1e-5)
        # A dead layer passes the flow through unchanged.
        np.testing.assert_allclose(r[1], r[0], atol=1e-6)
    # Half-masked layer = the mean of its live heads (renormalised), not a shrunken one.
    live = an.rollout(a[2:, 2:], add_residual=False)[0]
    np.testing.assert_allclose(an.rollout(a[2:], add_residual=False)[0], live, atol=1e-6)


@pytest.mark.slow
def test_rollout_with_real_head_mask(minilm):
    mask = np.ones((6, 12), np.float32)
    mask[0] = 0
    mask[3, ::2] = 0
    r = minilm.analyze("The cat sat on the mat.", head_mask=mask)
    assert np.allclose(r.attentions[0], 0)  # the mask really zeroed layer 0
    roll = an.rollout(r.attentions)
    assert np.isfinite(roll).all()
    np.testing.assert_allclose(roll.sum(-1), 1, atol=1e-4)


# --- words ---------------------------------------------------------------------------------------


def test_word_spans_and_labels_by_hand():
    tokens = ["[CLS]", "token", "##ization", "is", "[SEP]", "fun", "[SEP]"]
    word_ids = [None, 0, 0, 1, None, 2, None]
    seq = [None, 0, 0, 0, None, 1, None]
    units = an.word_spans(word_ids, seq)
    assert units == [[0], [1, 2], [3], [4], [5], [6]]
    assert an.unit_labels(tokens, units) == ["[CLS]", "tokenization", "is", "[SEP]", "fun", "[SEP]"]


def test_merge_to_words_by_hand():
    m = np.array([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0], [0.0, 0.0, 1.0]], np.float32)
    merged = an.merge_to_words(m, [[0], [1, 2]])
    # From unit 1 = mean of rows 1 and 2; to unit 1 = sum of columns 1 and 2.
    np.testing.assert_allclose(merged, [[0.2, 0.8], [0.3, 0.7]], atol=1e-6)


def test_merge_rejects_units_that_do_not_cover_the_tokens():
    with pytest.raises(ValueError, match="exactly once"):
        an.merge_to_words(np.eye(3), [[0], [1]])


@pytest.mark.slow
def test_merge_real_pair_keeps_rows_stochastic(pair_result):
    r = pair_result
    units = an.word_spans(r.word_ids, r.encoding.sequence_ids)
    labels = an.unit_labels(r.tokens, units)
    assert "tokenization" in labels and "unbelievably" in labels
    assert labels.count("[SEP]") == 2 and labels[0] == "[CLS]"
    for m in (r.attentions, r.attentions[2], r.attentions[2, 5]):  # [L,H,T,T], [H,T,T], [T,T]
        merged = an.merge_to_words(m, units)
        assert merged.shape == (*m.shape[:-2], len(units), len(units))
        np.testing.assert_allclose(merged.sum(-1), 1, atol=1e-4)


@pytest.mark.slow
def test_merge_without_subwords_is_identity(minilm):
    r = minilm.analyze("The cat sat on the mat.")
    units = an.word_spans(r.word_ids, r.encoding.sequence_ids)
    assert units == [[i] for i in range(len(r.tokens))]
    np.testing.assert_allclose(an.merge_to_words(r.attentions, units), r.attentions, atol=1e-6)


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_drop_special_removes_exactly_cls_and_sep(pair_result):
    r = pair_result
    m = r.attentions[1, 3]
    out, kept = an.drop_special(m, an.content_mask(r.word_ids))
    assert [r.tokens[i] for i in kept] == [t for t in r.tokens if t not in ("[CLS]", "[SEP]")]
    assert out.shape == (len(kept), len(kept))
    np.testing.assert_allclose(out.sum(-1), 1, atol=1e-5)
    raw, _ = an.drop_special(m, an.content_mask(r.word_ids), renormalise=False)
    np.testing.assert_array_equal(raw, m[np.ix_(kept, kept)])
    # Also on the [L, H, T, T] stack.
    stack, _ = an.drop_special(r.attentions, an.content_mask(r.word_ids))
    assert stack.shape == (*r.attentions.shape[:2], len(kept), len(kept))


def test_drop_special_leaves_an_empty_row_zero():
    m = np.array([[1.0, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]], np.float32)
    out, kept = an.drop_special(m, [False, True, True])
    assert kept == [1, 2]
    np.testing.assert_allclose(out, [[1, 0], [0.375, 0.625]])
    out, _ = an.drop_special(m, [True, False, True])
    np.testing.assert_allclose(out, [[1, 0], [0.2 / 0.7, 0.5 / 0.7]], atol=1e-6)
    out, _ = an.drop_special(np.array([[0, 1.0], [0.5, 0.5]]), [True, False])
    np.testing.assert_array_equal(out, [[0]])  # nothing left in that row: zero, not NaN


@pytest.mark.slow
def test_segment_masks_partition_a_pair(pair_result):
    types = pair_result.encoding.type_ids
    masks = [an.segment_mask(types, d) for d in ("A→A", "A→B", "B→A", "B→B")]
    total = np.sum(masks, axis=0)
    np.testing.assert_array_equal(total, 1)  # every cell in exactly one direction
    np.testing.assert_array_equal(an.segment_mask(types, "all"), total.astype(bool))
    t = np.asarray(types)
    a_to_b = masks[1]
    assert a_to_b[0, -1] and not a_to_b[-1, 0]  # [CLS] is in A, the last [SEP] in B
    assert a_to_b.sum() == (t == 0).sum() * (t == 1).sum()
    np.testing.assert_array_equal(an.segment_mask(types, "A->B"), a_to_b)


def test_segment_mask_by_hand_and_unknown_direction():
    m = an.segment_mask([0, 0, 1], "B→A")
    np.testing.assert_array_equal(m, [[0, 0, 0], [0, 0, 0], [1, 1, 0]])
    with pytest.raises(ValueError, match="unknown direction 'A→C'"):
        an.segment_mask([0, 1], "A→C")


def test_norm_weighted_attention_by_hand():
    att = np.array([[[[0.5, 0.5], [0.2, 0.8]]]], np.float32)  # one layer, one head, T = 2
    norms = np.array([[[1.0, 3.0]]], np.float32)
    raw = an.norm_weighted(att, norms, normalise=False)
    np.testing.assert_allclose(raw[0, 0], [[0.5, 1.5], [0.2, 2.4]])
    scaled = an.norm_weighted(att, norms)
    np.testing.assert_allclose(scaled[0, 0], [[0.25, 0.75], [0.2 / 2.6, 2.4 / 2.6]], rtol=1e-6)
    # a token whose value vector is zero receives no weight, whatever its probability
    assert an.norm_weighted(att, np.array([[[0.0, 1.0]]], np.float32))[0, 0, 0, 0] == 0

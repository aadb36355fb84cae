"""bertviz_lite.analysis: hand-checkable arrays, then the real MiniLM's outputs."""

from __future__ import annotations

import numpy as np
import pytest

import bertviz_lite as bv
from bertviz_lite import analysis as an
from bertviz_lite import predictions

PAIR = ("Tokenization is unbelievably hard.", "The cat sat.")


@pytest.fixture(scope="module")
def minilm():
    return bv.load("minilm", progress=False)


@pytest.fixture(scope="module")
def pair_result(minilm):
    return minilm.analyze(*PAIR)


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


def test_pca_recovers_a_plane_and_its_variance():
    rng = np.random.default_rng(0)
    plane = rng.normal(size=(20, 2)) * [3.0, 1.0]
    basis = np.linalg.qr(rng.normal(size=(8, 2)))[0]  # an orthonormal 2-D plane in 8-D
    h = (plane @ basis.T)[None]
    coords, ratio = an.project_2d(h, align=None)
    np.testing.assert_allclose(ratio[0].sum(), 1, atol=1e-5)
    assert ratio[0, 0] > ratio[0, 1] > 0
    # Distances within the plane are kept exactly.
    d = np.linalg.norm(coords[0][:, None] - coords[0][None], axis=-1)
    d0 = np.linalg.norm(plane[:, None] - plane[None], axis=-1)
    np.testing.assert_allclose(d, d0, atol=1e-4)


def test_alignment_undoes_a_flip_and_a_rotation():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 6)) * [5, 2, 0.1, 0.1, 0.1, 0.1]
    flipped = x * [-1, 1, 1, 1, 1, 1]  # same cloud, first axis mirrored
    h = np.stack([x, flipped])
    for align in ("sign", "procrustes"):
        coords, _ = an.project_2d(h, align=align)
        np.testing.assert_allclose(coords[1], coords[0], atol=1e-4)


@pytest.mark.slow
def test_alignment_keeps_real_layers_positively_correlated(pair_result):
    h = pair_result.hidden_states
    raw, ratio = an.project_2d(h, align=None)
    sign, _ = an.project_2d(h, align="sign")
    proc, _ = an.project_2d(h, align="procrustes")
    assert raw.shape == (h.shape[0], h.shape[1], 2) and ratio.shape == (h.shape[0], 2)
    assert ((ratio >= 0) & (ratio <= 1)).all() and (ratio.sum(-1) <= 1 + 1e-5).all()
    for i in range(1, h.shape[0]):
        assert ((sign[i] * sign[i - 1]).sum(0) >= 0).all()  # each axis agrees with the last
        assert np.sum(proc[i] * proc[i - 1]) > 0
        # Procrustes is the best orthogonal fit to the previous layer, sign flips included.
        prev = proc[i - 1]
        flipped = raw[i] * np.where((raw[i] * prev).sum(0) < 0, -1, 1)
        assert np.linalg.norm(proc[i] - prev) <= np.linalg.norm(flipped - prev) * (1 + 1e-4)
        # Alignment is orthogonal: pairwise distances are those of raw PCA.
        d = np.linalg.norm(proc[i][:, None] - proc[i][None], axis=-1)
        d_raw = np.linalg.norm(raw[i][:, None] - raw[i][None], axis=-1)
        np.testing.assert_allclose(d, d_raw, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("t", [1, 2])
@pytest.mark.parametrize("align", ["procrustes", "sign", None])
def test_degenerate_projections_are_finite(t, align):
    rng = np.random.default_rng(t)
    h = rng.normal(size=(3, t, 16))
    h[1] = 0.0  # a layer of zero vectors
    coords, ratio = an.project_2d(h, align=align)
    assert coords.shape == (3, t, 2) and np.isfinite(coords).all() and np.isfinite(ratio).all()
    np.testing.assert_array_equal(coords[1], 0)
    if t == 2:  # one real axis: the two tokens sit symmetrically on it, axis 2 unused
        gap = np.linalg.norm(h[0, 0] - h[0, 1])
        np.testing.assert_allclose(np.linalg.norm(coords[0, 0] - coords[0, 1]), gap, rtol=1e-5)
        np.testing.assert_allclose(ratio[0], [1, 0], atol=1e-6)
    else:
        np.testing.assert_array_equal(coords, 0)
        np.testing.assert_array_equal(ratio, 0)


def test_cosine_similarity_by_hand():
    v = np.array([[1.0, 0], [0, 2.0], [-3.0, 0], [0, 0]])
    s = an.cosine_similarity(v)
    expected = [[1, 0, -1, 0], [0, 1, 0, 0], [-1, 0, 1, 0], [0, 0, 0, 0]]
    np.testing.assert_allclose(s, expected, atol=1e-7)


# --- quantisation --------------------------------------------------------------------------------


def test_ablation_delta_classification():
    labels = ["negative", "positive"]
    before = predictions.classification(np.array([0.0, 2.0]), labels)
    after = predictions.classification(np.array([1.0, 0.0]), labels)
    d = an.ablation_delta(before, after)
    assert d["label_before"] == "positive" and d["label_after"] == "negative"
    assert d["label_changed"] and "positive" in d["summary"] and "negative" in d["summary"]
    deltas = {c["label"]: c["delta"] for c in d["changes"]}
    p = after["probabilities"]["positive"] - before["probabilities"]["positive"]
    assert deltas["positive"] == pytest.approx(p) and deltas["negative"] == pytest.approx(-p)
    same = an.ablation_delta(before, before)
    assert not same["label_changed"] and all(c["delta"] == 0 for c in same["changes"])


def test_ablation_delta_ner():
    def ent(label, start, end, score, text=""):
        return {"label": label, "start": start, "end": end, "sequence": 0, "text": text,
                "score": score}  # fmt: skip

    before = {"task": "ner", "entities": [ent("PER", 0, 4, 0.9, "John"),
                                           ent("LOC", 14, 19, 0.8, "Paris"),
                                           ent("LOC", 24, 30, 0.7, "London")]}  # fmt: skip
    after = {"task": "ner", "entities": [ent("PER", 0, 4, 0.6, "John"),
                                          ent("PER", 14, 19, 0.5, "Paris"),
                                          ent("LOC", 31, 35, 0.4, "Rome")]}  # fmt: skip
    d = an.ablation_delta(before, after)
    assert [e["text"] for e in d["added"]] == ["Rome"]
    assert [e["text"] for e in d["removed"]] == ["London"]
    assert [(r["text"], r["label_before"], r["label_after"]) for r in d["relabelled"]] == [
        ("Paris", "LOC", "PER")
    ]
    assert [(k["text"], round(k["delta"], 6)) for k in d["kept"]] == [("John", -0.3)]
    assert d["summary"] == "1 added, 1 removed, 1 relabelled, 1 unchanged"


def test_ablation_delta_rejects_mismatched_tasks():
    with pytest.raises(ValueError, match="cannot compare"):
        an.ablation_delta({"task": "ner", "entities": []}, {"task": "classification"})
    with pytest.raises(ValueError, match="bare encoder"):
        an.ablation_delta(None, None)

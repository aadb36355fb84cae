"""Projections and similarity of token vectors."""

from __future__ import annotations

import numpy as np
import pytest

from bertviz_lite import analysis as an


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


@pytest.mark.slow
def test_randomized_axes_equal_the_exact_svd_on_real_long_inputs(minilm):
    from bertviz_lite.analysis.vectors import RANDOMIZED_FROM, _top_axes

    text = "Markets fell as investors worried about rates. The striker scored twice. " * 30
    hidden = minilm.analyze(text).hidden_states.astype(np.float64)
    assert min(hidden.shape[1:]) > RANDOMIZED_FROM  # the fast path is the one tested
    for layer in hidden:
        x = layer - layer.mean(axis=0)
        u, s = _top_axes(x)
        exact_u, exact_s, _ = np.linalg.svd(x, full_matrices=False)
        np.testing.assert_allclose(s, exact_s[:2], rtol=1e-4)
        # the same plane: cosines of the principal angles between the two pairs of axes are 1
        cosines = np.linalg.svd(exact_u[:, :2].T @ u, compute_uv=False)
        np.testing.assert_allclose(cosines, 1, atol=1e-4)

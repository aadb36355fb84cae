"""Attention flow: every value checked against networkx's max flow on the layered graph."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from bertviz_lite.analysis.flow import MAX_FLOW_TOKENS, attention_flow, flow_capacities

TOL = 1e-4  # RESOLUTION (1e-6) times the few dozen edges a small graph's cut can have, and some


def random_attention(shape, seed=0) -> np.ndarray:
    """Row-stochastic random attention of shape [..., T, T]."""
    a = np.random.default_rng(seed).random(shape).astype(np.float32)
    return a / a.sum(-1, keepdims=True)


def layer_matrices(attentions: np.ndarray) -> np.ndarray:
    """A_l = 0.5·(head mean, rows renormalised; all-zero rows → identity) + 0.5·I, by hand."""
    a = np.asarray(attentions, np.float64).mean(axis=1)
    eye = np.eye(a.shape[-1])
    sums = a.sum(-1, keepdims=True)
    a = np.where(sums > 0, a / np.where(sums > 0, sums, 1), eye)
    a = 0.5 * a + 0.5 * eye
    return a / a.sum(-1, keepdims=True)


def networkx_flow(attentions: np.ndarray, reverse: bool = False) -> np.ndarray:
    """F[i, j] = networkx max flow (0, j) → (L, i) with float capacities; with `reverse`, the way
    Abnar & Zuidema's code does it: edges pointing down the layers, flow from (L, i) to (0, j)."""
    a = layer_matrices(attentions)
    layers, t, _ = a.shape
    g = nx.DiGraph()
    for layer in range(1, layers + 1):
        for i in range(t):
            for j in range(t):
                up, down = (layer, i), (layer - 1, j)
                g.add_edge(*((up, down) if reverse else (down, up)), capacity=a[layer - 1, i, j])
    f = np.zeros((t, t))
    for i in range(t):
        for j in range(t):
            ends = ((layers, i), (0, j)) if reverse else ((0, j), (layers, i))
            f[i, j] = nx.maximum_flow_value(g, *ends)
    return f


def check_against_networkx(attentions: np.ndarray) -> np.ndarray:
    expected = networkx_flow(attentions)
    raw = attention_flow(attentions, normalise=False)
    np.testing.assert_allclose(raw, expected, atol=TOL)
    flow = attention_flow(attentions)
    assert flow.shape == raw.shape and flow.dtype == np.float32
    np.testing.assert_allclose(flow, expected / expected.sum(1, keepdims=True), atol=TOL)
    np.testing.assert_allclose(flow.sum(1), 1, atol=1e-5)
    return raw


# --- by definition ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "heads", "t", "seed"), [(2, 3, 7, 0), (3, 2, 6, 1), (3, 4, 8, 2)]
)
def test_random_attention_matches_networkx(layers, heads, t, seed):
    check_against_networkx(random_attention((layers, heads, t, t), seed))


def test_peaked_attention_matches_networkx():
    # Near one-hot heads: most capacities tiny, so the narrow cuts are in the middle layers.
    logits = np.random.default_rng(3).normal(0, 6, (4, 2, 7, 7))
    a = np.exp(logits - logits.max(-1, keepdims=True))
    raw = check_against_networkx((a / a.sum(-1, keepdims=True)).astype(np.float32))
    bound = np.minimum(flow_capacities(a)[0].sum(0)[None, :], 1.0)
    assert (raw < bound - 1e-3).any()  # some flow really is cut short inside the network


def test_direction_is_the_papers():
    # Abnar & Zuidema's code flows from the output node down to the input node: same values.
    a = random_attention((3, 2, 5, 5), seed=4)
    np.testing.assert_allclose(networkx_flow(a, reverse=True), networkx_flow(a), atol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("layers", [2, 3, 6])
def test_real_attention_matches_networkx(minilm, layers):
    r = minilm.analyze("The cat sat on the mat")
    assert r.attentions.shape[-1] == 8
    check_against_networkx(np.asarray(r.attentions)[:layers])


# --- properties ---------------------------------------------------------------------------------


def test_one_layer_is_the_layer_matrix():
    a = random_attention((1, 3, 6, 6), seed=5)
    np.testing.assert_allclose(attention_flow(a, normalise=False), layer_matrices(a)[0], atol=1e-6)
    np.testing.assert_allclose(flow_capacities(a), layer_matrices(a), atol=1e-6)


def test_flow_is_bounded_by_source_and_sink_capacity():
    a = random_attention((4, 2, 9, 9), seed=6)
    caps = layer_matrices(a)
    out_of_source = caps[0].sum(axis=0)  # input j's edges into layer 1
    into_sink = caps[-1].sum(axis=1)  # output i's edges from layer L-1 (= 1)
    raw = attention_flow(a, normalise=False)
    assert (raw <= np.minimum(into_sink[:, None], out_of_source[None, :]) + TOL).all()
    assert (raw > 0).all()


def test_masked_heads_and_layers():
    a = random_attention((3, 4, 6, 6), seed=7)
    a[1] = 0  # every head of layer 1 switched off: it passes each token straight up
    a[2, :2] = 0  # half the heads of layer 2 switched off
    raw = check_against_networkx(a)
    assert np.isfinite(raw).all()
    # Half-masked layer = the mean of its live heads, not a shrunken one.
    live = np.concatenate([a[:2], np.broadcast_to(a[2:, 2:].mean(1, keepdims=True), (1, 4, 6, 6))])
    np.testing.assert_allclose(attention_flow(live), attention_flow(a), atol=1e-5)
    # A dead layer is the identity: with two layers of it the flow is exactly A_3.
    dead = a.copy()
    dead[:2] = 0
    np.testing.assert_allclose(
        attention_flow(dead, normalise=False), layer_matrices(a)[2], atol=1e-5
    )


def test_single_token_and_bad_shapes():
    np.testing.assert_allclose(attention_flow(np.ones((3, 2, 1, 1), np.float32)), [[1.0]])
    with pytest.raises(ValueError, match="layers, heads, T, T"):
        attention_flow(np.ones((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="layers, heads, T, T"):
        attention_flow(np.ones((2, 2, 4, 5), np.float32))
    with pytest.raises(ValueError, match="at least one"):
        attention_flow(np.ones((0, 2, 4, 4), np.float32))
    assert 32 <= MAX_FLOW_TOKENS <= 512

"""Attention flow (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers").

The layers form a flow network: node (l, j) is token j after layer l (l = 0 are the inputs), and
an edge (l-1, j) → (l, i) has capacity A_l[i, j], the residual-augmented head-averaged attention
that `rollout` uses per layer. The flow from input j to output i is the maximum flow between
those two nodes: where rollout multiplies the layers' mixing matrices, flow asks how much
attention can get through the narrowest cut.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from .attention import row_normalise

# Capacities are whole multiples of this (scipy's max flow is over integers): each one is off by
# at most RESOLUTION / 2, so a flow is off by at most that times the edges of its minimum cut.
RESOLUTION = 1e-6
_SCALE = round(1 / RESOLUTION)

# The longest input the app offers flow for. T² max-flow calls on a graph of ~L·T² edges: the
# cost grows like T³–T⁴. Measured on 2 cores, real MiniLM attention (6 layers): 0.28 s at 32
# tokens, 2.5 s at 64, 3.6 s at 72, 5.2 s at 80, 34 s at 128; a 12-layer model takes about twice
# as long (4.7 s at 64), so 64 keeps one call under ~5 s for every model.
MAX_FLOW_TOKENS = 64


def flow_capacities(attentions: np.ndarray) -> np.ndarray:
    """Per-layer capacities [layers, T, T] (float64): A_l = 0.5·(mean over heads) + 0.5·I, rows
    renormalised, exactly the matrices `rollout(..., add_residual=True)` multiplies (a layer with
    every head off passes tokens through unchanged)."""
    a = np.asarray(attentions, np.float64)
    if a.ndim != 4 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"attentions must be [layers, heads, T, T], not shape {a.shape}")
    if 0 in a.shape:
        raise ValueError(f"attentions must have at least one layer, head and token: {a.shape}")
    per_layer = row_normalise(np.nan_to_num(a).mean(axis=1))
    return row_normalise(0.5 * per_layer + 0.5 * np.eye(a.shape[-1]))


def attention_flow(attentions: np.ndarray, normalise: bool = True) -> np.ndarray:
    """Attention flow [T, T]: F[i, j] = the maximum flow from input token j (node (0, j)) to
    token i after the last layer (node (L, i)), edges (l-1, j) → (l, i) of capacity A_l[i, j]
    (`flow_capacities`).

    Rows are output tokens and columns input tokens, as in `rollout`. Abnar & Zuidema's code
    points the edges the other way and computes the flow from the output node to the input node,
    which has the same value; it then divides each output token's flows by their sum, and so does
    `normalise` (the default): each row sums to 1. Without it, F[i, j] is in attention units
    (0 to 1, at most min(total capacity out of input j, 1)).

    Capacities are rounded to RESOLUTION (1e-6 attention units): each is off by at most 5e-7, so
    a flow is off by at most 5e-7 times the edges of a minimum cut (exact or rounded): T·5e-7
    when the cut is a token's own edges, as it is for most pairs; 5e-7·L·T² in theory. Measured
    against networkx's float max flow on real 64-token attention: < 4e-6. The integers cannot
    overflow int32: a node's total capacity is at most T·1e6 (5.1e8 at 512 tokens).

    Cost: T² calls of scipy's Dinic max flow, see MAX_FLOW_TOKENS. One layer is exact without
    them (F = A_1), and so are two (disjoint paths j → k → i: F[i, j] = Σ_k min(A_1[k, j],
    A_2[i, k])).
    """
    caps = flow_capacities(attentions)
    layers, t, _ = caps.shape
    if t * _SCALE >= 2**31:
        raise ValueError(f"attention flow supports at most {(2**31 - 1) // _SCALE} tokens, not {t}")
    if layers == 1:
        flow = caps[0].copy()
    elif layers == 2:
        flow = np.stack([np.minimum(caps[0], caps[1][i][:, None]).sum(axis=0) for i in range(t)])
    else:
        flow = _max_flows(np.rint(caps * _SCALE).astype(np.int32)) / _SCALE
    return (row_normalise(flow, empty="zero") if normalise else flow).astype(np.float32)


def _max_flows(c: np.ndarray) -> np.ndarray:
    """All T² flows for integer capacities c [L ≥ 3, T, T], on one CSR graph built once.

    Only the source's out-edges and the sink's in-edges matter for a pair (other input nodes have
    no way in, other output nodes no way out), so the graph keeps one source node s, the middle
    layers 1..L-1, and one sink node z; per pair only the capacities of s → (1, k) (column j of
    A_1) and (L-1, k) → z (row i of A_L) are rewritten: 2T + (L-2)·T² edges instead of L·T².
    """
    layers, t, _ = c.shape
    middle = layers - 2  # full T×T blocks between layers 1..L-1
    n = 2 + (layers - 1) * t
    sink = n - 1
    # Rows: s, then the nodes of layers 1..L-2 (T edges each, sorted), then layer L-1 (one edge
    # each, to z), then z (none).
    counts = np.concatenate([[t], np.full(middle * t, t), np.ones(t, int), [0]])
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    nxt = np.arange(t)
    indices = np.concatenate(
        [1 + nxt] + [np.tile(1 + (m + 1) * t + nxt, t) for m in range(middle)] + [np.full(t, sink)]
    ).astype(np.int32)
    data = np.concatenate(
        [c[0][:, 0]] + [c[m].T.ravel() for m in range(1, layers - 1)] + [c[-1][0]]
    ).astype(np.int32)
    graph = csr_matrix((data, indices, indptr), shape=(n, n))
    graph.has_sorted_indices = True
    source_edges = slice(0, t)
    sink_edges = slice(indptr[-2] - t, indptr[-2])
    out = np.empty((t, t), np.float64)
    for j in range(t):
        graph.data[source_edges] = c[0][:, j]
        for i in range(t):
            graph.data[sink_edges] = c[-1][i]
            out[i, j] = maximum_flow(graph, 0, sink, method="dinic").flow_value
    return out

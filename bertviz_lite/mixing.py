"""Context mixing: how much each token's output at a layer draws on each input token of that
layer, by four measures behind one call, and their composition through the layers.

Every measure gives [layers, T, T], row i of layer l the shares of token i's output at layer l
taken from each input token j of that layer (rows sum to 1):

- "attention": the heads' average attention;
- "norm": attention weighted by the size of what each token sends, α_hij·‖f_h(x_j)‖ summed over
  heads (Kobayashi et al. 2020, per head: an upper bound of their layer-level ‖Σ_h α f_h‖);
- "value-zeroing" (Mohebbi et al. 2023): the cosine distance between token i's layer output and
  what it becomes when token j's value vector is zeroed in every head, the rest of the layer
  recomputed from the same input (residuals, LayerNorms and the feed-forward included);
- "alti" (Ferrando et al. 2022): the attention block's output decomposed by source token through
  the residual and the LayerNorm, each part scored by its L1 closeness to the output.

The last two run the context-mixing graph (mixing_graph.py) in chunks of tokens, through
onnxruntime. `across_layers="rollout"` composes layer by layer, R_l = M_l·R_{l−1}; attention and
norm first add the residual as Abnar & Zuidema (2020) do (½M + ½I, rows renormalised), while
value zeroing and ALTI already account for it and compose as they are (as their papers do).
Attention flow, the max-flow reading of the same graph, is in analysis/flow.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import budget
from .analysis import Analysis, norm_weighted, rollout, row_normalise
from .errors import UserError

# The largest intermediate of one run of the mixing graph, in floats (32 MB): value zeroing's
# feed-forward holds J·T·intermediate of them for J zeroed tokens, ALTI's decomposition R·T·hidden
# for R rows. Bounds the memory of a 512-token request; at 128 tokens MiniLM runs in 3 and 1 runs.
FLOATS_PER_RUN = 2**23
# Value zeroing's distances below this are float32 rounding of equal vectors (the altered and the
# original output computed by two kernels), not a change: ~1e-14 where zeroing changes nothing.
NOISE = 1e-10


@dataclass(frozen=True)
class Measure:
    """One context-mixing measure as the views and the docs name it."""

    name: str
    title: str
    caveat: str  # what it leaves out, said beside it
    residual_in_rollout: bool  # whether rollout adds ½I (it does not account for the residual)


MEASURES: dict[str, Measure] = {m.name: m for m in (
    Measure("attention", "attention (head average)",
            "attention weights alone: ignore the size of the value vectors, the residual, the "
            "LayerNorms and the feed-forward.", True),
    Measure("norm", "norm-based (Kobayashi et al. 2020)",
            "weights attention by the norm of what each token sends; ignores the residual, the "
            "LayerNorms and the feed-forward.", True),
    Measure("value-zeroing", "value zeroing (Mohebbi et al. 2023)",
            "the whole layer, feed-forward included, by how far a token's output moves when "
            "one token's value is zeroed; T reruns of the layer's second half.", False),
    Measure("alti", "ALTI (Ferrando et al. 2022)",
            "attention, residual and the first LayerNorm, by L1 distance to the block's "
            "output; leaves out the feed-forward.", False),
)}  # fmt: skip
ACROSS_LAYERS = (None, "rollout")


def context_mixing(model: Any, r: Analysis, method: str = "alti", across_layers: str | None = None,
                   progress: Callable[[int, int], None] | None = None) -> np.ndarray:  # fmt: skip
    """float32 [layers, T, T]: row i of layer l = how much token i's output at layer l draws on
    each input token j (rows sum to 1); with across_layers="rollout", on each token of the
    input through every layer up to l. `progress(done, total)` after each run of the graph."""
    if across_layers not in ACROSS_LAYERS:
        raise ValueError(f"across_layers must be None or 'rollout', not {across_layers!r}")
    m = per_layer(model, r, method, progress)
    return m if across_layers is None else compose(m, method)


def per_layer(model: Any, r: Analysis, method: str,
              progress: Callable[[int, int], None] | None = None) -> np.ndarray:  # fmt: skip
    """`method`'s matrices [layers, T, T], each layer on its own (rows sum to 1)."""
    if method not in MEASURES:
        raise ValueError(f"unknown method {method!r} (choose from {', '.join(MEASURES)})")
    if method == "attention":
        return row_normalise(np.nan_to_num(r.attentions).mean(axis=1)).astype(np.float32)
    if method == "norm":
        if r.value_norms is None:
            raise UserError("This analysis has no value norms: the norm-based measure needs them.")
        weighted = norm_weighted(r.attentions, r.value_norms, normalise=False)
        return row_normalise(weighted.sum(axis=1)).astype(np.float32)
    return from_graph(model, r, method, progress)


def compose(per_layer: np.ndarray, method: str) -> np.ndarray:
    """Rollout of `method`'s per-layer matrices [layers, T, T]: R_l = M_l·R_{l−1}, the residual
    added first (½M + ½I) for the measures that leave it out."""
    return rollout(per_layer[:, None], add_residual=MEASURES[method].residual_in_rollout)


def from_graph(model: Any, r: Analysis, method: str,
               progress: Callable[[int, int], None] | None = None) -> np.ndarray:  # fmt: skip
    """Value zeroing or ALTI, [layers, T, T], from the context-mixing graph in chunks of tokens
    (each run's largest intermediate at most FLOATS_PER_RUN floats)."""
    session = model.mixing_session
    layers, t = r.attentions.shape[0], len(r.tokens)
    feed = {"hidden_states": np.ascontiguousarray(r.hidden_states[:-1], np.float32),
            "attentions": np.ascontiguousarray(np.nan_to_num(r.attentions), np.float32)}  # fmt: skip
    zeroing = method == "value-zeroing"
    c = model.config
    width = c.intermediate_size if zeroing else c.hidden_size
    chunk = max(1, FLOATS_PER_RUN // (t * width))
    out = np.empty((layers, t, t), np.float32)
    one = np.zeros(1, np.int64)  # the measure not asked gets one token (see mixing_graph.py)
    starts = range(0, t, chunk)
    for n, start in enumerate(starts):
        budget.check(n, len(starts), MEASURES[method].title)
        tokens = np.arange(start, min(t, start + chunk), dtype=np.int64)
        if zeroing:
            part = session.session.run(["value_zeroing"], feed | {"zeroed": tokens, "rows": one})
            out[:, :, tokens] = part[0].transpose(0, 2, 1)  # [L, J, T] → columns j of rows i
        else:
            part = session.session.run(["alti"], feed | {"zeroed": one, "rows": tokens})
            out[:, tokens, :] = part[0]
        if progress is not None:
            progress(n + 1, len(starts))
    if zeroing:
        out[out < NOISE] = 0
        return row_normalise(out)  # a row nothing moves (every head off): the identity
    return out

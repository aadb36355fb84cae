"""The context-mixing graph: value zeroing and ALTI for every layer, as one ONNX file per model.

Both measures recompute part of a layer from that layer's input and attention, so the graph takes
what the main graph already returned — each layer's input (hidden_states[l]) and attention maps
(head mask applied) — and runs the model's own modules on them (bert.py's names):

- value zeroing (Mohebbi et al. 2023): for each token j in `zeroed`, token j's value vector is
  set to zero in every head of the layer and the whole layer (attention output, residual,
  LayerNorm, feed-forward, residual, LayerNorm) is recomputed from the same input; the output is
  the cosine distance of every token's altered output to its original one. Zeroing v_j takes
  Σ_h α_hij·v_hj W_O^h out of token i's attention output (the output projection is linear), so
  the J altered states are the original one minus those shares: queries, keys, attention and
  the projections run once, only the LayerNorms and the feed-forward run J times.
- ALTI (Ferrando et al. 2022): the attention block's output y_i = LN(Σ_j Σ_h α_hij f_h(x_j) + b_O
  + x_i) decomposed by token: T_i(x_j) = γ ⊙ (z_ij − mean(z_ij)) / σ_i, where z_ij is
  Σ_h α_hij f_h(x_j) plus x_i when j = i (the residual), f_h(x_j) = v_hj W_O^h, and σ_i the
  LayerNorm's own deviation of the pre-LN state; the contribution is max(0, ‖y_i‖₁ − ‖y_i −
  T_i(x_j)‖₁), each row divided by its sum — the paper's L1 contribution. Computed for the
  tokens in `rows`.

Callers pass chunks of `zeroed` and `rows` to bound memory (a chunk of J tokens holds
J·T·(4·hidden) floats in the feed-forward), each at least one token: onnxruntime 1.31 mishandles
empty tensors here (its reductions give them back unreduced), so a measure not wanted gets one
token, and costs about one forward pass. The file is fp32 whatever the
main graph's variant: distances of near-equal vectors need every bit.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)

OPSET = 17
INPUTS = ("hidden_states", "attentions", "zeroed", "rows")
OUTPUTS = ("value_zeroing", "alti")


def unit(x: Tensor) -> Tensor:
    return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True).clamp_min(1e-30)


def cosine_distance(a: Tensor, b: Tensor) -> Tensor:
    """1 − cos(a, b) along the last axis, as ½‖â − b̂‖²: no cancellation in 1 − (≈1) for the
    near-equal vectors most pairs are."""
    return 0.5 * torch.sum((unit(a) - unit(b)) ** 2, dim=-1)


class ContextMixing(nn.Module):
    """Value zeroing and ALTI of every layer, from each layer's input and attention maps."""

    def __init__(self, model: nn.Module):
        super().__init__()
        encoder = getattr(model, "bert", model)  # a task model wraps the encoder as .bert
        self.config = encoder.config
        self.layer = encoder.encoder.layer
        self.eval()

    def module(self, i: int) -> nn.Module:
        """Layer i's weights: its own, or (ALBERT) the group's it shares, as BertModel reads them."""
        n = self.config.num_hidden_layers
        return self.layer[int(i / (n / len(self.layer)))]

    def forward(self, hidden_states: Tensor, attentions: Tensor, zeroed: Tensor, rows: Tensor):
        """hidden_states [L, T, D]: each layer's input; attentions [L, H, T, T]; zeroed [J] and
        rows [R]: token indices. → value_zeroing [L, J, T] (row j: every token's distance with
        j's value zeroed) and alti [L, R, T] (row i: token i's contributions, summing to 1)."""
        zeroing, alti = [], []
        for i in range(self.config.num_hidden_layers):
            z, a = self.layer_mixing(self.module(i), hidden_states[i], attentions[i], zeroed, rows)
            zeroing.append(z)
            alti.append(a)
        return torch.stack(zeroing), torch.stack(alti)

    def layer_mixing(self, layer: nn.Module, x: Tensor, probs: Tensor, zeroed: Tensor,
                     rows: Tensor) -> tuple[Tensor, Tensor]:  # fmt: skip
        heads, t, d = probs.shape[0], x.shape[0], x.shape[1]
        attention = layer.attention
        dense, norm = attention.output.dense, attention.output.LayerNorm
        v = attention.self.split_heads(attention.self.value(x[None]))[0]  # [H, T, d_h]
        context = torch.matmul(probs, v).transpose(0, 1).reshape(t, d)
        pre = dense(context) + x  # the state before the first LayerNorm
        y = norm(pre)  # the attention block's output
        out = layer.output(layer.intermediate(y), y)  # the layer's output [T, D]
        # f_h(x_j) = v_hj W_O^h: what token j sends through head h, [H, T, D]. Token j's share
        # of token i's attention output is Σ_h α_hij f_h(x_j).
        f = torch.matmul(v, dense.weight.t().reshape(heads, -1, d))

        # Value zeroing: the pre-LN state without token j's share, for each zeroed j; then the
        # rest of the layer as the model computes it.
        alpha_j = probs.index_select(2, zeroed).permute(2, 1, 0)  # [J, T, H]
        shares = torch.matmul(alpha_j, f.index_select(1, zeroed).transpose(0, 1))  # [J, T, D]
        y_alt = norm(pre[None] - shares)
        out_alt = layer.output(layer.intermediate(y_alt), y_alt)  # [J, T, D]
        zeroing = cosine_distance(out_alt, out[None])

        # ALTI: row i's output decomposed by source token j through the LayerNorm.
        alpha_i = probs.index_select(1, rows).permute(2, 1, 0)  # [T_j, R, H]
        mixed = torch.matmul(alpha_i, f.transpose(0, 1)).transpose(0, 1)  # [R, T, D]
        own = (rows[:, None] == torch.arange(t)[None]).to(x.dtype)  # [R, T]: j = i
        mixed = mixed + own[..., None] * x.index_select(0, rows)[:, None, :]  # the residual
        sigma = torch.sqrt(pre.var(-1, unbiased=False) + norm.eps).index_select(0, rows)
        parts = norm.weight * (mixed - mixed.mean(-1, keepdim=True)) / sigma[:, None, None]
        y_rows = y.index_select(0, rows)[:, None, :]  # [R, 1, D]
        distance = (y_rows - parts).abs().sum(-1)  # [R, T]
        contribution = torch.relu(y_rows.abs().sum(-1) - distance)
        alti = contribution / contribution.sum(-1, keepdim=True)
        return zeroing, alti


def example_inputs(config, length: int, seed: int = 0) -> tuple[Tensor, ...]:
    """Random layer inputs and row-stochastic attention of `length` tokens; every token zeroed
    and every row asked."""
    g = torch.Generator().manual_seed(seed)
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    hidden = torch.randn(layers, length, config.hidden_size, generator=g)
    attentions = torch.softmax(torch.randn(layers, heads, length, length, generator=g), -1)
    everyone = torch.arange(length)
    return hidden, attentions, everyone, everyone


def to_onnx(graph: ContextMixing, path: Path) -> None:
    """torch.onnx.export (TorchScript exporter), every token axis dynamic."""
    axes = {"hidden_states": {1: "tokens"}, "attentions": {2: "tokens", 3: "tokens"},
            "zeroed": {0: "zeroed"}, "rows": {0: "rows"},
            "value_zeroing": {1: "zeroed", 2: "tokens"}, "alti": {1: "rows", 2: "tokens"}}  # fmt: skip
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            graph, example_inputs(graph.config, 7), str(path), dynamo=False, input_names=INPUTS,
            output_names=OUTPUTS, dynamic_axes=axes, opset_version=OPSET,
        )  # fmt: skip


def check(path: Path, graph: ContextMixing) -> dict:
    """The file against the torch module at two lengths other than the export's, with all and
    with a few tokens zeroed and asked."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    drift = {}
    for length in (5, 19):
        hidden, attentions, everyone, _ = example_inputs(graph.config, length, seed=length)
        for zeroed, rows in ((everyone, everyone[1:3]), (everyone[2:3], everyone)):
            with torch.no_grad():
                expected = graph(hidden, attentions, zeroed, rows)
            feed = dict(zip(INPUTS, (t.numpy() for t in (hidden, attentions, zeroed, rows))))
            for name, got, want in zip(OUTPUTS, session.run(None, feed), expected):
                if got.shape != tuple(want.shape):
                    raise RuntimeError(f"mixing graph gives {name} of shape {got.shape}")
                if got.size:
                    delta = float(np.abs(got - want.numpy()).max())
                    drift[name] = max(drift.get(name, 0.0), delta)
    if max(drift.values()) > 1e-4:
        raise RuntimeError(f"the mixing graph differs from torch: {drift}")
    return drift


def export_mixing(model: nn.Module, out: Path) -> dict:
    """Write `model`'s context-mixing graph to `out` (checked); return what the cache keeps."""
    started = time.perf_counter()
    graph = ContextMixing(model)
    to_onnx(graph, out)  # `out` lies in the cache's temporary folder until it is checked
    drift = check(out, graph)
    seconds = time.perf_counter() - started
    log.info("exported the context-mixing graph in %.1f s (max |Δ| vs torch: %s)", seconds, drift)
    return {"graph": "context-mixing", "outputs": list(OUTPUTS), "drift_vs_torch": drift,
            "seconds": round(seconds, 1)}  # fmt: skip

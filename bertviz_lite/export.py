"""Export our PyTorch BERT to one ONNX file per (weights, variant), with every attention map.

The graph takes input_ids, attention_mask, token_type_ids [batch, seq] (only for families with
segment ids: not RoBERTa-like, not DistilBERT) and head_mask [batch, layers, heads] (and case_ids
[batch, seq] when the model has case embeddings), all axes but the model's own sizes dynamic.
It returns, one output per layer so that nothing is stacked in the graph (the runtime binds each
to its slice of one buffer, runtime.Session.run_bound): logits (when the model has a head),
attentions_0..L-1 [batch, heads, seq, seq] (the softmax, before the head mask, which the graph
applies to the values), hidden_states_0..L [batch, seq, hidden] (the embeddings, then each layer),
value_norms [batch, layers, heads, seq] (‖f_h(x_j)‖, Kobayashi et al. 2020), and queries_i,
keys_i, values_i [batch, heads, seq, head size] (after the bias, before scaling: tensors the graph
computes anyway, so returning them on request costs no work when they are not fetched).
onnxruntime's transformer optimizer then fuses LayerNorm, SkipLayerNorm and (Bias)Gelu; attention
fusion stays off because it would swallow the softmax whose output we return.
Variants: fp32; int8 (dynamic quantization of the weight matmuls, for the CPU provider); fp16
(for CUDA, inputs and outputs kept fp32). Every export is checked against torch at two sequence
lengths other than the example's before it is accepted.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn
from tqdm import tqdm

log = logging.getLogger(__name__)

VARIANTS = ("fp32", "int8", "fp16")
OPSET = 17


def input_names(model: nn.Module) -> list[str]:
    c = model.config
    return [
        "input_ids", "attention_mask", *(["token_type_ids"] if c.family.token_type_ids else []),
        "head_mask", *(["case_ids"] if c.case_vocab_size else []),
    ]  # fmt: skip


PER_LAYER = ("attentions", "hidden_states", "queries", "keys", "values")


class GraphOutputs(nn.Module):
    """The model as a function of its inputs (`input_names` order) returning a flat tuple in
    `output_names` order, as ONNX wants it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.names = input_names(model)
        # Eval for good: the exporter restores the wrapper's mode afterwards, recursively, and a
        # wrapper left in training mode would switch dropout on in the model it wraps.
        self.eval()

    def forward(self, *inputs):
        out = self.model(**dict(zip(self.names, inputs)))
        layers = out.layers
        flat = [*layers["attentions"], *layers["hidden_states"],
                torch.stack(layers["value_norms"], 1),
                *layers["queries"], *layers["keys"], *layers["values"]]  # fmt: skip
        return tuple(flat) if out.logits is None else (out.logits, *flat)


class LogitsOutputs(GraphOutputs):
    """A sequence classifier's logits alone, its last layer computing [CLS]'s state only (all the
    pooler reads): ~1/7 less work for runs that read nothing else (occlusion, the head sweep)."""

    def forward(self, *inputs):
        return self.model(**dict(zip(self.names, inputs)), cls_only=True).logits


def graph_of(model: nn.Module, logits_only: bool = False) -> GraphOutputs:
    return (LogitsOutputs if logits_only else GraphOutputs)(model)


def output_names(model: nn.Module) -> list[str]:
    c = model.config
    n = c.num_hidden_layers
    names = ["logits"] if c.head != "base" else []
    names += [f"attentions_{i}" for i in range(n)] + [f"hidden_states_{i}" for i in range(n + 1)]
    names.append("value_norms")
    for kind in ("queries", "keys", "values"):
        names += [f"{kind}_{i}" for i in range(n)]
    return names


def kind_of(name: str) -> str:
    """The kind of a per-layer output ("attentions_3" → "attentions"); others as they are."""
    base, _, index = name.rpartition("_")
    return base if index.isdigit() and base in PER_LAYER else name


def example_inputs(
    model: nn.Module, batch: int, length: int, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Random ids (never the padding id), the last row padded, two segments: a realistic batch,
    keyed in `input_names` order."""
    c = model.config
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, c.vocab_size - 1, (batch, length), generator=g)
    ids += (ids >= c.pad_token_id).long()  # skip the padding id: RoBERTa's positions count it
    mask = torch.ones(batch, length, dtype=torch.int64)
    if batch > 1:
        mask[-1, length * 2 // 3 :] = 0
        ids[-1, length * 2 // 3 :] = c.pad_token_id
    types = torch.zeros(batch, length, dtype=torch.int64)
    types[:, length // 2 :] = 1 if c.type_vocab_size > 1 else 0
    available = {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": types,
        "head_mask": torch.ones(batch, c.num_hidden_layers, c.num_attention_heads),
    }
    if c.case_vocab_size:
        available["case_ids"] = torch.randint(0, c.case_vocab_size, (batch, length), generator=g)
    return {name: available[name] for name in input_names(model)}


def to_onnx(model: nn.Module, path: Path, logits_only: bool = False) -> None:
    """torch.onnx.export with the TorchScript exporter, whose graphs the ORT optimizer fuses."""
    names = ["logits"] if logits_only else output_names(model)
    inputs = input_names(model)
    seq = {0: "batch", 1: "sequence"}
    axes = {name: seq for name in inputs if name != "head_mask"} | {"head_mask": {0: "batch"}}
    shapes = {"attentions": {0: "batch", 2: "sequence", 3: "sequence"},
              "hidden_states": seq, "value_norms": {0: "batch", 3: "sequence"},
              "queries": {0: "batch", 2: "sequence"}}  # fmt: skip
    shapes["keys"] = shapes["values"] = shapes["queries"]
    if "logits" in names:
        sequence_level = model.config.head == "sequence-classification"
        shapes["logits"] = {0: "batch"} if sequence_level else seq
    axes |= {name: shapes[kind_of(name)] for name in names}
    example = example_inputs(model, batch=2, length=16)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            graph_of(model, logits_only), tuple(example.values()), str(path), dynamo=False,
            input_names=inputs, output_names=names, dynamic_axes=axes, opset_version=OPSET,
        )  # fmt: skip


def optimize(src: Path, dst: Path, model: nn.Module, fp16: bool = False) -> None:
    """Fuse LayerNorm and (Bias/Fast)Gelu, and for CUDA (fp16) SkipLayerNorm; keep every Softmax
    (attention fusion off). The family names onnxruntime's optimizer type ("bert" fits every
    family here: our graph is the same code for all).

    On the CPU the residual Adds stay beside LayerNormalization: onnxruntime 1.31's CPU
    SkipLayerNormalization takes ~6× their time (runtime.DISABLED_OPTIMIZERS), 8–16% of a run."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    c = model.config
    kind = c.family.onnx_model_type
    options = FusionOptions(kind)
    options.enable_attention = False  # it would remove the Softmax nodes that feed our outputs
    options.enable_embed_layer_norm = False  # the embedding output is hidden_states[0]
    options.enable_skip_layer_norm = options.enable_bias_skip_layer_norm = fp16
    optimized = optimize_model(
        str(src), kind, c.num_attention_heads, c.hidden_size, options, opt_level=0
    )
    if fp16:
        optimized.convert_float_to_float16(keep_io_types=True)
    optimized.save_model_to_file(str(dst))


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8 for the weight matmuls only; attention's activation matmuls stay fp32, and so
    do the value norms' products with their per-head Gram matrices (constants, but no weights)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src)).graph
    ranks = {t.name: len(t.dims) for t in graph.initializer}
    ranks |= {n.output[0]: len(n.attribute[0].t.dims) for n in graph.node
              if n.op_type == "Constant" and n.attribute[0].name == "value"}  # fmt: skip
    grams = [n.name for n in graph.node
             if n.op_type == "MatMul" and ranks.get(n.input[1], 2) != 2]  # fmt: skip
    # Shape inference does not know the fused contrib ops; their outputs are float32.
    options = {"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT}
    # Per-channel scales halve the attention drift of per-tensor ones at the same speed.
    quantize_dynamic(src, dst, per_channel=True, weight_type=QuantType.QInt8,
                     nodes_to_exclude=grams, extra_options=options)  # fmt: skip


def check(path: Path, model: nn.Module, variant: str, logits_only: bool = False) -> dict:
    """Run the file at two lengths other than the export example's; compare with torch.

    fp32 must match to 1e-4 on attention probabilities at unpadded positions (a dynamic axis that
    became fixed, or a wrong fusion, shows up here). int8 moves a few probabilities of peaky heads
    a lot while leaving the rest alone, so it is held to its mean drift instead. Drift is kept per
    kind of output (every layer's attentions together). The logits graph is held to the same
    limits on its logits.
    """
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    drift: dict[str, float] = {}
    for length in (5, 23):
        inputs = example_inputs(model, batch=2, length=length, seed=length)
        with torch.no_grad():
            expected = graph_of(model, logits_only)(*inputs.values())
            expected = dict(zip(names, (expected,) if logits_only else expected))
        got = dict(zip(names, session.run(None, {k: v.numpy() for k, v in inputs.items()})))
        keep = inputs["attention_mask"].numpy().astype(bool)
        deltas: dict[str, list[np.ndarray]] = {}
        for name in names:
            a, b = got[name], expected[name].numpy()
            if not np.isfinite(a).all():
                raise RuntimeError(f"{variant} export gives non-finite {name}")
            where = np.broadcast_to(unpadded(name, a.ndim, keep), a.shape)
            deltas.setdefault(kind_of(name), []).append(np.abs(a - b)[where])
        for kind, parts in deltas.items():
            delta = np.concatenate(parts)
            drift[f"{kind}_max"] = max(drift.get(f"{kind}_max", 0.0), float(delta.max()))
            drift[f"{kind}_mean"] = max(drift.get(f"{kind}_mean", 0.0), float(delta.mean()))
    measure, limit = {"fp32": ("max", 1e-4), "fp16": ("max", 2e-2), "int8": ("mean", 2e-2)}[variant]
    kind = "logits" if logits_only else "attentions"
    if drift[f"{kind}_{measure}"] > limit:
        raise RuntimeError(
            f"{variant} export differs from torch: {kind} {measure} |Δ| "
            f"{drift[f'{kind}_{measure}']:.2e} > {limit}"
        )
    return drift


def unpadded(output: str, ndim: int, keep: np.ndarray) -> np.ndarray:
    """Where an output's values belong to real tokens (padding rows and columns mean nothing).

    `output` is a graph output's name (per layer, "attentions_2") or a stacked one's
    ("attentions" [B, layers, heads, T, T]); keep is the attention mask [B, T] as booleans."""
    kind = kind_of(output)
    if kind == "attentions":
        rows = keep.reshape(keep.shape[0], *[1] * (ndim - 3), keep.shape[1], 1)
        return rows & rows.swapaxes(-1, -2)
    if kind in ("hidden_states", "queries", "keys", "values"):  # [B, (layers, heads,) T, size]
        return keep.reshape(keep.shape[0], *[1] * (ndim - 3), keep.shape[1], 1)
    if kind == "value_norms":  # [B, layers, heads, T]
        return keep[:, None, None, :]
    return keep[:, :, None] if ndim == 3 else np.ones((1, 1), bool)


@contextlib.contextmanager
def quiet():
    """onnxruntime's optimizer and quantizer log every fusion at INFO: keep the console readable."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def export(model: nn.Module, variant: str, out: Path, progress: bool = True,
           logits_only: bool = False) -> dict:  # fmt: skip
    """Write `model` as an ONNX file of the given variant to `out`; return what the cache keeps.
    logits_only: a sequence classifier's logits graph (LogitsOutputs) instead of the full one."""
    if logits_only and getattr(model.config, "head", None) != "sequence-classification":
        raise ValueError("the logits-only graph is for sequence classifiers")
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} (choose from {', '.join(VARIANTS)})")
    steps = ["export", "optimize", *(["quantize"] if variant == "int8" else []), "check"]
    bar = tqdm(total=len(steps), desc=f"exporting {variant}", unit="step", disable=not progress)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        raw, fused = Path(tmp) / "raw.onnx", Path(tmp) / "fused.onnx"
        bar.set_postfix_str("torch.onnx.export")
        to_onnx(model, raw, logits_only)
        bar.update()
        bar.set_postfix_str("fusing LayerNorm/Gelu")
        with quiet():
            optimize(raw, out if variant != "int8" else fused, model, fp16=variant == "fp16")
        bar.update()
        if variant == "int8":
            bar.set_postfix_str("int8 dynamic quantization")
            with quiet():
                quantize_int8(fused, out)
            bar.update()
        bar.set_postfix_str("checking against torch")
        drift = check(out, model, variant, logits_only)
        bar.update()
    bar.close()
    seconds = time.perf_counter() - started
    log.info("exported %s in %.1f s (max |Δ| vs torch: %s)", variant, seconds, drift)
    return {
        "variant": variant,
        "outputs": ["logits"] if logits_only else output_names(model),
        "drift_vs_torch": drift,
        "seconds": round(seconds, 1),
    }

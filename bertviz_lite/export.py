"""Export our PyTorch BERT to one ONNX file per (weights, variant), with every attention map.

The graph takes input_ids, attention_mask, token_type_ids [batch, seq] (only for families with
segment ids: not RoBERTa-like, not DistilBERT) and head_mask [layers, heads] (and case_ids
[batch, seq] when the model has case embeddings), all axes but the
model's own sizes dynamic, and returns logits (when the model has a head), attentions [batch,
layers, heads, seq, seq] and hidden_states [batch, layers+1, seq, hidden]. onnxruntime's
transformer optimizer then fuses LayerNorm, SkipLayerNorm and (Bias)Gelu; attention fusion stays
off because it would swallow the softmax whose output we return.
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


class GraphOutputs(nn.Module):
    """The model as a function of its inputs (`input_names` order) returning a flat tuple, as
    ONNX wants it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.names = input_names(model)
        # Eval for good: the exporter restores the wrapper's mode afterwards, recursively, and a
        # wrapper left in training mode would switch dropout on in the model it wraps.
        self.eval()

    def forward(self, *inputs):
        out = self.model(**dict(zip(self.names, inputs)))
        rest = (out.attentions, out.hidden_states)
        return rest if out.logits is None else (out.logits, *rest)


def output_names(model: nn.Module) -> list[str]:
    has_head = model.config.head != "base"
    return (["logits"] if has_head else []) + ["attentions", "hidden_states"]


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
        "head_mask": torch.ones(c.num_hidden_layers, c.num_attention_heads),
    }
    if c.case_vocab_size:
        available["case_ids"] = torch.randint(0, c.case_vocab_size, (batch, length), generator=g)
    return {name: available[name] for name in input_names(model)}


def to_onnx(model: nn.Module, path: Path) -> None:
    """torch.onnx.export with the TorchScript exporter, whose graphs the ORT optimizer fuses."""
    names, inputs = output_names(model), input_names(model)
    seq = {0: "batch", 1: "sequence"}
    axes = {name: seq for name in inputs if name != "head_mask"}
    axes |= {"attentions": {0: "batch", 3: "sequence", 4: "sequence"},
             "hidden_states": {0: "batch", 2: "sequence"}}  # fmt: skip
    if "logits" in names:
        sequence_level = model.config.head == "sequence-classification"
        axes["logits"] = {0: "batch"} if sequence_level else seq
    example = example_inputs(model, batch=2, length=16)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            GraphOutputs(model), tuple(example.values()), str(path), dynamo=False,
            input_names=inputs, output_names=names, dynamic_axes=axes, opset_version=OPSET,
        )  # fmt: skip


def optimize(src: Path, dst: Path, model: nn.Module, fp16: bool = False) -> None:
    """Fuse LayerNorm, SkipLayerNorm and (Bias/Fast)Gelu; keep every Softmax (attention fusion
    off). The family names onnxruntime's optimizer type ("bert" fits every family here: our graph
    is the same code for all)."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    c = model.config
    kind = c.family.onnx_model_type
    options = FusionOptions(kind)
    options.enable_attention = False  # it would remove the Softmax nodes that feed our outputs
    options.enable_embed_layer_norm = False  # the embedding output is hidden_states[0]
    optimized = optimize_model(
        str(src), kind, c.num_attention_heads, c.hidden_size, options, opt_level=0
    )
    if fp16:
        optimized.convert_float_to_float16(keep_io_types=True)
    optimized.save_model_to_file(str(dst))


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8 for the weight matmuls only; attention's activation matmuls stay fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Shape inference does not know the fused contrib ops; their outputs are float32.
    options = {"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT}
    # Per-channel scales halve the attention drift of per-tensor ones at the same speed.
    quantize_dynamic(src, dst, per_channel=True, weight_type=QuantType.QInt8, extra_options=options)


def check(path: Path, model: nn.Module, variant: str) -> dict[str, float]:
    """Run the file at two lengths other than the export example's; compare with torch.

    fp32 must match to 1e-4 on attention probabilities at unpadded positions (a dynamic axis that
    became fixed, or a wrong fusion, shows up here). int8 moves a few probabilities of peaky heads
    a lot while leaving the rest alone, so it is held to its mean drift instead.
    """
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    drift = {}
    for length in (5, 23):
        inputs = example_inputs(model, batch=2, length=length, seed=length)
        with torch.no_grad():
            expected = dict(zip(names, GraphOutputs(model)(*inputs.values())))
        got = dict(zip(names, session.run(None, {k: v.numpy() for k, v in inputs.items()})))
        keep = inputs["attention_mask"].numpy().astype(bool)
        for name in names:
            a, b = got[name], expected[name].numpy()
            if not np.isfinite(a).all():
                raise RuntimeError(f"{variant} export gives non-finite {name}")
            delta = np.abs(a - b)[np.broadcast_to(unpadded(name, a.ndim, keep), a.shape)]
            drift[f"{name}_max"] = max(drift.get(f"{name}_max", 0.0), float(delta.max()))
            drift[f"{name}_mean"] = max(drift.get(f"{name}_mean", 0.0), float(delta.mean()))
    measure, limit = {"fp32": ("max", 1e-4), "fp16": ("max", 2e-2), "int8": ("mean", 2e-2)}[variant]
    if drift[f"attentions_{measure}"] > limit:
        raise RuntimeError(
            f"{variant} export differs from torch: attention {measure} |Δ| "
            f"{drift[f'attentions_{measure}']:.2e} > {limit}"
        )
    return drift


def unpadded(output: str, ndim: int, keep: np.ndarray) -> np.ndarray:
    """Where an output's values belong to real tokens (padding rows and columns mean nothing)."""
    if output == "attentions":
        return keep[:, None, None, :, None] & keep[:, None, None, None, :]
    if output == "hidden_states":
        return keep[:, None, :, None]
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


def export(model: nn.Module, variant: str, out: Path, progress: bool = True) -> dict:
    """Write `model` as an ONNX file of the given variant to `out`; return what the cache keeps."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} (choose from {', '.join(VARIANTS)})")
    steps = ["export", "optimize", *(["quantize"] if variant == "int8" else []), "check"]
    bar = tqdm(total=len(steps), desc=f"exporting {variant}", unit="step", disable=not progress)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        raw, fused = Path(tmp) / "raw.onnx", Path(tmp) / "fused.onnx"
        bar.set_postfix_str("torch.onnx.export")
        to_onnx(model, raw)
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
        drift = check(out, model, variant)
        bar.update()
    bar.close()
    seconds = time.perf_counter() - started
    log.info("exported %s in %.1f s (max |Δ| vs torch: %s)", variant, seconds, drift)
    return {
        "variant": variant,
        "outputs": output_names(model),
        "drift_vs_torch": drift,
        "seconds": round(seconds, 1),
    }

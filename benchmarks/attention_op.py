"""Issue 29, lever 1: ONNX's own Attention operator (opset 23) against the attention our export
writes out, on the attention core alone, in the same run.

    python -m benchmarks.attention_op [--tokens 128 512] [--reps 30] [--quick] [--out FILE]

Our exported graph computes each layer's attention as MatMul(Q, Kᵀ) · 1/√d + mask → Softmax →
MatMul(P, V), with P (every head's map) an output. ONNX 1.18+ has an `Attention` operator
(opset 23) whose `qk_matmul_output_mode = 3` returns those softmax probabilities beside the
output: a fused attention that would still give every map. onnxruntime has a CPU kernel for it.

Both graphs here take the same Q, K, V [1, heads, T, d] (batch 1: no padding, so no mask) and
return (Y, P); they run in onnxruntime with 2 intra-op threads and the session's full graph
optimisations (what the app uses), alternating per repetition after a warm-up, with a pause
before each timed call (onnxruntime's threads spin after work). Shapes: MiniLM
(12 heads × 32) and BERT-base (12 heads × 64). Each row: the median time of one attention core,
and how far the two answers lie apart (max |ΔP|, max |ΔY|). Prints a Markdown table; --out
writes it too (.json: the rows).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .common import SETTLE_S, machine

SHAPES = {"MiniLM (12 × 32)": (12, 32), "BERT-base (12 × 64)": (12, 64)}


def _graphs(heads: int, dim: int) -> tuple[bytes, bytes]:
    """(our decomposition, ONNX's Attention) as serialized models."""
    import onnx
    from onnx import TensorProto, helper

    def io(name: str, shape: list | None) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    inputs = [io(n, [1, heads, "T", dim]) for n in ("q", "k", "v")]
    outputs = [io("y", None), io("p", None)]  # shapes left to onnxruntime
    scale = helper.make_tensor("scale", TensorProto.FLOAT, [], [1.0 / np.sqrt(dim)])
    ours = helper.make_graph([
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["s"]),
        helper.make_node("Mul", ["s", "scale"], ["scaled"]),
        helper.make_node("Softmax", ["scaled"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["y"]),
    ], "ours", inputs, outputs, initializer=[scale])  # fmt: skip
    fused = helper.make_graph([
        helper.make_node("Attention", ["q", "k", "v"], ["y", "", "", "p"],
                         qk_matmul_output_mode=3, scale=float(1.0 / np.sqrt(dim))),
    ], "fused", inputs, outputs)  # fmt: skip
    opset = [helper.make_opsetid("", 23)]
    return tuple(helper.make_model(g, opset_imports=opset, ir_version=10).SerializeToString()
                 for g in (ours, fused))  # fmt: skip


@dataclass
class Row:
    shape: str
    tokens: int
    ours_ms: float
    fused_ms: float
    speedup: float  # ours / fused
    max_dp: float
    max_dy: float


def measure(heads: int, dim: int, tokens: int, reps: int, threads: int = 2) -> tuple:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    sessions = [ort.InferenceSession(m, options, providers=["CPUExecutionProvider"])
                for m in _graphs(heads, dim)]  # fmt: skip
    rng = np.random.default_rng(0)
    feed = {n: rng.standard_normal((1, heads, tokens, dim), np.float32) for n in "qkv"}
    answers = [s.run(["y", "p"], feed) for s in sessions]
    times: list[list[float]] = [[], []]
    for _ in range(3):  # warm-up
        for s in sessions:
            s.run(["y", "p"], feed)
    for _ in range(reps):
        for i, s in enumerate(sessions):
            time.sleep(SETTLE_S)  # the other session's spinning threads settle first
            t0 = time.perf_counter()
            s.run(["y", "p"], feed)
            times[i].append(time.perf_counter() - t0)
    (y0, p0), (y1, p1) = answers
    return (float(np.median(times[0]) * 1e3), float(np.median(times[1]) * 1e3),
            float(np.abs(p0 - p1).max()), float(np.abs(y0 - y1).max()))  # fmt: skip


def ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="32 tokens, 3 repetitions")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    tokens, reps = ([32], 3) if args.quick else (args.tokens, args.reps)
    rows = []
    for name, (heads, dim) in SHAPES.items():
        for t in tokens:
            ours, fused, dp, dy = measure(heads, dim, t, reps)
            rows.append(Row(name, t, ours, fused, ours / fused, dp, dy))
    lines = [f"ONNX Attention (opset 23, qk_matmul_output_mode=3) against our attention core; "
             f"{machine().get('CPU', 'unknown CPU')}; onnxruntime {ort_version()}, 2 threads, "
             f"median of {reps}.", "",
             "| shape | tokens | ours ms | ONNX Attention ms | ours / Attention | max ΔP | max ΔY |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    lines += [f"| {r.shape} | {r.tokens} | {r.ours_ms:.3f} | {r.fused_ms:.3f} | {r.speedup:.2f}× "
              f"| {r.max_dp:.1e} | {r.max_dy:.1e} |" for r in rows]  # fmt: skip
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(json.dumps([asdict(r) for r in rows]) if args.out.suffix == ".json"
                            else report + "\n")  # fmt: skip
    return [asdict(r) for r in rows]


if __name__ == "__main__":
    main()

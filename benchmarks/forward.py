"""1. Model forward: transformers eager, our PyTorch model and our ONNX files, same input, same run.

Batch 1 with every attention map and hidden state returned; our ONNX rows are the whole
`LoadedModel.analyze` (tokenizer, onnxruntime, the Analysis with its value norms). Candidates run
round-robin per repetition, so a noisy machine slows all of them alike, and every row is a ratio
to transformers eager from the same run. Beside them: the machine's measured fp32 matmul
throughput on the model's own shapes (the share of it each row reaches), which kernels
onnxruntime's MLAS picks on this CPU, int8's attention drift, the head-importance sweep, and
onnxruntime's profiler on the fp32 and int8 files.
"""

from __future__ import annotations

import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .common import (
    MODEL,
    SETTLE_S,
    Budget,
    Corpus,
    Settings,
    bullets,
    cpu_flags,
    cpus,
    fill,
    log,
    ms,
    p50,
    p50_p90,
    rows,
)  # fmt: skip

EAGER = "transformers BertModel, eager (torch)"
INT8, FP32 = "ours, ONNX int8, CPU", "ours, ONNX fp32, CPU"
FP32_QKV = "ours, ONNX fp32, CPU, + queries, keys, values"
GOALS = {FP32: 1.5, INT8: 3.0}  # × transformers eager, whole analyze (issue 14)
MATMUL_SHAPES = ((384, 384), (384, 1536))  # MiniLM's [T, 384] × attention / feed-forward weights
MATMUL_LENGTHS = (128, 512)
CHAIN = 8  # matmuls per timed run
OP_GROUPS = {
    "int8 weight matmuls (+ dynamic quantization of their inputs)": (
        "MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
    ),
    "fp32 matmuls (weights in fp32; Q·Kᵀ, probs·V, value norms)": ("MatMul", "FusedMatMul"),
    "Softmax": ("Softmax",),
    "LayerNorm, residual and GELU": (
        "SkipLayerNormalization", "LayerNormalization", "BiasGelu", "Gelu", "FastGelu", "Add",
    ),
    "reshaping and small ops": (
        "Concat", "Transpose", "Reshape", "Unsqueeze", "Expand", "Cast", "Slice", "Gather", "Shape",
        "Mul", "Div", "ReduceL2", "ConstantOfShape", "Where", "Equal", "Squeeze", "Split",
    ),
}  # fmt: skip


@dataclass
class ForwardResult:
    lengths: tuple[int, ...]
    rows: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    drift: dict[str, dict[int, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    profile: dict[int, list[tuple[str, float]]] = field(default_factory=dict)  # int8 op types
    profile_total: dict[int, float] = field(default_factory=dict)
    profile_fp32: dict[int, list[tuple[str, float]]] = field(default_factory=dict)
    profile_fp32_total: dict[int, float] = field(default_factory=dict)
    matmul: dict[tuple[int, int, int], tuple[float, float]] = field(default_factory=dict)
    flops: dict[int, float] = field(default_factory=dict)  # per analyze, by length
    sweep: list[float] = field(default_factory=list)  # head_importance at 128 tokens, s

    def p50(self, name: str, n: int) -> float:
        return p50(self.rows[name][n])

    def speedup(self, name: str, n: int) -> float:
        return self.p50(EAGER, n) / self.p50(name, n)

    @property
    def peak(self) -> float:
        """The best measured onnxruntime fp32 matmul throughput, GFLOP/s."""
        return max((ort for ort, _ in self.matmul.values()), default=float("nan"))


def model_flops(c, n: int) -> float:
    """Multiply-adds ×2 of one forward at n tokens: Q, K, V, output and feed-forward weights,
    Q·Kᵀ (with the padding-mask column), probs·V and the value norms' d×d products."""
    d_model, ffn, heads, d = c.hidden_size, c.intermediate_size, c.num_attention_heads, c.head_size
    weights = 2 * n * d_model * (4 * d_model + 2 * ffn)
    attention = 2 * heads * n * n * (2 * d + 1) + 2 * heads * n * d * d
    return float(c.num_hidden_layers * (weights + attention))


def matmul_throughput(reps: int) -> dict[tuple[int, int, int], tuple[float, float]]:
    """GFLOP/s of fp32 matmuls [T, K] × [K, N] through onnxruntime (MLAS, the kernels the model
    runs on, cpus() threads) and NumPy (its BLAS), p50 of `reps` runs each. Each run chains
    CHAIN matmuls, [K, N] then back with [N, K] where N ≠ K (the feed-forward's two shapes), so
    that onnxruntime's per-run overhead (tens of µs) does not pass for slow kernels."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    out = {}
    for k, n in MATMUL_SHAPES:
        weights = [(rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32)
                   for shape in ((k, n), (n, k))[: 1 if n == k else 2]]  # fmt: skip
        chain = [weights[i % len(weights)] for i in range(CHAIN)]
        nodes = [helper.make_node("MatMul", [f"x{i}", f"w{i % len(weights)}"], [f"x{i + 1}"])
                 for i in range(CHAIN)]  # fmt: skip
        graph = helper.make_graph(
            nodes, "matmuls", [helper.make_tensor_value_info("x0", TensorProto.FLOAT, ["t", k])],
            [helper.make_tensor_value_info(f"x{CHAIN}", TensorProto.FLOAT, None)],
            [numpy_helper.from_array(w, f"w{i}") for i, w in enumerate(weights)],
        )  # fmt: skip
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = cpus(), 1
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])  # fmt: skip
        for t in MATMUL_LENGTHS:
            a = rng.standard_normal((t, k), dtype=np.float32)
            flop = 2.0 * t * k * n * CHAIN

            def numpy_chain(a=a, chain=chain):
                for w in chain:
                    a = a @ w
                return a

            ort_s = p50(repeat(lambda a=a, s=session: s.run(None, {"x0": a}), reps))
            numpy_s = p50(repeat(numpy_chain, reps))
            out[t, k, n] = (flop / ort_s / 1e9, flop / numpy_s / 1e9)
    return out


def repeat(call: Callable[[], object], reps: int, warmup: int = 2) -> list[float]:
    """Seconds of each of `reps` calls after `warmup` untimed ones."""
    times = []
    for rep in range(warmup + reps):
        t0 = time.perf_counter()
        call()
        if rep >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def mlas_kernels() -> str:
    """What onnxruntime's MLAS dispatches to on this CPU (by cpuid, as its platform.cpp does)."""
    flags = cpu_flags()
    avx512 = {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags
    if "avx512f" in flags:
        sgemm = "AVX-512F (MlasGemmFloatKernelAvx512F)"
    else:
        sgemm = "FMA3/AVX2" if {"avx2", "fma"} <= flags else "AVX or SSE"
    if avx512 and "avx512_vnni" in flags:
        qgemm = "AVX-512 VNNI (MlasGemmU8S8KernelAvx512Vnni)"
    elif avx512:
        qgemm = "AVX-512 core (MlasGemmU8S8KernelAvx512Core)"
    elif "avx_vnni" in flags:
        qgemm = "AVX-VNNI (MlasGemmU8S8KernelAvxVnni)"
    else:
        qgemm = "AVX2 (MlasGemmU8S8KernelAvx2)" if "avx2" in flags else "SSE"
    amx = "; AMX-INT8 present: MLAS's AMX int8 GEMM" if {"amx_tile", "amx_int8"} <= flags else ""
    return f"fp32 GEMM {sgemm}; int8 GEMM (u8 × s8) {qgemm}{amx}"


def bench_forward(s: Settings, corpus: Corpus, checkpoint: Path, budget: Budget) -> ForwardResult:
    import torch
    import transformers

    from bertviz_lite import model as loaded_model
    from bertviz_lite import runtime
    from bertviz_lite.weights import load_model

    torch.set_num_threads(cpus())
    transformers.logging.set_verbosity_error()
    hf = transformers.BertModel.from_pretrained(str(checkpoint), attn_implementation="eager")
    hf.eval()
    ours = load_model(checkpoint)
    sessions = {
        name: loaded_model.load(MODEL, device="cpu", variant=variant, progress=False)
        for name, variant in ((FP32, "fp32"), (INT8, "int8"))
    }
    result = ForwardResult(lengths=s.lengths)
    if runtime.cuda_available():
        for variant in ("fp32", "fp16"):
            ex = loaded_model.load(MODEL, device="cuda", variant=variant, progress=False)
            if ex.device == "cuda":
                sessions[f"ours, ONNX {variant}, CUDA"] = ex
    else:
        result.notes.append(fill("forward.no_cuda"))
    fp32 = sessions[FP32]

    def torch_call(model, hf_style: bool, a: dict[str, np.ndarray]) -> Callable[[], object]:
        ids, mask, types = (
            torch.from_numpy(a[k]) for k in ("input_ids", "attention_mask", "token_type_ids")
        )

        def run():
            with torch.no_grad():
                if hf_style:
                    return model(input_ids=ids, attention_mask=mask, token_type_ids=types,
                                 output_attentions=True, output_hidden_states=True).attentions  # fmt: skip
                return model(ids, mask, types).attentions[0]

        return run

    def analyze_call(ex, text: str, extra: tuple[str, ...] = ()) -> Callable[[], object]:
        return lambda: ex.analyze(text, extra=extra).attentions

    for n in s.lengths:
        a, text = corpus.arrays(n), corpus.text(n)
        result.flops[n] = model_flops(fp32.config, n)
        calls = {EAGER: torch_call(hf, True, a), "ours, PyTorch": torch_call(ours, False, a)}
        calls |= {name: analyze_call(ex, text) for name, ex in sessions.items()}
        calls[FP32_QKV] = analyze_call(fp32, text, ("queries", "keys", "values"))
        # The same attentions from every row: a fast wrong answer would be no result at all.
        reference = torch.stack(calls[EAGER](), 1).numpy()[0]
        for name, call in calls.items():
            got = call()
            got = torch.stack(got, 1)[0] if isinstance(got, tuple) else got
            got = got.numpy() if hasattr(got, "numpy") else got
            result.drift.setdefault(name, {})[n] = float(np.abs(got - reference).max())
        names = list(calls)
        times: dict[str, list[float]] = {name: [] for name in names}
        for rep in range(s.forward_warmup + s.forward_reps[n]):
            if rep >= s.forward_warmup + s.min_reps and budget.spent():
                result.notes.append(fill("forward.budget", n=n, reps=rep - s.forward_warmup))
                break
            # Round-robin, starting one further each time: no candidate always follows another.
            for k in range(len(names)):
                name = names[(rep + k) % len(names)]
                time.sleep(SETTLE_S)
                t0 = time.perf_counter()
                calls[name]()
                dt = time.perf_counter() - t0
                if rep >= s.forward_warmup:
                    times[name].append(dt)
        for name in names:
            result.rows.setdefault(name, {})[n] = times[name]
        log(f"forward {n} tokens: " + ", ".join(f"{k}: {ms(p50(v))} ms" for k, v in times.items()))

    del hf, ours
    gc.collect()
    log("forward: matmul throughput, head-importance sweep, profiles")
    result.matmul = matmul_throughput(5 if s.quick else 30)
    sweep_text = corpus.text(128)
    fp32.head_importance(sweep_text)  # warm-up
    for _ in range(1 if s.quick else 5):
        time.sleep(SETTLE_S)
        t0 = time.perf_counter()
        fp32.head_importance(sweep_text)
        result.sweep.append(time.perf_counter() - t0)
    int8 = sessions[INT8]
    for n in s.lengths[-2:]:
        for ex, profile, total in ((int8, result.profile, result.profile_total),
                                   (fp32, result.profile_fp32, result.profile_fp32_total)):  # fmt: skip
            feed = {**corpus.arrays(n, tuple(ex.session.inputs)), "head_mask": ex.head_mask(None)}
            profile[n], total[n] = ort_profile(ex.session.path, feed, 3 if s.quick else 10)
    return result


def ort_profile(path: Path, feed: dict, reps: int) -> tuple[list[tuple[str, float]], float]:
    """onnxruntime's own profiler on the model file (the session's own optimizer settings):
    total node time per op type, per run (s), and the median run (s)."""
    import onnxruntime as ort

    from bertviz_lite.runtime import DISABLED_OPTIMIZERS

    options = ort.SessionOptions()
    options.intra_op_num_threads = cpus()
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        options.profile_file_prefix = str(Path(tmp) / "ort")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                       disabled_optimizers=DISABLED_OPTIMIZERS)  # fmt: skip
        feed = {i.name: feed[i.name] for i in session.get_inputs()}
        if feed["head_mask"].ndim == 2:
            feed["head_mask"] = np.ascontiguousarray(feed["head_mask"][None])
        session.run(None, feed)  # warm-up, counted out below
        for _ in range(reps):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    runs = [e for e in events if e.get("name") == "model_run"]
    total = statistics.median(e["dur"] for e in runs[1:]) / 1e6 if len(runs) > 1 else 0.0
    nodes = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    first_run_end = runs[0]["ts"] + runs[0]["dur"] if runs else 0
    # Each node's median over the runs (a run preempted by another process skews a mean), then
    # summed per op type.
    per_node: dict[tuple[str, str], list[float]] = {}
    for e in nodes:
        if e["ts"] >= first_run_end:
            key = (e["name"], e.get("args", {}).get("op_name", "?"))
            per_node.setdefault(key, []).append(e["dur"] / 1e6)
    by_op: dict[str, float] = {}
    for (_, op), durations in per_node.items():
        by_op[op] = by_op.get(op, 0.0) + statistics.median(durations)
    return sorted(by_op.items(), key=lambda kv: -kv[1]), total


def render_forward(r: ForwardResult, s: Settings) -> str:
    from bertviz_lite import catalog

    int8_drift = catalog.drift().get(MODEL, {}).get("int8", {})
    drift = {FP32: "0 (the reference)", FP32_QKV: "0 (the reference)"}
    if int8_drift:
        drift[INT8] = f"{int8_drift['max']:.2f} (mean {int8_drift['mean']:.4f})"
    table = []
    for name in r.rows:
        for n in r.lengths:
            lo, hi = p50_p90(r.rows[name][n])
            ratio = "1.00× (reference)" if name == EAGER else f"{r.speedup(name, n):.2f}×"
            share = r.flops[n] / lo / 1e9 / r.peak
            table.append([name, n, len(r.rows[name][n]), ms(lo), ms(hi), ratio, f"{share:.0%}",
                          f"{r.drift[name][n]:.1e}", drift.get(name, "–")])  # fmt: skip
    matmul = [[f"[T, {k}] × [{k}, {n}]" + (f", then × [{n}, {k}]" if n != k else ""), t,
               f"{ort:.0f}", f"{npy:.0f}"]
              for (t, k, n), (ort, npy) in sorted(r.matmul.items(), key=lambda kv: kv[0][1:])]  # fmt: skip
    profiles = []
    for variant, profile, totals in (("fp32", r.profile_fp32, r.profile_fp32_total),
                                     ("int8", r.profile, r.profile_total)):  # fmt: skip
        for n, ops in profile.items():
            node_total = sum(t for _, t in ops) or 1.0
            top = ", ".join(f"{op} {t / node_total:.0%}" for op, t in ops[:8])
            profiles.append(fill("forward.profile", variant=variant, n=n, run=ms(totals[n]),
                                 nodes=ms(node_total), top=top))  # fmt: skip
    goals = []
    for name, goal in GOALS.items():
        for n in (128, 512):
            if n not in r.lengths:
                continue
            x = r.speedup(name, n)
            verdict = "met" if x >= goal else f"missed by {goal - x:.2f}×"
            goals.append(fill("forward.goal", row=name, goal=f"{goal:g}", n=n,
                              measured=f"{x:.2f}", verdict=verdict))  # fmt: skip
    sweep = fill("forward.sweep", p50=f"{p50(r.sweep):.2f}", runs=len(r.sweep)) if r.sweep else ""
    return fill("forward", threads=cpus(), warmup=s.forward_warmup, settle=f"{SETTLE_S * 1000:.0f}",
                rows=rows(table), notes=bullets(r.notes), profiles="\n\n".join(profiles),
                kernels=mlas_kernels(), matmul=rows(matmul), peak=f"{r.peak:.0f}",
                goals=bullets(goals), sweep=sweep,
                texts=int8_drift.get("texts", "–"))  # fmt: skip


def op_groups(ops: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Node time per group of op types, as shares of all node time, largest first."""
    total = sum(t for _, t in ops) or 1.0
    shares = {group: 0.0 for group in OP_GROUPS}
    shares["other"] = 0.0
    for op, t in ops:
        group = next((g for g, members in OP_GROUPS.items() if op in members), "other")
        shares[group] += t / total
    return sorted(shares.items(), key=lambda kv: -kv[1])


def forward_paragraph(f: ForwardResult, n: int) -> str:
    """Why int8 falls short of its target at n tokens, from this run's profile."""
    groups = "; ".join(f"{g} {share:.0%}" for g, share in op_groups(f.profile[n]) if share >= 0.01)
    return fill("targets.forward", n=n, groups=groups, fp32=f"{f.speedup(FP32, n):.2f}",
                int8=f"{f.speedup(INT8, n):.2f}")  # fmt: skip

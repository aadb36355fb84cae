"""1. Model forward: transformers eager, our PyTorch model and our ONNX files, same input, same run.

Batch 1 with every attention map and hidden state returned. Candidates run round-robin per
repetition, so a noisy machine slows all of them alike, and every row is a ratio to transformers
eager from the same run. onnxruntime's profiler says where int8's time goes.
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
OP_GROUPS = {
    "int8 weight matmuls (+ dynamic quantization of their inputs)": (
        "MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
    ),
    "attention in fp32 (Q·Kᵀ, probs·V, mask, Softmax)": (
        "MatMul", "FusedMatMul", "Softmax", "Add", "Div", "Mul", "Sub", "Where",
    ),
    "LayerNorm, residual and GELU": (
        "SkipLayerNormalization", "LayerNormalization", "BiasGelu", "Gelu", "Erf",
    ),
    "stacking and reshaping the outputs": (
        "Concat", "Transpose", "Reshape", "Unsqueeze", "Expand", "Cast", "Slice", "Gather", "Shape",
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

    def p50(self, name: str, n: int) -> float:
        return p50(self.rows[name][n])

    def speedup(self, name: str, n: int) -> float:
        return self.p50(EAGER, n) / self.p50(name, n)


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

    def torch_call(model, hf_style: bool, a: dict[str, np.ndarray]) -> Callable[[], object]:
        ids, mask, types = (
            torch.from_numpy(a[k]) for k in ("input_ids", "attention_mask", "token_type_ids")
        )

        def run():
            with torch.no_grad():
                if hf_style:
                    return model(input_ids=ids, attention_mask=mask, token_type_ids=types,
                                 output_attentions=True, output_hidden_states=True).attentions  # fmt: skip
                return model(ids, mask, types).attentions

        return run

    def onnx_call(ex, n: int) -> Callable[[], object]:
        feed = {**corpus.arrays(n, tuple(ex.session.inputs)), "head_mask": ex.head_mask(None)}
        return lambda: ex.session.run(**feed)["attentions"]

    for n in s.lengths:
        a = corpus.arrays(n)
        calls = {EAGER: torch_call(hf, True, a), "ours, PyTorch": torch_call(ours, False, a)}
        calls |= {name: onnx_call(ex, n) for name, ex in sessions.items()}
        # The same attentions from every row: a fast wrong answer would be no result at all.
        reference = torch.stack(calls[EAGER](), 1).numpy()
        for name, call in calls.items():
            got = call()
            got = torch.stack(got, 1) if isinstance(got, tuple) else got
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

    int8 = sessions[INT8]
    for n in s.lengths[-2:]:
        feed = {**corpus.arrays(n, tuple(int8.session.inputs)), "head_mask": int8.head_mask(None)}
        result.profile[n], result.profile_total[n] = ort_profile(
            int8.session.path, feed, 3 if s.quick else 10
        )
    del hf, ours
    gc.collect()
    return result


def ort_profile(path: Path, feed: dict, reps: int) -> tuple[list[tuple[str, float]], float]:
    """onnxruntime's own profiler on the model file: total node time per op type, per run (s)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = cpus()
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        options.profile_file_prefix = str(Path(tmp) / "ort")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feed = {i.name: feed[i.name] for i in session.get_inputs()}
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
    table = []
    for name in r.rows:
        for n in r.lengths:
            lo, hi = p50_p90(r.rows[name][n])
            ratio = "1.00× (reference)" if name == EAGER else f"{r.speedup(name, n):.2f}×"
            table.append([name, n, len(r.rows[name][n]), ms(lo), ms(hi), ratio,
                          f"{r.drift[name][n]:.1e}"])  # fmt: skip
    profiles = []
    for n, ops in r.profile.items():
        node_total = sum(t for _, t in ops) or 1.0
        top = ", ".join(f"{op} {t / node_total:.0%}" for op, t in ops[:8])
        profiles.append(fill("forward.profile", n=n, run=ms(r.profile_total[n]),
                             nodes=ms(node_total), top=top))  # fmt: skip
    return fill("forward", threads=cpus(), warmup=s.forward_warmup, settle=f"{SETTLE_S * 1000:.0f}",
                rows=rows(table), notes=bullets(r.notes), profiles="\n\n".join(profiles))  # fmt: skip


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

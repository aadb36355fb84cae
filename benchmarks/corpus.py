"""A corpus build against the loop a user would write instead, same texts, same run.

    python -m benchmarks.corpus [--texts 2000] [--quick] [--out FILE]

The first N "amazon" texts (reviews no model here was trained on) at their own lengths: the loop
a user would write (transformers eager, sorted by length, batches of 32, `output_attentions=True`,
value norms from hooks, the build's own `Totals.add_text`; checked to agree) against a stats-only
and the full build, model loads untimed. Then: the stats-only build's time by part, builds' peak
memory in child processes at two sizes, store size, search p50 and recall@10 at ~10k/~100k tokens.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from unittest import mock

import numpy as np

from .common import cpus, load_average, log, machine, p50, rows

if TYPE_CHECKING:
    from bertviz_lite.corpus import Corpus
    from bertviz_lite.corpus.stats import Totals
    from bertviz_lite.tokenizer import Tokenizer

MODEL, BATCH, SEARCH_LAYER = "minilm", 32, 3  # BATCH: the loop's
AGREE = 1e-4  # max |Δ| between the two sides' per-head means
# A pause before each timed phase: torch's and onnxruntime's threads spin-wait after a call, and
# on 2 cores one library's spinning threads take the cores the other needs (common.SETTLE_S).
PAUSE_S = 1.0
ROOT = Path(__file__).resolve().parents[1]


class Sizes(NamedTuple):
    texts: int
    warmup: int
    memory: tuple[int, int]  # the corpus sizes whose builds' peak memory is measured
    search_tokens: tuple[int, int]  # the two search corpora's
    queries: int


def named_texts(*names: str) -> Iterator[str]:
    from bertviz_lite.corpus.sources import Source

    return (text for name in names for _, text in Source(name))


def cpu_seconds() -> float:
    """The machine's busy CPU seconds less this process's and its children's: its change over a
    phase is what other processes took from the cores meanwhile."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    own = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return busy - sum(r.ru_utime + r.ru_stime for r in own)


@contextlib.contextmanager
def phase(name: str, record: dict[str, tuple[float, float]]) -> Iterator[None]:
    """Times the block: record[name] = (wall seconds, other processes' CPU seconds)."""
    time.sleep(PAUSE_S)
    others, t0 = cpu_seconds(), time.perf_counter()
    yield
    record[name] = (time.perf_counter() - t0, max(0.0, cpu_seconds() - others))


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())


@contextlib.contextmanager
def timed_parts(parts: dict[str, tuple[object, str]]) -> Iterator[dict[str, float]]:
    """Each (owner, attribute) function wrapped to add its time to the dict yielded."""
    spent = dict.fromkeys(parts, 0.0)

    def timed(fn, name):
        def call(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t0

        return call

    with contextlib.ExitStack() as stack:
        for name, (owner, attr) in parts.items():
            stack.enter_context(mock.patch.object(owner, attr, timed(getattr(owner, attr), name)))
        yield spent


class Loop:
    """transformers eager with output_attentions, batched, and the statistics in NumPy."""

    def __init__(self, loaded, threads: int):
        import torch
        import transformers

        torch.set_num_threads(threads)
        transformers.logging.set_verbosity_error()
        self.torch, self.tokenizer, self.pad = torch, loaded.tokenizer, loaded.config.pad_token_id
        path = str(loaded.checkpoint)
        self.hf = hf = transformers.BertModel.from_pretrained(path, attn_implementation="eager")
        hf.eval()
        c = hf.config
        self.layers, self.heads = c.num_hidden_layers, c.num_attention_heads
        d = c.hidden_size // self.heads
        self.values: list = []
        self.factors: list = []
        for layer in hf.encoder.layer:
            layer.attention.self.value.register_forward_hook(lambda m, i, o: self.values.append(o))
            w = layer.attention.output.dense.weight.detach().t().reshape(self.heads, d, -1)
            r = torch.linalg.qr(w.transpose(1, 2).double())[1].transpose(1, 2)  # ‖vW_O^h‖ = ‖vRᵀ‖
            self.factors.append(r.float())

    def run(self, texts: list[str]) -> Totals:
        from bertviz_lite.analysis import word_spans
        from bertviz_lite.corpus.stats import Totals
        from bertviz_lite.tokenizer import batch_arrays

        torch, self.shapes = self.torch, []
        encodings = [self.tokenizer.encode(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i]))
        totals = Totals(self.layers, self.heads)
        for start in range(0, len(order), BATCH):
            batch = [encodings[i] for i in order[start : start + BATCH]]
            a = {k: torch.from_numpy(v) for k, v in batch_arrays(batch, self.pad).items()}
            self.shapes.append(tuple(a["input_ids"].shape))
            self.values.clear()
            with torch.no_grad():
                out = self.hf(**a, output_attentions=True)
                b, t = a["input_ids"].shape
                per_head = [v.view(b, t, self.heads, -1).transpose(1, 2) for v in self.values]
                norms = torch.stack([torch.linalg.vector_norm(v @ f, dim=-1) for v, f in zip(
                    per_head, self.factors)], 1).numpy()  # [B, L, H, T]  # fmt: skip
                maps = torch.stack(out.attentions, 1).numpy()  # [B, L, H, T, T]
            for row, e in enumerate(batch):
                n = len(e)
                totals.add_text(np.ascontiguousarray(maps[row, :, :, :n, :n]),
                                np.ascontiguousarray(norms[row, :, :, :n]), e.display_tokens,
                                e.word_ids, word_spans(e.word_ids))  # fmt: skip
        return totals


def build(texts: list[str], out: Path, stats_only: bool,
          layers: tuple[int, ...] | None = None, variant: str = "fp32") -> Corpus:  # fmt: skip
    import bertviz_lite.corpus as corpus

    annotate, layers = not stats_only and layers is None, () if stats_only else layers
    return corpus.build(MODEL, texts, out=out, vectors_layers=layers, annotate=annotate,
                        progress=False, variant=variant)  # fmt: skip


def child_build(kind: str, n: int, out: str) -> None:
    """In a child process: one build of the first n texts; prints its peak memory (VmHWM, kB)
    before the store's finish (its indexes) and at the end, as JSON."""
    from bertviz_lite.corpus.store import Store

    def hwm() -> int:
        return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))

    seen, finish = {}, Store.finish
    with mock.patch.object(Store, "finish", lambda *a: (seen.update(chunks=hwm()), finish(*a))[1]):
        build(list(itertools.islice(named_texts("amazon"), n)), Path(out), kind == "stats")
    print(json.dumps({**seen, "peak": hwm()}))


def peak_memory(kind: str, n: int, out: Path) -> dict:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "benchmarks.corpus", "--child", kind, str(n), str(out)]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": path},
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def up_to_tokens(texts: Iterator[str], tokenizer: Tokenizer, tokens: int) -> list[str]:
    """The first texts whose non-special tokens (what the tokens table holds) reach `tokens`."""
    out, count = [], 0
    for text in texts:
        out.append(text)
        count += sum(w is not None for w in tokenizer.encode(text).word_ids)
        if count >= tokens:
            break
    return out


def search_figures(c: Corpus, queries: list[str], layer: int) -> dict:
    """p50 of `search` and of the query's analyze alone (first query left out), and recall@10
    against exact cosine over every vector of the layer."""
    table = (c.store.table("tokens").search().select(["sentence", "position", f"v{layer}"])
             .limit(None).to_arrow())  # fmt: skip
    vectors = table.column(f"v{layer}").combine_chunks().flatten().to_numpy()
    vectors = vectors.reshape(table.num_rows, -1)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    keys = list(zip(table.column("sentence").to_pylist(), table.column("position").to_pylist()))
    model = c.loaded_model()
    searched, analyzed, exact_s, recalls = [], [], [], []
    for i, text in enumerate(queries):
        r = model.analyze(text)
        position = max(1, (len(r.tokens) - 1) // 2)
        t0 = time.perf_counter()
        hits = c.search(text, position, layer, k=10)
        t1 = time.perf_counter()
        query = model.analyze(text).hidden_states[layer][position]
        t2 = time.perf_counter()
        exact = np.argpartition(-(vectors @ (query / np.linalg.norm(query))), 9)[:10]
        t3 = time.perf_counter()
        found = set(zip(hits.column("sentence").to_pylist(), hits.column("position").to_pylist()))
        recalls.append(len(found & {keys[j] for j in exact}) / 10)
        if i:
            searched.append(t1 - t0)
            analyzed.append(t2 - t1)
            exact_s.append(t3 - t2)
    return {"tokens": c.manifest["tokens"], "layers": len(c.manifest["vectors_layers"]),
            "index": c.manifest.get("vector_index") or "none (exact)",
            "search": p50(searched), "analyze": p50(analyzed), "exact": p50(exact_s),
            "recall": float(np.mean(recalls))}  # fmt: skip


def run(sizes: Sizes) -> str:
    import bertviz_lite as bv
    from bertviz_lite import model as model_module
    from bertviz_lite import runtime
    from bertviz_lite.corpus import stats

    threads = cpus()
    log(f"corpus: {sizes.texts} amazon texts, {threads} threads")
    texts = list(itertools.islice(named_texts("amazon"), sizes.texts))
    warm = list(itertools.islice(named_texts("nyt"), sizes.warmup))
    loaded = bv.load(MODEL, progress=False, threads=threads)
    loaded_int8 = bv.load(MODEL, progress=False, threads=threads, variant="int8")
    loop = Loop(loaded, threads)
    r: dict = {"threads": threads, "timed": {}, "store": {}, "searches": {},
               "tokens": sum(len(loaded.tokenizer.encode(t)) for t in texts)}  # fmt: skip
    parts = {"run": (runtime.Session, "run_into"), "reduce": (stats.Totals, "add_text"),
             "batch": (model_module.LoadedModel, "analyze_encodings"),
             "measures": (stats, "measures"), "text_sums": (stats, "text_sums")}  # fmt: skip
    load = model_module.load  # the builds and searches get the model loaded: no load is timed
    preloaded = mock.patch.object(model_module, "load", lambda name, *args, **kwargs: (
        {"fp32": loaded, "int8": loaded_int8}[kwargs.get("variant", "fp32")] if name == MODEL
        else load(name, *args, **kwargs)))  # fmt: skip
    shapes, arrays = [], model_module.batch_arrays
    record = lambda *a: (shapes.append((x := arrays(*a))["input_ids"].shape), x)[1]  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="corpus-bench-") as tmp, preloaded:
        scratch, timed = Path(tmp), r["timed"]
        log("warm-up: both sides")
        loop.run(warm)
        time.sleep(PAUSE_S)
        build(warm, scratch / "warm-stats", True)
        build(warm, scratch / "warm-full", False)
        build(warm, scratch / "warm-int8", True, variant="int8")
        with timed_parts({"reduce": parts["reduce"]}) as loop_spent, phase("loop", timed):
            reference = loop.run(texts)
        log(f"loop: {timed['loop'][0]:.1f} s; the stats-only build")
        with (timed_parts(parts) as spent, phase("stats", timed),
              mock.patch.object(model_module, "batch_arrays", record)):  # fmt: skip
            ours = build(texts, scratch / "stats", True)
        log(f"stats-only build: {timed['stats'][0]:.1f} s; the same in int8")
        with phase("int8", timed):
            fast = build(texts, scratch / "int8", True, variant="int8")
        log(f"int8 stats-only build: {timed['int8'][0]:.1f} s; the full build")
        with phase("full", timed):
            full = build(texts, scratch / "full", False)
        log(f"full build: {timed['full'][0]:.1f} s")
        means = [t.sums / t.tokens for t in (ours.totals, reference)]  # [measure, stat, L, H]
        r["diffs"] = [float(np.abs(means[0][m] - means[1][m]).max()) for m in range(2)]
        r["agreed"] = ours.totals.tokens == reference.tokens and max(r["diffs"]) <= AGREE
        drift = np.abs(fast.totals.sums / fast.totals.tokens - means[0])  # [measure, stat, L, H]
        r["int8_drift"] = {s: float(drift[0, i].max()) for i, s in enumerate(stats.STATS)}
        for name, c in (("stats", ours), ("full", full)):
            r["store"][name] = (folder_bytes(scratch / name), c.size, c.manifest["tokens"])
        log("peak memory: builds in child processes")
        r["memory"] = {(kind, n): peak_memory(kind, n, scratch / f"mem-{kind}-{n}")
                       for kind in ("stats", "full") for n in sizes.memory}  # fmt: skip
        log("search")
        pool = named_texts("amazon", "nyt")
        small = up_to_tokens(pool, loaded.tokenizer, sizes.search_tokens[0])
        large = up_to_tokens(itertools.chain(small, pool), loaded.tokenizer, sizes.search_tokens[1])
        queries = list(itertools.islice(reversed(list(named_texts("nyt"))), sizes.queries))
        for name, corpus_texts in (("small", small), ("large", large)):
            c = build(corpus_texts, scratch / name, False, (SEARCH_LAYER,))
            r["searches"][name] = search_figures(c, queries, SEARCH_LAYER)
            r["store"][name] = (folder_bytes(scratch / name), c.size, c.manifest["tokens"])
        r["searches"]["full"] = search_figures(full, queries, SEARCH_LAYER)
    r["spent"] = {**spent, "loop_reduce": loop_spent["reduce"]}
    r["padding"] = {"loop": padded(loop.shapes), "build": padded(shapes)}
    return report(sizes, r)


def padded(shapes: list[tuple[int, int]]) -> str:
    """What batches of these (batch, width) shapes ran: token rows and T×T cells a head."""
    tokens, cells = sum(b * w for b, w in shapes), sum(b * w * w for b, w in shapes)
    return f"{len(shapes)} batches, {tokens} token rows, {cells / 1e6:.2f} M map cells a head"


def table(header: list[str], body: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|---" * len(header) + "|", rows(body), ""]


def report(sizes: Sizes, r: dict) -> str:
    """The Markdown report of run's results."""
    n, timed, spent, info = sizes.texts, r["timed"], r["spent"], machine()
    rate = {name: n / wall for name, (wall, _) in timed.items()}
    ratio, stats_s, diffs, met = rate["stats"] / rate["loop"], timed["stats"][0], r["diffs"], {
        True: "met", False: "missed"}  # fmt: skip
    runs = {"loop": "transformers eager loop (sorted, batch 32, output_attentions, add_text)",
            "stats": "ours, stats only (vectors_layers=(), annotate=False)",
            "int8": "ours, stats only, int8 (approximate: drift below)",
            "full": "ours, full build (every layer's vectors, spaCy)"}  # fmt: skip
    out = [f"# Corpus build: {MODEL}, {n} amazon texts, {r['threads']} threads", "",
           f"CPU: {info.get('CPU', 'unknown')}; {info['CPUs available to this process']} CPUs "
           f"available to this process; onnxruntime {info['onnxruntime']}, torch {info['torch']}, "
           f"transformers {info['transformers']}; load average at the end {load_average()}. "
           f"{r['tokens']} tokens ({r['tokens'] / n:.1f} a text, special ones included), each "
           "text at its own length.", ""]  # fmt: skip
    out += table(["run", "seconds", "texts/s", "× the loop", "other processes' CPU s"],
                 [[runs[k], f"{wall:.1f}", f"{rate[k]:.1f}", f"{rate[k] / rate['loop']:.2f}",
                   f"{other:.1f}"] for k, (wall, other) in timed.items()])  # fmt: skip
    out += ["Both sides compute both measures of every statistic for every text with the same "
            f"`Totals.add_text` (the loop's took {spent['loop_reduce']:.2f} s; its value norms "
            "from hooks, through the d×d factor of W_O^h our graph uses, not a costlier formula); "
            "the build also writes and indexes its LanceDB tables inside its time. "
            "Other processes' CPU: what the rest of the machine used meanwhile (/proc/stat).", "",
            f"- agreement: {'passed' if r['agreed'] else 'FAILED'}: max |Δ| of the per-head "
            f"means, attention {diffs[0]:.2e}, norm {diffs[1]:.2e} (limit {AGREE:g})",
            f"- ≥ 2× the loop (stats-only build): {ratio:.2f}×, {met[ratio >= 2]}",
            "- int8's drift from the fp32 build (max |Δ| of a head's mean, attention): " + ", ".join(
                f"{k} {v:.3f}" for k, v in r["int8_drift"].items()),
            f"- ≥ 100 texts/s: stats-only {rate['stats']:.0f}, {met[rate['stats'] >= 100]}; full "
            f"build {rate['full']:.0f}, {met[rate['full'] >= 100]}",
            f"- padding: the loop ran {r['padding']['loop']}; the stats-only build "
            f"{r['padding']['build']} (its texts are sorted by length within each chunk)", "",
            "## Where the stats-only build's time goes", "", "Timed inside the same stats-only "
            "build (wrappers around the functions named).", ""]  # fmt: skip
    out += table(["part", "seconds", "share"], [[part, f"{s:.2f}", f"{s / stats_s:.0%}"] for (
        part, s) in (
        ("onnxruntime run (Session.run_into)", spent["run"]),
        ("rest of analyze_encodings (pad, copy each text's arrays)",
         spent["batch"] - spent["run"]),
        ("NumPy reduction (Totals.add_text)", spent["reduce"]),
        ("… of which the norm-weighted maps (stats.measures)", spent["measures"]),
        ("… of which the statistics' sums (stats.text_sums)", spent["text_sums"]),
        ("the rest (lengths, rows, tables, LanceDB writes, indexes)",
         stats_s - spent["batch"] - spent["reduce"]))])  # fmt: skip
    out += [f"An export returning per-head reductions instead of maps could save at most the "
            f"reduction's {spent['reduce'] / stats_s:.0%} of the build (less the graph's own cost "
            "of reducing), plus part of the map copies.", "", "## Peak memory", "",
            "Each build in a child process of its own (VmHWM: the whole process, libraries and "
            "model included), and its peak before the store's finish (its indexes).",
            ""]  # fmt: skip
    memory = r["memory"]
    out += table(["build", *(f"{k} texts" for k in sizes.memory)], [
        [label, *(f"{m['peak'] / 1024:.0f} MiB ({m['chunks'] / 1024:.0f} before finish)"
                  for m in (memory[kind, k] for k in sizes.memory))]
        for kind, label in (("stats", "stats only"), ("full", "full build"))])  # fmt: skip
    small, large = (f"layer {SEARCH_LAYER} only, ~{k:,} tokens" for k in sizes.search_tokens)
    labels = {"stats": "stats only", "full": "full build (every layer)", "small": small,
              "large": large}  # fmt: skip
    out += ["## Store size", "", *table(
        ["build", "texts", "tokens", "on disk", "per 1,000 texts", "per 1,000 tokens"],
        [[labels[k], count, tokens, f"{size / 1e6:.1f} MB", f"{size / count / 1e3:.2f} MB",
          f"{size / tokens / 1e3:.2f} MB"] for k, (size, count, tokens) in r["store"].items()],
    )]  # fmt: skip
    out += ["## Search", "", f"`Corpus.search(text, position, layer={SEARCH_LAYER}, k=10)`, "
            f"{sizes.queries} queries from nyt texts outside the corpora (the middle token), p50 "
            "without the first; the query's own analyze is part of a search. Recall@10 against "
            "exact cosine over every vector of the layer (NumPy, its p50 beside: a matrix already "
            "in memory).", ""]  # fmt: skip
    out += table(["corpus", "indexed tokens", "layers indexed", "vector index", "search p50",
                  "of which analyze p50", "NumPy exact p50", "recall@10"],
                 [[labels[k], s["tokens"], s["layers"], s["index"], f"{s['search'] * 1000:.1f} ms",
                   f"{s['analyze'] * 1000:.1f} ms", f"{s['exact'] * 1000:.1f} ms",
                   f"{s['recall']:.3f}"] for k in ("small", "full", "large")
                  if (s := r["searches"][k])])  # fmt: skip
    return "\n".join(out)


def main(argv: list[str] | None = None) -> str | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for the test)")
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_build(args.child[0], int(args.child[1]), args.child[2])
        return None
    n = args.texts
    quick = Sizes(min(n, 40), 8, (12, 40), (400, 1200), 3)
    text = run(quick if args.quick else Sizes(n, 64, (n // 4, n), (10_000, 100_000), 31))
    print(text)
    if args.out:
        args.out.write_text(text)
    return text


if __name__ == "__main__":
    main()

"""Context mixing, attention flow and faithfulness, each beside the alternative in the same run.

    python -m benchmarks.mixing [--tokens 128] [--flow-tokens 64] [--flow-pairs 200] [--reps 5]
                                [--quick] [--out FILE]

On MiniLM ("minilm"; the sentiment model for faithfulness), on a real text cut to exactly the
asked number of tokens, each time the median of several runs after a warm-up, in this process:

1. value zeroing of every layer (`context_mixing(method="value-zeroing")`) against the papers'
   way with `transformers` (Mohebbi et al.'s demo: each layer rerun once per token with that
   token's value zeroed; here batched: the layer module called on T copies of its input, a
   forward hook on `attention.self.value` zeroing token j in copy j, under `torch.no_grad()`);
2. ALTI of every layer (`method="alti"`) against Ferrando et al.'s decomposition, the full
   [T, T, hidden] tensor per layer by einsum, written in torch from transformers' modules and
   the activations hooks captured;
3. attention flow (`analysis.attention_flow`) against networkx's `maximum_flow_value` for each
   pair over the same layered graph (Abnar & Zuidema's own approach): networkx is slow, so a
   fixed number of pairs is timed and the time scaled to all T² pairs;
4. faithfulness of one explanation (ALTI rollout's scores, computed once beforehand) and its
   random floor (8 draws) against each variant run separately through `transformers`.

Both sides start from a forward already run (ours: the analysis; the alternatives: their own
model's hidden states and hooked activations), which is not timed. Each row says how far the
two answers are apart (max |Δ|; value zeroing after dividing rows by their sums). Targets (issue
26, 128 tokens, 2 cores): value zeroing ≤ 1 s, ALTI ≤ 0.5 s, flow ≤ 2 s at 64 tokens,
faithfulness ≤ 0.5 s. Prints a Markdown report; --out writes it too (.json: the rows as JSON).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .common import SETTLE_S, Corpus, cpus, load_average, log, machine, p50

MODEL, CLASSIFIER = "minilm", "sentiment"
EXPLANATION = "ALTI rollout"
TARGETS = {"value-zeroing": 1.0, "alti": 0.5, "flow": 2.0, "faithfulness": 0.5}
TARGET_FLOW_TOKENS = 64
TARGET_TOKENS = 128


@dataclass
class Row:
    measure: str
    tokens: int
    ours: float  # seconds, median
    alternative: float  # seconds, median (or scaled from a sample: see note)
    agreement: float  # max |Δ| between the two answers
    target: float | None = None  # seconds, for ours
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.alternative / self.ours

    @property
    def met(self) -> str:
        if self.target is None:
            return "–"
        return "yes" if self.ours <= self.target else "no"


def timed(fn, warmup: int, reps: int) -> tuple[float, object]:
    """The median seconds of `reps` runs of fn after `warmup` untimed ones, and its last answer.
    A pause before each run: torch's and onnxruntime's idle threads spin for a while after a
    call and would take the cores from the other library (see common.SETTLE_S)."""
    seconds, out = [], None
    for n in range(warmup + reps):
        time.sleep(SETTLE_S)
        t0 = time.perf_counter()
        out = fn()
        if n >= warmup:
            seconds.append(time.perf_counter() - t0)
    return p50(seconds), out


def row_normalise(x: np.ndarray) -> np.ndarray:
    sums = x.sum(-1, keepdims=True)
    return np.divide(x, sums, out=np.zeros_like(x), where=sums > 0)


# ---------------------------------------------------------------------------------------------
# The alternatives, in torch with transformers' modules


def hf_encoder(checkpoint: Path, attn: str):
    import transformers

    transformers.logging.set_verbosity_error()
    return transformers.BertModel.from_pretrained(str(checkpoint), attn_implementation=attn).eval()


def hf_value_zeroing(hf, hidden: list) -> np.ndarray:
    """[layers, T, T] the papers' way: for each layer, its module run on T copies of its input
    (hidden[l], [1, T, D]) with token j's value zeroed in copy j; entry (i, j) the cosine
    distance of token i's altered output to the original one (hidden[l + 1]); rows normalised."""
    import torch

    layers = hf.encoder.layer
    t = hidden[0].shape[1]
    diagonal = torch.arange(t)

    def zero_value(module, inputs, output):
        output = output.clone()
        output[diagonal, diagonal] = 0
        return output

    out = np.empty((len(layers), t, t))
    with torch.no_grad():
        for index, layer in enumerate(layers):
            handle = layer.attention.self.value.register_forward_hook(zero_value)
            try:
                altered = layer(hidden[index].expand(t, -1, -1))
            finally:
                handle.remove()
            altered = altered[0] if isinstance(altered, tuple) else altered  # [J, T, D]
            original = hidden[index + 1][0]  # [T, D]
            cos = torch.nn.functional.cosine_similarity(altered.double(), original.double(), -1)
            out[index] = (1 - cos).T.numpy()  # [i, j]
    return row_normalise(out)


class AltiCapture:
    """One forward of transformers' eager model with hooks keeping each layer's value vectors
    and the first LayerNorm's input and output (Ferrando et al.'s code hooks the same)."""

    def __init__(self, hf, ids: list[int]):
        import torch

        self.hf, kept, handles = hf, {}, []
        for index, layer in enumerate(hf.encoder.layer):
            for name, module in (("v", layer.attention.self.value),
                                 ("ln", layer.attention.output.LayerNorm)):  # fmt: skip

                def keep(module, inputs, output, key=(name, index)):
                    kept[key] = (inputs[0][0], output[0])

                handles.append(module.register_forward_hook(keep))
        try:
            with torch.no_grad():
                out = hf(input_ids=torch.tensor([ids]), output_hidden_states=True,
                         output_attentions=True)  # fmt: skip
        finally:
            for h in handles:
                h.remove()
        self.kept, self.hidden, self.attentions = kept, out.hidden_states, out.attentions


def hf_alti(c: AltiCapture) -> np.ndarray:
    """[layers, T, T] by Ferrando et al. (2022), vectorised as their code is: per layer the
    transformed vectors α_hij·v_hj·W_O^h summed over heads as [T, T, D], the residual x_i added
    on the diagonal, each part through the LayerNorm's linear map (γ ⊙ (z − mean z) / σ_i), and
    c_ij = max(0, ‖y_i‖₁ − ‖y_i − T_i(x_j)‖₁), rows normalised."""
    import torch

    out = []
    with torch.no_grad():
        for index, layer in enumerate(c.hf.encoder.layer):
            x = c.hidden[index][0]  # [T, D]
            probs = c.attentions[index][0]  # [H, T, T]
            heads, t = probs.shape[0], x.shape[0]
            v = c.kept["v", index][1].view(t, heads, -1)  # [T, H, d]
            w_o = layer.attention.output.dense.weight  # [D_out, D_in]
            w_heads = w_o.t().reshape(heads, -1, w_o.shape[0])  # [H, d, D_out]
            f = torch.einsum("jhd,hdo->jho", v, w_heads)  # f_h(x_j): [T, H, D]
            z = torch.einsum("hij,jho->ijo", probs, f)  # [T_i, T_j, D]
            z[torch.arange(t), torch.arange(t)] += x  # the residual: x_i in its own part
            norm = layer.attention.output.LayerNorm
            pre, y = c.kept["ln", index]
            sigma = torch.sqrt(pre.var(-1, unbiased=False) + norm.eps)  # [T]
            parts = norm.weight * (z - z.mean(-1, keepdim=True)) / sigma[:, None, None]
            contributions = y.abs().sum(-1)[:, None] - (y[:, None] - parts).abs().sum(-1)
            contributions = contributions.clamp_min(0)
            out.append((contributions / contributions.sum(-1, keepdim=True)).numpy())
    return np.stack(out)


def networkx_graph(caps: np.ndarray):
    """Abnar & Zuidema's layered graph: node (l, j) token j after layer l, an edge
    (l-1, j) → (l, i) of capacity A_l[i, j] for every pair (zero-capacity edges included)."""
    import networkx as nx

    layers, t, _ = caps.shape
    g = nx.DiGraph()
    g.add_weighted_edges_from(
        (((lay, j), (lay + 1, i), float(caps[lay, i, j]))
         for lay in range(layers) for i in range(t) for j in range(t)),
        weight="capacity")  # fmt: skip
    return g


def networkx_flows(g, layers: int, pairs: list[tuple[int, int]]) -> list[float]:
    import networkx as nx

    return [nx.maximum_flow_value(g, (0, j), (layers, i)) for i, j in pairs]


class Unbatched:
    """Each variant of the input run alone through transformers' classifier (the sentiment
    model's merged weights), the way a loop over variants would."""

    def __init__(self, model):
        import torch
        import transformers

        self.torch = torch
        config = transformers.AutoConfig.from_pretrained(str(model.checkpoint),
                                                         num_labels=len(model.labels))  # fmt: skip
        self.hf = transformers.BertForSequenceClassification(config).eval()
        self.hf.load_state_dict(model.torch_model().state_dict())

    def prob(self, ids: list[int], cls: int) -> float:
        with self.torch.no_grad():
            logits = self.hf(input_ids=self.torch.tensor([ids])).logits[0].double()
        return float(self.torch.softmax(logits, -1)[cls])


def loop_faithfulness(alt: Unbatched, r, rankings: list[np.ndarray], cls: int,
                      fractions: tuple[float, ...], mask: int) -> tuple[list, list]:  # fmt: skip
    """Comprehensiveness and sufficiency per fraction (mean over rankings), each variant run
    separately: for each fraction the k top tokens masked, then all but them."""
    content = [i for i, w in enumerate(r.encoding.word_ids) if w is not None]
    ids = list(r.encoding.ids)
    special = set(range(len(ids))) - set(content)  # [CLS], [SEP]: never masked
    p = alt.prob(ids, cls)
    comp, suff = [], []
    for values in rankings:  # one score per content token
        order = [content[i] for i in np.argsort(-values, kind="stable")]
        c, s = [], []
        for f in fractions:
            k = min(len(content), max(1, int(np.ceil(f * len(content) - 1e-9))))
            top = set(order[:k])
            c.append(p - alt.prob([mask if i in top else x for i, x in enumerate(ids)], cls))
            s.append(p - alt.prob([x if i in top or i in special else mask
                                   for i, x in enumerate(ids)], cls))  # fmt: skip
        comp.append(c)
        suff.append(s)
    return np.mean(comp, 0).tolist(), np.mean(suff, 0).tolist()


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=TARGET_TOKENS)
    parser.add_argument("--flow-tokens", type=int, default=TARGET_FLOW_TOKENS,
                        help="also 32 (half of it) unless --quick")  # fmt: skip
    parser.add_argument("--flow-pairs", type=int, default=200,
                        help="networkx max flows timed per length, scaled to T²")  # fmt: skip
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true",
                        help="24 tokens, few runs and pairs, 2 random draws")  # fmt: skip
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    import torch

    import bertviz_lite as bv
    from bertviz_lite.analysis import attention_flow
    from bertviz_lite.analysis.flow import flow_capacities
    from bertviz_lite.attribution import FRACTIONS, explain, faithfulness, random_floor
    from bertviz_lite.attribution.base import mask_id, resolve_target

    threads = cpus()
    torch.set_num_threads(threads)
    if args.quick:
        tokens, flow_lengths, pairs, warmup, reps, alt_reps, draws = 24, (24,), 4, 1, 2, 1, 2
    else:
        flow_lengths = tuple(dict.fromkeys((args.flow_tokens, 32)))
        tokens, pairs, warmup, reps = args.tokens, args.flow_pairs, 1, args.reps
        alt_reps, draws = max(1, min(3, reps)), 8
    load_before = load_average()
    rows: list[Row] = []

    model = bv.load(MODEL, progress=False)
    corpus = Corpus(model.tokenizer)
    text = corpus.text(tokens)
    r = model.analyze(text)
    assert len(r.tokens) == tokens
    hf_sdpa, hf_eager = hf_encoder(model.checkpoint, "sdpa"), hf_encoder(model.checkpoint, "eager")
    ids = list(r.encoding.ids)

    # 1. value zeroing
    log(f"value zeroing at {tokens} tokens")
    with torch.no_grad():
        hidden = hf_sdpa(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
    ours_s, ours = timed(lambda: model.context_mixing(text, method="value-zeroing", analysis=r),
                         warmup, reps)  # fmt: skip
    alt_s, alt = timed(lambda: hf_value_zeroing(hf_sdpa, hidden), warmup, alt_reps)
    rows.append(Row("value zeroing, all layers", tokens, ours_s, alt_s,
                    float(np.abs(ours - alt).max()), TARGETS["value-zeroing"],
                    "transformers: each layer on T copies, token j's value zeroed in copy j"))  # fmt: skip

    # 2. ALTI
    log(f"ALTI at {tokens} tokens")
    capture = AltiCapture(hf_eager, ids)
    ours_s, ours = timed(lambda: model.context_mixing(text, method="alti", analysis=r),
                         warmup, reps)  # fmt: skip
    alt_s, alt = timed(lambda: hf_alti(capture), warmup, alt_reps)
    rows.append(Row("ALTI, all layers", tokens, ours_s, alt_s, float(np.abs(ours - alt).max()),
                    TARGETS["alti"], "torch einsum over [T, T, hidden] per layer, from hooked "
                    "activations (Ferrando et al.'s code)"))  # fmt: skip

    # 3. attention flow
    rng = np.random.default_rng(0)
    for t in flow_lengths:
        log(f"attention flow at {t} tokens")
        rf = model.analyze(corpus.text(t))
        ours_s, _ = timed(lambda rf=rf: attention_flow(rf.attentions), warmup if t < 64 else 1,
                          reps if t < 64 else max(1, min(3, reps)))  # fmt: skip
        raw = attention_flow(rf.attentions, normalise=False)
        caps = flow_capacities(rf.attentions)
        n = min(pairs, t * t)
        chosen = [divmod(int(k), t) for k in rng.choice(t * t, n, replace=False)]
        t0 = time.perf_counter()
        g = networkx_graph(caps)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        flows = networkx_flows(g, caps.shape[0], chosen)
        per_pair = (time.perf_counter() - t0) / n
        gap = max(abs(raw[i, j] - f) for (i, j), f in zip(chosen, flows, strict=True))
        scaled = n < t * t
        rows.append(Row("attention flow, every pair", t, ours_s, build + per_pair * t * t,
                        float(gap), TARGETS["flow"] if t == TARGET_FLOW_TOKENS else None,
                        f"networkx: graph built once, {n} of {t * t} pairs timed"
                        + (f", scaled to all {t * t}" if scaled else "")
                        + "; agreement on the unnormalised flows of those pairs"))  # fmt: skip

    # 4. faithfulness
    log(f"faithfulness at {tokens} tokens")
    clf = bv.load(CLASSIFIER, progress=False)
    rc = clf.analyze(corpus.text(tokens))
    scores = explain(clf, rc, EXPLANATION)  # once, outside the timing
    goal = resolve_target(clf, rc)
    cls, mask = goal.classes[0], mask_id(clf)
    alt_model = Unbatched(clf)
    content = [i for i, w in enumerate(rc.encoding.word_ids) if w is not None]
    ours_s, ours = timed(lambda: faithfulness(clf, rc, scores), warmup, reps)
    alt_s, alt = timed(lambda: loop_faithfulness(alt_model, rc, [np.asarray(scores)[content]],
                                                 cls, FRACTIONS, mask), warmup, alt_reps)  # fmt: skip
    gap = max(np.abs(np.subtract(ours.per_fraction["comprehensiveness"], alt[0])).max(),
              np.abs(np.subtract(ours.per_fraction["sufficiency"], alt[1])).max())  # fmt: skip
    rows.append(Row(f"faithfulness of one explanation ({EXPLANATION})", tokens, ours_s, alt_s,
                    float(gap), TARGETS["faithfulness"],
                    "transformers: each masked variant run alone; agreement on the "
                    "per-fraction comprehensiveness and sufficiency"))  # fmt: skip
    ours_s, ours = timed(lambda: random_floor(clf, rc, draws=draws), warmup, reps)

    def floor_rankings() -> list[np.ndarray]:
        g = np.random.default_rng(0)  # random_floor's seed and draws
        return [g.random(len(content)) for _ in range(draws)]

    alt_s, alt = timed(lambda: loop_faithfulness(alt_model, rc, floor_rankings(), cls,
                                                 FRACTIONS, mask), 0, 1)  # fmt: skip
    gap = max(np.abs(np.subtract(ours.per_fraction["comprehensiveness"], alt[0])).max(),
              np.abs(np.subtract(ours.per_fraction["sufficiency"], alt[1])).max())  # fmt: skip
    rows.append(Row(f"random floor, {draws} draws", tokens, ours_s, alt_s, float(gap), None,
                    "the same loop over every draw's variants (one run)"))  # fmt: skip

    report = render(rows, threads, load_before, load_average(), (reps, alt_reps), args.quick)
    print(report)
    if args.out:
        if args.out.suffix == ".json":
            args.out.write_text(json.dumps({"machine": machine(), "threads": threads,
                                            "rows": [asdict(x) for x in rows]}, indent=1))  # fmt: skip
        else:
            args.out.write_text(report)
    return rows


def render(rows: list[Row], threads: int, before: str, after: str, reps: tuple[int, int],
           quick: bool) -> str:  # fmt: skip
    info = machine()
    lines = [f"# Context mixing, flow and faithfulness against the alternatives ({MODEL}; "
             f"{CLASSIFIER} for faithfulness){' — quick mode' if quick else ''}", "",
             f"{info.get('CPU', '?')}; {threads} threads (torch and onnxruntime); load average "
             f"{before} before, {after} after; ours the median of {reps[0]} runs, the "
             f"alternatives of {reps[1]} (the random floor's: one), after a warm-up",
             "", "| measure | tokens | ours (s) | alternative (s) | ratio | agreement (max |Δ|) "
             "| target | met? |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for x in rows:
        target = f"≤ {x.target:g} s" if x.target is not None else "–"
        lines.append(f"| {x.measure} | {x.tokens} | {x.ours:.3f} | {x.alternative:.3f} | "
                     f"{x.ratio:.1f}× | {x.agreement:.1e} | {target} | {x.met} |")  # fmt: skip
    lines += ["", "Alternatives:"] + [f"- {x.measure} ({x.tokens}): {x.note}" for x in rows]
    lines += ["", "Both sides start from a forward already run (not timed). Targets (issue 26) "
              f"are for {TARGET_TOKENS} tokens ({TARGET_FLOW_TOKENS} for flow) on 2 cores.", "",
              "Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items())]  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

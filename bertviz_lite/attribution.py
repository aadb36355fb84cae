"""Which tokens a prediction rests on, and how far attention agrees with that.

Occlusion runs on onnxruntime: every token (or word) replaced by the mask token in turn, all
variants in batches through the model's logits (for a classifier, its logits-only graph, whose last
layer computes [CLS] alone); a token's score is p(target | text) − p(target | text without it).
Integrated gradients and gradient × input run Captum on our PyTorch model (torch is imported
only here, only when asked): attributions on the word embeddings against a baseline of
[MASK] embeddings with the special tokens kept; IG's steps double until the completeness gap
|Σ scores − (f(x) − f(baseline))| is at most 5% of |f(x) − f(baseline)|.

Targets: for a classifier, `target=None` explains the predicted label and a label name (or index)
picks another. For NER, the target is one entity of the prediction, by its index in
`predictions["entities"]` (default: the first) or by its (start, end) character span; f is the
mean probability of the entity's BIO tags at its words' first pieces.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import numpy as np

from . import budget
from .analysis import Analysis, norm_weighted, rollout, unit_labels, word_spans
from .errors import UserError
from .predictions import softmax
from .tokenizer import Encoding

METHODS = ("occlusion", "integrated-gradients", "gradient-x-input")
CHUNK = 4  # occluded variants per onnxruntime run (larger batches spill the cache at 128 tokens)
COMPLETENESS = 0.05  # IG's gap, relative to f(x) − f(baseline)
MAX_STEPS = 512  # IG's steps at most, unless a caller bounds them lower
STEP_ROWS = 2048  # token rows per batch of IG's steps (16 steps at 128 tokens, 4 at 512)


@dataclass
class Attribution:
    tokens: list[str]  # the scored units: tokens, or words when asked
    scores: np.ndarray  # float32 [units]; 0 for [CLS]/[SEP], which are never removed
    target: str  # the label explained
    method: str
    delta: float | None = None  # gradient methods: the completeness gap
    units: list[list[int]] = field(default_factory=list)  # token indices of each unit
    f_input: float | None = None  # f(x): the target's probability (or mean tag probability)
    note: str = ""  # how the method was cut down for a long input, to be said beside it


@dataclass(frozen=True)
class Target:
    """What f measures: the probability of `label` at `positions` (a classifier: one row)."""

    label: str
    positions: tuple[int, ...]  # token rows of the logits; () for sequence classification
    classes: tuple[int, ...]  # the class index at each position (one for a classifier)

    def value(self, logits: np.ndarray) -> float:
        p = softmax(np.asarray(logits, np.float64))
        if not self.positions:
            return float(p[..., self.classes[0]])
        return float(np.mean([p[i, c] for i, c in zip(self.positions, self.classes)]))


def resolve_target(model: Any, r: Analysis, target: Any = None) -> Target:
    """The Target a person asked for, checked against this model and prediction."""
    labels = list(model.labels)
    if model.task == "classification":
        if target is None:
            index = int(np.argmax(r.logits))
        elif isinstance(target, str) and target in labels:
            index = labels.index(target)
        elif isinstance(target, int) and 0 <= target < len(labels):
            index = target
        else:
            raise UserError(f"Unknown target {str(target)[:40]!r}: choose one of {', '.join(labels)}.")
        return Target(labels[index], (), (index,))
    if model.task == "ner":
        entities = r.predictions["entities"] if r.predictions else []
        if not entities:
            raise UserError("The model found no entity in this text: nothing to explain.")
        if target is None:
            entity = entities[0]
        elif isinstance(target, int) and 0 <= target < len(entities):
            entity = entities[target]
        elif isinstance(target, (tuple, list)) and len(target) == 2:
            found = [e for e in entities if (e["start"], e["end"]) == tuple(target)]
            if not found:
                raise UserError(f"No entity spans characters {tuple(target)}.")
            entity = found[0]
        else:
            raise UserError("For NER, the target is an entity's index or its (start, end) span.")
        return _entity_target(labels, r.encoding, entity)
    raise UserError("Attributions explain a prediction: pick a classifier or an NER model.")


def _entity_target(labels: list[str], enc: Encoding, entity: dict) -> Target:
    rows, seen = [], set()
    for i, (w, s, (a, b)) in enumerate(zip(enc.word_ids, enc.sequence_ids, enc.offsets)):
        if w is None or w in seen or s != entity.get("sequence", 0):
            continue
        seen.add(w)  # a word is read at its first piece
        if a >= entity["start"] and b <= entity["end"]:
            rows.append(i)
    tags = [f"B-{entity['label']}"] + [f"I-{entity['label']}"] * (len(rows) - 1)
    classes = tuple(labels.index(t) for t in tags)
    return Target(f"{entity['label']} {entity.get('text', '')}".strip(), tuple(rows), classes)


def units_of(enc: Encoding, words: bool) -> list[list[int]]:
    """Token indices of each removable unit: every non-special token, or every word."""
    units = word_spans(enc.word_ids, enc.sequence_ids) if words else [[i] for i in range(len(enc))]
    return [u for u in units if enc.word_ids[u[0]] is not None]


def _mask_id(model: Any) -> int:
    """The tokenizer's mask token ([MASK], <mask>); its unknown token where it has none."""
    tok = model.tokenizer
    if tok.mask_id is not None:
        return int(tok.mask_id)
    unknown = next((tok.token_id(t) for t in ("[UNK]", "<unk>") if tok.token_id(t) is not None), 0)
    return int(unknown)


def spans(enc: Encoding, units: list[list[int]], most: int) -> list[list[int]]:
    """`units` joined into runs of consecutive ones (never across the two sentences of a pair)
    so that there are at most about `most`: the same text, occluded in fewer runs."""
    size = -(-len(units) // most)
    if size <= 1:
        return units
    out: list[list[int]] = []
    for n, unit in enumerate(units):
        same_sentence = out and enc.sequence_ids[out[-1][0]] == enc.sequence_ids[unit[0]]
        if n % size and same_sentence:
            out[-1] = out[-1] + unit
        else:
            out.append(list(unit))
    return out


def occlusion(model: Any, text: str, pair: str | None = None, target: Any = None,
              words: bool = False, max_units: int | None = None,
              analysis: Analysis | None = None) -> Attribution:  # fmt: skip
    """p(target | text) − p(target | text with each unit replaced by the mask token); with
    `max_units`, a longer input's units are joined into that many runs of consecutive ones.
    `analysis`: this input's analysis by this model, when the caller has it."""
    r = analysis or model.analyze(text, pair)
    goal = resolve_target(model, r, target)
    enc, units = r.encoding, units_of(r.encoding, words)
    note = ""
    if max_units is not None and len(units) > max_units:
        kind, per_run = "words" if words else "tokens", -(-len(units) // max_units)
        units = spans(enc, units, max_units)
        words = True  # a run is labelled by the text it covers
        note = f"occlusion masks runs of {per_run} {kind} ({len(units)} runs)"
    mask = _mask_id(model)
    variants = []
    for unit in units:
        ids = list(enc.ids)
        for i in unit:
            ids[i] = mask
        variants.append(replace(enc, ids=ids))
    f_x = goal.value(r.logits)
    dropped = []
    for start in range(0, len(variants), CHUNK):
        budget.check()
        logits = model.logits(variants[start : start + CHUNK])
        dropped += [goal.value(row[: len(enc)] if row.ndim == 2 else row) for row in logits]
    scores = np.array([f_x - d for d in dropped], np.float32)
    return Attribution(tokens=_unit_labels(r, units, words), scores=scores, target=goal.label,
                       method="occlusion", units=units, f_input=f_x, note=note)  # fmt: skip


def _unit_labels(r: Analysis, units: list[list[int]], words: bool) -> list[str]:
    """Tokens as the views show them; words as written in the text."""
    return unit_labels(r.tokens, units, r.encoding) if words else [r.tokens[u[0]] for u in units]


@cache
def _gradient_lock(model: Any) -> threading.Lock:
    """One gradient run at a time per torch model: Captum hooks the shared model's embedding
    layer for the length of a run, and another thread's run would pass through those hooks
    (two visitors' Explain clicks: "Sizes of tensors must match")."""
    return threading.Lock()


def gradients(model: Any, text: str, pair: str | None = None, target: Any = None,
              method: str = "integrated-gradients", steps: int = 32,
              max_steps: int = MAX_STEPS, analysis: Analysis | None = None) -> Attribution:  # fmt: skip
    """Integrated gradients or gradient × input on the word embeddings (Captum). IG starts at
    `steps` (at most `max_steps`) and doubles them until the completeness gap is small enough
    or `max_steps` is reached; its gap is reported either way."""
    steps = min(steps, max_steps)
    import torch

    r = analysis or model.analyze(text, pair)
    goal = resolve_target(model, r, target)
    net = model.torch_model()
    enc = r.encoding
    feed = {k: torch.tensor(v) for k, v in _arrays(model, enc).items()}
    ids = feed.pop("input_ids")
    special = torch.tensor([w is None for w in enc.word_ids])[None]
    baseline = torch.where(special, ids, torch.full_like(ids, _mask_id(model)))
    positions, classes = list(goal.positions), list(goal.classes)

    def f(input_ids, *extra):
        budget.check()  # Captum calls this once per batch of steps
        logits = net(input_ids, **dict(zip(feed, extra))).logits
        p = torch.softmax(logits.double(), dim=-1)
        if not positions:
            return p[:, classes[0]]
        return torch.stack([p[:, i, c] for i, c in zip(positions, classes)], 1).mean(1)

    with _gradient_lock(model):
        attr, delta = _captum(f, _word_embeddings(net), ids, baseline, tuple(feed.values()),
                              method, steps, max_steps)  # fmt: skip
    scores = attr.sum(-1)[0].detach().double().numpy()
    units = units_of(enc, False)
    note = f"{max_steps} steps" if method != "gradient-x-input" and max_steps < MAX_STEPS else ""
    return Attribution(tokens=[r.tokens[u[0]] for u in units],
                       scores=np.array([scores[u[0]] for u in units], np.float32),
                       target=goal.label, method=method, delta=delta, units=units,
                       f_input=goal.value(r.logits), note=note)  # fmt: skip


def _captum(f, layer, ids, baseline, extra: tuple, method: str, steps: int, max_steps: int):
    """Captum's attribution on `layer` and, for integrated gradients, the completeness gap."""
    import torch
    from captum.attr import LayerGradientXActivation, LayerIntegratedGradients

    if method == "gradient-x-input":
        attr = LayerGradientXActivation(f, layer).attribute(ids, additional_forward_args=extra)
        delta = None
    else:
        with torch.no_grad():
            gap = float(f(ids, *extra) - f(baseline, *extra))
        while True:
            attr, d = LayerIntegratedGradients(f, layer).attribute(
                ids, baselines=baseline, additional_forward_args=extra, n_steps=steps,
                return_convergence_delta=True, internal_batch_size=max(1, STEP_ROWS // ids.shape[1]))  # fmt: skip
            delta = float(d.abs().max())
            if delta <= COMPLETENESS * abs(gap) or steps >= max_steps:
                break
            steps *= 2
    return attr, delta


def _arrays(model: Any, enc: Encoding) -> dict[str, np.ndarray]:
    from .tokenizer import batch_arrays

    return batch_arrays([enc], model.config.pad_token_id, model.session.inputs)


def _word_embeddings(net: Any):
    for name, module in net.named_modules():
        if name.endswith("word_embeddings"):
            return module
    raise ValueError("the model has no word_embeddings layer")


def attribute(model: Any, text: str, pair: str | None = None, method: str = "occlusion",
              target: Any = None, words: bool = False, max_units: int | None = None,
              max_steps: int = MAX_STEPS, analysis: Analysis | None = None) -> Attribution:  # fmt: skip
    """`method`'s attribution of the model's prediction for this input (see the module).
    `max_units` and `max_steps` bound the cost for a long input (occlusion's runs, IG's steps);
    the Attribution's `note` says when they cut it down. `analysis`: this input's analysis by
    this model, when the caller has it (no forward pass is repeated)."""
    if method == "occlusion":
        return occlusion(model, text, pair, target, words, max_units, analysis)
    if method in ("integrated-gradients", "gradient-x-input"):
        return gradients(model, text, pair, target, method, max_steps=max_steps,
                         analysis=analysis)  # fmt: skip
    raise ValueError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")


# --- how far attention agrees with the attributions ---------------------------------------------


def attention_scores(r: Analysis) -> dict[str, np.ndarray]:
    """Per-token scores read from attention: what [CLS] attends to in the last layer (heads
    averaged), attention rollout's [CLS] row (Abnar & Zuidema 2020), and rollout of norm-weighted
    attention (Kobayashi et al. 2020) when the export has value norms."""
    scores = {"last-layer [CLS] attention": r.attentions[-1, :, 0, :].mean(0),
              "rollout": rollout(r.attentions)[-1][0]}  # fmt: skip
    if getattr(r, "value_norms", None) is not None:
        weighted = norm_weighted(r.attentions, r.value_norms, normalise=False)
        scores["norm-based rollout"] = rollout(weighted)[-1][0]
    return scores


def agreement(r: Analysis, attributions: list[Attribution]) -> dict[str, dict[str, float]]:
    """Spearman's rank correlation of each attention score with each attribution's magnitude,
    over the attribution's units (a word or a run of words: its tokens' attention summed):
    {attention score: {method: ρ}}."""
    from scipy.stats import spearmanr

    out: dict[str, dict[str, float]] = {}
    for name, score in attention_scores(r).items():
        row = {}
        for a in attributions:
            per_unit = [float(score[u].sum()) for u in a.units]
            rho = spearmanr(per_unit, np.abs(a.scores)).statistic
            row[a.method] = float(rho) if rho == rho else 0.0  # NaN for constant input
        out[name] = row
    return out

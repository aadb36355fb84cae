"""How faithful a token-score explanation is: ERASER's comprehensiveness and sufficiency
(DeYoung et al. 2020, "ERASER: A Benchmark to Evaluate Rationalized NLP Models"), as AOPC,
the mean over fractions f of the input.

For each f, the k = ceil(f·n) highest-scoring of the n non-special tokens (signed scores, higher
first; ties by position) are the rationale r_k; an Attribution's units (words) are taken whole,
k rounded up to the end of the last one. With p the target's probability (NER: the mean
probability of the entity's tags):

    comprehensiveness(f) = p(x) − p(x with r_k replaced by the mask token)   (higher: better)
    sufficiency(f)       = p(x) − p(x with everything but r_k masked)         (lower: better)

[CLS]/[SEP] are never replaced, and the length never changes. `random_floor` gives the same
measures for random rankings: an explanation is worth something only where it beats them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .. import budget
from ..analysis import Analysis
from ..errors import UserError
from .base import Attribution, Target, mask_id, resolve_target, units_of
from .occlusion import CHUNK

FRACTIONS = (0.01, 0.05, 0.1, 0.2, 0.5)


@dataclass
class Faithfulness:
    comprehensiveness: float  # AOPC: the mean over fractions
    sufficiency: float
    per_fraction: dict[str, list[float]]  # "comprehensiveness", "sufficiency": one per fraction
    fractions: tuple[float, ...]
    target: str
    f_input: float  # p(target | full input)
    kept: list[int]  # tokens in the rationale at each fraction (whole units: k rounded up)
    method: str = ""  # the explanation measured; "random" for the floor
    draws: int = 1  # rankings averaged (random_floor)
    per_draw: list[dict[str, list[float]]] = field(default_factory=list, repr=False)


def _ks(n: int, fractions: tuple[float, ...]) -> list[int]:
    if any(not 0 < f <= 1 for f in fractions) or not fractions:
        raise ValueError(f"fractions must lie in (0, 1], not {fractions}")
    # The guard keeps f·n = 3.0000000000000004 from rounding up to 4.
    return [min(n, max(1, math.ceil(f * n - 1e-9))) for f in fractions]


def _ranking(r: Analysis, scores: Any) -> tuple[list[list[int]], np.ndarray, str]:
    """The units (token indices) and their scores, checked against this input, and what they
    are called (an Attribution's method, else "scores")."""
    units = units_of(r.encoding, False)
    if isinstance(scores, Attribution):
        values = np.asarray(scores.scores, np.float64)
        if len(values) != len(scores.units):
            raise ValueError(f"{len(values)} scores for {len(scores.units)} units")
        covered = sorted(i for u in scores.units for i in u)
        if covered != [u[0] for u in units]:
            raise ValueError("the attribution's units are not this input's non-special tokens")
        return [list(u) for u in scores.units], values, scores.method
    values = np.asarray(scores, np.float64)
    if values.shape != (len(r.tokens),):
        raise ValueError(f"expected {len(r.tokens)} scores (one per token), got {values.shape}")
    return units, values[[u[0] for u in units]], "scores"


def _rationales(units: list[list[int]], values: np.ndarray, ks: list[int]) -> list[list[int]]:
    """For each k, the top units' tokens: whole units, until at least k tokens."""
    if not np.all(np.isfinite(values)):
        raise ValueError("scores must be finite")
    # A stable sort on −score keeps ties in position order (units are in position order).
    order = [units[i] for i in np.argsort(-values, kind="stable")]
    out = []
    for k in ks:
        chosen: list[int] = []
        for unit in order:
            if len(chosen) >= k:
                break
            chosen += unit
        out.append(sorted(chosen))
    return out


def _measure(model: Any, r: Analysis, goal: Target, rationales: list[list[list[int]]],
             ks: list[int], method: str) -> list[tuple[list[float], list[float]]]:  # fmt: skip
    """(comprehensiveness, sufficiency) per fraction for each ranking's rationales, every
    variant of every ranking in one batched pass; identical variants run once. Its progress
    names the `method` (a view measures several in a row)."""
    enc, mask = r.encoding, mask_id(model)
    content = [u[0] for u in units_of(enc, False)]
    f_x = goal.value(r.logits)
    original = tuple(enc.ids)
    wanted: list[tuple[tuple[int, ...], tuple[int, ...]]] = []  # (comp, suff) ids per fraction
    for chosen in rationales:
        for top in chosen:
            comp, suff = list(enc.ids), list(enc.ids)
            inside = set(top)
            for i in content:
                if i in inside:
                    comp[i] = mask
                else:
                    suff[i] = mask
            wanted.append((tuple(comp), tuple(suff)))
    # The unchanged input is p(x) itself (sufficiency at k = n is exactly 0, not float noise
    # between the logits graph and the full one).
    values: dict[tuple[int, ...], float] = {original: f_x}
    todo = list(dict.fromkeys(ids for pair in wanted for ids in pair if ids not in values))
    for start in range(0, len(todo), CHUNK):
        budget.check(start, len(todo), f"Faithfulness of {method}, texts with tokens masked")
        batch = todo[start : start + CHUNK]
        logits = model.logits([replace(enc, ids=list(ids)) for ids in batch])
        for ids, row in zip(batch, logits):
            values[ids] = goal.value(row[: len(enc)] if row.ndim == 2 else row)
    out, per = [], len(ks)
    for d in range(len(rationales)):
        pairs = wanted[d * per : (d + 1) * per]
        out.append(([f_x - values[c] for c, _ in pairs], [f_x - values[s] for _, s in pairs]))
    return out


def _result(goal: Target, f_x: float, fractions: tuple[float, ...], kept: list[int],
            runs: list[tuple[list[float], list[float]]], method: str) -> Faithfulness:  # fmt: skip
    comp = np.mean([c for c, _ in runs], axis=0)
    suff = np.mean([s for _, s in runs], axis=0)
    return Faithfulness(
        comprehensiveness=float(comp.mean()), sufficiency=float(suff.mean()),
        per_fraction={"comprehensiveness": comp.tolist(), "sufficiency": suff.tolist()},
        fractions=fractions, target=goal.label, f_input=f_x, kept=kept, method=method,
        draws=len(runs),
        per_draw=[{"comprehensiveness": c, "sufficiency": s} for c, s in runs],
    )  # fmt: skip


def _setup(model: Any, r: Analysis, target: Any, fractions: Any) -> tuple[Target, int, list[int]]:
    goal = target if isinstance(target, Target) else resolve_target(model, r, target)
    n = len(units_of(r.encoding, False))
    if n == 0:
        raise UserError("The text has no token to remove.")
    return goal, n, _ks(n, tuple(float(f) for f in fractions))


def faithfulness(model: Any, r: Analysis, scores: Any, target: Any = None,
                 fractions: tuple[float, ...] = FRACTIONS,
                 name: str | None = None) -> Faithfulness:  # fmt: skip
    """ERASER comprehensiveness and sufficiency (AOPC over `fractions`) of `scores` for `r`;
    `name`: what the scores are (the result's method; an Attribution's own by default)."""
    goal, _, ks = _setup(model, r, target, fractions)
    units, values, method = _ranking(r, scores)
    method = name or method
    chosen = _rationales(units, values, ks)
    runs = _measure(model, r, goal, [chosen], ks, method)
    kept = [len(c) for c in chosen]
    return _result(goal, goal.value(r.logits), tuple(fractions), kept, runs, method)


def random_floor(model: Any, r: Analysis, target: Any = None,
                 fractions: tuple[float, ...] = FRACTIONS, draws: int = 8,
                 seed: int = 0) -> Faithfulness:  # fmt: skip
    """The same measures for `draws` seeded random token rankings, averaged: the chance level."""
    if draws < 1:
        raise ValueError("draws must be at least 1")
    goal, n, ks = _setup(model, r, target, fractions)
    units = units_of(r.encoding, False)
    rng = np.random.default_rng(seed)  # its own generator: global state neither read nor moved
    chosen = [_rationales(units, rng.random(n), ks) for _ in range(draws)]
    runs = _measure(model, r, goal, chosen, ks, "random rankings")
    kept = [len(c) for c in chosen[0]]
    return _result(goal, goal.value(r.logits), tuple(fractions), kept, runs, "random")

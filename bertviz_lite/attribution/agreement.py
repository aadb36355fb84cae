"""How far explanations agree: per-token scores read from attention, and Spearman's rank
correlation of any scores with each attribution (Jain & Wallace 2019; Abnar & Zuidema 2020
compared rollout and flow by exactly this)."""

from __future__ import annotations

import warnings

import numpy as np

from ..analysis import Analysis, norm_weighted, rollout
from .base import Attribution


def attention_scores(r: Analysis) -> dict[str, np.ndarray]:
    """Per-token scores read from attention at [CLS]: what it attends to in the last layer
    (heads averaged), attention rollout's row (Abnar & Zuidema 2020), and rollout of
    norm-weighted attention (Kobayashi et al. 2020) when the export has value norms."""
    scores = {"last-layer attention": r.attentions[-1, :, 0, :].mean(0),
              "rollout": rollout(r.attentions)[-1][0]}  # fmt: skip
    if getattr(r, "value_norms", None) is not None:
        weighted = norm_weighted(r.attentions, r.value_norms, normalise=False)
        scores["norm-based rollout"] = rollout(weighted)[-1][0]
    return scores


def agreement(r: Analysis, attributions: list[Attribution],
              scores: dict[str, np.ndarray] | None = None) -> dict[str, dict[str, float]]:  # fmt: skip
    """Spearman's rank correlation of each per-token score vector (default: attention_scores)
    with each attribution's magnitude, over the attribution's units (a word or a run of words:
    its tokens' scores summed): {score: {method: ρ}}."""
    from scipy.stats import ConstantInputWarning, spearmanr

    out: dict[str, dict[str, float]] = {}
    for name, score in (attention_scores(r) if scores is None else scores).items():
        row = {}
        for a in attributions:
            per_unit = [float(np.asarray(score)[u].sum()) for u in a.units]
            with warnings.catch_warnings():  # constant scores: no order to compare, ρ is NaN
                warnings.simplefilter("ignore", ConstantInputWarning)
                rho = spearmanr(per_unit, np.abs(a.scores)).statistic
            row[a.method] = float(rho) if rho == rho else 0.0
        out[name] = row
    return out

"""Every explanation of a prediction by name, as per-token scores: the attribution methods
(METHODS) and the scores read from attention and context mixing, so that each can be ranked,
compared (agreement.py) and scored for faithfulness (faithfulness.py) alike.

Read from attention and mixing: the rows of the explained positions ([CLS] for a classifier,
the entity's first pieces for NER) in the last layer — of the heads' average attention, and of
the rollouts of attention, norm-based attention, value zeroing and ALTI (mixing.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..analysis import Analysis
from .base import MAX_STEPS, Attribution, Target, resolve_target

# name → (measure in mixing.MEASURES, composed through the layers)
FROM_MIXING = {
    "last-layer attention": ("attention", False),
    "rollout": ("attention", True),
    "norm-based rollout": ("norm", True),
    "value-zeroing rollout": ("value-zeroing", True),
    "ALTI rollout": ("alti", True),
}
CAVEATS = {
    "last-layer attention": "what the explained position attends to in the last layer (heads "
    "averaged): one layer of many, value sizes ignored.",
    "rollout": "attention multiplied through the layers with the residual (Abnar & Zuidema "
    "2020); value sizes and the feed-forward ignored.",
    "norm-based rollout": "rollout of attention weighted by the norm of each token's value "
    "(Kobayashi et al. 2020); the feed-forward ignored.",
    "value-zeroing rollout": "rollout of value zeroing (Mohebbi et al. 2023): every part of each "
    "layer, by how far outputs move when a token's value is zeroed.",
    "ALTI rollout": "rollout of ALTI (Ferrando et al. 2022): attention, residual and LayerNorm "
    "by L1 distance; the feed-forward left out.",
}


def names() -> tuple[str, ...]:
    """Every explanation's name: the attribution methods first."""
    from . import METHODS

    return (*METHODS, *FROM_MIXING)


def rows_of(target: Target) -> list[int]:
    """The token rows whose mixing explains the target: [CLS] (0) for a classifier."""
    return list(target.positions) or [0]


def from_mixing(name: str, mixing: np.ndarray, target: Target) -> np.ndarray:
    """Per-token scores from a mixing matrix [layers, T, T]: the last layer's rows of the
    explained positions, averaged."""
    return np.asarray(mixing[-1][rows_of(target)].mean(axis=0), np.float32)


def explain(model: Any, r: Analysis, name: str, target: Any = None,
            mixing: Callable[[str, str | None], np.ndarray] | None = None,
            max_units: int | None = None, max_steps: int = MAX_STEPS) -> Attribution | np.ndarray:  # fmt: skip
    """Explanation `name` of `r`'s prediction: an Attribution (a method of METHODS) or per-token
    scores [T]. `mixing(measure, across_layers)`: a caller's (memoised) mixing.context_mixing."""
    from . import METHODS

    goal = target if isinstance(target, Target) else resolve_target(model, r, target)
    if name in METHODS:
        return METHODS[name].run(model, r, goal, False, max_units, max_steps)
    if name not in FROM_MIXING:
        raise ValueError(f"unknown explanation {name!r} (choose from {', '.join(names())})")
    measure, composed = FROM_MIXING[name]
    if mixing is None:
        from ..mixing import context_mixing

        def mixing(m: str, across: str | None) -> np.ndarray:
            return context_mixing(model, r, m, across)

    return from_mixing(name, mixing(measure, "rollout" if composed else None), goal)

"""Which tokens a prediction rests on, by several methods behind one interface, and how far
attention agrees with that.

A method is a `Method` subclass (base.py) and one line in METHODS: occlusion (onnxruntime),
integrated gradients and gradient × input (Captum). `attribute` runs one by name; the Explain
view, the benchmark and the tests iterate over METHODS. Targets and units: base.py. Every
explanation by name, attention- and mixing-based scores too: explanations.py; how faithful
each is (ERASER's comprehensiveness and sufficiency): faithfulness.py.
"""

from __future__ import annotations

from typing import Any

from ..analysis import Analysis
from .agreement import agreement, attention_scores
from .base import MAX_STEPS, Attribution, Method, Target, resolve_target, units_of
from .explanations import CAVEATS, FROM_MIXING, explain, names
from .faithfulness import FRACTIONS, Faithfulness, faithfulness, random_floor
from .gradients import COMPLETENESS, GradientXInput, IntegratedGradients, gradients
from .occlusion import CHUNK, Occlusion, occlusion, spans

METHODS: dict[str, Method] = {m.name: m for m in (
    Occlusion(),
    IntegratedGradients(),
    GradientXInput(),
)}  # fmt: skip


def attribute(model: Any, text: str, pair: str | None = None, method: str = "occlusion",
              target: Any = None, words: bool = False, max_units: int | None = None,
              max_steps: int = MAX_STEPS, analysis: Analysis | None = None) -> Attribution:  # fmt: skip
    """`method`'s attribution of the model's prediction for this input. `max_units` and
    `max_steps` bound the cost for a long input (occlusion's runs, IG's steps); the
    Attribution's `note` says when they cut it down. `analysis`: this input's analysis by this
    model, when the caller has it (no forward pass is repeated)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    r = analysis or model.analyze(text, pair)
    goal = resolve_target(model, r, target)
    return METHODS[method].run(model, r, goal, words, max_units, max_steps)


__all__ = [
    "CAVEATS", "CHUNK", "COMPLETENESS", "FRACTIONS", "FROM_MIXING", "MAX_STEPS", "METHODS", "Attribution",
    "Faithfulness", "GradientXInput", "IntegratedGradients", "Method", "Occlusion", "Target", "agreement",
    "attention_scores", "attribute", "explain", "faithfulness", "gradients", "names", "occlusion",
    "random_floor", "resolve_target", "spans", "units_of",
]  # fmt: skip

"""Occlusion, on onnxruntime: every token (or word) replaced by the mask token in turn, all
variants in batches through the model's logits (for a classifier, its logits-only graph, whose
last layer computes [CLS] alone); a unit's score is p(target | text) − p(target | text without
it). A long input can be occluded in runs of consecutive units (`max_units`), said in its note.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .. import budget
from ..analysis import Analysis
from ..tokenizer import Encoding
from .base import Attribution, Method, Target, labels_of, mask_id, resolve_target, units_of

CHUNK = 4  # occluded variants per onnxruntime run (larger batches spill the cache at 128 tokens)


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
    goal = target if isinstance(target, Target) else resolve_target(model, r, target)
    enc, units = r.encoding, units_of(r.encoding, words)
    note = ""
    if max_units is not None and len(units) > max_units:
        kind, per_run = "words" if words else "tokens", -(-len(units) // max_units)
        units = spans(enc, units, max_units)
        words = True  # a run is labelled by the text it covers
        note = f"occlusion masks runs of {per_run} {kind} ({len(units)} runs)"
    mask = mask_id(model)
    variants = []
    for unit in units:
        ids = list(enc.ids)
        for i in unit:
            ids[i] = mask
        variants.append(replace(enc, ids=ids))
    f_x = goal.value(r.logits)
    dropped = []
    for start in range(0, len(variants), CHUNK):
        budget.check(start, len(variants), "Occlusion, texts with a part masked")
        logits = model.logits(variants[start : start + CHUNK])
        dropped += [goal.value(row[: len(enc)] if row.ndim == 2 else row) for row in logits]
    scores = np.array([f_x - d for d in dropped], np.float32)
    return Attribution(tokens=labels_of(r, units, words), scores=scores, target=goal.label,
                       method="occlusion", units=units, f_input=f_x, note=note)  # fmt: skip


class Occlusion(Method):
    name = "occlusion"
    caveat = ("p(label) minus p(label) with the token masked; small where the prediction is "
              "saturated, and masking is itself an unusual input.")  # fmt: skip
    cost = "one forward pass per token or word (onnxruntime, 4 at a time)"

    def run(self, model: Any, r: Analysis, target: Target, words: bool = False,
            max_units: int | None = None, max_steps: int = 0) -> Attribution:  # fmt: skip
        return occlusion(model, r.encoding.text, r.encoding.pair, target, words, max_units, r)

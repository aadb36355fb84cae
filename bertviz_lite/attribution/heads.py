"""Which heads matter (Michel et al. 2019): each head switched off alone, all of them in a few
batched onnxruntime runs (a head mask per item), scored by how much the prediction drops: for a
classifier, the target label's probability; for NER, the mean probability of the target entity's
BIO tags; for any other model, 1 − cosine of the last layer's mean token vector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..analysis import Analysis
from ..tokenizer import batch_arrays
from .base import resolve_target

SWEEP_ROWS = 128  # token rows per run of the sweep


def head_importance(model: Any, r: Analysis, target: Any = None, batch_size: int | None = None,
                    progress: Callable[[int, int], None] | None = None) -> np.ndarray:  # fmt: skip
    """float32 [layers, heads] for the analysed input `r` (LoadedModel.head_importance says
    what each number means and how the runs are batched)."""
    c = model.config
    layers, heads, n = c.num_hidden_layers, c.num_attention_heads, len(r.tokens)
    if model.task in ("classification", "ner"):
        goal = resolve_target(model, r, target)
        before, fetch = goal.value(r.logits), "logits"
    else:
        goal, fetch = None, f"hidden_states_{layers}"
        before = r.hidden_states[-1].mean(0)
    total = layers * heads
    masks = 1 - np.eye(total, dtype=np.float32).reshape(total, layers, heads)
    if batch_size is None:
        batch_size = 1 if model.variant == "int8" else max(1, min(total, SWEEP_ROWS // n))
    arrays = batch_arrays([r.encoding], c.pad_token_id, model.session.inputs)
    session = model.logits_session if fetch == "logits" else model.session
    scores = np.empty(total, np.float32)
    for start in range(0, total, batch_size):
        part = masks[start : start + batch_size]
        feed = {k: np.repeat(v, len(part), 0) for k, v in arrays.items()} | {"head_mask": part}
        out = session.run_into(feed, {}, [fetch])[fetch]
        for i, row in enumerate(out, start):
            if goal is not None:
                scores[i] = before - goal.value(row)
            else:
                after = row.mean(0)
                cos = after @ before / (np.linalg.norm(after) * np.linalg.norm(before))
                scores[i] = 1 - cos
        if progress is not None:
            progress(min(start + batch_size, total), total)
    return scores.reshape(layers, heads)

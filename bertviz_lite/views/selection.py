"""What the head views draw: one attention matrix chosen and filtered the way the person asked.

Shared by the heatmap and the token-link view so both always show the same numbers: a head, a
layer's head average, or rollout; sub-words merged into words or not; [CLS]/[SEP] hidden or not;
one segment-to-segment block of a sentence pair; weak links below a threshold removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis import (
    DIRECTIONS,
    Analysis,
    content_mask,
    drop_special,
    head_average,
    merge_to_words,
    norm_weighted,
    rollout,
    segment_mask,
    threshold,
    unit_labels,
    word_spans,
)
from .base import UserError, ViewState

SOURCES = ("head", "layer average", "rollout")
WEIGHTINGS = ("raw", "norm-weighted")
SEGMENTS = DIRECTIONS


def title(state: ViewState) -> str:
    """What the matrix shows, in words (layer and head counted from 1)."""
    what = {"head": f"layer {state.layer}, head {state.head}",
            "layer average": f"layer {state.layer}, mean of heads",
            "rollout": f"rollout up to layer {state.layer}"}[state.source]  # fmt: skip
    weighted = getattr(state, "weighting", "raw") == "norm-weighted"
    return (what + (", norm-weighted" if weighted else "")
            + ("" if state.segment == "all" else f", {state.segment}"))  # fmt: skip


@dataclass
class Matrix:
    values: np.ndarray  # float32 [rows, cols], rows attend to cols
    rows: list[str]  # labels, raw (views escape them)
    cols: list[str]
    row_segments: list[int]
    col_segments: list[int]


def weighted_attention(r: Analysis, weighting: str, normalise: bool = True) -> np.ndarray:
    """Raw attention probabilities, or norm-weighted ones (rows scaled to 1 when `normalise`;
    rollout takes them unscaled, summing each head's real contribution)."""
    if weighting == "raw":
        return r.attentions
    if getattr(r, "value_norms", None) is None:
        raise UserError("This model's export has no value norms: norm-weighted attention needs "
                        "a newer export.")  # fmt: skip
    return norm_weighted(r.attentions, r.value_norms, normalise)


def select(analysis: Analysis, state: ViewState) -> Matrix:
    """The matrix the state's head settings describe, with its row and column labels."""
    layer, head = state.layer - 1, state.head - 1
    att = weighted_attention(analysis, getattr(state, "weighting", "raw"),
                             normalise=state.source != "rollout")  # fmt: skip
    if state.source == "head":
        m = att[layer, head]
    elif state.source == "layer average":
        m = head_average(att, layer)
    elif state.source == "rollout":
        m = rollout(att[: layer + 1])[-1]
    else:
        raise ValueError(f"unknown source {state.source!r} (choose from {', '.join(SOURCES)})")
    tokens, types = analysis.tokens, np.asarray(analysis.encoding.type_ids)
    word_ids = analysis.word_ids
    if state.words:
        units = word_spans(word_ids, analysis.encoding.sequence_ids)
        m = merge_to_words(m, units)
        tokens = unit_labels(tokens, units, analysis.encoding)  # words as written
        types = types[[u[0] for u in units]]
        word_ids = [word_ids[u[0]] for u in units]
    index = np.arange(len(tokens))
    if not state.special:
        m, kept = drop_special(m, content_mask(word_ids))
        index, types = index[kept], types[kept]
    keep = segment_mask(types, state.segment)
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    m = threshold(m[np.ix_(rows, cols)], state.threshold)
    return Matrix(
        values=np.asarray(m, np.float32),
        rows=[tokens[i] for i in index[rows]],
        cols=[tokens[i] for i in index[cols]],
        row_segments=types[rows].tolist(),
        col_segments=types[cols].tolist(),
    )

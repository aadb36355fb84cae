"""What the head views draw: one attention matrix chosen and filtered the way the person asked.

Shared by the heatmap and the token-link view so both always show the same numbers: a head, a
layer's head average, or rollout; sub-words merged into words or not; [CLS]/[SEP] hidden or not;
one segment-to-segment block of a sentence pair; weak links below a threshold removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis import (
    Analysis,
    content_mask,
    drop_special,
    head_average,
    merge_to_words,
    rollout,
    segment_mask,
    threshold,
    unit_labels,
    word_spans,
)

SOURCES = ("head", "layer average", "rollout")


@dataclass(frozen=True)
class Selection:
    layer: int = 0  # 0-based
    head: int = 0  # 0-based; unused for "layer average" and "rollout"
    source: str = "head"
    words: bool = False
    hide_special: bool = False
    segment: str = "all"
    min_weight: float = 0.0

    def title(self) -> str:
        what = {"head": f"layer {self.layer + 1}, head {self.head + 1}",
                "layer average": f"layer {self.layer + 1}, mean of heads",
                "rollout": f"rollout up to layer {self.layer + 1}"}[self.source]  # fmt: skip
        return what + ("" if self.segment == "all" else f", {self.segment}")


@dataclass
class Matrix:
    values: np.ndarray  # float32 [rows, cols], rows attend to cols
    rows: list[str]  # labels, raw (views escape them)
    cols: list[str]
    row_segments: list[int]
    col_segments: list[int]


def select(analysis: Analysis, sel: Selection) -> Matrix:
    """The matrix `sel` describes, with its row and column labels."""
    att = analysis.attentions
    if sel.source == "head":
        m = att[sel.layer, sel.head]
    elif sel.source == "layer average":
        m = head_average(att, sel.layer)
    elif sel.source == "rollout":
        m = rollout(att[: sel.layer + 1])[-1]
    else:
        raise ValueError(f"unknown source {sel.source!r} (choose from {', '.join(SOURCES)})")
    tokens, types = analysis.tokens, np.asarray(analysis.encoding.type_ids)
    word_ids = analysis.word_ids
    if sel.words:
        units = word_spans(word_ids, analysis.encoding.sequence_ids)
        m = merge_to_words(m, units)
        tokens = unit_labels(tokens, units)
        types = types[[u[0] for u in units]]
        word_ids = [word_ids[u[0]] for u in units]
    index = np.arange(len(tokens))
    if sel.hide_special:
        m, kept = drop_special(m, content_mask(word_ids))
        index, types = index[kept], types[kept]
    keep = segment_mask(types, sel.segment)
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    m = threshold(m[np.ix_(rows, cols)], sel.min_weight)
    return Matrix(
        values=np.asarray(m, np.float32),
        rows=[tokens[i] for i in index[rows]],
        cols=[tokens[i] for i in index[cols]],
        row_segments=types[rows].tolist(),
        col_segments=types[cols].tolist(),
    )

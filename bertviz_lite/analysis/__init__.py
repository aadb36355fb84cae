"""NumPy on the runtime's outputs: the `Analysis` of one input, and what the views draw from it.

result: the Analysis itself; attention: averages, rollout, words, filters; flow: attention flow
(max flow through the layers); vectors: projections and similarity of token vectors. No torch, no plotting library.
"""

from .attention import (
    DIRECTIONS,
    attention_drift,
    content_mask,
    drop_special,
    head_average,
    merge_to_words,
    norm_weighted,
    rollout,
    row_normalise,
    segment_mask,
    threshold,
    unit_labels,
    word_spans,
)
from .flow import MAX_FLOW_TOKENS, attention_flow
from .result import Analysis
from .vectors import cosine_similarity, linear_cka, project_2d

__all__ = [
    "DIRECTIONS", "MAX_FLOW_TOKENS", "Analysis", "attention_drift", "attention_flow", "content_mask", "cosine_similarity", "drop_special",
    "head_average", "linear_cka", "merge_to_words", "norm_weighted", "project_2d", "rollout", "row_normalise", "segment_mask", "threshold",
    "unit_labels", "word_spans",
]  # fmt: skip

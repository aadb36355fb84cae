"""Attention matrices as the views draw them: head averages, rollout, word-level merging,
[CLS]/[SEP] and sentence-pair filters, weak-link thresholds. Pure NumPy on an Analysis's arrays
(attentions [layers, heads, T, T], rows = query tokens summing to 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..tokenizer import SPACE, Encoding

DIRECTIONS = ("all", "A→A", "A→B", "B→A", "B→B")
# ASCII spellings accepted too, so a URL parameter or a CLI flag need not carry "→".
_DIRECTION_ALIASES = {d.replace("→", "->"): d for d in DIRECTIONS if "→" in d}


# --- attention summaries ------------------------------------------------------------------------


def head_average(attentions: np.ndarray, layer: int | None = None) -> np.ndarray:
    """Mean over the heads of `layer` ([T, T]); over every layer and head when layer is None."""
    a = np.asarray(attentions, np.float32)
    if a.ndim != 4:
        raise ValueError(f"attentions must be [layers, heads, T, T], not shape {a.shape}")
    return a.mean(axis=(0, 1)) if layer is None else a[layer].mean(axis=0)


def row_normalise(a: np.ndarray, empty: str = "identity") -> np.ndarray:
    """Rows scaled to sum to 1; an all-zero row becomes the identity row or stays zero.

    All-zero rows appear when every head of a layer is switched off: treating that layer as
    "pass each token through unchanged" (identity) is what the residual connection then does.
    """
    s = a.sum(axis=-1, keepdims=True)
    zero = s <= 0
    out = np.divide(a, s, out=np.zeros_like(a), where=~zero)
    if empty == "identity" and zero.any():
        eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
        out = np.where(zero, eye, out)
    return out


def norm_weighted(
    attentions: np.ndarray, value_norms: np.ndarray, normalise: bool = True
) -> np.ndarray:
    """Norm-based attention (Kobayashi et al. 2020): α_ij · ‖f_h(x_j)‖, [layers, heads, T, T].

    ‖f_h(x_j)‖ (value_norms [layers, heads, T]) is the size of what token j's transformed value
    vector adds to the head's output; weighting the probabilities by it shows how much each token
    really contributes. With `normalise`, each row is scaled to sum to 1 (the share of the row's
    weighted contributions), so it reads on the same scale as raw attention.
    """
    a = np.asarray(attentions, np.float32) * np.asarray(value_norms, np.float32)[:, :, None, :]
    return row_normalise(a, empty="zero") if normalise else a


def rollout(attentions: np.ndarray, add_residual: bool = True) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): [layers, T, T], cumulative up to each layer.

    Per layer A = mean over heads, rows renormalised (so heads switched off by a head mask do not
    shrink the layer's weight, and a layer with every head off passes tokens through unchanged);
    with `add_residual`, A = 0.5·A + 0.5·I. Then R_l = A_l · R_{l-1}; R[-1] is the usual rollout.
    Row r of R_l says how much each input token flows into token r at layer l.
    """
    a = np.asarray(attentions, np.float64)
    if a.ndim != 4:
        raise ValueError(f"attentions must be [layers, heads, T, T], not shape {a.shape}")
    layers, _, t, _ = a.shape
    per_layer = row_normalise(np.nan_to_num(a).mean(axis=1))
    if add_residual:
        per_layer = row_normalise(0.5 * per_layer + 0.5 * np.eye(t))
    out = np.empty((layers, t, t), np.float64)
    acc = np.eye(t)
    for i in range(layers):
        acc = per_layer[i] @ acc
        out[i] = acc
    return out.astype(np.float32)


# --- words instead of sub-word tokens ----------------------------------------------------------


def word_spans(
    word_ids: Sequence[int | None], sequence_ids: Sequence[int | None] | None = None
) -> list[list[int]]:
    """Token indices of each display unit, in order.

    Consecutive tokens of one word (same word id, same sentence) form one unit; every special
    token ([CLS], [SEP], <s>, </s>: word id None) is a unit of its own. The word ids are the
    tokenizer's own, so WordPiece (##), byte-level BPE (Ġ) and SentencePiece (▁) merge alike.
    """
    seqs = list(sequence_ids) if sequence_ids is not None else [None] * len(word_ids)
    if len(seqs) != len(word_ids):
        raise ValueError("word_ids and sequence_ids must have the same length")
    units: list[list[int]] = []
    prev: tuple | None = None
    for t, (w, s) in enumerate(zip(word_ids, seqs)):
        key = None if w is None else (s, w)
        if key is not None and key == prev:
            units[-1].append(t)
        else:
            units.append([t])
        prev = key
    return units


def _merge_operators(units: Sequence[Sequence[int]], t: int) -> tuple[np.ndarray, np.ndarray]:
    """(row_mean [W, T], col_sum [T, W]) such that merged = row_mean @ M @ col_sum."""
    row_mean = np.zeros((len(units), t), np.float64)
    col_sum = np.zeros((t, len(units)), np.float64)
    for w, unit in enumerate(units):
        row_mean[w, unit] = 1.0 / len(unit)
        col_sum[unit, w] = 1.0
    if int(col_sum.sum()) != t or (col_sum.sum(axis=1) != 1).any():
        raise ValueError(f"units must cover each of the {t} tokens exactly once")
    return row_mean, col_sum


def merge_to_words(matrix: np.ndarray, units: Sequence[Sequence[int]]) -> np.ndarray:
    """Token-to-token attention [..., T, T] as unit-to-unit attention [..., W, W].

    Attention FROM a word is the mean of its sub-tokens' rows; attention TO a word is the sum over
    its sub-tokens' columns (Clark et al. 2019, "What does BERT look at?"), so rows still sum to 1.
    Works on [T, T], [heads, T, T] and [layers, heads, T, T].
    """
    m = np.asarray(matrix)
    t = m.shape[-1]
    if m.ndim < 2 or m.shape[-2] != t:
        raise ValueError(f"matrix must be [..., T, T], not shape {m.shape}")
    row_mean, col_sum = _merge_operators(units, t)
    return (row_mean @ m.astype(np.float64) @ col_sum).astype(np.float32)


def unit_labels(
    tokens: Sequence[str], units: Sequence[Sequence[int]], encoding: Encoding | None = None
) -> list[str]:
    """One label per unit.

    With the `encoding` (Analysis.encoding), a word is the text it covers, as written ("Paris",
    "tokenization,"): its tokens' offsets into its sentence. Without it, or for special tokens,
    the readable pieces (Analysis.tokens) joined: ["token", "##ization"] → "tokenization".
    """
    labels = []
    for unit in units:
        label = _written(encoding, unit) if encoding is not None else None
        if label is None:
            pieces = [tokens[i] for i in unit]
            if len(pieces) > 1:  # a lone word-boundary piece (␣) says nothing about the word
                pieces = [p for p in pieces if p != SPACE] or pieces
            label = pieces[0] + "".join(p.removeprefix("##") for p in pieces[1:])
        labels.append(label)
    return labels


def _written(encoding: Encoding, unit: Sequence[int]) -> str | None:
    """The text a unit's tokens cover in their sentence, or None (special tokens, no offsets)."""
    sequence = encoding.sequence_ids[unit[0]]
    if sequence is None or encoding.word_ids[unit[0]] is None:
        return None
    spans = [encoding.offsets[i] for i in unit if encoding.offsets[i][1] > encoding.offsets[i][0]]
    if not spans:
        return None
    text = encoding.sentence(sequence)[min(a for a, _ in spans) : max(b for _, b in spans)]
    return text.strip() or None


# --- filters -----------------------------------------------------------------------------------


def content_mask(word_ids: Sequence[int | None]) -> np.ndarray:
    """bool [T]: True for text tokens, False for the special tokens the tokenizer adds ([CLS],
    [SEP], <s>, </s>: word id None)."""
    return np.array([w is not None for w in word_ids], bool)


def drop_special(
    matrix: np.ndarray, keep_mask: Sequence[bool] | np.ndarray, renormalise: bool = True
) -> tuple[np.ndarray, list[int]]:
    """Keep only the rows and columns in `keep_mask` (bool [T]); returns (matrix, kept indices).

    With `renormalise`, each kept row is rescaled to sum to 1 again. This is for display only:
    it hides how much attention went to [CLS]/[SEP] (often most of it) so the rest is readable,
    and the numbers are then no longer the model's. A row left with no weight stays all zero.
    """
    m = np.asarray(matrix)
    keep = np.asarray(keep_mask, bool)
    if keep.shape != (m.shape[-1],):
        raise ValueError(f"keep_mask must be bool [{m.shape[-1]}], not shape {keep.shape}")
    kept = np.flatnonzero(keep)
    out = m[..., kept[:, None], kept].astype(np.float32)
    if renormalise:
        out = row_normalise(out, empty="zero")
    return out, kept.tolist()


def segment_mask(type_ids: Sequence[int] | np.ndarray, direction: str = "all") -> np.ndarray:
    """bool [T, T] keeping attention from one segment to another (rows = from, cols = to).

    direction: "all", "A→A", "A→B", "B→A" or "B→B" (ASCII "A->B" also accepted). A is segment 0,
    B segment 1; [CLS] and [SEP] belong to the segment whose type id they carry.
    """
    types = np.asarray(type_ids)
    d = _DIRECTION_ALIASES.get(direction, direction)
    if d not in DIRECTIONS:
        raise ValueError(
            f"unknown direction {direction!r}: choose from {', '.join(map(repr, DIRECTIONS))}"
        )
    if d == "all":
        return np.ones((len(types), len(types)), bool)
    src, dst = ({"A": 0, "B": 1}[c] for c in d.split("→"))
    return (types == src)[:, None] & (types == dst)[None, :]


def threshold(matrix: np.ndarray, min_weight: float) -> np.ndarray:
    """A copy with every weight below `min_weight` set to 0 (the link view's "hide weak links")."""
    m = np.asarray(matrix)
    return np.where(m >= min_weight, m, 0).astype(m.dtype)


def attention_drift(a, b, over: float = 0.05) -> dict:
    """How far the attention of analysis `a` lies from `b`'s (same input): the largest |Δ| of any
    probability, the mean |Δ|, and how many heads move somewhere by more than `over`."""
    delta = np.abs(np.asarray(a.attentions, np.float64) - np.asarray(b.attentions, np.float64))
    per_head = delta.max(axis=(2, 3))
    return {"max": float(delta.max()), "mean": float(delta.mean()),
            "heads_over": int((per_head > over).sum()), "heads": int(per_head.size)}  # fmt: skip

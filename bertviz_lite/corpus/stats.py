"""Per-head statistics of attention over a corpus (Clark et al. 2019, "What Does BERT Look At?"),
reduced where the maps are made: sums and counts per head, never a map kept.

Each statistic is a mean over every query token of every text (special tokens included,
token-weighted): to_cls / to_sep, the mass on the [CLS] / [SEP] positions (the family's first
special token, and the others); to_self A[i,i]; to_prev A[i,i-1] and to_next A[i,i+1] (0 where
there is none); to_punct, the mass on tokens that are punctuation only; entropy −Σ A log A in
nats. Two measures: "attention", the probabilities; "norm", Kobayashi et al.'s α·‖f(x)‖ with rows
renormalised.

Dependency accuracy (Clark et al. §4.2): for each dependent word, the word its row of word-level
attention (sub-words merged, analysis.merge_to_words) weighs most, leaving out itself and the
special tokens, is its predicted head; a head's accuracy for a relation is the share of that
relation's dependents whose prediction is right. The baseline predicts the head at a fixed
offset (the best one per relation, from −OFFSETS to +OFFSETS words).
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..analysis import merge_to_words, norm_weighted

STATS = ("to_cls", "to_sep", "to_self", "to_prev", "to_next", "to_punct", "entropy")
MEASURES = ("attention", "norm")
OFFSETS = 5  # the baseline's fixed offsets run from -OFFSETS to +OFFSETS words


def is_punctuation(token: str) -> bool:
    """True for a token made of punctuation characters only (after a ## continuation mark)."""
    text = token.removeprefix("##")
    return bool(text) and all(unicodedata.category(c).startswith("P") for c in text)


def measures(attentions: np.ndarray, value_norms: np.ndarray) -> np.ndarray:
    """[measure, layers, heads, T, T]: the attention maps and their norm-based counterpart."""
    return np.stack([attentions, norm_weighted(attentions, value_norms, normalise=True)])


def text_sums(maps: np.ndarray, first: int | None, seps: np.ndarray, punct: np.ndarray) -> np.ndarray:
    """float64 [stat, ...]: each statistic summed over the query tokens (rows) of maps
    [..., T, T]: the column masses of [CLS] (position `first`), of the [SEP] positions `seps`
    and of punctuation (bool [T] `punct`); the diagonals; the rows' entropies."""
    columns = maps.sum(-2, dtype=np.float64)  # [..., T]: all the mass each token receives
    return np.stack([
        columns[..., first] if first is not None else np.zeros(maps.shape[:-2]),
        columns[..., seps].sum(-1),
        *(np.trace(maps, offset, axis1=-2, axis2=-1, dtype=np.float64) for offset in (0, -1, 1)),
        columns[..., punct].sum(-1), -entropy_terms(maps).sum((-2, -1), dtype=np.float64),
    ])  # fmt: skip


def entropy_terms(p: np.ndarray) -> np.ndarray:
    """p·log p, 0 where p is 0 (scipy's xlogy, 3× faster: p·log max(p, 1e-30) is p·log p for
    every p > 0 a float32 holds above 1e-30, and 0 for p = 0)."""
    return p * np.log(np.maximum(p, np.float32(1e-30)))


def head_predictions(words: np.ndarray, dependents: np.ndarray, special: np.ndarray) -> np.ndarray:
    """[..., dependents]: for each dependent unit, the unit its row of word-level attention
    words [..., U, U] weighs most, itself and the special units left out."""
    rows = words[..., dependents, :].astype(np.float64)
    rows[..., special] = -np.inf
    rows[..., np.arange(len(dependents)), dependents] = -np.inf
    return rows.argmax(-1)


@dataclass
class Totals:
    """What a set of texts adds to the corpus's statistics; totals of disjoint sets add up."""

    layers: int
    heads: int
    tokens: int = 0
    sums: np.ndarray = field(default=None)  # float64 [measure, stat, layers, heads]
    dependents: dict[str, int] = field(default_factory=dict)  # relation -> how many
    correct: dict[str, np.ndarray] = field(default_factory=dict)  # -> int64 [measure, L, H]
    at_offset: dict[str, np.ndarray] = field(default_factory=dict)  # -> int64 [2·OFFSETS + 1]

    def __post_init__(self):
        if self.sums is None:
            self.sums = np.zeros((len(MEASURES), len(STATS), self.layers, self.heads))

    def add_text(self, attentions: np.ndarray, value_norms: np.ndarray, tokens: Sequence[str],
                 word_ids: Sequence[int | None], units: Sequence[Sequence[int]],
                 arcs: Sequence[tuple[int, int, str]] = ()) -> np.ndarray:  # fmt: skip
        """Add one text (its analysis's arrays); returns its own means, float32 [measure, stat,
        layers, heads], for the corpus's per-text table."""
        special = [i for i, w in enumerate(word_ids) if w is None]
        first, seps = (special[0], np.array(special[1:], int)) if special else (None, np.array([], int))
        punct = np.array([w is not None and is_punctuation(t) for t, w in zip(tokens, word_ids)])
        maps = measures(attentions, value_norms)
        sums = text_sums(maps, first, seps, punct).transpose(1, 0, 2, 3)  # [measure, stat, L, H]
        self.sums += sums
        self.tokens += len(tokens)
        if arcs:
            special_units = np.array([word_ids[unit[0]] is None for unit in units])
            self._add_arcs(maps, units, special_units, arcs)
        return (sums / len(tokens)).astype(np.float32)

    def _add_arcs(self, maps: np.ndarray, units, special_units: np.ndarray, arcs) -> None:
        words = merge_to_words(maps, units)  # [measure, L, H, U, U]
        dependents = np.array([d for d, _, _ in arcs])
        heads = np.array([h for _, h, _ in arcs])
        right = head_predictions(words, dependents, special_units) == heads  # [M, L, H, arcs]
        order = np.cumsum(~special_units) - 1  # a unit's place among the words
        for k, (d, h, relation) in enumerate(arcs):
            if relation not in self.dependents:
                self.dependents[relation] = 0
                self.correct[relation] = np.zeros((len(MEASURES), self.layers, self.heads), np.int64)
                self.at_offset[relation] = np.zeros(2 * OFFSETS + 1, np.int64)
            self.dependents[relation] += 1
            self.correct[relation] += right[..., k]
            offset = int(order[h] - order[d])
            if abs(offset) <= OFFSETS:
                self.at_offset[relation][offset + OFFSETS] += 1

    def add(self, other: Totals) -> None:
        self.tokens += other.tokens
        self.sums += other.sums
        for relation, n in other.dependents.items():
            if relation not in self.dependents:
                self.dependents[relation] = 0
                self.correct[relation] = np.zeros_like(other.correct[relation])
                self.at_offset[relation] = np.zeros_like(other.at_offset[relation])
            self.dependents[relation] += n
            self.correct[relation] += other.correct[relation]
            self.at_offset[relation] += other.at_offset[relation]

    def to_bytes(self) -> bytes:
        relations = sorted(self.dependents)
        out = io.BytesIO()
        np.savez(out, shape=np.array([self.layers, self.heads, self.tokens]), sums=self.sums,
                 relations=np.array(relations, dtype=str),
                 dependents=np.array([self.dependents[r] for r in relations], np.int64),
                 correct=np.array([self.correct[r] for r in relations], np.int64).reshape(
                     len(relations), len(MEASURES), self.layers, self.heads),
                 at_offset=np.array([self.at_offset[r] for r in relations], np.int64).reshape(
                     len(relations), 2 * OFFSETS + 1))  # fmt: skip
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Totals:
        z = np.load(io.BytesIO(data))
        layers, heads, tokens = (int(v) for v in z["shape"])
        relations = [str(r) for r in z["relations"]]
        return cls(layers, heads, tokens, z["sums"],
                   dict(zip(relations, (int(n) for n in z["dependents"]))),
                   dict(zip(relations, z["correct"])), dict(zip(relations, z["at_offset"])))  # fmt: skip

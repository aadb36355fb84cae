"""The masked-LM corruption rule of Devlin et al. (2019), and the single-mask probes it is read by.

`mask_batch` corrupts a right-padded batch of token ids for training:

* Each token is *chosen* with probability `prob` (0.15), independently; [CLS], [SEP], [PAD] (any
  id in `Vocab.special`) are never chosen.
* A chosen token becomes [MASK] with probability 0.8, a random token with probability 0.1 (drawn
  uniformly from `Vocab.random_ids`: the vocabulary without special and [unused*] tokens), and
  stays as it is with probability 0.1.
* The loss is taken at the chosen positions only: `labels` holds the original id there and
  `IGNORE` (-100) everywhere else.
* Whole-word masking (`whole_word=True`): the unit is the word, a token and the "##" pieces that
  follow it. Each word is chosen with probability `prob` (so 15% of tokens in expectation, as
  before), and every piece of a chosen word gets the same one of the three treatments: a word is
  never half masked, so its other pieces cannot give it away.

All draws come from the NumPy `Generator` the caller passes, so a batch's corruption is fixed by
its seed (training derives one per epoch and batch: resuming redraws exactly the same masks).

`single_mask_probes` builds the evaluation items: one [MASK] per input, at random positions other
than [CLS]/[SEP], the rest of the text intact.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

IGNORE = -100  # label of every position the loss does not read
PROB = 0.15  # chance that a token (a word, under whole-word masking) is chosen
MASK_SHARE, RANDOM_SHARE = 0.8, 0.1  # of the chosen: [MASK], a random token; the rest kept
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_UNUSED = re.compile(r"^\[unused\d+\]$")


@dataclass(frozen=True)
class Vocab:
    """What the rule needs to know of a vocabulary."""

    mask_id: int
    special: np.ndarray  # ids never chosen: [PAD], [CLS], [SEP] (and [UNK], [MASK] themselves)
    random_ids: np.ndarray  # ids a random replacement is drawn from
    continuation: np.ndarray  # bool per id: a "##" piece that continues the word before it

    @classmethod
    def from_tokens(cls, tokens: list[str]) -> Vocab:
        """From the vocabulary's tokens, indexed by id."""
        special = [i for i, t in enumerate(tokens) if t in SPECIAL_TOKENS]
        random_ids = [
            i for i, t in enumerate(tokens) if t not in SPECIAL_TOKENS and not _UNUSED.match(t)
        ]
        return cls(
            mask_id=tokens.index("[MASK]"),
            special=np.array(special, np.int64),
            random_ids=np.array(random_ids, np.int64),
            continuation=np.array([t.startswith("##") for t in tokens], bool),
        )

    @classmethod
    def from_backend(cls, backend) -> Vocab:
        """From a `tokenizers.Tokenizer` (our `Tokenizer.backend`)."""
        size = backend.get_vocab_size(with_added_tokens=True)
        return cls.from_tokens([backend.id_to_token(i) or "" for i in range(size)])


class Masked(NamedTuple):
    input_ids: np.ndarray  # [B, T] the corrupted ids the model reads
    labels: np.ndarray  # [B, T] the original id at chosen positions, IGNORE elsewhere
    treatment: np.ndarray  # [B, T] 0 not chosen, 1 [MASK], 2 random token, 3 kept


def choosable(ids: np.ndarray, attention_mask: np.ndarray, vocab: Vocab) -> np.ndarray:
    """Positions that may be chosen: real (unpadded) tokens that are not special."""
    return attention_mask.astype(bool) & ~np.isin(ids, vocab.special)


def word_index(ids: np.ndarray, can: np.ndarray, vocab: Vocab) -> np.ndarray:
    """[B, T] a running word number over the whole batch: a "##" piece shares the number of the
    token before it; any other token, every position that cannot be chosen and the token after
    one (a window cut inside a word) starts a word."""
    start = ~vocab.continuation[ids] | ~can
    start[:, 1:] |= ~can[:, :-1]
    start[:, 0] = True  # a row never continues the row before it
    return np.cumsum(start.ravel()).reshape(ids.shape) - 1


def mask_batch(
    ids: np.ndarray,
    attention_mask: np.ndarray,
    vocab: Vocab,
    rng: np.random.Generator,
    prob: float = PROB,
    whole_word: bool = False,
) -> Masked:
    """Corrupt a right-padded batch of ids by the rule above; `ids` is left untouched."""
    can = choosable(ids, attention_mask, vocab)
    if whole_word:
        unit = word_index(ids, can, vocab)
        n = int(unit.max()) + 1
        pick, how = rng.random(n)[unit], rng.random(n)[unit]  # one draw per word, shared
    else:
        pick, how = rng.random(ids.shape), rng.random(ids.shape)
    chosen = can & (pick < prob)
    treatment = np.where(
        chosen,
        np.where(how < MASK_SHARE, 1, np.where(how < MASK_SHARE + RANDOM_SHARE, 2, 3)),
        0,
    )
    inputs = ids.copy()
    inputs[treatment == 1] = vocab.mask_id
    n_random = int((treatment == 2).sum())
    inputs[treatment == 2] = vocab.random_ids[rng.integers(0, len(vocab.random_ids), n_random)]
    labels = np.where(chosen, ids, IGNORE)
    return Masked(inputs, labels, treatment)


class Probe(NamedTuple):
    """One evaluation input: `ids` with position `position` replaced by [MASK]; `answer` is the
    id that stood there. `source` says which text it comes from (for per-source figures)."""

    ids: list[int]
    position: int
    answer: int
    source: str


def probe_count(content_tokens: int, per: int) -> int:
    """Probes drawn from a window of `content_tokens` tokens: one per `per` tokens, at least one."""
    return max(1, math.ceil(content_tokens / per))


def single_mask_probes(
    windows: list[tuple[list[int], str]], vocab: Vocab, seed: int, per: int = 32
) -> list[Probe]:
    """For each window (ids with [CLS]/[SEP], and its source), `probe_count` distinct random
    positions other than [CLS]/[SEP], each its own input with only that position masked.

    The positions come from one Generator seeded by `seed`, in window order: the same windows
    give the same probes.
    """
    rng = np.random.default_rng(seed)
    out = []
    for ids, source in windows:
        arr = np.asarray(ids)
        candidates = np.flatnonzero(~np.isin(arr, vocab.special))
        if len(candidates) == 0:
            continue
        k = min(len(candidates), probe_count(len(candidates), per))
        for t in sorted(rng.choice(candidates, size=k, replace=False).tolist()):
            masked = list(ids)
            masked[t] = vocab.mask_id
            out.append(Probe(masked, t, int(ids[t]), source))
    return out

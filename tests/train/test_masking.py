"""Tests of the masked-LM corruption rule (`train.masking`): the proportions of Devlin et al.
(2019) on a large sample, within binomial tolerances; special tokens never chosen; whole-word
masking treats every piece of a chosen word alike; the single-mask probes of the test figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bertviz_lite.train.masking import (
    IGNORE,
    MASK_SHARE,
    PROB,
    RANDOM_SHARE,
    Vocab,
    mask_batch,
    probe_count,
    single_mask_probes,
    word_index,
)

TOKENS = ["[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TOKENS += [f"w{i}" for i in range(200)] + [f"##p{i}" for i in range(100)]
VOCAB = Vocab.from_tokens(TOKENS)
PAD, CLS, SEP = 0, TOKENS.index("[CLS]"), TOKENS.index("[SEP]")
WORDS = np.arange(TOKENS.index("w0"), TOKENS.index("w0") + 200)
PIECES = np.arange(TOKENS.index("##p0"), len(TOKENS))


def batch(rows: int = 4000, width: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """[CLS] words and "##" pieces [SEP], then padding: rows of random lengths; a piece follows
    a word or a piece (never [CLS]), as WordPiece writes them."""
    rng = np.random.default_rng(seed)
    ids = np.full((rows, width), PAD, np.int64)
    mask = np.zeros((rows, width), np.int64)
    for r in range(rows):
        n = int(rng.integers(4, width + 1))
        body = np.where(
            rng.random(n - 2) < 0.3, rng.choice(PIECES, n - 2), rng.choice(WORDS, n - 2)
        )
        body[0] = rng.choice(WORDS)
        ids[r, :n] = [CLS, *body, SEP]
        mask[r, :n] = 1
    return ids, mask


def within(count: int, n: int, p: float, sigmas: float = 4.5) -> bool:
    """`count` of `n` Bernoulli(p) draws is within `sigmas` binomial standard deviations."""
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def test_vocab():
    assert VOCAB.mask_id == TOKENS.index("[MASK]")
    assert set(VOCAB.special.tolist()) == {TOKENS.index(t) for t in
                                           ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")}  # fmt: skip
    random_tokens = {TOKENS[i] for i in VOCAB.random_ids}
    assert not any(t.startswith("[") for t in random_tokens)  # no special, no [unused]
    assert len(random_tokens) == 300
    assert VOCAB.continuation.sum() == 100


def test_proportions_on_a_large_sample():
    ids, att = batch()
    m = mask_batch(ids, att, VOCAB, np.random.default_rng(1))
    can = att.astype(bool) & ~np.isin(ids, [CLS, SEP, PAD])
    chosen = m.treatment > 0
    n, k = int(can.sum()), int(chosen.sum())
    assert n > 100_000
    assert within(k, n, PROB), k / n  # 15% of the tokens
    # Of the chosen: 80% [MASK], 10% a random token, 10% kept.
    assert within(int((m.treatment == 1).sum()), k, MASK_SHARE)
    assert within(int((m.treatment == 2).sum()), k, RANDOM_SHARE)
    assert within(int((m.treatment == 3).sum()), k, 1 - MASK_SHARE - RANDOM_SHARE)
    # [CLS], [SEP] and padding are never chosen.
    assert not chosen[~can].any()
    # What the model reads and what the loss reads.
    assert (m.input_ids[m.treatment == 1] == VOCAB.mask_id).all()
    assert np.isin(m.input_ids[m.treatment == 2], VOCAB.random_ids).all()
    assert (m.input_ids[m.treatment == 3] == ids[m.treatment == 3]).all()
    assert (m.input_ids[~chosen] == ids[~chosen]).all()
    assert (m.labels[chosen] == ids[chosen]).all()
    assert (m.labels[~chosen] == IGNORE).all()
    # A random replacement is drawn uniformly from the allowed ids: 200 of them words, 100 pieces.
    drawn = m.input_ids[m.treatment == 2]
    assert within(int(np.isin(drawn, WORDS).sum()), len(drawn), 200 / 300)
    assert len(set(drawn.tolist())) > 0.95 * 300
    # Nothing at all is chosen with prob 0; everything choosable with prob 1.
    none = mask_batch(ids, att, VOCAB, np.random.default_rng(2), prob=0.0)
    assert (none.labels == IGNORE).all() and (none.input_ids == ids).all()
    every = mask_batch(ids, att, VOCAB, np.random.default_rng(2), prob=1.0)
    assert ((every.labels != IGNORE) == can).all()


def test_same_seed_same_masks_and_ids_untouched():
    ids, att = batch(rows=50)
    before = ids.copy()
    a = mask_batch(ids, att, VOCAB, np.random.default_rng(7))
    b = mask_batch(ids, att, VOCAB, np.random.default_rng(7))
    c = mask_batch(ids, att, VOCAB, np.random.default_rng(8))
    assert (a.input_ids == b.input_ids).all() and (a.labels == b.labels).all()
    assert (a.labels != c.labels).any()
    assert (ids == before).all()


def test_word_index():
    w, p = WORDS[0], PIECES[0]
    ids = np.array([[CLS, w, p, p, w, w, p, SEP, PAD], [CLS, p, w, SEP, PAD, PAD, PAD, PAD, PAD]])
    att = (ids != PAD).astype(np.int64)
    can = att.astype(bool) & ~np.isin(ids, VOCAB.special)
    got = word_index(ids, can, VOCAB)
    # A piece right after [CLS] (a window cut inside a word) starts a word of its own.
    assert got.tolist() == [[0, 1, 1, 1, 2, 3, 3, 4, 5], [6, 7, 8, 9, 10, 11, 12, 13, 14]]


def test_whole_word_masking_masks_every_piece_of_a_chosen_word():
    ids, att = batch()
    m = mask_batch(ids, att, VOCAB, np.random.default_rng(3), whole_word=True)
    can = att.astype(bool) & ~np.isin(ids, VOCAB.special)
    words = word_index(ids, can, VOCAB)
    # Every piece of a word gets the same treatment (not chosen, [MASK], random or kept).
    first = {}
    for w, t, c in zip(words.ravel(), m.treatment.ravel(), can.ravel()):
        if c:
            assert first.setdefault(w, t) == t
    chosen_words = [t for t in first.values() if t > 0]
    assert within(len(chosen_words), len(first), PROB)  # 15% of the words
    assert within(sum(t == 1 for t in chosen_words), len(chosen_words), MASK_SHARE)
    assert within(sum(t == 2 for t in chosen_words), len(chosen_words), RANDOM_SHARE)
    # Tokens: 15% in expectation, with the spread of whole words (up to 10 pieces here).
    n, k = int(can.sum()), int((m.treatment > 0).sum())
    assert abs(k / n - PROB) < 0.005
    assert not (m.treatment > 0)[~can].any()
    assert (m.input_ids[m.treatment == 1] == VOCAB.mask_id).all()
    # Multi-piece words were chosen, and masked whole.
    multi = [w for w in set(words[m.treatment == 1].tolist()) if (words == w).sum() > 1]
    assert multi
    for w in multi[:200]:
        assert (m.input_ids[words == w] == VOCAB.mask_id).all()


def test_single_mask_probes():
    ids, _ = batch(rows=300)
    windows = [([int(i) for i in row if i != PAD], "s") for row in ids]
    probes = single_mask_probes(windows, VOCAB, seed=5, per=16)
    assert probes == single_mask_probes(windows, VOCAB, seed=5, per=16)
    expected = sum(probe_count(len(w) - 2, 16) for w, _ in windows)
    assert len(probes) == expected
    by_window: dict[tuple, list[int]] = {}
    for p in probes:
        assert sum(t == VOCAB.mask_id for t in p.ids) == 1  # one mask per input
        assert p.ids[p.position] == VOCAB.mask_id
        assert p.ids[0] == CLS and p.ids[-1] == SEP and 0 < p.position < len(p.ids) - 1
        original = list(p.ids)
        original[p.position] = p.answer
        by_window.setdefault(tuple(original), []).append(p.position)
    for positions in by_window.values():
        assert len(set(positions)) == len(positions)  # distinct positions per window
    assert probe_count(1, 32) == 1 and probe_count(32, 32) == 1 and probe_count(33, 32) == 2


@pytest.mark.parametrize("whole_word", [False, True])
def test_real_vocabulary(base, whole_word):
    from bertviz_lite.tokenizer import Tokenizer

    tok = Tokenizer.from_dir(base)
    vocab = Vocab.from_backend(tok.backend)
    assert vocab.mask_id == tok.token_id("[MASK]") == 103
    enc = tok.encode("Tokenization of unbelievably long words: antidisestablishmentarianism.")
    ids = np.array([enc.ids] * 2000)
    m = mask_batch(ids, np.ones_like(ids), vocab, np.random.default_rng(0), whole_word=whole_word)
    assert not (m.treatment[:, [0, -1]] > 0).any()  # [CLS], [SEP]
    assert abs((m.treatment[:, 1:-1] > 0).mean() - PROB) < 0.01
    assert not np.isin(m.input_ids[m.treatment == 2], vocab.special).any()

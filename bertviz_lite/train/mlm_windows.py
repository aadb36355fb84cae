"""Masked-LM pre-training's text: documents cut into windows at word boundaries, and batches of
windows of similar length up to a token budget."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..tokenizer import Tokenizer


class Window(NamedTuple):
    ids: list[int]  # [CLS] ... [SEP]
    source: str


def windows(items: Sequence[dict], tok: Tokenizer, max_length: int) -> list[Window]:
    """Each text cut into windows of at most `max_length` tokens, at word boundaries (a word
    longer than a window is cut)."""
    backend = tok.backend
    cls_id, sep_id = tok.token_id("[CLS]"), tok.token_id("[SEP]")
    room = max_length - 2
    out = []
    encs = backend.encode_batch([it["text"] for it in items], add_special_tokens=False)
    for it, enc in zip(items, encs):
        ids, words = enc.ids, enc.word_ids
        start = 0
        while start < len(ids):
            end = min(start + room, len(ids))
            if end < len(ids) and words[end] is not None and words[end] == words[end - 1]:
                cut = end
                while cut > start and words[cut] == words[cut - 1]:
                    cut -= 1
                end = cut if cut > start else end
            out.append(Window([cls_id, *ids[start:end], sep_id], it["source"]))
            start = end
    return out


def token_batches(
    lengths: Sequence[int], max_tokens: int, rng: np.random.Generator | None
) -> list[list[int]]:
    """Index batches of similar lengths, each at most `max_tokens` once padded. With `rng`:
    shuffled, sorted by length within chunks of ~50 batches, and the batches shuffled; without:
    sorted by length (evaluation)."""
    if len(lengths) == 0:
        return []
    order = np.arange(len(lengths))
    chunk = len(order)
    if rng is not None:
        rng.shuffle(order)
        chunk = max(1, 50 * max_tokens // max(1, round(float(np.mean(lengths)))))
    out: list[list[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk].tolist(), key=lambda i: lengths[i])
        batch: list[int] = []
        for i in part:
            if batch and (len(batch) + 1) * max(lengths[i], lengths[batch[-1]]) > max_tokens:
                out.append(batch)
                batch = []
            batch.append(i)
        if batch:
            out.append(batch)
    if rng is not None:
        perm = rng.permutation(len(out))
        out = [out[i] for i in perm]
    return out


def pad(rows: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded ids and attention mask, int64."""
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, np.int64)
    mask = np.zeros((len(rows), width), np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return ids, mask


def batch_rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, *keys])

"""Task data as model inputs: each item's token ids and labels (NER labels only the first
sub-token of each word, the others -100, ignored by the loss), batches of similar lengths, and
right-padded arrays. No torch: evaluation and training share it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..tokenizer import Tokenizer, case_id, token_cases
from . import data

IGNORE = -100  # label of sub-tokens after a word's first, and of [CLS]/[SEP]
BUCKET_BATCHES = 50  # batches per length bucket: sorted inside, shuffled across


@dataclass
class Example:
    """One encoded item. `labels` is an int (classification) or one per token (NER)."""

    ids: list[int]
    labels: int | list[int]
    case_ids: list[int] = field(default_factory=list)  # letter case of each token (CASES)
    word_index: list[int | None] = field(default_factory=list)  # NER: token → word, first only
    n_words: int = 0
    gold: list[str] = field(default_factory=list)  # NER: gold tag names, one per word




def tokenizer(base_dir: Path, max_length: int) -> Tokenizer:
    return Tokenizer.from_dir(base_dir, max_length)


def encode(task: str, items: Sequence[dict], tok: Tokenizer) -> list[Example]:
    """Token ids (truncated to the tokenizer's max_length) and labels of every item."""
    backend = tok.backend
    backend.enable_truncation(tok.max_length)
    try:
        if task == "ner":
            names = data.label_names("ner")
            encs = backend.encode_batch([it["words"] for it in items], is_pretokenized=True)
            out = []
            for it, enc in zip(items, encs):
                labels, first, cases = [], [], []
                prev = None
                for w, (a, b) in zip(enc.word_ids, enc.offsets):
                    is_first = w is not None and w != prev
                    labels.append(it["tags"][w] if is_first else IGNORE)
                    first.append(w if is_first else None)
                    # Offsets of pre-split words count from the start of their own word.
                    cases.append(0 if w is None else case_id(it["words"][w][a:b]))
                    prev = w
                gold = [names[t] for t in it["tags"]]
                out.append(Example(enc.ids, labels, cases, first, len(it["words"]), gold))
            return out
        encs = backend.encode_batch([it["text"] for it in items])
        return [
            Example(
                enc.ids, it["label"], token_cases((it["text"], None), enc.sequence_ids, enc.offsets)
            )
            for it, enc in zip(items, encs)
        ]
    finally:
        backend.no_truncation()


def batches(examples: Sequence[Example], size: int, rng: random.Random | None) -> list[list[int]]:
    """Index batches of similar lengths. With `rng`: shuffled, then sorted within buckets of
    BUCKET_BATCHES batches, and the batches shuffled; without: sorted by length (evaluation)."""
    order = list(range(len(examples)))
    if rng is None:
        order.sort(key=lambda i: len(examples[i].ids))
        return [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(order)
    out = []
    chunk = size * BUCKET_BATCHES
    for start in range(0, len(order), chunk):
        bucket = sorted(order[start : start + chunk], key=lambda i: len(examples[i].ids))
        out.extend(bucket[i : i + size] for i in range(0, len(bucket), size))
    rng.shuffle(out)
    return out


def collate(examples: Sequence[Example], pad_id: int = 0) -> dict[str, np.ndarray]:
    """Right-padded int64 arrays, padded to the longest example of the batch."""
    width = max(len(e.ids) for e in examples)
    ids = np.full((len(examples), width), pad_id, np.int64)
    mask = np.zeros((len(examples), width), np.int64)
    cases = np.zeros((len(examples), width), np.int64)
    for row, e in enumerate(examples):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
        cases[row, : len(e.case_ids)] = e.case_ids
    arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids),
              "case_ids": cases}  # fmt: skip
    if isinstance(examples[0].labels, int):
        arrays["labels"] = np.array([e.labels for e in examples], np.int64)
    else:
        labels = np.full((len(examples), width), IGNORE, np.int64)
        for row, e in enumerate(examples):
            labels[row, : len(e.labels)] = e.labels
        arrays["labels"] = labels
    return arrays

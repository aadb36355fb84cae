"""Text (or a sentence pair) to token ids with `tokenizers`, keeping what the views need.

Besides ids and segment ids, an Encoding keeps each token's character span and the word it
belongs to (numbered across both sentences of a pair), so views can merge sub-words into words
and point back into the text. Input longer than the model's positions is truncated, and the
Encoding says so and by how much: truncation is never silent.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer as HFTokenizer
from tokenizers.implementations import BertWordPieceTokenizer

# The letter case of a token's text, which an uncased vocabulary folds away; models trained with
# case embeddings (config.case_vocab_size) read it as one more input, `case_ids`.
CASES = ("none", "lower", "title", "upper", "mixed")


def case_id(piece: str) -> int:
    """Index in CASES of a piece of text: no cased letter, lower, Title (one capital, first;
    "I" too), UPPER, or mIxed."""
    cased = [c for c in piece if c.islower() or c.isupper()]
    if not cased:
        return 0
    if not any(c.isupper() for c in cased):
        return 1
    if cased[0].isupper() and not any(c.isupper() for c in cased[1:]):
        return 2
    return 3 if not any(c.islower() for c in cased) else 4


def token_cases(
    sentences: tuple[str, str | None],
    sequence_ids: list[int | None],
    offsets: list[tuple[int, int]],
) -> list[int]:
    """`case_id` of each token's text in its own sentence; 0 for [CLS]/[SEP]."""
    return [
        0 if s is None else case_id(sentences[s][a:b]) for s, (a, b) in zip(sequence_ids, offsets)
    ]


@dataclass
class Encoding:
    text: str
    pair: str | None
    tokens: list[str]
    ids: list[int]
    type_ids: list[int]  # segment: 0 for the first sentence, 1 for the second
    offsets: list[tuple[int, int]]  # character span in its own sentence; (0, 0) for specials
    sequence_ids: list[int | None]  # 0, 1, or None for [CLS]/[SEP]
    word_ids: list[int | None]  # word index across the pair; None for [CLS]/[SEP]
    truncated: bool = False
    original_length: int = 0  # tokens before truncation

    def __len__(self) -> int:
        return len(self.ids)

    @functools.cached_property
    def case_ids(self) -> list[int]:
        """Letter case of each token's text (CASES); 0 for [CLS]/[SEP]. Computed when a model
        that reads it asks, not on every encode."""
        return token_cases((self.text, self.pair), self.sequence_ids, self.offsets)


class Tokenizer:
    """A BERT tokenizer read from a checkpoint: tokenizer.json, else vocab.txt."""

    def __init__(self, tokenizer: HFTokenizer, max_length: int):
        self.backend = tokenizer
        self.max_length = max_length
        # Checkpoints often ship a fixed padding/truncation (MiniLM's pads to 128): we decide.
        self.backend.no_padding()
        self.backend.no_truncation()

    @classmethod
    def from_dir(cls, path: Path, max_length: int = 512) -> Tokenizer:
        if (path / "tokenizer.json").is_file():
            return cls(HFTokenizer.from_file(str(path / "tokenizer.json")), max_length)
        if (path / "vocab.txt").is_file():
            lower = True
            if (path / "tokenizer_config.json").is_file():
                lower = json.loads((path / "tokenizer_config.json").read_text()).get(
                    "do_lower_case", True
                )
            wordpiece = BertWordPieceTokenizer(str(path / "vocab.txt"), lowercase=lower)
            return cls(wordpiece._tokenizer, max_length)
        raise FileNotFoundError(f"{path} has neither tokenizer.json nor vocab.txt")

    def token_id(self, token: str) -> int | None:
        return self.backend.token_to_id(token)

    def encode(self, text: str, pair: str | None = None) -> Encoding:
        """Encode a text or a pair; longer than max_length, it is cut (longest sentence first)."""
        enc = self.backend.encode(text, pair) if pair is not None else self.backend.encode(text)
        original = len(enc.ids)
        if original > self.max_length:
            self.backend.enable_truncation(self.max_length, strategy="longest_first")
            try:
                enc = (
                    self.backend.encode(text, pair)
                    if pair is not None
                    else self.backend.encode(text)
                )
            finally:
                self.backend.no_truncation()
        sequence_ids = list(enc.sequence_ids)
        first_words = 1 + max(
            (w for w, s in zip(enc.word_ids, sequence_ids) if s == 0 and w is not None), default=-1
        )
        word_ids = [
            None if w is None else w + (first_words if s == 1 else 0)
            for w, s in zip(enc.word_ids, sequence_ids)
        ]
        return Encoding(
            text=text,
            pair=pair,
            tokens=list(enc.tokens),
            ids=list(enc.ids),
            type_ids=list(enc.type_ids),
            offsets=[tuple(o) for o in enc.offsets],
            sequence_ids=sequence_ids,
            word_ids=word_ids,
            truncated=original > len(enc.ids),
            original_length=original,
        )


def batch_arrays(
    encodings: list[Encoding], pad_id: int = 0, inputs: Collection[str] = ()
) -> dict[str, np.ndarray]:
    """Right-padded int64 arrays (input_ids, attention_mask, token_type_ids) for a batch, and
    case_ids when `inputs` (the session's input names) has it: only models with case embeddings
    take it, so other callers need not know it exists."""
    width = max(len(e) for e in encodings)
    names = ["input_ids", "attention_mask", "token_type_ids"] + (
        ["case_ids"] if "case_ids" in inputs else []
    )
    arrays = {k: np.zeros((len(encodings), width), np.int64) for k in names}
    arrays["input_ids"][:] = pad_id
    for row, e in enumerate(encodings):
        arrays["input_ids"][row, : len(e)] = e.ids
        arrays["attention_mask"][row, : len(e)] = 1
        arrays["token_type_ids"][row, : len(e)] = e.type_ids
        if "case_ids" in arrays:
            arrays["case_ids"][row, : len(e)] = e.case_ids
    return arrays

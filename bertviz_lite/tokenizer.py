"""Text (or a sentence pair) to token ids with `tokenizers`, keeping what the views need.

Any family's tokenizer.json works: WordPiece (BERT, DistilBERT, ELECTRA), byte-level BPE (RoBERTa)
or SentencePiece (XLM-R, CamemBERT, ALBERT); vocab.txt (WordPiece) and vocab.json + merges.txt
(byte-level BPE) too. Besides ids and segment ids, an Encoding keeps each token's character span
and the word it belongs to (the tokenizer's own word ids, numbered across both sentences of a
pair), so views can merge sub-words into words and point back into the text, and a readable form
of each token (no Ġ or ▁ markers; pieces inside a word marked ## as WordPiece marks them). Input
longer than the model's positions is truncated, and the Encoding says so and by how much:
truncation is never silent.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import models, processors
from tokenizers.implementations import BertWordPieceTokenizer, ByteLevelBPETokenizer

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


SPACE = "␣"  # how a token that is only a word boundary (a lone Ġ or ▁) is shown
CONTINUATION = "##"  # how a piece inside a word is shown, in every family, as WordPiece writes it


@dataclass
class Encoding:
    text: str
    pair: str | None
    tokens: list[str]  # as the vocabulary spells them (Ġ, ▁, ##)
    ids: list[int]
    # segment: 0 for the first sentence, 1 for the second, as the tokenizer numbers them; from
    # the sequence ids where it numbers none (RoBERTa-like, whose models take no segment ids)
    type_ids: list[int]
    offsets: list[tuple[int, int]]  # character span in its own sentence; (0, 0) for specials
    sequence_ids: list[int | None]  # 0, 1, or None for [CLS]/[SEP]
    word_ids: list[int | None]  # word index across the pair; None for [CLS]/[SEP]
    truncated: bool = False
    original_length: int = 0  # tokens before truncation
    readable: list[str] | None = None  # the tokens shown to a person; None: `tokens` as they are

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def display_tokens(self) -> list[str]:
        """The tokens as views show them: no Ġ/▁ markers, ## on pieces inside a word."""
        return self.tokens if self.readable is None else self.readable

    def sentence(self, sequence: int | None) -> str:
        return self.text if sequence == 0 else (self.pair or "") if sequence == 1 else ""

    @functools.cached_property
    def case_ids(self) -> list[int]:
        """Letter case of each token's text (CASES); 0 for [CLS]/[SEP]. Computed when a model
        that reads it asks, not on every encode."""
        return token_cases((self.text, self.pair), self.sequence_ids, self.offsets)


MASK_TOKENS = ("[MASK]", "<mask>")  # what the families call it, when the checkpoint does not say


def _token_setting(path: Path, name: str) -> str | None:
    """A special token named in tokenizer_config.json or special_tokens_map.json (a string, or
    an AddedToken dict with its `content`)."""
    for file in ("tokenizer_config.json", "special_tokens_map.json"):
        if (path / file).is_file():
            value = json.loads((path / file).read_text(encoding="utf-8")).get(name)
            if isinstance(value, dict):
                value = value.get("content")
            if isinstance(value, str):
                return value
    return None


class Tokenizer:
    """A checkpoint's tokenizer: tokenizer.json, else vocab.txt or vocab.json + merges.txt."""

    def __init__(self, tokenizer: HFTokenizer, max_length: int, mask_token: str | None = None):
        self.backend = tokenizer
        self.max_length = max_length
        # Checkpoints often ship a fixed padding/truncation (MiniLM's pads to 128): we decide.
        self.backend.no_padding()
        self.backend.no_truncation()
        if mask_token is None or tokenizer.token_to_id(mask_token) is None:
            mask_token = next((t for t in MASK_TOKENS if tokenizer.token_to_id(t) is not None), None)
        self.mask_token = mask_token  # what a person types where the model should guess a word
        self.mask_id = None if mask_token is None else tokenizer.token_to_id(mask_token)
        self.wordpiece = isinstance(tokenizer.model, models.WordPiece)
        self.specials = {
            i for i, t in tokenizer.get_added_tokens_decoder().items() if t.special
        }
        self._readable: dict[int, str] = {}

    @classmethod
    def from_dir(
        cls, path: Path, max_length: int = 512, mask_token: str | None = None
    ) -> Tokenizer:
        """The tokenizer saved beside a checkpoint. Its mask token is the one its
        tokenizer_config.json names, else `mask_token` (the family's), else [MASK] or <mask>."""
        mask_token = _token_setting(path, "mask_token") or mask_token
        file = tokenizer_file(path)
        if file.name == "tokenizer.json":
            backend = HFTokenizer.from_file(str(file))
        elif file.name == "vocab.txt":
            lower = True
            if (path / "tokenizer_config.json").is_file():
                lower = json.loads((path / "tokenizer_config.json").read_text()).get(
                    "do_lower_case", True
                )
            backend = BertWordPieceTokenizer(str(file), lowercase=lower)._tokenizer
        else:
            backend = _byte_level_bpe(path)
        return cls(backend, max_length, mask_token)

    def token_id(self, token: str) -> int | None:
        return self.backend.token_to_id(token)

    def readable_token(self, token_id: int) -> str:
        """A vocabulary entry as a person reads it: byte-level and SentencePiece pieces decoded
        (Ġ and ▁ turned back into spaces, then stripped; a piece that is only white space shown
        as ␣), special tokens and WordPiece pieces as they are."""
        text = self._readable.get(token_id)
        if text is None:
            token = self.backend.id_to_token(token_id) or ""
            if token_id in self.specials or self.wordpiece or self.backend.decoder is None:
                text = token.strip() or token
            else:
                text = self.backend.decoder.decode([token]).strip() or SPACE
            self._readable[token_id] = text
        return text

    def readable(self, ids: list[int], offsets, sequence_ids, word_ids, text, pair) -> list[str]:
        """Each token as views show it: `readable_token`, with ## on a piece inside a word (after
        one that shows some text), and the text's own characters where a byte-level piece is
        only part of a character."""
        out: list[str] = []
        shown: tuple | None = None  # (sequence, word) of the last piece that showed text
        for token_id, (a, b), s, w in zip(ids, offsets, sequence_ids, word_ids):
            piece = self.readable_token(token_id)
            if "\ufffd" in piece and s is not None and b > a:
                piece = (text if s == 0 else pair or "")[a:b]
            if w is None:
                out.append(piece)
                continue
            if token_id in self.specials:  # <unk>, a mask token typed in the text: as they are
                shown = (s, w)
            elif shown == (s, w) and piece != SPACE:
                piece = CONTINUATION + piece
            elif piece != SPACE:
                shown = (s, w)
            out.append(piece)
        return out

    def _encode(self, text: str, pair: str | None):
        return self.backend.encode(text, pair) if pair is not None else self.backend.encode(text)

    def encode(self, text: str, pair: str | None = None) -> Encoding:
        """Encode a text or a pair; longer than max_length, it is cut (longest sentence first)."""
        enc = self._encode(text, pair)
        original = len(enc.ids)
        if original > self.max_length:
            # The tokenizer's own truncation also builds every overflowing window, which for a
            # pair grows with the product of the two lengths (100k characters a side: 15 s,
            # 15 GB). Each sentence is first cut to a little more than the model can keep.
            text, pair = _beyond_reach(enc, text, pair, self.max_length)
            self.backend.enable_truncation(self.max_length, strategy="longest_first")
            try:
                enc = self._encode(text, pair)
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
        type_ids = list(enc.type_ids)
        if pair is not None and not any(type_ids):  # RoBERTa-like: segments from sequence ids
            type_ids, segment = [], 0
            for s in sequence_ids:
                segment = segment if s is None else s
                type_ids.append(segment)
        ids, offsets = list(enc.ids), [tuple(o) for o in enc.offsets]
        readable = None
        if not self.wordpiece:  # WordPiece tokens are readable as they are
            readable = self.readable(ids, offsets, sequence_ids, word_ids, text, pair)
        return Encoding(
            text=text,
            pair=pair,
            tokens=list(enc.tokens),
            ids=ids,
            type_ids=type_ids,
            offsets=offsets,
            sequence_ids=sequence_ids,
            word_ids=word_ids,
            truncated=original > len(enc.ids),
            original_length=original,
            readable=readable,
        )


def tokenizer_file(path: Path) -> Path:
    """The file a checkpoint's tokenizer is read from: tokenizer.json, else vocab.txt, else
    vocab.json (with merges.txt beside it)."""
    for name in ("tokenizer.json", "vocab.txt"):
        if (path / name).is_file():
            return path / name
    if (path / "vocab.json").is_file() and (path / "merges.txt").is_file():
        return path / "vocab.json"
    raise FileNotFoundError(f"{path} has no tokenizer.json, vocab.txt or vocab.json + merges.txt")


MARGIN = 16  # tokens kept past the model's reach before a cut, so the kept ones are unaffected


def _beyond_reach(enc, text: str, pair: str | None, max_length: int) -> tuple[str, str | None]:
    """Each sentence cut where a word starts some tokens past what `max_length` can keep of it
    (longest-first keeps at most max_length of either), so that truncating the cut sentences
    keeps exactly the tokens that truncating the whole ones would: only characters the model
    never sees are dropped. A sentence with no word start past that point is cut mid-word, still
    `MARGIN` tokens beyond the last one kept."""
    cuts: list[int | None] = [None, None]
    count = [0, 0]
    previous: list[int | None] = [None, None]
    for s, w, (a, _) in zip(enc.sequence_ids, enc.word_ids, enc.offsets):
        if s is None or cuts[s] is not None:
            continue
        count[s] += 1
        if count[s] > max_length + MARGIN and (w != previous[s] or count[s] > max_length + 4 * MARGIN):
            cuts[s] = a
        previous[s] = w
    text = text if cuts[0] is None else text[: cuts[0]]
    if pair is not None and cuts[1] is not None:
        pair = pair[: cuts[1]]
    return text, pair


def _byte_level_bpe(path: Path) -> HFTokenizer:
    """vocab.json + merges.txt as RoBERTa's tokenizer reads them: <s> A </s></s> B </s>."""
    bpe = ByteLevelBPETokenizer(
        str(path / "vocab.json"), str(path / "merges.txt"), add_prefix_space=False,
        trim_offsets=True,
    )._tokenizer  # fmt: skip
    specials = [t for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>") if bpe.token_to_id(t) is not None]
    bpe.add_special_tokens(specials)
    if {"<s>", "</s>"} <= set(specials):
        bpe.post_processor = processors.RobertaProcessing(
            ("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>"))
        )
    return bpe


def batch_arrays(
    encodings: list[Encoding], pad_id: int = 0, inputs: Collection[str] = ()
) -> dict[str, np.ndarray]:
    """Right-padded int64 arrays (input_ids, attention_mask, token_type_ids) for a batch, as
    `inputs` (the session's input names) asks: case_ids only when it has them (only models with
    case embeddings take them, so other callers need not know they exist), token_type_ids unless
    it lacks them (RoBERTa-like and DistilBERT graphs take no segment ids)."""
    width = max(len(e) for e in encodings)
    segments = not inputs or "token_type_ids" in inputs
    names = ["input_ids", "attention_mask", *(["token_type_ids"] if segments else []),
             *(["case_ids"] if "case_ids" in inputs else [])]  # fmt: skip
    arrays = {k: np.zeros((len(encodings), width), np.int64) for k in names}
    arrays["input_ids"][:] = pad_id
    for row, e in enumerate(encodings):
        arrays["input_ids"][row, : len(e)] = e.ids
        arrays["attention_mask"][row, : len(e)] = 1
        if "token_type_ids" in arrays:
            arrays["token_type_ids"][row, : len(e)] = e.type_ids
        if "case_ids" in arrays:
            arrays["case_ids"][row, : len(e)] = e.case_ids
    return arrays

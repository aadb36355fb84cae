"""Tiny random checkpoints of every supported family and head, written by `transformers`
(the fixtures family_checkpoint and family_model in tests/conftest.py build them).

Each checkpoint folder holds what `save_pretrained` writes for the family's model class, and beside
it the family's own tokenizer (its `transformers` class, built on a vocabulary that `tokenizers`
trains in a moment from a few sentences): WordPiece for BERT, DistilBERT and ELECTRA, byte-level
BPE for RoBERTa, Unigram (SentencePiece) for XLM-R, CamemBERT and ALBERT. No hub.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

SENTENCES = [
    "The cat sat on the mat.", "Unbelievably, John went to New York!",
    "Tokenization is fun and happy.", "Mary played in Paris and London.",
    "A big red house was sad.", "The dog ran to the small blue house.",
]  # fmt: skip
HEADS = {"base": "Model", "sequence-classification": "ForSequenceClassification",
         "token-classification": "ForTokenClassification", "masked-lm": "ForMaskedLM"}  # fmt: skip
LABELS = {
    "sequence-classification": ["negative", "positive", "neutral"],
    "token-classification": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
}
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
ROBERTA = dict(type_vocab_size=1, max_position_embeddings=66, pad_token_id=1, bos_token_id=0,
               eos_token_id=2)  # fmt: skip
# family → (transformers class prefix, tokenizer, config overrides)
FAMILIES = {
    "bert": ("Bert", "wordpiece", dict(TINY, max_position_embeddings=64)),
    "roberta": ("Roberta", "bpe", dict(TINY, **ROBERTA)),
    "xlm-roberta": ("XLMRoberta", "unigram-xlmr", dict(TINY, **ROBERTA)),
    "camembert": ("Camembert", "unigram-camembert", dict(TINY, **ROBERTA)),
    "distilbert": ("DistilBert", "wordpiece-distilbert",
                   dict(dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                        max_position_embeddings=64)),
    "electra": ("Electra", "wordpiece", dict(TINY, embedding_size=16, max_position_embeddings=64)),
    "albert": ("Albert", "unigram-albert",
               dict(TINY, embedding_size=16, num_hidden_groups=1, max_position_embeddings=64)),
}


@cache
def _wordpiece_vocab() -> dict[str, int]:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    t = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    t.normalizer = normalizers.BertNormalizer(lowercase=True)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    t.train_from_iterator(SENTENCES, trainers.WordPieceTrainer(vocab_size=150,
                                                               special_tokens=specials))
    return t.get_vocab()


@cache
def _bpe() -> tuple[dict[str, int], list[tuple[str, str]]]:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )  # fmt: skip
    t.train_from_iterator(SENTENCES, trainer)
    model = json.loads(t.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return model["vocab"], merges


@cache
def _unigram(specials: tuple[str, ...], lower: bool = False) -> list[tuple[str, float]]:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    t = Tokenizer(models.Unigram())
    if lower:  # ALBERT's tokenizer lowercases
        t.normalizer = normalizers.Lowercase()
    t.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=120, special_tokens=list(specials),
                                      unk_token="<unk>")  # fmt: skip
    t.train_from_iterator(SENTENCES, trainer)
    return [tuple(p) for p in json.loads(t.to_str())["model"]["vocab"]]


def family_tokenizer(kind: str):
    """The family's `transformers` tokenizer on a freshly trained tiny vocabulary."""
    import transformers

    if kind == "wordpiece":
        return transformers.BertTokenizer(vocab=_wordpiece_vocab())
    if kind == "wordpiece-distilbert":
        return transformers.DistilBertTokenizer(vocab=_wordpiece_vocab())
    if kind == "bpe":
        vocab, merges = _bpe()
        return transformers.RobertaTokenizer(vocab=vocab, merges=merges)
    roberta_like = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
    if kind == "unigram-xlmr":
        return transformers.XLMRobertaTokenizer(vocab=_unigram(roberta_like))
    if kind == "unigram-camembert":
        return transformers.CamembertTokenizer(vocab=_unigram(roberta_like))
    if kind == "unigram-albert":
        return transformers.AlbertTokenizer(
            vocab=_unigram(("<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"), lower=True)
        )
    raise ValueError(kind)


def write(path: Path, family: str, head: str, seed: int = 0) -> Path:
    """A random checkpoint of `family` with `head` (see HEADS), tokenizer beside it."""
    import torch
    import transformers

    prefix, kind, overrides = FAMILIES[family]
    tokenizer = family_tokenizer(kind)
    labels = LABELS.get(head, [])
    config_class = getattr(transformers, f"{prefix}Config")
    config = config_class(
        vocab_size=len(tokenizer), **overrides,
        id2label=dict(enumerate(labels)) or None,
        label2id={v: k for k, v in enumerate(labels)} or None,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = getattr(transformers, prefix + HEADS[head])(config)
    with torch.no_grad():  # random LayerNorm and biases too, so that nothing can hide behind zeros
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path

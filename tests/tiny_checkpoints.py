"""Tiny random BERT checkpoints written by `transformers`, random batches, and the parity check.

A module of its own (not conftest.py) so that tests import it by a name no other directory's
conftest shadows: `from tiny_checkpoints import write_checkpoint`.
"""

from __future__ import annotations

import json
from pathlib import Path

WORDS = [
    *"the cat dog sat on mat a was happy sad and it is big small red blue house run ran".split(),
    *"play ##s ##ing ##ed ##ly un ##able new york paris london john mary went to . , ! ?".split(),
]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TINY = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=64,
    type_vocab_size=2,
)
LABELS = {
    "BertForSequenceClassification": ["negative", "positive", "neutral"],
    "BertForTokenClassification": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
}


def write_checkpoint(
    path: Path, architecture: str = "BertModel", seed: int = 0, **overrides
) -> Path:
    """A random BERT checkpoint of the given architecture, as transformers saves it."""
    import torch
    import transformers

    torch.manual_seed(seed)
    vocab = SPECIALS + WORDS
    labels = LABELS.get(architecture, [])
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        **{**TINY, **overrides},
        id2label=dict(enumerate(labels)) or None,
        label2id={v: k for k, v in enumerate(labels)} or None,
    )
    model = getattr(transformers, architecture)(config)
    with torch.no_grad():  # random LayerNorm and biases too, so that nothing can hide behind zeros
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (path / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    return path


def random_batch(vocab_size: int, lengths: list[int], seed: int = 0, pair_at: int | None = None):
    """int64 arrays for a right-padded batch of random ids: [CLS] … [SEP], segments after pair_at."""
    import numpy as np

    rng = np.random.default_rng(seed)
    width = max(lengths)
    ids = np.zeros((len(lengths), width), np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(5, vocab_size, n)
        ids[row, 0], ids[row, n - 1] = 2, 3
        mask[row, :n] = 1
        if pair_at is not None and pair_at < n:
            types[row, pair_at:n] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def assert_close_unpadded(ours, theirs, mask, atol_attn=1e-4, atol=1e-3):
    """Compare (logits, attentions, hidden_states) where the tokens are real."""
    import numpy as np

    from bertviz_lite.export import unpadded

    keep = mask.astype(bool)
    for name, a, b, tol in zip(
        ("logits", "attentions", "hidden_states"), ours, theirs, (atol, atol_attn, atol)
    ):
        if a is None and b is None:
            continue
        where = np.broadcast_to(unpadded(name, a.ndim, keep), a.shape)
        delta = float(np.abs(a - b)[where].max())
        assert delta <= tol, f"{name}: max |Δ| {delta:.2e} > {tol}"

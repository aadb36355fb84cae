"""Shared fixtures: tiny random BERT checkpoints written by `transformers`, and a private cache.

The checkpoints are saved with `save_pretrained`, so their file layout and tensor names are
exactly those of real Hugging Face checkpoints; no hub is involved.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

# A private export cache for the whole test session, set before bertviz_lite reads it.
os.environ.setdefault("BERTVIZ_LITE_CACHE", tempfile.mkdtemp(prefix="bertviz-lite-test-cache-"))

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


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """One tiny checkpoint per supported architecture."""
    root = tmp_path_factory.mktemp("checkpoints")
    archs = [
        "BertModel",
        "BertForSequenceClassification",
        "BertForTokenClassification",
        "BertForMaskedLM",
    ]
    return {a: write_checkpoint(root / a, a, seed=i) for i, a in enumerate(archs)}


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    from bertviz_lite import catalog

    return catalog.checkpoint_dir(catalog.entries()["minilm"])


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


@pytest.fixture(scope="session")
def hf_forward():
    """The oracle: transformers' model with eager attention → (logits, attentions, hidden_states)."""
    import numpy as np
    import torch
    import transformers

    models = {}

    def forward(path: Path, batch: dict):
        if path not in models:
            arch = json.loads((path / "config.json").read_text())["architectures"][0]
            models[path] = (
                getattr(transformers, arch)
                .from_pretrained(path, attn_implementation="eager")
                .eval()
            )
        with torch.no_grad():
            out = models[path](
                **{k: torch.from_numpy(v) for k, v in batch.items()},
                output_attentions=True,
                output_hidden_states=True,
            )
        logits = getattr(out, "logits", None)
        return (
            None if logits is None else logits.numpy(),
            np.stack([a.numpy() for a in out.attentions], 1),
            np.stack([h.numpy() for h in out.hidden_states], 1),
        )

    return forward


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

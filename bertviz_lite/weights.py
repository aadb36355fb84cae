"""Hugging Face BERT weights into our PyTorch model, under the names `transformers` uses.

model.safetensors or pytorch_model.bin, from BertModel, BertForSequenceClassification,
BertForTokenClassification or BertForMaskedLM. A missing, unexpected or wrongly shaped tensor is a
CheckpointError that names it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import torch
from torch import nn

from .bert import ARCHITECTURES
from .config import CheckpointError, read_config, weights_file

log = logging.getLogger(__name__)

# Tensors that checkpoints carry but our model has no use for, on purpose.
IGNORED_KEYS = re.compile(
    r"(^|\.)position_ids$|^cls\.seq_relationship\.|^cls\.predictions\.decoder\.bias$"
)


def read_state_dict(file: Path) -> dict[str, torch.Tensor]:
    if file.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(file))
    return torch.load(file, map_location="cpu", weights_only=True)


def _normalise(state: dict[str, torch.Tensor], expected: set[str]) -> dict[str, torch.Tensor]:
    """Map a checkpoint's names onto ours: old gamma/beta names, a `bert.` prefix or its absence."""
    out = {}
    for key, tensor in state.items():
        key = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", key)
        key = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", key)
        if key not in expected and key.startswith("bert.") and key[5:] in expected:
            key = key[5:]  # a task checkpoint read as a bare encoder
        elif key not in expected and "bert." + key in expected:
            key = "bert." + key  # a bare encoder's weights under a task model
        if IGNORED_KEYS.search(key):
            continue
        if key not in expected and (key.startswith("cls.") or ".pooler." in "." + key):
            continue  # heads and pooler of another architecture than the one we build
        out[key] = tensor
    return out


def load_model(path: Path, state: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """Build the architecture that config.json names and load the checkpoint's weights into it.

    `state` replaces the weights read from the directory (a task model's merged weights).
    """
    config = read_config(path)
    architecture = config.architecture
    model = ARCHITECTURES[architecture](config)
    expected = model.state_dict()
    if state is None:
        state = read_state_dict(weights_file(path))
    state = _normalise(state, set(expected))
    tied = "cls.predictions.decoder.weight"
    if tied in expected and tied not in state and "bert.embeddings.word_embeddings.weight" in state:
        state[tied] = state["bert.embeddings.word_embeddings.weight"]
    problems = []
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing:
        problems.append(f"missing tensors: {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected tensors: {_names(unexpected)}")
    wrong = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if wrong:
        problems.append(f"wrong shapes: {_names(wrong)}")
    if problems:
        raise CheckpointError(f"{path} does not fit {architecture}: " + "; ".join(problems))
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()


def _names(items: list[str], limit: int = 8) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more

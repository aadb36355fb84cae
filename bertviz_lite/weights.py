"""Hugging Face weights into our PyTorch model, under the names `transformers` uses.

model.safetensors or pytorch_model.bin of any supported family (families/) and architecture: the
family's rules turn its checkpoint's names into our model's (BERT's) names. A missing, unexpected
or wrongly shaped tensor is a CheckpointError that names it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from .bert import build
from .checkpoint_checks import check_parameters, safetensors_shapes
from .config import SHOWN, CheckpointError, read_config, weights_file
from .families import OUR_PREFIX, Family

log = logging.getLogger(__name__)
TIED = "cls.predictions.decoder.weight"  # the masked-LM decoder shares the word embeddings


def read_state_dict(file: Path) -> dict[str, torch.Tensor]:
    """A weights file's tensors; a file that will not read is a CheckpointError naming it."""
    safetensors = file.suffix == ".safetensors"
    if safetensors:
        safetensors_shapes(file)  # a damaged file named, with what is wrong, before reading it
    try:
        if safetensors:
            from safetensors.torch import load_file

            state = load_file(str(file))
        else:
            state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as e:  # safetensors', pickle's and zipfile's errors share no type
        raise CheckpointError(
            f"{file} cannot be read as weights (truncated or damaged?): {type(e).__name__}: "
            f"{str(e)[:SHOWN]}"
        ) from None
    if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise CheckpointError(f"{file} does not hold a dictionary of tensors")
    return state


def normalise(
    state: dict[str, torch.Tensor], expected: set[str], family: Family
) -> dict[str, torch.Tensor]:
    """A checkpoint's tensors under our names: the family's names mapped onto ours, a task
    checkpoint read as a bare encoder (prefix dropped, its head left) or a bare encoder's weights
    under a task model (prefix added). Names that fit nothing are kept as the checkpoint has them,
    for the error to name."""
    out = {}
    for key, tensor in state.items():
        names = [n for c in family.candidates(key) for n in (c, c.removeprefix(OUR_PREFIX + "."))]
        name = next((n for n in names if n in expected), None)
        if name is None:
            ours = names[0]
            if family.is_ignored(ours):
                continue
            if ours.startswith("cls.") or ".pooler." in "." + ours:
                continue  # heads and pooler of another architecture than the one we build
            name = key
        out[name] = tensor
    return out


def load_model(path: Path, state: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """Build the architecture that config.json names and load the checkpoint's weights into it.

    `state` replaces the weights read from the directory (a task model's merged weights).
    """
    config = read_config(path)
    architecture = config.architecture
    if state is None:
        file = weights_file(path)
        state = read_state_dict(file)
        shapes = {k: tuple(v.shape) for k, v in state.items()}
        check_parameters(config, shapes, path / "config.json", file)  # sizes far past the file's
    with torch.device("meta"):  # names and shapes alone: nothing of the config's sizes allocated
        expected = build(config).state_dict()
    state = normalise(state, set(expected), config.family)
    embeddings = f"{OUR_PREFIX}.embeddings.word_embeddings.weight"
    if TIED in expected and TIED not in state and embeddings in state:
        state[TIED] = state[embeddings]
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
    model = build(config)  # every tensor is there with its shape: as large as the weights
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()


def _names(items: list[str], limit: int = 8) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more

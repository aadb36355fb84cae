"""The masked-LM model as it is stored: an adapter folder (adapter.json + adapter.safetensors,
as `adapter.save` writes them) whose meta says what the model is, and the model read back from
it, LoRA merged into the base (training: mlm.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import adapter
from ..bert import BertForMaskedLM
from ..config import CheckpointError, read_config
from .mlm import ARCHITECTURE, HEAD, HEAD_ONLY, NAME, TIED, MLMSettings
from .tasks import BASE


def model_meta(s: MLMSettings, base_dir: Path, stage: str) -> dict[str, Any]:
    """What adapter.json says of the model: base, architecture, head, LoRA (none for stage 1)."""
    lora = None
    if stage == "lora":
        lora = {"r": s.lora_r, "alpha": s.lora_alpha, "targets": list(s.lora_targets),
                "dropout": s.lora_dropout}  # fmt: skip
    return {
        "name": NAME if stage == "lora" else f"{NAME} ({HEAD_ONLY})",
        "base": BASE,
        "base_config": {"name": BASE, **adapter.base_shape(read_config(base_dir))},
        "architecture": ARCHITECTURE,
        "id2label": {},
        "lora": lora,
        "modules_to_save": list(HEAD),
        "tied": TIED,
        "case_vocab_size": 0,
        "task": "masked-lm",
        "stage": stage,
        "max_length": s.max_length,
    }


def read_meta(folder: Path) -> dict[str, Any]:
    """adapter.json of a masked-LM adapter folder; CheckpointError for any other."""
    file = Path(folder) / adapter.META_FILE
    if not file.is_file():
        raise CheckpointError(f"{folder} has no {adapter.META_FILE}")
    meta = json.loads(file.read_text(encoding="utf-8"))
    if meta.get("architecture") != ARCHITECTURE:
        raise CheckpointError(f"{file}: not a masked-LM adapter ({meta.get('architecture')!r})")
    return meta


def load_merged(base_dir: Path, folder: Path) -> BertForMaskedLM:
    """The masked-LM model of an adapter folder (`adapter.load_merged`: base encoder + merged
    LoRA, W += (alpha/r)·B·A, + trained head; fp32, eval mode); the decoder is the base's word
    embeddings. Raises CheckpointError for an adapter of another architecture."""
    read_meta(folder)
    return adapter.load_merged(Path(base_dir), Path(folder))

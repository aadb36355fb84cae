"""Model families as data: how each family's checkpoints map onto our one model (bert.py).

One `Family` per family, in its own module here (bert, roberta, distilbert, electra, albert), like
Ecco's per-model settings: the config.json field names, the weight-name rules, which embedding
parts exist, the activations of its heads, its special tokens and onnxruntime's optimizer type.
The model code reads these settings; nothing else in the package names a family.

Our model keeps BERT's module names for every family (`bert.encoder.layer.N.attention.self.query`
…), so task adapters, head masks and tests speak one language; a family's `renames` turn its
checkpoint names into those. Torch-free: config reading uses it on every start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

# What a checkpoint's architecture puts on top of the encoder.
HEADS = ("base", "sequence-classification", "token-classification", "masked-lm")
OUR_PREFIX = "bert"  # where every task model here keeps its encoder (bert.BertModel)
# Tensors every family may carry and we never use: buffers, and the decoder bias that is tied to
# the masked-LM head's own `bias`.
IGNORED = r"(^|\.)(position_ids|token_type_ids)$|^cls\.predictions\.decoder\.bias$"


@dataclass(frozen=True)
class Family:
    name: str
    model_types: tuple[str, ...]  # config.json `model_type`s read as this family
    prefix: str  # transformers' base_model_prefix: task checkpoints keep the encoder under it
    architectures: Mapping[str, str]  # transformers' class name → what it puts on top (HEADS)
    # config.json field → ours, where the family names them differently (DistilBERT's `dim`)
    config_names: Mapping[str, str] = field(default_factory=dict)
    # settings the family fixes in code rather than in config.json (DistilBERT's LayerNorm eps)
    config_defaults: Mapping[str, Any] = field(default_factory=dict)
    # config.json settings we read only at this value (ALBERT's inner_group_num)
    requires: Mapping[str, Any] = field(default_factory=dict)
    token_type_ids: bool = True  # segment ids are a model input (else segment 0 throughout)
    type_embeddings: bool = True  # the embeddings have a token-type table at all
    positions_after_padding: bool = False  # position = cumsum(not pad)·(not pad) + padding_idx
    project_embeddings: str = "never"  # embedding_size → hidden_size: "never", "if-different",
    # or "always" (ALBERT's factorised embeddings)
    shared_layers: bool = False  # ALBERT: num_hidden_groups layers, reused in turn
    base_pooler: bool = True  # the bare encoder's checkpoint carries a pooler
    classifier_activation: str = "tanh"  # sequence head: first token → dense → this → classifier
    mlm_activation: str | None = None  # the masked-LM transform's activation; None: hidden_act
    renames: tuple[tuple[str, str], ...] = ()  # (regex, replacement) on names under `bert.`
    ignored: str = ""  # more tensors of its checkpoints we have no use for (pre-training heads)
    special_tokens: Mapping[str, str] = field(default_factory=dict)  # cls, sep, pad, mask, unk
    onnx_model_type: str = "bert"  # onnxruntime.transformers optimizer's model_type

    @property
    def base_architecture(self) -> str:
        return next(a for a, h in self.architectures.items() if h == "base")

    @cached_property
    def _renames(self) -> list[tuple[re.Pattern, str]]:
        return [(re.compile(p), r) for p, r in self.renames]

    @cached_property
    def _ignored(self) -> re.Pattern:
        return re.compile("|".join(filter(None, (IGNORED, self.ignored))))

    def rename(self, name: str) -> str:
        """One of its checkpoint's tensor names (encoder under `bert.`) in our model's names."""
        for pattern, replacement in self._renames:
            name = pattern.sub(replacement, name)
        return name

    def is_ignored(self, our_name: str) -> bool:
        return bool(self._ignored.search(our_name))

    def candidates(self, name: str) -> list[str]:
        """Our names a checkpoint tensor may have: as a task checkpoint writes it (encoder under
        the family's prefix, heads at the top) or as a bare encoder does (no prefix)."""
        name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", name)  # TF-era names
        name = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name)
        if name.startswith(self.prefix + "."):
            return [self.rename(f"{OUR_PREFIX}.{name[len(self.prefix) + 1:]}")]
        return [self.rename(name), self.rename(f"{OUR_PREFIX}.{name}")]

    def read_config(self, raw: dict[str, Any]) -> dict[str, Any]:
        """config.json's fields under our names, the family's fixed settings filled in."""
        out = {self.config_names.get(k, k): v for k, v in raw.items()}
        return {**self.config_defaults, **out}


def _load() -> dict[str, Family]:
    from . import albert, bert, distilbert, electra, roberta

    return {f.name: f for f in (m.FAMILY for m in (bert, roberta, distilbert, electra, albert))}


FAMILIES: dict[str, Family] = _load()
BY_MODEL_TYPE: dict[str, Family] = {t: f for f in FAMILIES.values() for t in f.model_types}
SUPPORTED_MODEL_TYPES: tuple[str, ...] = tuple(BY_MODEL_TYPE)
ARCHITECTURES: dict[str, str] = {a: h for f in FAMILIES.values() for a, h in f.architectures.items()}


def for_model_type(model_type: str) -> Family | None:
    return BY_MODEL_TYPE.get(model_type)


def head_of(architecture: str) -> str | None:
    """What an architecture (any family's) puts on top of the encoder, or None if unknown."""
    return ARCHITECTURES.get(architecture)

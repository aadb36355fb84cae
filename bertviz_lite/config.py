"""A checkpoint's config.json as a BertConfig, and where a checkpoint is (a folder or a hub id).

Kept free of torch: the runtime path reads configs too, and a warm start never imports torch.
Whatever does not fit — an unknown model_type or architecture, an unreachable hub — is a
CheckpointError whose message names it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_MODEL_TYPES = ("bert",)
ARCHITECTURES = ("BertModel", "BertForSequenceClassification", "BertForTokenClassification",
                 "BertForMaskedLM")  # fmt: skip
ACTIVATIONS = ("gelu", "gelu_new", "relu")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
HUB_FILES = ["config.json", "*.safetensors", "pytorch_model.bin", "tokenizer.json", "vocab.txt",
             "tokenizer_config.json", "special_tokens_map.json"]  # fmt: skip


class CheckpointError(ValueError):
    """A checkpoint that cannot be read as a supported BERT model; the message says why."""


@dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    case_vocab_size: int = 0  # > 0: the model adds case embeddings (task models on uncased bases)
    id2label: dict[int, str] = field(default_factory=dict)
    architecture: str = "BertModel"

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def labels(self) -> list[str]:
        return [self.id2label[i] for i in sorted(self.id2label)]


def resolve(name_or_path: str | Path) -> Path:
    """A local checkpoint directory, or a hub id fetched into the Hugging Face cache."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    name = str(name_or_path)
    if path.exists() or not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name):
        raise CheckpointError(f"{name!r} is not a checkpoint directory (config.json + weights)")
    try:
        import huggingface_hub
    except ImportError:
        raise CheckpointError(
            f"{name!r} is neither a catalog name nor a local directory; to fetch it from the "
            "Hugging Face hub, install huggingface_hub and be online"
        ) from None
    try:
        return Path(huggingface_hub.snapshot_download(name, allow_patterns=HUB_FILES))
    except Exception as e:  # offline, unknown or gated repo: all end the same way for the user
        raise CheckpointError(
            f"could not fetch {name!r} from the Hugging Face hub (offline, or no such model?): "
            f"{type(e).__name__}: {e}"
        ) from None


def read_config(path: Path) -> BertConfig:
    """The checkpoint's config.json, checked for what our model supports."""
    file = path / "config.json"
    if not file.is_file():
        raise CheckpointError(f"{path} has no config.json")
    raw = json.loads(file.read_text())
    model_type = raw.get("model_type", "bert")
    if model_type not in SUPPORTED_MODEL_TYPES:
        supported = ", ".join(SUPPORTED_MODEL_TYPES)
        raise CheckpointError(
            f"model_type {model_type!r} is not supported (supported: {supported})"
        )
    if raw.get("position_embedding_type", "absolute") != "absolute":
        raise CheckpointError(
            f"position_embedding_type {raw['position_embedding_type']!r} is not supported"
        )
    architecture = (raw.get("architectures") or ["BertModel"])[0]
    if architecture not in ARCHITECTURES:
        supported = ", ".join(ARCHITECTURES)
        raise CheckpointError(
            f"architecture {architecture!r} is not supported (supported: {supported})"
        )
    if raw.get("hidden_act", "gelu") not in ACTIVATIONS:
        raise CheckpointError(f"hidden_act {raw['hidden_act']!r} is not supported")
    known = {f.name for f in dataclasses.fields(BertConfig)}
    config = BertConfig(**{k: v for k, v in raw.items() if k in known})
    config.architecture = architecture
    config.id2label = {int(k): v for k, v in (raw.get("id2label") or {}).items()}
    if "Classification" in architecture and not config.id2label:
        raise CheckpointError(f"{architecture} checkpoint has no id2label in config.json")
    return config


def weights_file(path: Path) -> Path:
    for name in WEIGHT_FILES:
        if (path / name).is_file():
            return path / name
    raise CheckpointError(f"{path} has no weights ({' or '.join(WEIGHT_FILES)})")

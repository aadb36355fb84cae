"""A checkpoint's config.json as a BertConfig, and where a checkpoint is (a folder or a hub id).

Any family in `families` (BERT, RoBERTa, XLM-R, CamemBERT, DistilBERT, ELECTRA, ALBERT) reads into
the one BertConfig, its field names translated by the family's spec. Kept free of torch: the
runtime path reads configs too, and a warm start never imports torch. Whatever does not fit — an
unknown model_type or architecture, an unreachable hub — is a CheckpointError whose message names
it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import families
from .families import Family

SUPPORTED_MODEL_TYPES = families.SUPPORTED_MODEL_TYPES
ARCHITECTURES = tuple(families.ARCHITECTURES)
ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
HUB_FILES = ["config.json", "*.safetensors", "pytorch_model.bin", "tokenizer.json", "vocab.txt",
             "vocab.json", "merges.txt", "tokenizer_config.json",
             "special_tokens_map.json"]  # fmt: skip


class CheckpointError(ValueError):
    """A checkpoint that cannot be read as a supported model; the message says why."""


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
    model_type: str = "bert"  # picks the family (families/): its names, embeddings and heads
    embedding_size: int = 0  # ELECTRA, ALBERT: embeddings narrower than hidden_size; 0: the same
    num_hidden_groups: int = 0  # ALBERT: layer modules shared across the num_hidden_layers

    @property
    def family(self) -> Family:
        return families.BY_MODEL_TYPE[self.model_type]

    @property
    def head(self) -> str:
        """What the architecture puts on the encoder: one of families.HEADS."""
        return self.family.architectures[self.architecture]

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def embedding_dim(self) -> int:
        project = self.family.project_embeddings != "never"
        return self.embedding_size if project and self.embedding_size else self.hidden_size

    @property
    def project_embeddings(self) -> bool:
        """Whether a Linear maps the embeddings to hidden_size (ELECTRA, ALBERT)."""
        rule = self.family.project_embeddings
        return rule == "always" or (rule == "if-different" and self.embedding_dim != self.hidden_size)

    @property
    def layer_modules(self) -> int:
        """How many encoder layers have weights of their own (ALBERT shares them)."""
        if self.family.shared_layers and self.num_hidden_groups:
            return self.num_hidden_groups
        return self.num_hidden_layers

    @property
    def max_tokens(self) -> int:
        """The longest input the positions allow; RoBERTa's start after the padding index."""
        offset = self.pad_token_id + 1 if self.family.positions_after_padding else 0
        return self.max_position_embeddings - offset

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
    """The checkpoint's config.json, checked for what our model supports: every message names the
    file and what is wrong, nothing else escapes."""
    file = path / "config.json"
    if not file.is_file():
        raise CheckpointError(f"{path} has no config.json")
    raw = read_json(file)
    model_type = raw.get("model_type", "bert")
    if not isinstance(model_type, str):
        raise CheckpointError(f"{file}: model_type must be a string, not {short(model_type)}")
    family = families.for_model_type(model_type)
    if family is None:
        supported = ", ".join(SUPPORTED_MODEL_TYPES)
        raise CheckpointError(
            f"{file}: model_type {short(model_type)} is not supported (supported: {supported})"
        )
    raw = family.read_config(raw)
    if raw.get("position_embedding_type", "absolute") != "absolute":
        raise CheckpointError(
            f"{file}: position_embedding_type {short(raw['position_embedding_type'])} is not "
            "supported"
        )
    for name, value in family.requires.items():
        if raw.get(name, value) != value:
            raise CheckpointError(
                f"{file}: {name} {short(raw[name])} is not supported (only {value!r})"
            )
    architectures = raw.get("architectures") or [family.base_architecture]
    if not isinstance(architectures, list) or not all(isinstance(a, str) for a in architectures):
        raise CheckpointError(
            f"{file}: architectures must be a list of class names, not {short(architectures)}"
        )
    architecture = architectures[0]
    if architecture not in family.architectures:
        supported = ", ".join(family.architectures)
        raise CheckpointError(
            f"{file}: architecture {short(architecture)} is not supported for model_type "
            f"{model_type!r} (supported: {supported})"
        )
    if raw.get("hidden_act", "gelu") not in ACTIVATIONS:
        raise CheckpointError(f"{file}: hidden_act {short(raw['hidden_act'])} is not supported")
    known = {f.name for f in dataclasses.fields(BertConfig)} - {"id2label"}
    values = {k: v for k, v in raw.items() if k in known and not (v is None and k in OPTIONAL)}
    check_values(values, file)
    config = BertConfig(**values)
    check_sizes(config, file)
    config.architecture, config.model_type = architecture, model_type
    config.id2label = read_labels(raw.get("id2label"), file)
    if config.head.endswith("classification") and not config.id2label:
        raise CheckpointError(f"{file}: {architecture} checkpoint has no id2label")
    if config.max_tokens < 2:
        raise CheckpointError(
            f"{file}: max_position_embeddings {config.max_position_embeddings} leaves no room "
            f"for a text (pad_token_id {config.pad_token_id})"
        )
    return config


# What config.json's numbers must be: sizes at least 1, counts and ids at least 0, rates >= 0.
POSITIVE = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
            "intermediate_size", "max_position_embeddings")  # fmt: skip
NON_NEGATIVE = ("type_vocab_size", "pad_token_id", "case_vocab_size", "embedding_size",
                "num_hidden_groups")  # fmt: skip
RATES = ("hidden_dropout_prob", "attention_probs_dropout_prob", "layer_norm_eps")
OPTIONAL = (*NON_NEGATIVE, *RATES)  # null in config.json: our default
SHOWN = 60  # characters of a user's value a message shows at most


def short(value) -> str:
    """A value as a message shows it: its repr, cut to SHOWN characters."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def read_json(file: Path) -> dict:
    """A JSON object from a checkpoint's file, or a CheckpointError naming the file."""
    try:
        value = json.loads(file.read_bytes())
    except (OSError, ValueError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CheckpointError(f"{file} is not valid JSON: {str(e)[:SHOWN]}") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{file} must hold a JSON object, not {short(value)}")
    return value


def check_values(values: dict, file: Path) -> None:
    """The types and ranges config.json's numbers must have for a model to be built at all."""
    for name, value in values.items():
        if name in POSITIVE or name in NON_NEGATIVE:
            least = 1 if name in POSITIVE else 0
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                what = "a positive" if least else "a non-negative"
                raise CheckpointError(f"{file}: {name} must be {what} integer, not {short(value)}")
        elif name in RATES:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not 0 <= value < float("inf"):
                raise CheckpointError(f"{file}: {name} must be a number >= 0, not {short(value)}")


def check_sizes(c: BertConfig, file: Path) -> None:
    """What the sizes must be to one another for a model to be built."""
    if c.hidden_size % c.num_attention_heads:
        raise CheckpointError(
            f"{file}: num_attention_heads {c.num_attention_heads} does not divide hidden_size "
            f"{c.hidden_size}"
        )
    if c.pad_token_id >= c.vocab_size:
        raise CheckpointError(
            f"{file}: pad_token_id {c.pad_token_id} is not below vocab_size {c.vocab_size}"
        )


def read_labels(raw, file: Path) -> dict[int, str]:
    """config.json's id2label as {index: name}."""
    if raw is None:
        return {}
    problem = f"{file}: id2label must map indices to label names, not {short(raw)}"
    if not isinstance(raw, dict):
        raise CheckpointError(problem)
    labels = {}
    for key, value in raw.items():
        try:
            index = int(key)
        except ValueError:
            raise CheckpointError(problem) from None
        if not isinstance(value, str) or index < 0:
            raise CheckpointError(problem)
        labels[index] = value
    if sorted(labels) != list(range(len(labels))):
        raise CheckpointError(f"{file}: id2label's indices must run 0, 1, 2, …, not {short(raw)}")
    return labels


def weights_file(path: Path) -> Path:
    for name in WEIGHT_FILES:
        if (path / name).is_file():
            return path / name
    raise CheckpointError(f"{path} has no weights ({' or '.join(WEIGHT_FILES)})")

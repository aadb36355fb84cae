"""Per-task settings, as data: one `TaskSettings` per task in `TASKS`.

Each says what the task is (title, label names, the test metric and the target it aims at) and
how its adapter is trained. The training numbers were chosen to fit all three trainings in about
an hour on a 2-core CPU (no GPU), aiming at those targets; the model cards say which are met and
record the settings each committed adapter was trained with (also copied into its adapter.json).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from .. import catalog

# The catalog name of the base every task adapter is trained on.
BASE = "minilm"

# Every Linear of every encoder layer: Q, K, V, the attention output and both feed-forward
# projections. peft matches a name or a dotted suffix, so "output.dense" covers both
# "attention.output.dense" and the layer's own "output.dense" (and never "pooler.dense").
ALL_LINEARS = ("query", "key", "value", "output.dense", "intermediate.dense")

# Fields that describe the task rather than how it is trained (not in `TaskSettings.as_dict`).
DESCRIPTION = ("title", "labels", "metric", "target")


@dataclass(frozen=True)
class TaskSettings:
    task: str
    title: str  # the model card's heading
    # Label names, indexed by the integer labels of `data.load_split` items and the model's outputs.
    labels: tuple[str, ...]
    metric: str  # the test metric's name as the card writes it ("accuracy", "entity F1")
    target: float  # the test figure aimed at; the card says whether it is met
    architecture: str
    max_length: int  # tokens, [CLS] and [SEP] included; longer inputs are truncated
    batch_size: int
    epochs: int
    lr: float  # peak learning rate of LoRA pairs and head alike
    lora_r: int
    lora_alpha: int
    lora_targets: tuple[str, ...]
    # Modules trained in full beside the LoRA pairs (copies saved in the adapter).
    modules_to_save: tuple[str, ...]
    lora_dropout: float = 0.05
    # peft's `bias`: "none", or "all" to train every bias too (BitFit-style; ~20k numbers).
    lora_bias: str = "none"
    warmup: float = 0.06  # fraction of the steps spent warming the learning rate up
    weight_decay: float = 0.01
    eval_batch_size: int = 64
    seed: int = 42
    # bf16 autocast for the training steps (about 2x faster on CPUs with AVX512-BF16 or AMX);
    # master weights, optimizer state, evaluation and the saved adapter stay fp32.
    bf16: bool = True
    # Tokens read by evaluation (dev during training, and the test figures); None: max_length.
    # Training may read shorter crops to save time where the app reads more (up to 512).
    eval_max_length: int | None = None
    # Add case embeddings (bert.BertEmbeddings) so the model sees the capitals an uncased base's
    # vocabulary folds away; "case_embeddings" must then be in modules_to_save to be trained.
    case_embeddings: bool = False

    @property
    def eval_length(self) -> int:
        return self.eval_max_length or self.max_length

    def as_dict(self) -> dict:
        """The training settings, as adapter.json records them (the task's description left out:
        the labels are in its id2label, the title and target in the card)."""
        out = asdict(self)
        for key in DESCRIPTION:
            del out[key]
        out["lora_targets"] = list(self.lora_targets)
        out["modules_to_save"] = list(self.modules_to_save)
        return out


def base_dir() -> Path:
    """The base checkpoint's folder."""
    return catalog.checkpoint_dir(catalog.entries()[BASE])


def default_out(task: str) -> Path:
    """Where a task's committed adapter and card live: models/<task>/."""
    return catalog.MODELS_DIR / task


TASKS: dict[str, TaskSettings] = {
    # ~11k short snippets and tweets; 64 tokens covers nearly all of them.
    "sentiment": TaskSettings(
        task="sentiment",
        title="MiniLM sentiment (negative / positive)",
        labels=("negative", "positive"),
        metric="accuracy",
        target=0.90,
        architecture="BertForSequenceClassification",
        max_length=64,
        batch_size=32,
        epochs=3,
        lr=5e-4,
        lora_r=32,
        lora_alpha=64,
        lora_targets=ALL_LINEARS,
        # r=16 with only the head and pooler trained in full reached dev 0.8815: more room here,
        # every LayerNorm and every bias trained in full as well (a few thousand numbers each).
        modules_to_save=("classifier", "pooler", "LayerNorm"),
        lora_dropout=0.1,
        lora_bias="all",
    ),
    # 1.7k BBC articles; the title and first paragraphs are enough to tell the topic.
    "topic": TaskSettings(
        task="topic",
        title="MiniLM BBC News topic (5 classes)",
        labels=("business", "entertainment", "politics", "sport", "tech"),
        metric="accuracy",
        target=0.97,
        architecture="BertForSequenceClassification",
        max_length=256,
        batch_size=16,
        epochs=3,
        lr=5e-4,
        lora_r=8,
        lora_alpha=16,
        lora_targets=ALL_LINEARS,
        modules_to_save=("classifier", "pooler"),
        eval_batch_size=16,
        # Training on 256-token crops saves time; the app reads up to 512 tokens, and so do
        # the dev and test figures.
        eval_max_length=512,
    ),
    # ~33k BBC sentences, silver-tagged by spaCy; 128 tokens leaves almost no word untagged.
    "ner": TaskSettings(
        task="ner",
        title="MiniLM named entities (PER / ORG / LOC / MISC)",
        # BIO tags of the CoNLL types (data.ner maps spaCy's OntoNotes types onto them).
        labels=("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"),
        metric="entity F1",
        target=0.80,
        architecture="BertForTokenClassification",
        max_length=128,
        batch_size=32,
        epochs=8,
        lr=1e-3,
        lora_r=32,
        lora_alpha=64,
        lora_targets=ALL_LINEARS,
        modules_to_save=("classifier", "LayerNorm", "case_embeddings"),
        lora_bias="all",
        case_embeddings=True,
    ),
}

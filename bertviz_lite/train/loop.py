"""Fine-tuning our BERT with LoRA (peft) on one task: plain PyTorch, seeded, CPU-sized.

Sequence classification (sentiment, topic) reads [CLS] → pooler → classifier; token
classification (NER) labels only the first sub-token of each word, the others get -100 and are
ignored by the loss, and a word is read at its first sub-token, its tag decoded as the app
decodes it (`predictions.bio_path`). Batches are padded per batch and drawn from length buckets,
so a batch of short snippets is not padded to the longest text of the set. The dev split picks
the best epoch; the test split is never read here.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .. import adapter
from ..bert import ARCHITECTURES
from ..config import read_config
from ..predictions import bio_path, log_softmax
from ..runtime import cpu_count
from ..tokenizer import CASES
from . import data
from .examples import IGNORE, Example, batches, collate, encode, tokenizer
from .tasks import TaskSettings

log = logging.getLogger(__name__)



@dataclass
class TrainResult:
    model: nn.Module  # the peft model, best epoch's weights restored
    history: list[dict[str, Any]]
    best_epoch: int
    best_dev: dict[str, Any]
    steps: int
    seconds: float
    seconds_per_step: float


def set_threads() -> int:
    """Use the CPUs this process may run on (containers report the host's count)."""
    n = cpu_count()
    torch.set_num_threads(n)
    return n


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ---------------------------------------------------------------------------------------------
# model


def build_model(base_dir: Path, settings: TaskSettings) -> nn.Module:
    """The task architecture with the base's encoder weights and a fresh, seeded head."""
    labels = list(settings.labels)
    base = read_config(base_dir)
    config = dataclasses.replace(
        base,
        architecture=settings.architecture,
        id2label=dict(enumerate(labels)),
        case_vocab_size=len(CASES) if settings.case_embeddings else 0,
    )
    torch.manual_seed(settings.seed)
    model = ARCHITECTURES[settings.architecture](config)
    adapter.load_base(model, base_dir)
    # BERT's own head initialisation: N(0, 0.02), zero bias.
    nn.init.normal_(model.classifier.weight, std=0.02)
    nn.init.zeros_(model.classifier.bias)
    return model


def wrap_lora(model: nn.Module, settings: TaskSettings) -> nn.Module:
    """peft LoRA on the target Linears; modules_to_save are trained in full."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=settings.lora_r,
        lora_alpha=settings.lora_alpha,
        lora_dropout=settings.lora_dropout,
        target_modules=list(settings.lora_targets),
        modules_to_save=list(settings.modules_to_save),
        bias=settings.lora_bias,
    )
    return get_peft_model(model, config)


def torch_logits(model: nn.Module) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """A logits function over collated arrays, for `evaluate`."""

    def run(arrays: dict[str, np.ndarray]) -> np.ndarray:
        inputs = {
            k: torch.from_numpy(arrays[k])
            for k in ("input_ids", "attention_mask", "token_type_ids", "case_ids")
        }
        with torch.inference_mode():
            return model(**inputs).logits.float().numpy()

    return run


# ---------------------------------------------------------------------------------------------
# evaluation


def evaluate(
    task: str,
    examples: Sequence[Example],
    logits_fn: Callable[[dict[str, np.ndarray]], np.ndarray],
    batch_size: int = 64,
    progress: bool = False,
) -> dict[str, Any]:
    """Accuracy (classification) or seqeval entity-level F1 with per-type F1 (NER)."""
    preds: list[Any] = [None] * len(examples)
    order = batches(examples, batch_size, None)
    for idx in tqdm(order, desc="evaluating", unit="batch", disable=not progress, leave=False):
        logits = logits_fn(collate([examples[i] for i in idx]))
        for row, i in enumerate(idx):
            preds[i] = logits[row]
    if task != "ner":
        predicted = np.array([int(p.argmax()) for p in preds])
        gold = np.array([e.labels for e in examples])
        loss = _cross_entropy(np.stack(preds), gold)
        return {"accuracy": float((predicted == gold).mean()), "loss": loss, "n": len(examples)}
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    names = data.label_names("ner")
    predicted_tags = []
    for e, logit in zip(examples, preds):
        tags = ["O"] * e.n_words  # a word truncated away counts as tagged O
        words = [(w, t) for t, w in enumerate(e.word_index) if w is not None]
        # As the app tags: the most probable BIO-valid sequence (predictions.entities).
        path = bio_path(log_softmax(logit[[t for _, t in words]].astype(np.float64)), names)
        for (w, _), tag in zip(words, path):
            tags[w] = names[tag]
        predicted_tags.append(tags)
    gold = [e.gold for e in examples]
    # Token logits and labels of every example, flattened; the ignored ones drop out.
    token_logits = np.concatenate([logit[: len(e.labels)] for e, logit in zip(examples, preds)])
    token_labels = np.concatenate([e.labels for e in examples])
    keep = token_labels != IGNORE
    loss = _cross_entropy(token_logits[keep], token_labels[keep])
    report = classification_report(gold, predicted_tags, output_dict=True, zero_division=0)
    per_type = {
        k: {"precision": v["precision"], "recall": v["recall"], "f1": v["f1-score"],
            "support": int(v["support"])}
        for k, v in report.items() if "avg" not in k
    }  # fmt: skip
    # zero_division=0: early in training a model may predict no entity at all (F1 is then 0).
    return {
        "f1": float(f1_score(gold, predicted_tags, zero_division=0)),
        "precision": float(precision_score(gold, predicted_tags, zero_division=0)),
        "recall": float(recall_score(gold, predicted_tags, zero_division=0)),
        "per_type": per_type,
        "loss": loss,
        "n": len(examples),
    }


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the gold labels: breaks ties between equal dev scores."""
    return float(
        nn.functional.cross_entropy(
            torch.from_numpy(logits).double(), torch.from_numpy(labels).long()
        )
    )


def score(task: str, metrics: dict[str, Any]) -> float:
    """The one number that picks the best epoch and is compared across variants."""
    return metrics["f1"] if task == "ner" else metrics["accuracy"]


def better(task: str, metrics: dict[str, Any], than: dict[str, Any] | None) -> bool:
    """A higher score, or the same score with a lower loss: a dev split of ~200 articles ties
    often, and the more confident model is then the one that int8 rounding flips less."""
    if than is None:
        return True
    a, b = score(task, metrics), score(task, than)
    return a > b or (a == b and metrics["loss"] < than["loss"])


# ---------------------------------------------------------------------------------------------
# training


def optimizer_and_schedule(params: list, lr: float, weight_decay: float, warmup: float,
                           total: int) -> tuple:  # fmt: skip
    """AdamW with weight decay on matrices only (biases and LayerNorm: none), and its schedule:
    linear warm-up over the first `warmup` fraction of `total` steps, then linear decay to 0."""
    optimizer = torch.optim.AdamW(
        [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
         {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}],
        lr=lr,
    )  # fmt: skip
    steps = max(1, round(warmup * total))

    def schedule(step: int) -> float:
        if step < steps:
            return (step + 1) / steps
        return max(0.0, (total - step) / max(1, total - steps))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def train(
    settings: TaskSettings,
    base_dir: Path,
    train_items: Sequence[dict],
    dev_items: Sequence[dict],
    epochs: int | None = None,
    max_steps: int | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train LoRA + head on `train_items`; evaluate on `dev_items` after each epoch (and at a
    max_steps stop) and keep the best."""
    set_threads()
    seed_everything(settings.seed)
    epochs = epochs or settings.epochs
    train_ex = encode(settings.task, train_items, tokenizer(base_dir, settings.max_length))
    dev_ex = encode(settings.task, dev_items, tokenizer(base_dir, settings.eval_length))
    model = wrap_lora(build_model(base_dir, settings), settings)

    rng = random.Random(settings.seed)
    steps_per_epoch = math.ceil(len(train_ex) / settings.batch_size)
    total = epochs * steps_per_epoch
    total = total if max_steps is None else min(max_steps, total)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer, scheduler = optimizer_and_schedule(
        params, settings.lr, settings.weight_decay, settings.warmup, total
    )
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE)
    n_labels = len(settings.labels)

    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, Any], dict[str, torch.Tensor]] | None = None
    step, started = 0, time.perf_counter()
    bar = tqdm(total=total, desc=f"training {settings.task}", unit="step", disable=not progress)
    for epoch in range(1, epochs + 1):
        model.train()
        losses = []
        for idx in batches(train_ex, settings.batch_size, rng):
            if step >= total:
                break
            arrays = collate([train_ex[i] for i in idx])
            tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
            labels = tensors.pop("labels")
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.bf16):
                logits = model(**tensors).logits
            loss = loss_fn(logits.float().reshape(-1, n_labels), labels.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            step += 1
            bar.update()
            if step % 10 == 0:
                bar.set_postfix(epoch=epoch, loss=f"{np.mean(losses[-50:]):.4f}")
        model.eval()
        dev = evaluate(settings.task, dev_ex, torch_logits(model), settings.eval_batch_size)
        record = {
            "epoch": epoch, "steps": step, "train_loss": float(np.mean(losses)) if losses else None,
            "losses": losses, "dev": dev, "seconds": round(time.perf_counter() - started, 1),
        }  # fmt: skip
        history.append(record)
        dev_score = score(settings.task, dev)
        bar.write(
            f"epoch {epoch}: train loss {record['train_loss']:.4f}, dev "
            f"{'F1' if settings.task == 'ner' else 'accuracy'} {dev_score:.4f} ({step} steps)"
        )
        if better(settings.task, dev, best[2] if best else None):
            snapshot = {
                n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad
            }
            best = (dev_score, epoch, dev, snapshot)
        if step >= total:
            break
    bar.close()
    seconds = time.perf_counter() - started
    assert best is not None
    with torch.no_grad():  # back to the best epoch's weights
        named = dict(model.named_parameters())
        for n, t in best[3].items():
            named[n].copy_(t)
    model.eval()
    return TrainResult(
        model=model, history=history, best_epoch=best[1], best_dev=best[2], steps=step,
        seconds=seconds, seconds_per_step=seconds / max(1, step),
    )  # fmt: skip

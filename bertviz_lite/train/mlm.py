"""Masked-LM pre-training of MiniLM (Devlin et al. 2019): settings, data, model, loop, figures
(the stored model: mlm_store.py).

The base (all-MiniLM-L6-v2) ships no MLM head, so one is made, with the names `transformers`
gives BERT's: `cls.predictions.transform.dense` and `.LayerNorm`, the decoder tied to the word
embeddings (it is not stored), and the output bias `cls.predictions.bias`. Training runs in two
stages, each its own adapter:

1. **head**: the head alone on the frozen encoder (the encoder in eval mode: no dropout). The
   output bias starts at the log-frequency of each token in the training text, the transform as
   BERT initialises it. This is the "before": what the encoder knows without pre-training.
2. **lora**: LoRA pairs on every Linear of every encoder layer, and the head, which starts from
   stage 1's; the encoder in train mode (dropout 0.1).

Text is cut into windows (mlm_windows.py); each batch is corrupted by `masking.mask_batch` with a
Generator seeded by (seed, stage, epoch, batch): dynamic masking that a resumed run repeats.

After each epoch, the dev split's loss and top-1/top-5 accuracy at the chosen positions (fixed
masks) are measured; the epoch with the lowest dev loss is kept. The training state (trainable
weights, optimizer, schedule, position in the epoch, history, best so far) is checkpointed after
each epoch and every `checkpoint_every` steps; `resume=True` continues from it.

The test figures are single-mask probes (`masking.single_mask_probes`): one [MASK] per input at a
random position other than [CLS]/[SEP], top-1 and top-5 accuracy of the masked token.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .. import adapter, catalog
from ..bert import BertForMaskedLM
from ..cache import cache_root
from ..config import read_config
from .loop import optimizer_and_schedule
from .masking import IGNORE, Vocab, mask_batch
from .mlm_eval import core, dev_metrics, masked_logits
from .mlm_windows import Window, batch_rng, pad, token_batches
from .tasks import ALL_LINEARS

log = logging.getLogger(__name__)

NAME = "minilm-mlm"  # the catalog name, and the folder under models/
NAMES = ("mlm", NAME)  # what the command line accepts for it
ARCHITECTURE = "BertForMaskedLM"
# The trained head, by our model's parameter paths: the decoder is the word embeddings (tied).
HEAD = ("cls.predictions.transform", "cls.predictions.bias")
TIED = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight"}
HEAD_ONLY = "head-only"  # the stage-1 adapter's folder, inside the adapter's
STAGES = ("head", "lora")


@dataclass(frozen=True)
class MLMSettings:
    title: str = "MiniLM masked LM"
    max_length: int = 128  # tokens per window, [CLS] and [SEP] included
    batch_tokens: int = 4096  # padded tokens per batch: 32 full windows, or ~128 tweets
    mask_prob: float = 0.15
    whole_word: bool = False
    # Stage 1: the head alone on the frozen encoder.
    head_epochs: int = 1
    head_lr: float = 3e-3
    # Stage 2: LoRA + head.
    epochs: int = 2
    lr: float = 1e-3
    lora_r: int = 32
    lora_alpha: int = 64
    lora_dropout: float = 0.1
    lora_targets: tuple[str, ...] = ALL_LINEARS
    warmup: float = 0.06
    weight_decay: float = 0.01
    seed: int = 42
    bf16: bool = True  # autocast for training steps; dev, test and the saved weights are fp32
    checkpoint_every: int = 100  # steps between mid-epoch checkpoints (and one per epoch)
    # Test figures: single-mask probes, one per `probe_every` tokens of a window (at least one).
    probe_every: int = 32
    probe_seed: int = 2019
    # Targets on the test split's probes (top-1, top-5).
    target_top1: float = 0.40
    target_top5: float = 0.60

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["title"], out["target_top1"], out["target_top5"]
        out["lora_targets"] = list(self.lora_targets)
        return out


SETTINGS = MLMSettings()


def default_out() -> Path:
    """models/minilm-mlm/: the adapter, its card and its head-only baseline in head-only/."""
    return catalog.MODELS_DIR / NAME


def checkpoint_file(out: Path) -> Path:
    """Where the training state of a run writing into `out` is kept (the cache, not git)."""
    key = hashlib.sha256(str(Path(out).resolve()).encode()).hexdigest()[:10]
    return cache_root() / "train" / f"{NAME}-{key}" / "state.pt"


# ---------------------------------------------------------------------------------------------
# model


def base_config(base_dir: Path):
    return dataclasses.replace(
        read_config(base_dir), architecture=ARCHITECTURE, id2label={}, case_vocab_size=0
    )


def build_model(base_dir: Path, seed: int, counts: np.ndarray | None = None) -> BertForMaskedLM:
    """The masked-LM model with the base's encoder and a fresh head: the transform as BERT
    initialises it (N(0, 0.02), zero bias, LayerNorm 1/0), the output bias at the log-frequency
    of each token in `counts` (add-one smoothed; zero without counts)."""
    torch.manual_seed(seed)
    model = BertForMaskedLM(base_config(base_dir))
    adapter.load_base(model, base_dir)
    head = model.cls.predictions
    nn.init.normal_(head.transform.dense.weight, std=0.02)
    nn.init.zeros_(head.transform.dense.bias)
    nn.init.ones_(head.transform.LayerNorm.weight)
    nn.init.zeros_(head.transform.LayerNorm.bias)
    with torch.no_grad():
        if counts is None:
            head.bias.zero_()
        else:
            freq = torch.from_numpy(np.log(counts.astype(np.float64) + 1.0)).float()
            head.bias.copy_(freq - freq.mean())
    return model


def head_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    """The trained head's parameters by our names (not the tied decoder)."""
    params = dict(core(model).named_parameters())
    return {n: p for n, p in params.items() if any(n == h or n.startswith(h + ".") for h in HEAD)}


def freeze_all_but_head(model: nn.Module) -> None:
    for p in model.parameters():
        p.requires_grad_(False)
    for p in head_parameters(model).values():
        p.requires_grad_(True)


def wrap_lora(model: nn.Module, s: MLMSettings) -> nn.Module:
    """peft LoRA on the encoder's Linears; the head stays trainable beside them."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=s.lora_r, lora_alpha=s.lora_alpha, lora_dropout=s.lora_dropout,
        target_modules=list(s.lora_targets), bias="none",
    )  # fmt: skip
    wrapped = get_peft_model(model, config)
    for p in head_parameters(wrapped).values():
        p.requires_grad_(True)
    return wrapped


# ---------------------------------------------------------------------------------------------
# training


@dataclass
class StageResult:
    stage: str
    model: nn.Module  # best epoch's weights restored
    history: list[dict[str, Any]]
    best_epoch: int
    best_dev: dict[str, Any]
    steps: int
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {"stage": self.stage, "history": self.history, "best_epoch": self.best_epoch,
                "best_dev": self.best_dev, "steps": self.steps,
                "seconds": round(self.seconds, 1)}  # fmt: skip


class Checkpointer:
    """The training state in one file, written atomically; `extra` is the caller's (which
    stages are done, settings, the data)."""

    def __init__(self, path: Path | None, extra: dict[str, Any]):
        self.path = path
        self.extra = extra

    def save(self, state: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save({**state, "extra": self.extra}, tmp)
        tmp.replace(self.path)

    def load(self) -> dict[str, Any] | None:
        if self.path is None or not self.path.is_file():
            return None
        return torch.load(self.path, map_location="cpu", weights_only=False)

    def clear(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def plan(n_windows_lengths: Sequence[int], s: MLMSettings, stage: str, epochs: int):
    """The batches of every epoch of a stage, fixed by the seed."""
    k = STAGES.index(stage)
    return [
        token_batches(n_windows_lengths, s.batch_tokens, batch_rng(s.seed, k, e))
        for e in range(1, epochs + 1)
    ]


def run_stage(
    stage: str,
    model: nn.Module,
    s: MLMSettings,
    train_w: Sequence[Window],
    dev_w: Sequence[Window],
    vocab: Vocab,
    ckpt: Checkpointer,
    state: dict[str, Any] | None = None,
    epochs: int | None = None,
    max_steps: int | None = None,
    progress: bool = True,
) -> StageResult:
    """Train the model's trainable parameters (the head; LoRA + head) for one stage."""
    k = STAGES.index(stage)
    epochs = epochs or (s.head_epochs if stage == "head" else s.epochs)
    lr = s.head_lr if stage == "head" else s.lr
    batches = plan([len(w.ids) for w in train_w], s, stage, epochs)
    total = sum(len(b) for b in batches)
    total = total if max_steps is None else min(max_steps, total)
    named = {n: p for n, p in model.named_parameters() if p.requires_grad}
    params = list(named.values())
    optimizer, scheduler = optimizer_and_schedule(params, lr, s.weight_decay, s.warmup, total)
    history: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None  # epoch, dev, snapshot
    epoch, done, step, spent = 1, 0, 0, 0.0
    losses: list[float] = []
    if state is not None and state.get("stage") == stage:
        with torch.no_grad():
            for n, t in state["params"].items():
                named[n].copy_(t)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history, best = state["history"], state["best"]
        epoch, done, step, spent = state["epoch"], state["batch"], state["step"], state["seconds"]
        losses = state["losses"]
        torch.set_rng_state(state["torch_rng"])
        log.warning("resuming stage %s at epoch %d, batch %d (step %d)", stage, epoch, done, step)

    def snapshot(at_epoch: int, at_batch: int) -> None:
        ckpt.save({
            "stage": stage, "epoch": at_epoch, "batch": at_batch, "step": step,
            "params": {n: p.detach().clone() for n, p in named.items()},
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "history": history, "best": best, "losses": losses,
            "seconds": spent + time.perf_counter() - started, "torch_rng": torch.get_rng_state(),
        })  # fmt: skip

    started = time.perf_counter()
    bar = tqdm(total=total, initial=step, desc=f"mlm {stage}", unit="step", disable=not progress)
    while epoch <= epochs and step < total:
        # The head-only stage reads the frozen encoder as it is: no dropout.
        model.train(stage != "head")
        for b, idx in enumerate(batches[epoch - 1]):
            if b < done:
                continue
            if step >= total:
                break
            ids, att = pad([train_w[i].ids for i in idx])
            masked = mask_batch(
                ids, att, vocab, batch_rng(s.seed, k, epoch, b), s.mask_prob, s.whole_word
            )
            where = torch.from_numpy(masked.labels != IGNORE)
            if where.any():
                labels = torch.from_numpy(masked.labels)[where]
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=s.bf16):
                    logits = masked_logits(
                        model, torch.from_numpy(masked.input_ids), torch.from_numpy(att), where
                    )
                loss = nn.functional.cross_entropy(logits.float(), labels)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                losses.append(loss.item())
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            step += 1
            bar.update()
            if step % 10 == 0 and losses:
                bar.set_postfix(epoch=epoch, loss=f"{np.mean(losses[-50:]):.3f}")
            if s.checkpoint_every and step % s.checkpoint_every == 0 and step < total:
                snapshot(epoch, b + 1)
        dev = dev_metrics(model, dev_w, vocab, s)
        record = {
            "epoch": epoch, "steps": step,
            "train_loss": float(np.mean(losses)) if losses else None,
            "dev_loss": dev["loss"], "dev_top1": dev["top1"], "dev_top5": dev["top5"],
            "dev_n": dev["n"], "seconds": round(spent + time.perf_counter() - started, 1),
        }  # fmt: skip
        history.append(record)
        bar.write(
            f"{stage} epoch {epoch}: train loss {record['train_loss']:.4f}, dev loss "
            f"{dev['loss']:.4f}, dev top-1 {dev['top1']:.4f}, top-5 {dev['top5']:.4f} "
            f"({step} steps, {record['seconds'] / 60:.1f} min)"
        )
        if best is None or dev["loss"] < best["dev"]["loss"]:
            snap = {n: p.detach().clone() for n, p in named.items()}
            best = {"epoch": epoch, "dev": dev, "snapshot": snap}
        epoch, done, losses = epoch + 1, 0, []
        snapshot(epoch, 0)
    bar.close()
    seconds = spent + time.perf_counter() - started
    assert best is not None
    with torch.no_grad():
        for n, t in best["snapshot"].items():
            named[n].copy_(t)
    model.eval()
    return StageResult(stage, model, history, best["epoch"], best["dev"], step, seconds)

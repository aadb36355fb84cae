"""Masked-LM figures: dev loss and top-k at the training rule's masks, and single-mask probes
through torch or an ONNX session (the test figures)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..bert import BertForMaskedLM
from .masking import IGNORE, Probe, Vocab, mask_batch, single_mask_probes
from .mlm_windows import Window, batch_rng, pad, token_batches


def core(model: nn.Module) -> BertForMaskedLM:
    """Our BertForMaskedLM inside a peft wrapper (LoRA layers in place), or the model itself."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def masked_logits(
    model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, where: torch.Tensor
) -> torch.Tensor:
    """Vocabulary logits at the positions `where` [B, T] (bool) only: [n, vocab]."""
    m = core(model)
    hidden = m.bert(ids, mask).hidden_states[:, -1]
    return m.cls.predictions(hidden[where])


def _topk_hits(logits: torch.Tensor, answers: torch.Tensor) -> tuple[int, int, float]:
    """(top-1 hits, top-5 hits, summed negative log-likelihood) of `answers`."""
    top = logits.topk(5, dim=-1).indices
    hit1 = int((top[:, 0] == answers).sum())
    hit5 = int((top == answers[:, None]).any(-1).sum())
    nll = float(nn.functional.cross_entropy(logits.double(), answers, reduction="sum"))
    return hit1, hit5, nll


def dev_metrics(
    model: nn.Module, wins: Sequence[Window], vocab: Vocab, s: Any, progress: bool = False
) -> dict[str, Any]:
    """Loss and top-1/top-5 accuracy at the chosen positions of `wins`, masked by the training
    rule with fixed seeds (the same masks every epoch): fp32, eval mode."""
    model.eval()
    order = token_batches([len(w.ids) for w in wins], 2 * s.batch_tokens, None)
    hit1 = hit5 = n = 0
    nll = 0.0
    for b, idx in enumerate(tqdm(order, desc="dev", leave=False, disable=not progress)):
        ids, att = pad([wins[i].ids for i in idx])
        masked = mask_batch(ids, att, vocab, batch_rng(s.seed, 99, b), s.mask_prob, s.whole_word)
        where = torch.from_numpy(masked.labels != IGNORE)
        if not where.any():
            continue
        with torch.inference_mode():
            logits = masked_logits(
                model, torch.from_numpy(masked.input_ids), torch.from_numpy(att), where
            ).float()
        a, b5, ll = _topk_hits(logits, torch.from_numpy(masked.labels)[where])
        hit1, hit5, nll, n = hit1 + a, hit5 + b5, nll + ll, n + int(where.sum())
    return {"loss": nll / max(1, n), "top1": hit1 / max(1, n), "top5": hit5 / max(1, n), "n": n}


def probes(wins: Sequence[Window], vocab: Vocab, s: Any) -> list[Probe]:
    return single_mask_probes([(w.ids, w.source) for w in wins], vocab, s.probe_seed, s.probe_every)


def probe_metrics(
    logits_at: Callable[[list[Probe]], np.ndarray],
    items: Sequence[Probe],
    batch_tokens: int = 8192,
    progress: bool = False,
    desc: str = "probes",
) -> dict[str, Any]:
    """Top-1/top-5 accuracy (and mean NLL) of each probe's answer; `logits_at(probes)` gives the
    vocabulary logits at each probe's masked position, [len(probes), vocab]. Batches of similar
    lengths up to `batch_tokens` (1: one probe at a time, as the app runs a text)."""
    order = (
        [[i] for i in range(len(items))]
        if batch_tokens <= 1
        else token_batches([len(p.ids) for p in items], batch_tokens, None)
    )
    per: dict[str, list[float]] = {}
    hits1 = np.zeros(len(items), bool)
    hits5 = np.zeros(len(items), bool)
    nll = np.zeros(len(items))
    for idx in tqdm(order, desc=desc, unit="batch", leave=False, disable=not progress):
        logits = torch.from_numpy(np.asarray(logits_at([items[i] for i in idx]), np.float32))
        answers = torch.tensor([items[i].answer for i in idx])
        top = logits.topk(5, dim=-1).indices
        hits1[idx] = (top[:, 0] == answers).numpy()
        hits5[idx] = (top == answers[:, None]).any(-1).numpy()
        nll[idx] = nn.functional.cross_entropy(logits.double(), answers, reduction="none").numpy()
    for i, p in enumerate(items):
        per.setdefault(p.source, []).append(i)
    by_source = {
        src: {"top1": float(hits1[ix].mean()), "top5": float(hits5[ix].mean()), "n": len(ix)}
        for src, ix in sorted(per.items())
    }
    return {"top1": float(hits1.mean()), "top5": float(hits5.mean()), "loss": float(nll.mean()),
            "n": len(items), "by_source": by_source}  # fmt: skip


def torch_logits_at(model: nn.Module) -> Callable[[list[Probe]], np.ndarray]:
    """`probe_metrics`' logits function through a torch model, fp32."""

    def run(batch: list[Probe]) -> np.ndarray:
        ids, att = pad([p.ids for p in batch])
        where = torch.zeros(ids.shape, dtype=torch.bool)
        for row, p in enumerate(batch):
            where[row, p.position] = True
        with torch.inference_mode():
            return masked_logits(model, torch.from_numpy(ids), torch.from_numpy(att), where).numpy()

    return run


def session_logits_at(session, layers: int, heads: int) -> Callable[[list[Probe]], np.ndarray]:
    """`probe_metrics`' logits function through an ONNX session (runtime.Session)."""
    head_mask = np.ones((layers, heads), np.float32)

    def run(batch: list[Probe]) -> np.ndarray:
        ids, att = pad([p.ids for p in batch])
        out = session.run(
            ["logits"], input_ids=ids, attention_mask=att, token_type_ids=np.zeros_like(ids),
            head_mask=head_mask,
        )["logits"]  # fmt: skip
        return np.stack([out[row, p.position] for row, p in enumerate(batch)])

    return run

"""Integrated gradients and gradient × input, with Captum on our PyTorch model (torch is imported
only here, only when asked): attributions on the word embeddings against a baseline of [MASK]
embeddings with the special tokens kept; IG's steps double until the completeness gap
|Σ scores − (f(x) − f(baseline))| is at most 5% of |f(x) − f(baseline)|, or `max_steps`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import budget
from ..analysis import Analysis
from ..tokenizer import Encoding, batch_arrays
from .base import MAX_STEPS, Attribution, Method, Target, mask_id, resolve_target, units_of

COMPLETENESS = 0.05  # IG's gap, relative to f(x) − f(baseline)
STEP_ROWS = 2048  # token rows per batch of IG's steps (16 steps at 128 tokens, 4 at 512)


def gradients(model: Any, text: str, pair: str | None = None, target: Any = None,
              method: str = "integrated-gradients", steps: int = 32,
              max_steps: int = MAX_STEPS, analysis: Analysis | None = None) -> Attribution:  # fmt: skip
    """Integrated gradients or gradient × input on the word embeddings (Captum). IG starts at
    `steps` (at most `max_steps`) and doubles them until the completeness gap is small enough
    or `max_steps` is reached; its gap is reported either way."""
    steps = min(steps, max_steps)
    budget.check(0, 1, "Gradients: loading the model in PyTorch")  # seconds, the first time
    import torch

    r = analysis or model.analyze(text, pair)
    goal = target if isinstance(target, Target) else resolve_target(model, r, target)
    net = model.torch_model()
    enc = r.encoding
    feed = {k: torch.tensor(v) for k, v in _arrays(model, enc).items()}
    ids = feed.pop("input_ids")
    special = torch.tensor([w is None for w in enc.word_ids])[None]
    baseline = torch.where(special, ids, torch.full_like(ids, mask_id(model)))
    positions, classes = list(goal.positions), list(goal.classes)
    counted = _Steps()

    def f(input_ids, *extra):
        counted.batch(len(input_ids), torch.is_grad_enabled())  # once per batch of steps
        logits = net(input_ids, **dict(zip(feed, extra))).logits
        p = torch.softmax(logits.double(), dim=-1)
        if not positions:
            return p[:, classes[0]]
        return torch.stack([p[:, i, c] for i, c in zip(positions, classes)], 1).mean(1)

    with model.torch_lock:  # Captum hooks the shared model for the run: one at a time
        attr, delta = _captum(f, _word_embeddings(net), ids, baseline, tuple(feed.values()),
                              method, steps, max_steps, counted)  # fmt: skip
    scores = attr.sum(-1)[0].detach().double().numpy()
    units = units_of(enc, False)
    cut = method != "gradient-x-input" and max_steps < MAX_STEPS
    note = f"integrated gradients take {max_steps} steps" if cut else ""
    return Attribution(tokens=[r.tokens[u[0]] for u in units],
                       scores=np.array([scores[u[0]] for u in units], np.float32),
                       target=goal.label, method=method, delta=delta, units=units,
                       f_input=goal.value(r.logits), note=note)  # fmt: skip


class _Steps:
    """IG's steps of the current round as Captum runs them, for the progress bar: the rows of
    the batches it passes to the model with gradients on (its other calls, without, are the
    input and baseline alone), counted once the batch is done; every call also checks the job's
    time and cancel."""

    def __init__(self) -> None:
        self.total = self.done = self.running = 0

    def round(self, steps: int) -> None:
        self.total, self.done, self.running = steps, 0, 0
        budget.check(0, steps, self.what)

    def batch(self, rows: int, steps: bool) -> None:
        if steps:  # the batch before this one is done (its backward pass too)
            self.done, self.running = min(self.done + self.running, self.total), rows
        budget.check(self.done, self.total, self.what)

    def finish(self) -> None:
        self.done = self.total
        budget.check(self.done, self.total, self.what)

    @property
    def what(self) -> str:
        return f"Integrated gradients, {self.total} steps"


def _captum(f, layer, ids, baseline, extra: tuple, method: str, steps: int, max_steps: int,
            counted: _Steps):  # fmt: skip
    """Captum's attribution on `layer` and, for integrated gradients, the completeness gap
    (its steps `counted` as they run)."""
    import torch
    from captum.attr import LayerGradientXActivation, LayerIntegratedGradients

    if method == "gradient-x-input":
        attr = LayerGradientXActivation(f, layer).attribute(ids, additional_forward_args=extra)
        delta = None
    else:
        with torch.no_grad():
            gap = float(f(ids, *extra) - f(baseline, *extra))
        while True:
            counted.round(steps)
            attr, d = LayerIntegratedGradients(f, layer).attribute(
                ids, baselines=baseline, additional_forward_args=extra, n_steps=steps,
                return_convergence_delta=True, internal_batch_size=max(1, STEP_ROWS // ids.shape[1]))  # fmt: skip
            counted.finish()
            delta = float(d.abs().max())
            if delta <= COMPLETENESS * abs(gap) or steps >= max_steps:
                break
            steps *= 2
    return attr, delta


def _arrays(model: Any, enc: Encoding) -> dict[str, np.ndarray]:
    return batch_arrays([enc], model.config.pad_token_id, model.session.inputs)


def _word_embeddings(net: Any):
    for name, module in net.named_modules():
        if name.endswith("word_embeddings"):
            return module
    raise ValueError("the model has no word_embeddings layer")


class IntegratedGradients(Method):
    name = "integrated-gradients"
    caveat = ("gradients along a path from [MASK] embeddings (Captum); sums to the change in "
              "p(label), but depends on that baseline.")  # fmt: skip
    cost = "a forward and a backward pass per step (torch), 32 steps or more"

    def run(self, model: Any, r: Analysis, target: Target, words: bool = False,
            max_units: int | None = None, max_steps: int = MAX_STEPS) -> Attribution:  # fmt: skip
        return gradients(model, r.encoding.text, r.encoding.pair, target, self.name,
                         max_steps=max_steps, analysis=r)  # fmt: skip


class GradientXInput(Method):
    name = "gradient-x-input"
    caveat = "the gradient times the embedding at the input alone: local, and noisy."
    cost = "one forward and one backward pass (torch)"

    def run(self, model: Any, r: Analysis, target: Target, words: bool = False,
            max_units: int | None = None, max_steps: int = MAX_STEPS) -> Attribution:  # fmt: skip
        return gradients(model, r.encoding.text, r.encoding.pair, target, self.name, analysis=r)

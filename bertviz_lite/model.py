"""The public API: `load` a model by catalog name or path, then `analyze` a text or a pair.

`load` finds the checkpoint, exports it to ONNX once (cached, checked, rebuilt when damaged) and
opens an onnxruntime session; `analyze` returns every layer's attention and token vectors with the
task head's predictions. Torch is imported only to build a missing export: a warm start and every
request run on onnxruntime, tokenizers and NumPy alone.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import cache, catalog, checkpoint_checks, predictions
from .analysis import Analysis
from .config import BertConfig, read_config, resolve, weights_file
from .graphs import Graphs
from .runtime import Session, resolve_device
from .tokenizer import Encoding, Tokenizer, batch_arrays

log = logging.getLogger(__name__)

VARIANTS = ("auto", "fp32", "int8", "fp16")
EXTRAS = ("queries", "keys", "values")  # what analyze(extra=...) may add
# The app's task for what an architecture puts on the encoder (families.HEADS), in any family.
TASKS = {
    "sequence-classification": "classification",
    "token-classification": "ner",
    "masked-lm": "masked-lm",
}


class LoadedModel:
    """A loaded model: tokenizer + onnxruntime session + label names."""

    def __init__(
        self, name: str, checkpoint: Path, config: BertConfig, session: Session, variant: str,
        graphs: Graphs | None = None, tokenizer: Tokenizer | None = None,
        adapter_dir: Path | None = None,
    ):  # fmt: skip
        """graphs: opens the model's other graphs (the logits alone, context mixing) when asked;
        tokenizer: the checkpoint's, when already open (else opened from `checkpoint`);
        adapter_dir: the task adapter merged into the weights (a catalog task model), if any."""
        self.name = name
        self.adapter_dir = adapter_dir
        self._torch: Any = None
        # Held by a gradient method for its whole run: Captum hooks the shared torch model's
        # embedding layer, and another thread's run would pass through those hooks (two
        # visitors' Explain clicks: "Sizes of tensors must match").
        self.torch_lock = threading.Lock()
        self.graphs = graphs
        self._opening = threading.Lock()
        self.checkpoint = checkpoint
        self.config = config
        self.session = session
        self.variant = variant
        if tokenizer is None:
            mask = config.family.special_tokens.get("mask")
            tokenizer = Tokenizer.from_dir(checkpoint, config.max_tokens, mask)
        self.tokenizer = tokenizer
        self.labels = self.config.labels

    def torch_model(self) -> Any:
        """The same weights in our PyTorch model (for gradient methods), built once, on the
        first call: torch is imported only then."""
        with self._opening:
            if self._torch is None:
                self._torch = torch_weights(self.checkpoint, self.adapter_dir).eval()
            return self._torch

    @property
    def device(self) -> str:
        return self.session.device

    @property
    def task(self) -> str | None:
        """"classification", "ner", "masked-lm", or None for a bare encoder."""
        return TASKS.get(self.config.head)

    @property
    def mask_token(self) -> str | None:
        """What to type where a masked-LM model should guess a word ([MASK], <mask>)."""
        return self.tokenizer.mask_token

    def head_mask(self, head_mask: np.ndarray | list | None, batch: int | None = None) -> np.ndarray:
        """A valid float32 mask: [layers, heads] for every item (None: every head on), or
        [batch, layers, heads], one per item."""
        shape = (self.config.num_hidden_layers, self.config.num_attention_heads)
        if head_mask is None:
            return np.ones(shape, np.float32)
        try:
            mask = np.asarray(head_mask, np.float32)
        except (TypeError, ValueError):
            raise ValueError(
                f"head_mask must be numbers in [0, 1] of shape {shape}, not a "
                f"{type(head_mask).__name__} that holds something else"
            ) from None
        if mask.shape != shape and mask.shape != (batch, *shape):
            per_item = f" or {(batch, *shape)} (one per item)" if batch is not None else ""
            raise ValueError(
                f"head_mask must have shape {shape} (layers, heads){per_item}, not {mask.shape}"
            )
        if not np.isfinite(mask).all() or (mask < 0).any() or (mask > 1).any():
            raise ValueError(
                "head_mask values must lie in [0, 1] (1 keeps a head, 0 switches it off)"
            )
        return mask

    def run(
        self, encodings: list[Encoding], head_mask=None, outputs: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]:
        """The session's raw outputs for a right-padded batch: those named in `outputs` (default
        all; "attentions" is every layer's, stacked). head_mask: [layers, heads] for every item
        or [batch, layers, heads]."""
        arrays = batch_arrays(encodings, self.config.pad_token_id, self.session.inputs)
        mask = self.head_mask(head_mask, len(encodings))
        return self.session.run(outputs, **arrays, head_mask=mask)

    @property
    def logits_session(self) -> Session:
        """The session for runs that read the logits alone: a sequence classifier's logits graph
        (opened, and exported if need be, when first asked: its last layer computes [CLS] only,
        equal to the full graph's logits to float rounding and ~18% faster at 128 tokens);
        the full graph for any other model."""
        classifier = self.config.head == "sequence-classification"
        if self.graphs is None or not classifier:
            return self.session
        return self.graphs.open("logits")

    @property
    def mixing_session(self) -> Session:
        """The context-mixing graph (mixing_graph.py: value zeroing and ALTI), fp32, exported
        and opened when first asked."""
        if self.graphs is None:
            raise ValueError("this model was opened without its graphs: load it with bv.load")
        return self.graphs.open("mixing")

    def logits(self, encodings: list[Encoding], head_mask=None) -> np.ndarray:
        """The head's logits alone for a right-padded batch (through `logits_session`)."""
        arrays = batch_arrays(encodings, self.config.pad_token_id, self.session.inputs)
        arrays["head_mask"] = self.head_mask(head_mask, len(encodings))
        return self.logits_session.run_into(arrays, {}, ["logits"])["logits"]

    def analyze(self, text: str, pair: str | None = None, head_mask=None,
                extra: Sequence[str] = ()) -> Analysis:  # fmt: skip
        """Tokens, every layer's attention, value norms and token vectors, and the task's
        predictions; `extra` adds any of "queries", "keys", "values" ([layers, heads, T, d])."""
        return self.analyze_batch([(text, pair)], head_mask, extra)[0]

    def analyze_batch(self, items: list[tuple[str, str | None]], head_mask=None,
                      extra: Sequence[str] = ()) -> list[Analysis]:  # fmt: skip
        """`analyze` for several inputs in one run; head_mask [layers, heads] for all of them
        or [len(items), layers, heads], one per item."""
        if isinstance(items, str | bytes) or not isinstance(items, Sequence):
            raise TypeError(f"items must be a list of (text, pair), not {type(items).__name__}")
        for item in items:
            if not isinstance(item, Sequence) or isinstance(item, str | bytes) or len(item) != 2:
                raise TypeError(
                    f"each item must be a (text, pair) tuple, pair None for one text; not "
                    f"{type(item).__name__}"
                )
            check_text(*item)
        if isinstance(extra, str | bytes) or not all(isinstance(kind, str) for kind in extra):
            raise TypeError(f"extra must be a sequence of names such as {EXTRAS[:1]}")
        unknown = set(extra) - set(EXTRAS)
        if unknown:
            raise ValueError(f"unknown extra {sorted(unknown)} (choose from {', '.join(EXTRAS)})")
        return self.analyze_encodings([self.tokenizer.encode(t, p) for t, p in items], head_mask, extra)

    def analyze_encodings(self, encodings: list[Encoding], head_mask=None,
                          extra: Sequence[str] = ()) -> list[Analysis]:  # fmt: skip
        """`analyze_batch` for inputs already encoded by this model's tokenizer."""
        arrays = batch_arrays(encodings, self.config.pad_token_id, self.session.inputs)
        arrays["head_mask"] = self.head_mask(head_mask, len(encodings))
        c = self.config
        batch, width = arrays["input_ids"].shape
        layers, heads = c.num_hidden_layers, c.num_attention_heads
        # One buffer per kind, layer first: each layer's output is written into its slice by
        # onnxruntime itself, and for one text each layer's slice is already the Analysis's.
        shapes = {"attentions": (layers, batch, heads, width, width),
                  "hidden_states": (layers + 1, batch, width, c.hidden_size),
                  **{kind: (layers, batch, heads, width, c.head_size) for kind in extra}}  # fmt: skip
        buffers = {kind: np.empty(shape, np.float32) for kind, shape in shapes.items()}
        into = {f"{kind}_{i}": part for kind, b in buffers.items() for i, part in enumerate(b)}
        into["value_norms"] = norms = np.empty((batch, layers, heads, width), np.float32)
        out = self.session.run_into(arrays, into, ["logits"] if c.head != "base" else [])
        results = []
        for row, enc in enumerate(encodings):
            n = len(enc)
            logits = out["logits"][row] if "logits" in out else None
            if logits is not None and logits.ndim == 2:
                logits = logits[:n]
            # Views, not copies, for one unpadded text: the arrays are C-contiguous already.
            tokens = {kind: np.ascontiguousarray(buffers[kind][:, row, ..., :n, :])
                      for kind in ("hidden_states", *extra)}  # fmt: skip
            results.append(Analysis(
                tokens=enc.display_tokens, word_ids=enc.word_ids,
                attentions=np.ascontiguousarray(buffers["attentions"][:, row, :, :n, :n]),
                hidden_states=tokens["hidden_states"],
                value_norms=np.ascontiguousarray(norms[row, :, :, :n]),
                predictions=self._predictions(logits, enc), truncated=enc.truncated,
                encoding=enc, logits=logits, model=self,
                **{kind: tokens[kind] for kind in extra},
            ))  # fmt: skip
        return results

    def attribute(self, text: str, pair: str | None = None, method: str = "occlusion",
                  target=None, words: bool = False):  # fmt: skip
        """Which tokens the prediction rests on: an `attribution.Attribution` (tokens, scores,
        target, method, delta). Methods and targets: see bertviz_lite.attribution."""
        from .attribution import attribute

        check_text(text, pair)
        return attribute(self, text, pair, method, target, words)

    def head_importance(self, text: str, pair: str | None = None, target=None,
                        batch_size: int | None = None,
                        progress: Callable[[int, int], None] | None = None,
                        analysis: Analysis | None = None) -> np.ndarray:  # fmt: skip
        """float32 [layers, heads]: how much the output moves when each head alone is switched
        off (Michel et al. 2019). Classifier: the drop in the target label's probability (None:
        the predicted label; or a label's name or index); NER: the drop in the mean probability
        of the target entity's BIO tags at its words' first pieces (its index, default the first,
        or its (start, end) span); any other model: 1 − cosine of the last layer's mean token
        vector with and without the head. The layers × heads variants run through onnxruntime
        `batch_size` at a time (default: ~128 token rows per run, where the matmuls are already
        efficient and a head's maps stay in cache; 1 for int8, whose dynamic quantization would
        otherwise read the whole batch's range), fetching only the logits (or the last layer);
        `progress(done, total)` after each run; `analysis`: this input's, when the caller has
        it (no forward pass is repeated)."""
        from .attribution.heads import head_importance

        if batch_size is not None:
            batch_size = positive_int("batch_size", batch_size)
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be a function of (done, total), not {progress!r:.60}")
        r = analysis or self.analyze(text, pair)
        return head_importance(self, r, target, batch_size, progress)

    def context_mixing(self, text: str, pair: str | None = None, method: str = "alti",
                       across_layers: str | None = None, analysis: Analysis | None = None,
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:  # fmt: skip
        """float32 [layers, T, T]: how much each token's output at each layer draws on each input
        token of that layer (rows sum to 1), by "attention", "norm", "value-zeroing" or "alti"
        (bertviz_lite.mixing); across_layers="rollout" composes them through the layers."""
        from .mixing import context_mixing

        r = analysis or self.analyze(text, pair)
        return context_mixing(self, r, method, across_layers, progress)

    def attention_flow(self, text: str, pair: str | None = None,
                       analysis: Analysis | None = None) -> np.ndarray:  # fmt: skip
        """float32 [T, T]: the maximum flow from each input token (column) to each last-layer
        token (row) through the layers' attention with the residual (Abnar & Zuidema 2020)."""
        from .analysis.flow import attention_flow

        r = analysis or self.analyze(text, pair)
        return attention_flow(r.attentions)

    def faithfulness(self, text: str, scores, target=None, pair: str | None = None,
                     fractions: Sequence[float] | None = None, analysis: Analysis | None = None):  # fmt: skip
        """How faithful a token-score explanation is (ERASER, DeYoung et al. 2020): the drop in
        the target's probability with its top tokens masked (comprehensiveness) and with only
        them kept (sufficiency), averaged over `fractions`. scores: one per token, or an
        Attribution; target as in `attribute`."""
        from .attribution.faithfulness import FRACTIONS, faithfulness

        r = analysis or self.analyze(text, pair)
        return faithfulness(self, r, scores, target, tuple(fractions or FRACTIONS))

    def _predictions(self, logits: np.ndarray | None, enc: Encoding) -> dict | None:
        if logits is None:
            return None
        if self.task == "classification":
            return predictions.classification(logits, self.labels)
        if self.task == "ner":
            return predictions.entities(logits, self.labels, enc)
        return predictions.masked_words(
            logits, enc, self.tokenizer.readable_token, self.tokenizer.mask_id
        )


def check_text(text, pair=None) -> None:
    """A TypeError unless the text is a str and the pair a str or None."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if pair is not None and not isinstance(pair, str):
        raise TypeError(f"pair must be a str or None, not {type(pair).__name__}")


def positive_int(name: str, value) -> int:
    """`value` as an int, or a ValueError unless it is a whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        shown = repr(value)[:60] if isinstance(value, int | float) else type(value).__name__
        raise ValueError(f"{name} must be a positive integer, not {shown}")
    return int(value)


def pick_variant(variant: str, device: str) -> str:
    """auto → fp32, the model's own attention, on any device: int8 (CPU) and fp16 (CUDA) are
    faster but move attention probabilities (int8 by up to ~0.3 on MiniLM), so they are asked
    for by name. fp16 asked for on a CPU becomes fp32, with a word."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} (choose from {', '.join(VARIANTS)})")
    if variant == "auto":
        return "fp32"
    if variant == "fp16" and device == "cpu":
        log.warning("fp16 is for CUDA; on the CPU using fp32 instead")
        return "fp32"
    return variant


def load(
    name_or_path: str | Path,
    device: str = "auto",
    variant: str = "auto",
    progress: bool = True,
    threads: int | None = None,
) -> LoadedModel:
    """Open a model by catalog name (`bv.load("minilm")`), checkpoint folder or hub id;
    `threads`: onnxruntime's threads (default: every CPU this process may use)."""
    if not isinstance(name_or_path, str | Path):
        raise TypeError(f"name_or_path must be a str or Path, not {type(name_or_path).__name__}")
    slug, checkpoint, adapter_dir = locate(name_or_path)
    config = read_config(checkpoint)  # a checkpoint we cannot read fails here, before any export
    if adapter_dir:
        from . import adapter  # only task models need it

        adapter.check_base(checkpoint, adapter_dir)
        config = adapter.task_config(config, adapter_dir)
    device = resolve_device(device)
    variant = pick_variant(variant, device)
    # The tokenizer opens and the weights fit the config, or nothing is exported or built.
    tokenizer = checkpoint_checks.check(checkpoint, config, weights_file(checkpoint))
    graphs = Graphs(slug, checkpoint, adapter_dir, variant, device, threads, progress,
                    lambda: torch_weights(checkpoint, adapter_dir))  # fmt: skip
    return LoadedModel(slug, checkpoint, config, graphs.open("full"), variant, graphs, tokenizer,
                       adapter_dir)  # fmt: skip


def locate(name_or_path: str | Path) -> tuple[str, Path, Path | None]:
    """(name, checkpoint folder, task adapter folder or None) of a catalog name, folder or hub id."""
    entry = catalog.entries().get(str(name_or_path))
    checkpoint = catalog.checkpoint_dir(entry) if entry else resolve(name_or_path)
    adapter_dir = catalog.adapter_dir(entry) if entry else None
    return (entry.name if entry else checkpoint.name), checkpoint, adapter_dir


def version(name_or_path: str | Path) -> str:
    """What the model computes, as a digest of its weights, config and task adapter: not where
    they lie nor the library versions (a corpus it built stays its own after a reinstall)."""
    _, checkpoint, adapter_dir = locate(name_or_path)
    return weights_version(checkpoint, adapter_dir)


def weights_version(checkpoint: Path, adapter_dir: Path | None = None) -> str:
    """`version` of a checkpoint folder and its task adapter, once located."""
    files = [weights_file(checkpoint), checkpoint / "config.json"]
    files += sorted(adapter_dir.glob("adapter.*")) if adapter_dir else []
    digests = "\n".join(_digest(cache.file_fingerprint(f), f) for f in files)
    return hashlib.sha256(digests.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def _digest(fingerprint: str, path: Path) -> str:
    """A file's SHA-256, once per version of it (path, size, modification time): a build and the
    corpus it opens would read the weights twice."""
    return cache.file_digest(path)


def torch_weights(checkpoint: Path, adapter_dir: Path | None = None) -> Any:
    """Our PyTorch model with the checkpoint's weights and, for a task model, its adapter merged
    in: what is exported, and what gradient methods differentiate."""
    if adapter_dir:
        from .adapter import load_merged

        return load_merged(checkpoint, adapter_dir)
    from .weights import load_model

    return load_model(checkpoint)

"""The public API: `load` a model by catalog name or path, then `analyze` a text or a pair.

`load` finds the checkpoint, exports it to ONNX once (cached, checked, rebuilt when damaged) and
opens an onnxruntime session; `analyze` returns every layer's attention and token vectors with the
task head's predictions. Torch is imported only to build a missing export: a warm start and every
request run on onnxruntime, tokenizers and NumPy alone.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from . import cache, catalog, predictions
from .analysis import Analysis
from .config import BertConfig, read_config, resolve, weights_file
from .runtime import Session, resolve_device
from .tokenizer import Encoding, Tokenizer, batch_arrays

log = logging.getLogger(__name__)

VARIANTS = ("auto", "fp32", "int8", "fp16")
# The app's task for what an architecture puts on the encoder (families.HEADS), in any family.
TASKS = {
    "sequence-classification": "classification",
    "token-classification": "ner",
    "masked-lm": "masked-lm",
}


class LoadedModel:
    """A loaded model: tokenizer + onnxruntime session + label names."""

    def __init__(
        self, name: str, checkpoint: Path, config: BertConfig, session: Session, variant: str
    ):
        self.name = name
        self.checkpoint = checkpoint
        self.config = config
        self.session = session
        self.variant = variant
        self.tokenizer = Tokenizer.from_dir(
            checkpoint, config.max_tokens, config.family.special_tokens.get("mask")
        )
        self.labels = self.config.labels

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

    def head_mask(self, head_mask: np.ndarray | list | None) -> np.ndarray:
        """A valid [layers, heads] float32 mask; None means every head on."""
        shape = (self.config.num_hidden_layers, self.config.num_attention_heads)
        if head_mask is None:
            return np.ones(shape, np.float32)
        mask = np.asarray(head_mask, np.float32)
        if mask.shape != shape:
            raise ValueError(f"head_mask must have shape {shape} (layers, heads), not {mask.shape}")
        if not np.isfinite(mask).all() or (mask < 0).any() or (mask > 1).any():
            raise ValueError(
                "head_mask values must lie in [0, 1] (1 keeps a head, 0 switches it off)"
            )
        return mask

    def run(self, encodings: list[Encoding], head_mask=None) -> dict[str, np.ndarray]:
        """The session's raw outputs for a right-padded batch."""
        arrays = batch_arrays(encodings, self.config.pad_token_id, self.session.inputs)
        return self.session.run(**arrays, head_mask=self.head_mask(head_mask))

    def analyze(self, text: str, pair: str | None = None, head_mask=None) -> Analysis:
        """Tokens, every layer's attention and token vectors, and the task's predictions."""
        return self.analyze_batch([(text, pair)], head_mask)[0]

    def analyze_batch(self, items: list[tuple[str, str | None]], head_mask=None) -> list[Analysis]:
        encodings = [self.tokenizer.encode(text, pair) for text, pair in items]
        out = self.run(encodings, head_mask)
        results = []
        for row, enc in enumerate(encodings):
            n = len(enc)
            logits = out["logits"][row] if "logits" in out else None
            if logits is not None and logits.ndim == 2:
                logits = logits[:n]
            results.append(Analysis(
                tokens=enc.display_tokens, word_ids=enc.word_ids,
                attentions=np.ascontiguousarray(out["attentions"][row, :, :, :n, :n], np.float32),
                hidden_states=np.ascontiguousarray(out["hidden_states"][row, :, :n], np.float32),
                predictions=self._predictions(logits, enc), truncated=enc.truncated,
                encoding=enc, logits=logits,
            ))  # fmt: skip
        return results

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
) -> LoadedModel:
    """Open a model by catalog name (`bv.load("minilm")`), checkpoint folder or hub id."""
    entry = catalog.entries().get(str(name_or_path))
    checkpoint = catalog.checkpoint_dir(entry) if entry else resolve(name_or_path)
    config = read_config(checkpoint)  # a checkpoint we cannot read fails here, before any export
    adapter_dir = catalog.adapter_dir(entry) if entry else None
    if adapter_dir:
        from . import adapter  # only task models need it

        adapter.check_base(checkpoint, adapter_dir)
        config = adapter.task_config(config, adapter_dir)
    device = resolve_device(device)
    variant = pick_variant(variant, device)

    adapter_files = sorted(adapter_dir.glob("adapter.*")) if adapter_dir else []
    key = cache.entry_key(
        cache.file_fingerprint(weights_file(checkpoint)),
        (checkpoint / "config.json").read_text(),
        *(cache.file_digest(f) for f in adapter_files),
        variant,
    )
    slug = entry.name if entry else checkpoint.name
    target = cache.cache_root() / "onnx" / f"{slug}-{variant}-{key}"

    def build(out: Path) -> dict:
        from .export import export
        from .weights import load_model

        log.info("exporting %s (%s) to ONNX, once: %s", slug, variant, target)
        model = (
            adapter.load_merged(checkpoint, adapter_dir) if adapter_dir else load_model(checkpoint)
        )
        return export(model, variant, out, progress=progress)

    for attempt in (1, 2):
        target = cache.get_or_build(target, build)
        try:
            session = Session(target / "model.onnx", device)
            break
        except Exception as e:  # a file that passed its checksum yet will not load: rebuild once
            if attempt == 2:
                raise
            log.warning("cached export %s would not load (%s): rebuilding", target, e)
            (target / "meta.json").unlink(missing_ok=True)
    return LoadedModel(slug, checkpoint, config, session, variant)

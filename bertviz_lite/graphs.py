"""The ONNX graphs of one loaded model, each exported once into the cache and opened when asked.

- "full": every layer's attention, states and value norms, and the logits (export.py);
- "logits": a sequence classifier's logits alone, its last layer computing [CLS] only
  (export.LogitsOutputs), for runs that read nothing else;
- "mixing": value zeroing and ALTI from each layer's input and attention (mixing_graph.py),
  always fp32.

An export is named by the model, variant and a key of its weights, config and adapter, so a
changed model gets new ones; one that passed its checksum yet will not load is rebuilt once.
Torch is imported only to build a missing graph.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import cache
from .config import weights_file
from .runtime import Session

log = logging.getLogger(__name__)

KINDS = ("full", "logits", "mixing")
SUFFIX = {"full": "", "logits": "-logits", "mixing": "-mixing"}


def export_name(slug: str, checkpoint: Path, adapter_dir: Path | None, variant: str) -> str:
    """The export's folder name: the model's name, variant and a key of its weights, config and
    adapter, so a changed model gets a new export."""
    adapter_files = sorted(adapter_dir.glob("adapter.*")) if adapter_dir else []
    key = cache.entry_key(
        cache.file_fingerprint(weights_file(checkpoint)),
        (checkpoint / "config.json").read_text(),
        *(cache.file_digest(f) for f in adapter_files),
        variant,
    )
    return f"{slug}-{variant}-{key}"


class Graphs:
    """Opens a model's graphs by kind, each once (two first requests do not open one twice)."""

    def __init__(self, slug: str, checkpoint: Path, adapter_dir: Path | None, variant: str,
                 device: str, threads: int | None, progress: bool,
                 torch_model: Callable[[], Any]):  # fmt: skip
        """torch_model: builds the model's weights in our PyTorch model, to export from."""
        self.slug, self.checkpoint, self.adapter_dir = slug, checkpoint, adapter_dir
        self.variant, self.device, self.threads, self.progress = variant, device, threads, progress
        self.torch_model = torch_model
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()

    def open(self, kind: str) -> Session:
        """The session of graph `kind` (KINDS), exported first if the cache lacks it."""
        with self.lock:
            if kind not in self.sessions:
                self.sessions[kind] = self._open(kind)
            return self.sessions[kind]

    def folder(self, kind: str) -> Path:
        variant = "fp32" if kind == "mixing" else self.variant
        name = export_name(self.slug, self.checkpoint, self.adapter_dir, variant) + SUFFIX[kind]
        return cache.cache_root() / "onnx" / name

    def _build(self, kind: str) -> Callable[[Path], dict]:
        def build(out: Path) -> dict:
            log.info("exporting %s (%s) to its %s ONNX graph, once: %s", self.slug, self.variant,
                     kind, out.parent.name)  # fmt: skip
            model = self.torch_model()
            if kind == "mixing":
                from .mixing_graph import export_mixing

                return export_mixing(model, out)
            from .export import export

            return export(model, self.variant, out, progress=self.progress,
                          logits_only=kind == "logits")  # fmt: skip

        return build

    def _open(self, kind: str) -> Session:
        if kind not in KINDS:
            raise ValueError(f"unknown graph {kind!r} (choose from {', '.join(KINDS)})")
        folder = self.folder(kind)
        for attempt in (1, 2):
            folder = cache.get_or_build(folder, self._build(kind))
            try:
                return Session(folder / "model.onnx", self.device, self.threads)
            except Exception as e:  # passed its checksum yet will not load: rebuild once
                if attempt == 2:
                    cache.discard(folder)  # a useless export is not left in the cache
                    raise
                log.warning("cached export %s would not load (%s): rebuilding", folder, e)
                (folder / "meta.json").unlink(missing_ok=True)
        raise AssertionError("unreachable")

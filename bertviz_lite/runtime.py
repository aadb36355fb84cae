"""onnxruntime sessions: CUDA when asked for and working, the CPU otherwise, and saying which.

Only `onnxruntime-gpu` is installed (it carries the CPU provider too; with both wheels installed
the CUDA provider disappears). intra-op threads are the CPUs this process may use, not the host's
count that containers report.

The graph returns each layer's tensors as outputs of their own (export.py). `run_into` binds them
to slices of arrays the caller owns (IO binding), so onnxruntime's kernels write the attention maps
straight where the Analysis keeps them: no stacking, no copy out of the session. onnxruntime runs
every node whatever is fetched (it has no partial execution outside training builds): what a run
saves by fetching less is the copy out, not the compute.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def cuda_available() -> bool:
    """True when onnxruntime has the CUDA provider and its libraries can be loaded."""
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False
    try:
        ctypes.CDLL("libcuda.so.1")  # the driver: without it there is no GPU to use
    except OSError:
        return False
    try:
        ort.preload_dlls()  # finds the CUDA libraries of the nvidia-* wheels, when present
    except Exception as e:
        log.debug("preload_dlls failed: %s", e)
    return True


def resolve_device(device: str) -> str:
    """ "auto" → cuda when usable, else cpu; "cuda" without CUDA → cpu, with a warning."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r} (choose from {', '.join(DEVICES)})")
    if device == "cpu":
        return "cpu"
    if cuda_available():
        return "cuda"
    if device == "cuda":
        log.warning("CUDA was asked for but is not available here: falling back to the CPU")
    return "cpu"


# onnxruntime's session optimizer would fuse residual Add + LayerNormalization into
# SkipLayerNormalization, whose CPU kernel (1.31) takes ~6× the time of the two ops it replaces
# ([512, 384]: 0.78 ms against 0.12 ms, one thread): export.py leaves them apart, and so do we.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]

_shared_arena = False


def share_cpu_arena() -> None:
    """Register one CPU arena for the process (kSameAsRequested), once."""
    global _shared_arena
    if not _shared_arena:
        info = ort.OrtMemoryInfo(
            "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
        )
        ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, 1, -1, -1))
        _shared_arena = True


class Session:
    """One ONNX file loaded for inference; `run` takes and returns NumPy arrays by name.
    threads: onnxruntime's intra-op threads (default: the CPUs this process may use)."""

    def __init__(self, path: Path, device: str = "cpu", threads: int | None = None):
        share_cpu_arena()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or cpu_count()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # onnxruntime's own warnings are ours to phrase
        # Every session draws on one CPU arena that grows by what is asked, not by doubling:
        # a server sees every length from 8 to 512 tokens on several models at once.
        options.add_session_config_entry("session.use_env_allocators", "1")
        providers = (
            ["CUDAExecutionProvider", "CPUExecutionProvider"]
            if device == "cuda"
            else ["CPUExecutionProvider"]
        )
        self.path = path
        self.session = ort.InferenceSession(
            str(path), options, providers=providers, disabled_optimizers=DISABLED_OPTIMIZERS
        )
        self.device = "cuda" if "CUDAExecutionProvider" in self.session.get_providers() else "cpu"
        if device == "cuda" and self.device != "cuda":
            log.warning("onnxruntime could not start CUDA for %s: running on the CPU", path.name)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]

        self.layers = sum(name.startswith("attentions_") for name in self.outputs)

    def feed(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The graph's inputs from `inputs`; one head_mask [layers, heads] serves every item."""
        feed = {name: np.ascontiguousarray(inputs[name]) for name in self.inputs}
        mask = feed.get("head_mask")
        if mask is not None and mask.ndim == 2:
            batch = len(feed["input_ids"])
            feed["head_mask"] = np.ascontiguousarray(np.broadcast_to(mask, (batch, *mask.shape)))
        return feed

    def run(self, fetch: Sequence[str] | None = None, **inputs: np.ndarray) -> Outputs:
        """The outputs named in `fetch` (default: all) as new arrays, by name. A stacked name
        ("attentions", "hidden_states", "queries", "keys", "values") fetches every layer's and
        reads as one array [batch, layers(+1), ...]. Attention maps come with the head mask
        applied (0 for a head switched off), as transformers returns them."""
        feed = self.feed(inputs)
        names = self.output_names(fetch)
        out = Outputs(zip(names, self.session.run(names, feed)))
        mask_heads(out, feed.get("head_mask"))
        return out

    def output_names(self, fetch: Sequence[str] | None) -> list[str]:
        if fetch is None:
            return list(self.outputs)
        names = []
        for name in fetch:
            per_layer = [o for o in self.outputs if o.rpartition("_")[0] == name]
            names += per_layer or [name]
        return names

    def run_into(
        self, inputs: dict[str, np.ndarray], into: dict[str, np.ndarray], fetch: Sequence[str] = ()
    ) -> dict[str, np.ndarray]:
        """One run that writes each output named in `into` straight into that (C-contiguous,
        float32) array, e.g. one layer's slice of a stacked buffer, and returns the outputs
        named in `fetch` as new arrays. Attention maps get the head mask, as in `run`."""
        feed = self.feed(inputs)
        binding = self.session.io_binding()
        for name, value in feed.items():
            binding.bind_cpu_input(name, value)
        for name, array in into.items():
            if not array.flags.c_contiguous or array.dtype != np.float32:
                raise ValueError(f"{name}: outputs go into C-contiguous float32 arrays")
            binding.bind_output(name, "cpu", 0, np.float32, list(array.shape), array.ctypes.data)
        for name in fetch:
            binding.bind_output(name, "cpu")
        self.session.run_with_iobinding(binding)
        values = binding.get_outputs()[len(into) :] if fetch else []
        out = Outputs(into) | {name: v.numpy() for name, v in zip(fetch, values)}
        mask_heads(out, feed.get("head_mask"))
        return {name: out[name] for name in fetch}


STACKED = ("attentions", "hidden_states", "queries", "keys", "values")


class Outputs(dict):
    """Outputs by name; a stacked name ("attentions") reads every layer's, stacked on axis 1."""

    def __missing__(self, key: str) -> np.ndarray:
        parts = [self[f"{key}_{i}"] for i in range(len(self)) if f"{key}_{i}" in self]
        if key not in STACKED or not parts:
            raise KeyError(key)
        self[key] = np.stack(parts, 1)
        return self[key]


def mask_heads(out: dict[str, np.ndarray], head_mask: np.ndarray | None) -> None:
    """The graph switches heads off in their values; their maps get the mask here, in place, for
    the items and heads it changes (none in the common case)."""
    if head_mask is None or (head_mask == 1).all():
        return
    for layer in range(head_mask.shape[1]):
        maps = out.get(f"attentions_{layer}")
        if maps is None:
            continue
        for item, head in zip(*np.nonzero(head_mask[:, layer] != 1)):
            maps[item, head] *= head_mask[item, layer, head]

"""onnxruntime sessions: CUDA when asked for and working, the CPU otherwise, and saying which.

Only `onnxruntime-gpu` is installed (it carries the CPU provider too; with both wheels installed
the CUDA provider disappears). intra-op threads are the CPUs this process may use, not the host's
count that containers report.
"""

from __future__ import annotations

import ctypes
import logging
import os
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
    """One ONNX file loaded for inference; `run` takes and returns NumPy arrays by name."""

    def __init__(self, path: Path, device: str = "cpu"):
        share_cpu_arena()
        options = ort.SessionOptions()
        options.intra_op_num_threads = cpu_count()
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
        self.session = ort.InferenceSession(str(path), options, providers=providers)
        self.device = "cuda" if "CUDAExecutionProvider" in self.session.get_providers() else "cpu"
        if device == "cuda" and self.device != "cuda":
            log.warning("onnxruntime could not start CUDA for %s: running on the CPU", path.name)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]

    def run(self, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        feed = {name: inputs[name] for name in self.inputs}
        return dict(zip(self.outputs, self.session.run(None, feed)))

"""Sessions: providers, fallback to the CPU, threads."""

from __future__ import annotations

import logging
import os

import onnxruntime as ort
import pytest

import bertviz_lite as bv
from bertviz_lite import runtime


def test_only_one_onnxruntime_package():
    from importlib import metadata

    installed = {d.metadata["Name"].lower() for d in metadata.distributions()}
    assert len(installed & {"onnxruntime", "onnxruntime-gpu"}) == 1


def test_threads_are_the_cpus_we_may_use():
    assert runtime.cpu_count() == len(os.sched_getaffinity(0))


@pytest.mark.skipif(runtime.cuda_available(), reason="this machine has CUDA")
def test_cuda_without_gpu_falls_back_and_says_so(checkpoints, caplog):
    with caplog.at_level(logging.WARNING):
        ex = bv.load(str(checkpoints["BertModel"]), device="cuda", variant="auto", progress=False)
    assert ex.device == "cpu" and ex.variant == "fp32"
    assert "CUDA was asked for but is not available" in caplog.text
    assert ex.session.session.get_providers() == ["CPUExecutionProvider"]


def test_cuda_provider_failing_to_start_falls_back(checkpoints, caplog):
    """Even when the CUDA provider is asked for directly, a session that cannot start it runs."""
    ex = bv.load(str(checkpoints["BertModel"]), device="cpu", variant="fp32", progress=False)
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("this onnxruntime build has no CUDA provider")
    with caplog.at_level(logging.WARNING):
        session = runtime.Session(ex.session.path, device="cuda")
    if session.device == "cpu":
        assert "could not start CUDA" in caplog.text


def test_unknown_device_and_variant():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        runtime.resolve_device("tpu")
    with pytest.raises(ValueError, match="unknown variant 'int4'"):
        bv.load("minilm", variant="int4")

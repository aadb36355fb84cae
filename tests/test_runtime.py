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


def test_outputs_per_layer_bound_into_the_callers_arrays(checkpoints):
    """run_into: each layer's map lands in its slice of one buffer (no copy, no stacking); run:
    the same numbers, stacked on request; one [layers, heads] mask serves every item."""
    import numpy as np

    ex = bv.load(str(checkpoints["BertModel"]), variant="fp32", progress=False)
    ids = np.array([[2, 7, 8, 9, 3], [2, 10, 3, 0, 0]])
    arrays = {"input_ids": ids, "attention_mask": (ids > 0).astype(np.int64),
              "token_type_ids": np.zeros_like(ids)}  # fmt: skip
    mask = np.ones((2, 4), np.float32)
    mask[1, 2] = 0
    layers = np.full((2, 2, 4, 5, 5), np.nan, np.float32)
    into = {f"attentions_{i}": layers[i] for i in range(2)}
    fetched = ex.session.run_into(arrays | {"head_mask": mask}, into, ["value_norms"])
    assert list(fetched) == ["value_norms"] and fetched["value_norms"].shape == (2, 2, 4, 5)
    out = ex.session.run(**arrays, head_mask=mask)
    np.testing.assert_array_equal(out["attentions"], layers.swapaxes(0, 1))
    assert out["attentions"].shape == (2, 2, 4, 5, 5)
    assert out["hidden_states"].shape == (2, 3, 5, 32)
    assert np.all(layers[1, :, 2] == 0) and np.all(layers[0, 0, 2] > 0)  # the mask: layer 1 only
    only = ex.session.run(["attentions"], **arrays, head_mask=np.stack([mask, mask]))
    assert set(only) == {"attentions_0", "attentions_1"}
    np.testing.assert_array_equal(only["attentions"], out["attentions"])


def test_session_keeps_layernorm_unfused(checkpoints, tmp_path):
    """The session optimizer leaves residual Add + LayerNormalization apart (DISABLED_OPTIMIZERS):
    onnxruntime's CPU SkipLayerNormalization is the slower of the two."""
    import onnx

    ex = bv.load(str(checkpoints["BertModel"]), variant="fp32", progress=False)
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(ex.session.path), options, providers=["CPUExecutionProvider"],
                         disabled_optimizers=runtime.DISABLED_OPTIMIZERS)  # fmt: skip
    ops = [n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node]
    assert "SkipLayerNormalization" not in ops and ops.count("LayerNormalization") == 5

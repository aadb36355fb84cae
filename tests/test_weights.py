"""Reading checkpoints: tensor names, old and new formats, and errors that name what is wrong."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from tiny_checkpoints import write_checkpoint

from bertviz_lite.config import CheckpointError
from bertviz_lite.weights import load_model


def test_missing_tensor_is_named(tmp_path):
    path = write_checkpoint(tmp_path / "ck")
    state = load_file(path / "model.safetensors")
    del state["encoder.layer.1.attention.self.key.weight"]
    save_file(state, path / "model.safetensors")
    with pytest.raises(
        CheckpointError, match=r"missing tensors: encoder\.layer\.1\.attention\.self\.key\.weight"
    ):
        load_model(path)


def test_unexpected_and_misshapen_tensors_are_named(tmp_path):
    path = write_checkpoint(tmp_path / "ck")
    state = load_file(path / "model.safetensors")
    state["encoder.layer.0.extra.weight"] = torch.zeros(3)
    state["pooler.dense.bias"] = torch.zeros(7)
    save_file(state, path / "model.safetensors")
    with pytest.raises(CheckpointError) as err:
        load_model(path)
    assert "unexpected tensors: encoder.layer.0.extra.weight" in str(err.value)
    assert "pooler.dense.bias (7,) (expected (32,))" in str(err.value)


def test_pytorch_bin_and_old_layernorm_names(tmp_path, checkpoints):
    path = tmp_path / "old"
    shutil.copytree(checkpoints["BertForSequenceClassification"], path)
    state = load_file(path / "model.safetensors")
    old = {
        k.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
            "LayerNorm.bias", "LayerNorm.beta"
        ): v
        for k, v in state.items()
    }
    (path / "model.safetensors").unlink()
    torch.save(old, path / "pytorch_model.bin")
    model = load_model(path)
    expected = load_model(checkpoints["BertForSequenceClassification"])
    for (k, a), b in zip(model.state_dict().items(), expected.state_dict().values()):
        assert torch.equal(a, b), k


def test_encoder_reads_a_task_checkpoint(checkpoints, tmp_path):
    """A BertForMaskedLM checkpoint read as a bare encoder: the `bert.` prefix goes, the head is left."""
    path = tmp_path / "as-encoder"
    shutil.copytree(checkpoints["BertForMaskedLM"], path)
    config = json.loads((path / "config.json").read_text())
    config["architectures"] = ["BertModel"]
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"missing tensors: pooler\.dense\.bias"):
        load_model(path)  # the MLM checkpoint has no pooler: said, not papered over

"""Broken checkpoints given to `bv.load` (or `app.py --model`): each one ends in a CheckpointError
that names the file and what is wrong, before any export, and leaves nothing in the cache (no
export, no temporary folder, no lock file).

Every broken checkpoint is made on the fly from a tiny checkpoint that `transformers` wrote
(conftest.py), with one file damaged the way a failed download, a hand edit or a hostile upload
would damage it.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

import bertviz_lite as bv
from bertviz_lite.config import CheckpointError


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTVIZ_LITE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def copy_of(checkpoints, tmp_path, architecture="BertForSequenceClassification") -> Path:
    path = tmp_path / "ck"
    shutil.copytree(checkpoints[architecture], path)
    return path


def leftovers(cache: Path) -> list[str]:
    """Whatever a load left in the cache's export folder: exports, temporary folders, locks."""
    onnx = cache / "onnx"
    return sorted(p.name for p in onnx.iterdir()) if onnx.is_dir() else []


def edit_config(path: Path, **changes) -> None:
    config = json.loads((path / "config.json").read_text())
    config.update(changes)
    (path / "config.json").write_text(json.dumps(config))


def truncate(file: Path, keep: float) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: int(len(data) * keep)])


def bad_header(file: Path, header: bytes) -> None:
    """A safetensors file whose JSON header is `header` (the data after it kept)."""
    data = file.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    file.write_bytes(struct.pack("<Q", len(header)) + header + data[8 + n :])


def assert_refused(path: Path, cache: Path, *patterns: str) -> str:
    with pytest.raises(CheckpointError) as caught:
        bv.load(str(path), variant="fp32", progress=False)
    message = str(caught.value)
    for pattern in patterns:
        assert pattern in message, message
    assert len(message) < 600, message
    assert leftovers(cache) == []
    return message


# --- the weights file -------------------------------------------------------------------------

WEIGHTS_DAMAGE = {
    "empty": lambda f: f.write_bytes(b""),
    "seven bytes": lambda f: f.write_bytes(b"\x01" * 7),
    "truncated to half": lambda f: truncate(f, 0.5),
    "cut inside the header": lambda f: truncate(f, 0.001),
    "last byte missing": lambda f: f.write_bytes(f.read_bytes()[:-1]),
    "header length past the end": lambda f: f.write_bytes(struct.pack("<Q", 2**40) + b"{}"),
    "header not JSON": lambda f: bad_header(f, b"{not json" + b" " * 40),
    "header a list": lambda f: bad_header(f, b"[1, 2, 3]"),
    "a Git LFS pointer": lambda f: f.write_text("version https://git-lfs.github.com/spec/v1\n"),
}


@pytest.mark.parametrize("damage", WEIGHTS_DAMAGE)
def test_damaged_safetensors_is_named(checkpoints, tmp_path, own_cache, damage):
    path = copy_of(checkpoints, tmp_path)
    WEIGHTS_DAMAGE[damage](path / "model.safetensors")
    assert_refused(path, own_cache, str(path / "model.safetensors"))


def test_truncated_weights_say_truncated(checkpoints, tmp_path, own_cache):
    path = copy_of(checkpoints, tmp_path)
    truncate(path / "model.safetensors", 0.5)
    assert_refused(path, own_cache, "model.safetensors", "truncated")


def as_pytorch_bin(path: Path) -> Path:
    import torch
    from safetensors.torch import load_file

    torch.save(load_file(path / "model.safetensors"), path / "pytorch_model.bin")
    (path / "model.safetensors").unlink()
    return path / "pytorch_model.bin"


def test_truncated_pytorch_bin_is_named(checkpoints, tmp_path, own_cache):
    path = copy_of(checkpoints, tmp_path)
    truncate(as_pytorch_bin(path), 0.5)
    assert_refused(path, own_cache, str(path / "pytorch_model.bin"), "truncated or damaged")


# --- config.json ------------------------------------------------------------------------------

CONFIG_TEXTS = {
    "not JSON": "{'hidden_size': 32,",
    "empty": "",
    "a list": "[1, 2, 3]",
    "a string": '"BertModel"',
    "null": "null",
}


@pytest.mark.parametrize("kind", CONFIG_TEXTS)
def test_config_that_is_not_a_json_object(checkpoints, tmp_path, own_cache, kind):
    assert_named_when_broken(checkpoints, tmp_path, own_cache, "config.json", CONFIG_TEXTS[kind])


def assert_named_when_broken(checkpoints, tmp_path, own_cache, name: str, text: str) -> None:
    """A copy of the checkpoint with `name` holding `text` is refused, naming that file."""
    path = copy_of(checkpoints, tmp_path)
    (path / name).write_text(text)
    assert_refused(path, own_cache, str(path / name))


BAD_VALUES = [
    ({"hidden_size": "32"}, "hidden_size"),
    ({"hidden_size": 32.5}, "hidden_size"),
    ({"num_hidden_layers": None}, "num_hidden_layers"),
    ({"num_hidden_layers": True}, "num_hidden_layers"),
    ({"num_attention_heads": 0}, "num_attention_heads"),
    ({"num_attention_heads": 5}, "does not divide"),
    ({"num_attention_heads": -4}, "num_attention_heads"),
    ({"num_hidden_layers": 0}, "num_hidden_layers"),
    ({"num_hidden_layers": -2}, "num_hidden_layers"),
    ({"hidden_size": 0}, "hidden_size"),
    ({"hidden_size": -32}, "hidden_size"),
    ({"vocab_size": 0}, "vocab_size"),
    ({"vocab_size": -1}, "vocab_size"),
    ({"max_position_embeddings": 0}, "max_position_embeddings"),
    ({"max_position_embeddings": -64}, "max_position_embeddings"),
    ({"intermediate_size": 0}, "intermediate_size"),
    ({"intermediate_size": -64}, "intermediate_size"),
    ({"type_vocab_size": -1}, "type_vocab_size"),
    ({"pad_token_id": -1}, "pad_token_id"),
    ({"layer_norm_eps": "small"}, "layer_norm_eps"),
    ({"model_type": ["bert"]}, "model_type"),
    ({"architectures": "BertModel"}, "architectures"),
    ({"architectures": [7]}, "architectures"),
    ({"hidden_act": {"name": "gelu"}}, "hidden_act"),
    ({"id2label": ["negative", "positive", "neutral"]}, "id2label"),
    ({"id2label": {"zero": "negative"}}, "id2label"),
    ({"id2label": {"0": 5}}, "id2label"),
]


@pytest.mark.parametrize(("change", "named"), BAD_VALUES, ids=lambda v: str(v)[:40])
def test_config_with_wrong_values(checkpoints, tmp_path, own_cache, change, named):
    path = copy_of(checkpoints, tmp_path)
    edit_config(path, **change)
    assert_refused(path, own_cache, str(path / "config.json"), named)


def test_huge_config_values_are_cut_in_the_message(checkpoints, tmp_path, own_cache):
    path = copy_of(checkpoints, tmp_path)
    edit_config(path, hidden_size="x" * 100_000, model_type="y" * 100_000)
    message = assert_refused(path, own_cache, "config.json")
    assert "x" * 100 not in message and "y" * 100 not in message


# --- sizes that do not match the weights: refused before any model is built --------------------


@pytest.mark.parametrize(
    "change",
    [
        {"num_hidden_layers": 1000},
        {"hidden_size": 2**20, "num_attention_heads": 4},
        {"intermediate_size": 2**34},
        {"vocab_size": 2**40},
        {"max_position_embeddings": 2**40},
    ],
    ids=lambda v: str(v)[:40],
)
def test_sizes_larger_than_the_weights_are_refused_before_building(
    checkpoints, tmp_path, own_cache, change
):
    """Building any of these would take gigabytes to terabytes before the weights are compared;
    the config's parameter count is checked against the file's header first."""
    path = copy_of(checkpoints, tmp_path)
    edit_config(path, **change)
    assert_refused(path, own_cache, "config.json", "model.safetensors", "parameters")


def test_sizes_larger_than_a_pytorch_bin_are_refused_before_building(
    checkpoints, tmp_path, own_cache
):
    """pytorch_model.bin has no header to read first: its tensors are counted once read, still
    before the model is built."""
    path = copy_of(checkpoints, tmp_path)
    as_pytorch_bin(path)
    edit_config(path, hidden_size=2**20, num_attention_heads=4)
    assert_refused(path, own_cache, "config.json", "pytorch_model.bin", "parameters")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"intermediate_size": 32}, "wrong shapes: bert.encoder.layer.0.intermediate.dense"),
        ({"num_hidden_layers": 3}, "missing tensors: bert.encoder.layer.2."),
        ({"num_hidden_layers": 1}, "unexpected tensors: bert.encoder.layer.1."),
    ],
    ids=lambda v: str(v)[:40],
)
def test_sizes_that_do_not_fit_the_tensors_name_them(
    checkpoints, tmp_path, own_cache, change, named
):
    """Near the file's size yet wrong: the tensors that do not fit are named (compared with a
    model built on torch's meta device, which allocates nothing), before any export."""
    path = copy_of(checkpoints, tmp_path)
    edit_config(path, **change)
    assert_refused(path, own_cache, named)


# --- the tokenizer: checked before the export --------------------------------------------------

TOKENIZER_TEXTS = {
    "not JSON": '{"model": ',
    "empty": "",
    "a list": "[]",
    "JSON but no tokenizer": '{"version": "1.0", "model": {"type": "Nonsense"}}',
}


@pytest.mark.parametrize("kind", TOKENIZER_TEXTS)
def test_invalid_tokenizer_json_before_any_export(checkpoints, tmp_path, own_cache, kind):
    assert_named_when_broken(checkpoints, tmp_path, own_cache, "tokenizer.json",
                             TOKENIZER_TEXTS[kind])  # fmt: skip


def test_invalid_tokenizer_config_before_any_export(checkpoints, tmp_path, own_cache):
    path = copy_of(checkpoints, tmp_path)
    (path / "tokenizer_config.json").write_text("{do_lower_case: yes")
    assert_refused(path, own_cache, str(path / "tokenizer_config.json"))


def test_no_tokenizer_at_all(checkpoints, tmp_path, own_cache):
    path = copy_of(checkpoints, tmp_path)
    (path / "vocab.txt").unlink()
    assert_refused(path, own_cache, str(path), "tokenizer.json, vocab.txt")


def test_a_good_checkpoint_leaves_no_lock_file(checkpoints, tmp_path, own_cache):
    model = bv.load(str(copy_of(checkpoints, tmp_path)), variant="fp32", progress=False)
    names = leftovers(own_cache)
    assert names == [model.session.path.parent.name], names


def test_cli_says_what_is_broken_without_a_traceback(checkpoints, tmp_path):
    """`--model` of a broken checkpoint, as the CLI and the app take it: one line, exit 2."""
    import os
    import subprocess
    import sys

    path = copy_of(checkpoints, tmp_path)
    (path / "tokenizer.json").write_text("{")
    env = {**os.environ, "BERTVIZ_LITE_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "bertviz_lite", "export", "--model", str(path)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"error: {path / 'tokenizer.json'} cannot be read as a tokenizer" in done.stderr
    assert leftovers(tmp_path / "cache") == []

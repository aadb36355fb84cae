"""Tests of the adapter format: save → load_merged, the merge against peft's, base checks, errors.

Built on tiny random checkpoints (conftest), so they are fast; LoRA B matrices and heads are
randomised so that a merge that forgot a term cannot pass by adding zeros.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_checkpoints import random_batch, write_checkpoint

from bertviz_lite import adapter
from bertviz_lite.bert import ARCHITECTURES
from bertviz_lite.config import CheckpointError, read_config
from bertviz_lite.tokenizer import CASES

peft = pytest.importorskip("peft")

LABELS = {
    "BertForSequenceClassification": ["negative", "positive", "neutral"],
    "BertForTokenClassification": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
}
TARGETS = ["query", "key", "value", "output.dense", "intermediate.dense"]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("base"), "BertModel", seed=7)


def peft_model(
    base: Path, architecture: str, r: int = 4, alpha: int = 8, seed: int = 0, cases: int = 0,
    **lora_options,
):  # fmt: skip
    """Our task model on the base weights, wrapped by peft, with every trainable tensor random;
    `cases` > 0 adds case embeddings of that many rows."""
    config = dataclasses.replace(
        read_config(base), architecture=architecture,
        id2label=dict(enumerate(LABELS[architecture])), case_vocab_size=cases,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = ARCHITECTURES[architecture](config)
    adapter.load_base(model, base)
    to_save = ["classifier", "pooler"] if "Sequence" in architecture else ["classifier"]
    to_save += ["case_embeddings"] if cases else []
    to_save += lora_options.pop("extra_save", [])
    lora = peft.LoraConfig(
        r=r, lora_alpha=alpha, target_modules=TARGETS, modules_to_save=to_save, **lora_options
    )
    wrapped = peft.get_peft_model(model, lora)
    with torch.no_grad():
        for p in wrapped.parameters():
            if p.requires_grad:
                p.copy_(torch.randn_like(p) * 0.1)
    return wrapped.eval()


def meta_for(base: Path, architecture: str, r: int = 4, alpha: int = 8, cases: int = 0) -> dict:
    return {
        "case_vocab_size": cases,
        "base": "tiny",
        "base_config": {"name": "tiny", **adapter.base_shape(read_config(base))},
        "architecture": architecture,
        "id2label": dict(enumerate(LABELS[architecture])),
        "lora": {"r": r, "alpha": alpha, "targets": TARGETS},
        "task": "test",
        "max_length": 32,
    }


def logits(model, batch) -> np.ndarray:
    with torch.no_grad():
        return model(**{k: torch.from_numpy(v) for k, v in batch.items()}).logits.numpy()


@pytest.mark.parametrize("architecture", list(LABELS))
def test_merge_equals_peft_merge_and_unload(base, tmp_path, architecture):
    wrapped = peft_model(base, architecture)
    adapter.save(wrapped, tmp_path, meta_for(base, architecture), dtype="float32")
    ours = adapter.load_merged(base, tmp_path)
    batch = random_batch(ours.config.vocab_size, [9, 5, 7])
    unmerged = logits(wrapped, batch)
    theirs = logits(wrapped.merge_and_unload(), batch)
    got = logits(ours, batch)
    np.testing.assert_allclose(got, theirs, atol=1e-5, rtol=0)
    np.testing.assert_allclose(got, unmerged, atol=1e-5, rtol=0)
    assert not ours.training


def test_trained_biases_and_layer_norms_round_trip(base, tmp_path):
    arch = "BertForSequenceClassification"
    wrapped = peft_model(base, arch, bias="all", extra_save=["LayerNorm"])
    adapter.save(wrapped, tmp_path, meta_for(base, arch), dtype="float32")
    from safetensors import safe_open

    with safe_open(str(tmp_path / "adapter.safetensors"), "pt") as f:
        keys = set(f.keys())
    assert "bert.encoder.layer.0.attention.self.query.bias" in keys  # peft's base_layer.bias
    assert "bert.encoder.layer.1.output.LayerNorm.weight" in keys
    ours = adapter.load_merged(base, tmp_path)
    batch = random_batch(ours.config.vocab_size, [9, 5])
    np.testing.assert_allclose(logits(ours, batch), logits(wrapped, batch), atol=1e-5, rtol=0)


def test_saved_names_are_our_model_paths(base, tmp_path):
    from safetensors import safe_open

    arch = "BertForSequenceClassification"
    adapter.save(peft_model(base, arch), tmp_path, meta_for(base, arch))
    with safe_open(str(tmp_path / "adapter.safetensors"), "pt") as f:
        keys = set(f.keys())
        dtypes = {f.get_tensor(k).dtype for k in keys}
    assert "bert.encoder.layer.0.attention.self.query.lora_A" in keys
    assert "bert.encoder.layer.1.output.dense.lora_B" in keys
    assert "bert.encoder.layer.0.attention.output.dense.lora_A" in keys
    assert {"classifier.weight", "classifier.bias", "bert.pooler.dense.weight"} <= keys
    assert not any("base_model" in k or "modules_to_save" in k or "default" in k for k in keys)
    assert dtypes == {torch.float16}
    meta = adapter.read_meta(tmp_path)
    assert meta["id2label"] == {"0": "negative", "1": "positive", "2": "neutral"}
    assert meta["dtype"] == "float16"


def test_fp16_storage_stays_close(base, tmp_path):
    arch = "BertForTokenClassification"
    wrapped = peft_model(base, arch)
    adapter.save(wrapped, tmp_path / "a", meta_for(base, arch), dtype="float16")
    adapter.save(wrapped, tmp_path / "b", meta_for(base, arch), dtype="float32")
    batch = random_batch(wrapped.base_model.model.config.vocab_size, [8, 6])
    half = logits(adapter.load_merged(base, tmp_path / "a"), batch)
    full = logits(adapter.load_merged(base, tmp_path / "b"), batch)
    np.testing.assert_allclose(half, full, atol=2e-2)


def test_task_config_and_meta(base, tmp_path):
    arch = "BertForTokenClassification"
    adapter.save(peft_model(base, arch), tmp_path, meta_for(base, arch))
    config = adapter.task_config(read_config(base), tmp_path)
    assert config.architecture == arch
    assert config.labels == LABELS[arch]
    assert read_config(base).architecture == "BertModel"  # the base config is left alone


def test_metadata_functions_do_not_import_torch(base, tmp_path):
    arch = "BertForSequenceClassification"
    adapter.save(peft_model(base, arch), tmp_path, meta_for(base, arch))
    code = (
        "import sys\nfrom pathlib import Path\nfrom bertviz_lite import adapter\n"
        "from bertviz_lite.config import read_config\n"
        f"base, ad = Path({str(base)!r}), Path({str(tmp_path)!r})\n"
        "adapter.check_base(base, ad)\nadapter.task_config(read_config(base), ad)\n"
        "adapter.read_meta(ad)\nassert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


def test_check_base_names_the_mismatch(base, tmp_path):
    arch = "BertForSequenceClassification"
    adapter.save(peft_model(base, arch), tmp_path, meta_for(base, arch))
    adapter.check_base(base, tmp_path)  # the right base passes
    other = write_checkpoint(tmp_path / "other", "BertModel", intermediate_size=48)
    with pytest.raises(CheckpointError, match=r"intermediate_size differs \(expected 64.*got 48"):
        adapter.check_base(other, tmp_path)
    with pytest.raises(CheckpointError, match="intermediate_size"):
        adapter.load_merged(other, tmp_path)


def _rewrite(folder: Path, change) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(folder / "adapter.safetensors"))
    change(tensors)
    save_file(tensors, str(folder / "adapter.safetensors"))


def test_load_merged_names_tensors_that_do_not_fit(base, tmp_path):
    arch = "BertForSequenceClassification"
    adapter.save(peft_model(base, arch), tmp_path, meta_for(base, arch))
    path = "bert.encoder.layer.5.attention.self.query"

    def extra(t):
        t[f"{path}.lora_A"] = torch.zeros(4, 32, dtype=torch.float16)
        t[f"{path}.lora_B"] = torch.zeros(32, 4, dtype=torch.float16)
        t["classifier.weight"] = torch.zeros(7, 32, dtype=torch.float16)
        t["cls.predictions.bias"] = torch.zeros(3, dtype=torch.float16)

    _rewrite(tmp_path, extra)
    with pytest.raises(CheckpointError) as info:
        adapter.load_merged(base, tmp_path)
    message = str(info.value)
    assert path in message
    assert "classifier.weight (7, 32) (expected (3, 32))" in message
    assert "cls.predictions.bias" in message


def test_load_merged_wants_the_head(base, tmp_path):
    arch = "BertForSequenceClassification"
    adapter.save(peft_model(base, arch), tmp_path, meta_for(base, arch))
    _rewrite(tmp_path, lambda t: t.pop("classifier.bias"))
    with pytest.raises(CheckpointError, match=r"classifier\.bias"):
        adapter.load_merged(base, tmp_path)


def test_read_meta_errors(tmp_path):
    with pytest.raises(CheckpointError, match=r"no adapter\.json"):
        adapter.read_meta(tmp_path)
    (tmp_path / "adapter.json").write_text(json.dumps({"architecture": "BertModel"}))
    with pytest.raises(CheckpointError, match="lacks"):
        adapter.read_meta(tmp_path)


@pytest.mark.parametrize("cases", [0, len(CASES)])
def test_round_trip_through_onnx(base, tmp_path, cases):
    from bertviz_lite.export import export
    from bertviz_lite.runtime import Session

    arch = "BertForTokenClassification"
    wrapped = peft_model(base, arch, cases=cases)
    adapter.save(wrapped, tmp_path, meta_for(base, arch, cases=cases), dtype="float32")
    merged = adapter.load_merged(base, tmp_path)
    export(merged, "fp32", tmp_path / "m.onnx", progress=False)
    batch = random_batch(merged.config.vocab_size, [11, 6])
    batch["case_ids"] = np.random.default_rng(0).integers(0, len(CASES), batch["input_ids"].shape)
    session = Session(tmp_path / "m.onnx")
    assert ("case_ids" in session.inputs) == bool(cases)
    got = session.run(**batch, head_mask=np.ones((2, 4), np.float32))["logits"]
    keep = batch["attention_mask"].astype(bool)
    np.testing.assert_allclose(got[keep], logits(wrapped, batch)[keep], atol=1e-4)
    if cases:  # the case changes the answer, and the case embeddings must be in the adapter
        batch["case_ids"][:] = 1
        other = session.run(**batch, head_mask=np.ones((2, 4), np.float32))["logits"]
        assert not np.allclose(other[keep], got[keep], atol=1e-3)
        _rewrite(tmp_path, lambda t: t.pop("bert.embeddings.case_embeddings.weight"))
        with pytest.raises(CheckpointError, match="case_embeddings"):
            adapter.load_merged(base, tmp_path)


def test_masked_lm_head_adapter(base, tmp_path):
    """A masked-LM adapter: the trained transform and bias are stored, the decoder (tied to the
    word embeddings) is not, and merging gives the model back."""
    config = dataclasses.replace(read_config(base), architecture="BertForMaskedLM")
    torch.manual_seed(3)
    model = ARCHITECTURES["BertForMaskedLM"](config)
    adapter.load_base(model, base)
    head = ["cls.predictions.transform", "cls.predictions.bias"]
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("cls."):
                p.copy_(torch.randn_like(p))
    meta = {"base": "tiny", "base_config": {"name": "tiny", **adapter.base_shape(config)},
            "architecture": "BertForMaskedLM", "id2label": {}, "lora": None,
            "modules_to_save": head}  # fmt: skip
    adapter.save(model.eval(), tmp_path, meta, dtype="float32")
    from safetensors import safe_open

    with safe_open(str(tmp_path / "adapter.safetensors"), "pt") as f:
        keys = set(f.keys())
    assert keys and not any(k.startswith(("bert.", "cls.predictions.decoder")) for k in keys)
    merged = adapter.load_merged(base, tmp_path)
    assert merged.cls.predictions.decoder.weight is merged.bert.embeddings.word_embeddings.weight
    batch = random_batch(config.vocab_size, [9, 5])
    np.testing.assert_allclose(logits(merged, batch), logits(model, batch), atol=1e-5, rtol=0)

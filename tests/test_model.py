"""The public API and the CLI, end to end on real ONNX files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import bertviz_lite as bv


@pytest.fixture(scope="module")
def minilm():
    return bv.load("minilm", progress=False)


@pytest.mark.slow
def test_analyze_minilm(minilm):
    r = minilm.analyze("The cat sat on the mat.", pair="It purred.")
    T = len(r.tokens)
    assert minilm.variant == "fp32" and minilm.device == "cpu"
    assert r.attentions.shape == (6, 12, T, T) and r.attentions.dtype == np.float32
    assert r.hidden_states.shape == (7, T, 384) and r.hidden_states.dtype == np.float32
    np.testing.assert_allclose(r.attentions.sum(-1), 1, atol=1e-4)
    assert r.predictions is None and r.truncated is False
    assert r.word_ids[0] is None and r.encoding.type_ids[-1] == 1


@pytest.mark.slow
def test_huge_text_is_truncated_and_says_so(minilm):
    r = minilm.analyze("word " * 5000)
    assert r.truncated and len(r.tokens) == 512 and r.encoding.original_length == 5002
    assert r.attentions.shape[-1] == 512


def test_task_predictions_carry_label_names(checkpoints):
    cls = bv.load(str(checkpoints["BertForSequenceClassification"]), progress=False)
    p = cls.analyze("the cat was happy").predictions
    assert p["task"] == "classification" and set(p["probabilities"]) == {
        "negative",
        "positive",
        "neutral",
    }
    assert abs(sum(p["probabilities"].values()) - 1) < 1e-6 and p["label"] in p["probabilities"]

    ner = bv.load(str(checkpoints["BertForTokenClassification"]), progress=False)
    p = ner.analyze("john went to new york", pair="mary ran").predictions
    assert p["task"] == "ner" and len(p["words"]) == 7
    assert all(w["tag"] in ner.labels for w in p["words"])

    mlm = bv.load(str(checkpoints["BertForMaskedLM"]), progress=False)
    p = mlm.analyze("the [MASK] sat on the mat").predictions
    assert p["task"] == "masked-lm" and p["masks"][0]["position"] == 2
    assert len(p["masks"][0]["candidates"]) == 5


def test_head_mask_through_onnx(checkpoints):
    ex = bv.load(str(checkpoints["BertForSequenceClassification"]), variant="fp32", progress=False)
    plain = ex.analyze("the cat sat on the mat")
    ones = ex.analyze("the cat sat on the mat", head_mask=np.ones((2, 4)))
    np.testing.assert_array_equal(plain.attentions, ones.attentions)
    np.testing.assert_array_equal(plain.logits, ones.logits)
    mask = np.ones((2, 4))
    mask[0, 1] = 0
    off = ex.analyze("the cat sat on the mat", head_mask=mask)
    assert np.all(off.attentions[0, 1] == 0) and np.array_equal(
        off.attentions[0, 0], plain.attentions[0, 0]
    )
    assert not np.allclose(off.logits, plain.logits)


def test_bad_head_masks_are_refused(checkpoints):
    ex = bv.load(str(checkpoints["BertModel"]), progress=False)
    with pytest.raises(ValueError, match=r"shape \(2, 4\)"):
        ex.analyze("hi", head_mask=np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        ex.analyze("hi", head_mask=np.full((2, 4), 2.0))


def test_padding_in_a_batch_changes_nothing(checkpoints):
    ex = bv.load(str(checkpoints["BertForTokenClassification"]), variant="fp32", progress=False)
    alone = ex.analyze("mary went to paris")
    batched = ex.analyze_batch(
        [("john ran to the big red house and it was happy", None), ("mary went to paris", None)]
    )[1]
    np.testing.assert_allclose(alone.attentions, batched.attentions, atol=1e-5)
    np.testing.assert_allclose(alone.logits, batched.logits, atol=1e-4)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bertviz_lite", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_cli_analyze_prints_json():
    done = run_cli("analyze", "--model", "minilm", "--text", "Hello <b>world</b>", "--pair", "Bye.")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["tokens"][:3] == ["[CLS]", "hello", "<"] and out["pair"] == "Bye."
    assert np.array(out["attentions"]).shape == (6, 12, len(out["tokens"]), len(out["tokens"]))


def test_cli_export_and_errors(checkpoints):
    done = run_cli("export", "--model", str(checkpoints["BertModel"]), "--variant", "fp32")
    assert done.returncode == 0 and "fp32 on cpu" in done.stdout
    done = run_cli("export", "--model", "/no/such/dir")
    assert done.returncode == 2 and "is not a checkpoint directory" in done.stderr
    assert "Traceback" not in done.stderr


def test_warm_start_does_not_import_torch(checkpoints):
    """The runtime path is onnxruntime + tokenizers + NumPy: torch only builds missing exports."""
    path = str(checkpoints["BertModel"])
    bv.load(path, variant="fp32", progress=False)
    code = (
        f"import sys, bertviz_lite as bv; ex = bv.load({path!r}, variant='fp32'); ex.analyze('hi');"
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr

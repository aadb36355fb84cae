"""The public API and the CLI, end to end on real ONNX files."""

from __future__ import annotations

import json
import re
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


# --- value norms, per-item head masks, head importance, queries/keys/values ---------------------


def test_value_norms_in_every_analysis(checkpoints):
    ex = bv.load(str(checkpoints["BertForTokenClassification"]), variant="fp32", progress=False)
    r = ex.analyze("john went to new york", pair="mary ran")
    T = len(r.tokens)
    assert r.value_norms.shape == (2, 4, T) and r.value_norms.dtype == np.float32
    assert (r.value_norms > 0).all() and r.queries is None and r.keys is None
    d = r.to_dict(decimals=6)
    np.testing.assert_allclose(d["value_norms"], r.value_norms, atol=1e-6)
    assert "queries" not in d and "queries" in ex.analyze("hi", extra=("queries",)).to_dict()
    rounded = r.to_dict(decimals=4)
    # The tensors carry no float32 noise: 0.1595, not 0.15950000286…
    written = json.dumps([rounded[k] for k in ("attentions", "hidden_states", "value_norms")])
    assert not re.search(r"\d\.\d{5,}", written), re.search(r"\d\.\d{5,}", written)
    with pytest.raises(ValueError, match="unknown extra"):
        ex.analyze("hi", extra=("scores",))


def test_head_mask_per_item_equals_one_at_a_time(checkpoints):
    ex = bv.load(str(checkpoints["BertForSequenceClassification"]), variant="fp32", progress=False)
    items = [("the cat sat on the mat", None), ("john ran", "mary went to paris"), ("hi", None)]
    rng = np.random.default_rng(0)
    masks = (rng.random((3, 2, 4)) > 0.4).astype(np.float32)
    masks[2, 1, 3] = 0.5  # a fraction scales the head
    batched = ex.analyze_batch(items, head_mask=masks)
    for item, mask, b in zip(items, masks, batched):
        alone = ex.analyze(*item, head_mask=mask)
        for name in ("attentions", "hidden_states", "value_norms", "logits"):
            np.testing.assert_allclose(getattr(b, name), getattr(alone, name), atol=1e-5)
        off = np.nonzero(mask == 0)
        assert np.all(b.attentions[off] == 0)  # a head switched off shows no attention
    # One [layers, heads] mask for all is the same mask repeated per item.
    shared = ex.analyze_batch(items, head_mask=masks[0])
    repeated = ex.analyze_batch(items, head_mask=np.repeat(masks[:1], 3, 0))
    for a, b in zip(shared, repeated):
        np.testing.assert_array_equal(a.attentions, b.attentions)
        np.testing.assert_array_equal(a.logits, b.logits)
    with pytest.raises(ValueError, match=r"\(3, 2, 4\) \(one per item\)"):
        ex.analyze_batch(items, head_mask=np.ones((2, 2, 4)))


def head_off(ex, text, layer, head):
    """A separate analyze call with one head switched off."""
    mask = np.ones((ex.config.num_hidden_layers, ex.config.num_attention_heads), np.float32)
    mask[layer, head] = 0
    return ex.analyze(text, head_mask=mask)


def test_head_importance_equals_separate_analyses(checkpoints):
    from bertviz_lite.attribution import resolve_target

    ex = bv.load(str(checkpoints["BertForSequenceClassification"]), variant="fp32", progress=False)
    text = "the big red house was sad and the cat ran"
    r = ex.analyze(text)
    calls = []
    for target in (None, "neutral"):
        goal = resolve_target(ex, r, target)
        scores = ex.head_importance(text, target=target, progress=lambda *a: calls.append(a))
        assert scores.shape == (2, 4) and scores.dtype == np.float32
        for layer in range(2):
            for head in range(4):
                after = goal.value(head_off(ex, text, layer, head).logits)
                assert scores[layer, head] == pytest.approx(goal.value(r.logits) - after, abs=1e-5)
        batched = ex.head_importance(text, target=target, batch_size=3)
        np.testing.assert_allclose(batched, scores, atol=1e-5)
    assert calls[-1] == (8, 8)


def test_head_importance_of_a_bare_encoder(checkpoints):
    ex = bv.load(str(checkpoints["BertModel"]), variant="fp32", progress=False)
    text = "mary played in paris and london"
    scores = ex.head_importance(text)
    full = ex.analyze(text).hidden_states[-1].mean(0)
    for layer, head in ((0, 1), (1, 3)):
        after = head_off(ex, text, layer, head).hidden_states[-1].mean(0)
        cos = after @ full / np.linalg.norm(after) / np.linalg.norm(full)
        assert scores[layer, head] == pytest.approx(1 - cos, abs=1e-5)
    assert (scores >= -1e-6).all() and scores.max() > 0


@pytest.fixture(scope="module")
def sentiment():
    return bv.load("sentiment", progress=False)


SENTENCES = [
    "This movie was wonderful, I loved every minute of it.",
    "A dull, lifeless film with nothing to say.",
    "The acting was superb and the story moved me.",
    "I wanted to leave after ten minutes; it was boring.",
]


@pytest.mark.slow
def test_head_importance_minilm_sentiment(sentiment):
    """Random heads equal their own analyze calls; the top 3 heads off move the predicted
    label's probability more than the bottom 3 off, on every test sentence."""
    from bertviz_lite.attribution import resolve_target

    rng = np.random.default_rng(1)
    for text in SENTENCES:
        r = sentiment.analyze(text)
        goal = resolve_target(sentiment, r, None)
        before = goal.value(r.logits)
        scores = sentiment.head_importance(text)
        for layer, head in zip(rng.integers(0, 6, 3), rng.integers(0, 12, 3)):
            after = goal.value(head_off(sentiment, text, layer, head).logits)
            assert scores[layer, head] == pytest.approx(before - after, abs=1e-5)
        order = np.argsort(scores, axis=None)
        moved = {}
        for name, heads in (("top", order[-3:]), ("bottom", order[:3])):
            mask = np.ones(72, np.float32)
            mask[heads] = 0
            after = sentiment.analyze(text, head_mask=mask.reshape(6, 12))
            moved[name] = abs(before - goal.value(after.logits))
        assert moved["top"] > moved["bottom"], (text, moved)


@pytest.mark.slow
def test_head_importance_ner_entity():
    from bertviz_lite.attribution import resolve_target

    ner = bv.load("ner", progress=False)
    text = "Barack Obama visited Paris with Angela Merkel."
    r = ner.analyze(text)
    goal = resolve_target(ner, r, 1)  # the second entity
    scores = ner.head_importance(text, target=1)
    for layer, head in ((0, 0), (3, 7), (5, 11)):
        after = goal.value(head_off(ner, text, layer, head).logits)
        assert scores[layer, head] == pytest.approx(goal.value(r.logits) - after, abs=1e-5)


@pytest.mark.slow
def test_queries_and_keys_give_the_attention(minilm):
    """softmax(q·kᵀ/√d + mask) from the exported q and k is the exported attention (fp32)."""
    r = minilm.analyze("The cat sat on the mat.", pair="It purred.", extra=("queries", "keys"))
    q, k = r.queries[3, 7].astype(np.float64), r.keys[3, 7].astype(np.float64)
    assert r.queries.shape == (6, 12, len(r.tokens), 32) and r.values is None
    scores = q @ k.T / np.sqrt(q.shape[-1])
    p = np.exp(scores - scores.max(-1, keepdims=True))
    np.testing.assert_allclose(p / p.sum(-1, keepdims=True), r.attentions[3, 7], atol=1e-5)
    # With padding in the batch: the raw outputs, the mask added to the padding keys.
    encodings = [
        minilm.tokenizer.encode(t) for t in ("A much longer sentence than the next.", "Hi.")
    ]
    out = minilm.run(encodings, outputs=["queries", "keys", "values", "attentions"])
    mask = np.array([[1] * len(e) + [0] * (out["queries"].shape[3] - len(e)) for e in encodings])
    scores = out["queries"] @ out["keys"].swapaxes(-1, -2) / np.sqrt(32)
    scores = scores.astype(np.float64) + (1 - mask[:, None, None, None, :]) * -10000.0
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    for row, e in enumerate(encodings):
        n = len(e)
        np.testing.assert_allclose(p[row, :, :, :n, :n], out["attentions"][row, :, :, :n, :n],
                                   atol=1e-5)  # fmt: skip
    assert out["values"].shape == out["queries"].shape


# --- public parameters of the wrong kind say so -------------------------------------------------


@pytest.mark.parametrize("text", [None, b"the cat sat", 42, ["the", "cat"]])
def test_text_that_is_not_a_str_says_so(checkpoints, text):
    ex = bv.load(str(checkpoints["BertForSequenceClassification"]), variant="fp32", progress=False)
    with pytest.raises(TypeError, match="text must be a str, not"):
        ex.analyze(text)
    with pytest.raises(TypeError, match="pair must be a str or None, not"):
        ex.analyze("the cat sat", pair=text if text is not None else 3.5)
    with pytest.raises(TypeError, match="text must be a str, not"):
        ex.analyze_batch([("fine", None), (text, None)])
    with pytest.raises(TypeError, match="text must be a str, not"):
        ex.head_importance(text)
    with pytest.raises(TypeError, match="text must be a str, not"):
        ex.attribute(text)


def test_batches_and_extras_of_the_wrong_kind_say_so(checkpoints):
    ex = bv.load(str(checkpoints["BertModel"]), variant="fp32", progress=False)
    with pytest.raises(TypeError, match="items must be a list of"):
        ex.analyze_batch("the cat sat")
    with pytest.raises(TypeError, match=r"each item must be a \(text, pair\)"):
        ex.analyze_batch(["the cat sat"])
    with pytest.raises(TypeError, match="extra must be a sequence of names"):
        ex.analyze("the cat sat", extra="queries")
    with pytest.raises(ValueError, match="head_mask must be numbers in"):
        ex.analyze("the cat sat", head_mask="abc")
    with pytest.raises(TypeError, match="name_or_path must be a str or Path"):
        bv.load(None)


@pytest.mark.parametrize("batch_size", [-5, 0, 2.5, "4", True])
def test_head_importance_batch_size_must_be_positive(checkpoints, batch_size):
    """-5 returned uninitialised memory, 0 a bare range() error."""
    ex = bv.load(str(checkpoints["BertForSequenceClassification"]), variant="fp32", progress=False)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        ex.head_importance("the cat sat", batch_size=batch_size)
    with pytest.raises(TypeError, match="progress must be a function"):
        ex.head_importance("the cat sat", progress="yes")
    scores = ex.head_importance("the cat sat", batch_size=np.int64(100))  # past the total: fine
    np.testing.assert_allclose(scores, ex.head_importance("the cat sat", batch_size=1), atol=1e-5)


def test_a_folder_named_like_a_catalog_entry_loads_its_own_weights_only(checkpoints, tmp_path):
    """Loaded by path, a checkpoint folder called "sentiment" is not the catalog's sentiment
    model: gradient methods get its own weights, with no adapter merged in."""
    import shutil

    import torch
    from safetensors.numpy import load_file

    folder = shutil.copytree(checkpoints["BertForSequenceClassification"], tmp_path / "sentiment")
    m = bv.load(str(folder), progress=False)
    assert m.adapter_dir is None and m.checkpoint == folder
    own = load_file(str(folder / "model.safetensors"))
    net = m.torch_model()
    assert m.torch_model() is net  # built once
    mine = net.state_dict()
    assert torch.equal(mine["classifier.weight"], torch.from_numpy(own["classifier.weight"]))
    catalog_model = bv.load("sentiment", progress=False)
    assert catalog_model.adapter_dir is not None  # the catalog's own has its adapter

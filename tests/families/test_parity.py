"""Every family and head: our PyTorch model, our ONNX file and transformers' eager model agree.

Tiny random checkpoints written by transformers' own classes, tokenized by the family's own
tokenizer, at two batch widths other than the export example's (16), with padding in each batch.
int8 keeps the decisions that are not near-ties; onnxruntime fuses the same ops in every family.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
import torch
from hf_oracle import hf_value_norms
from tiny_families import FAMILIES, HEADS

from bertviz_lite.export import unpadded
from bertviz_lite.tokenizer import batch_arrays
from bertviz_lite.weights import load_model

BATCHES = [
    [("The cat sat on the mat.", "Mary went to Paris."), ("John ran!", None),
     ("A big red house was sad and happy.", None)],
    [("Unbelievably, New York", None), ("The dog ran to London.", "It was fun.")],
]  # fmt: skip
TOLERANCE = {"attentions": 1e-4, "hidden_states": 1e-3, "logits": 1e-3}
CASES = [(f, h) for f in FAMILIES for h in HEADS]


def arrays_for(loaded, batch) -> dict[str, np.ndarray]:
    """The model's inputs for a batch of (text, pair), as the app builds them."""
    encodings = [loaded.tokenizer.encode(text, pair) for text, pair in batch]
    arrays = batch_arrays(encodings, loaded.config.pad_token_id, loaded.session.inputs)
    return {k: v for k, v in arrays.items() if k in loaded.session.inputs}


def worst(got: dict, expected: dict, mask: np.ndarray) -> dict[str, float]:
    keep = mask.astype(bool)
    out = {}
    for name, b in expected.items():
        a = got[name]
        assert a.shape == b.shape, f"{name}: shape {a.shape}, expected {b.shape}"
        where = np.broadcast_to(unpadded(name, a.ndim, keep), a.shape)
        out[name] = float(np.abs(a - b)[where].max())
    return out


@pytest.mark.parametrize(("family", "head"), CASES)
def test_torch_and_onnx_match_transformers(family_checkpoint, family_model, hf_forward, family,
                                           head):  # fmt: skip
    path = family_checkpoint(family, head)
    ours, loaded = load_model(path), family_model(family, head)
    widths = set()
    for batch in BATCHES:
        arrays = arrays_for(loaded, batch)
        mask = arrays["attention_mask"]
        widths.add(mask.shape[1])
        assert mask.min() == 0, "each batch has padding"
        logits, attentions, hidden = hf_forward(path, arrays)
        expected = {"attentions": attentions, "hidden_states": hidden}
        if logits is not None:
            expected["logits"] = logits
        with torch.no_grad():
            out = ours(**{k: torch.from_numpy(v) for k, v in arrays.items()})
        torch_out = {k: getattr(out, k).numpy() for k in expected}
        onnx_out = loaded.session.run(**arrays, head_mask=loaded.head_mask(None))
        for who, got in (("torch", torch_out), ("onnx fp32", onnx_out)):
            for name, delta in worst(got, expected, mask).items():
                assert delta <= TOLERANCE[name], f"{who} {name}: max |Δ| {delta:.2e}"
    assert len(widths) == 2 and 16 not in widths  # two lengths, neither the export example's


@pytest.mark.parametrize(("family", "head"), [c for c in CASES if c[1] != "base"])
def test_int8_keeps_the_decisions(family_model, family, head):
    """int8 moves no logit by more than 0.05 (seen: ≤ 0.025) and keeps every decision (a text's
    class, a token's argmax) that is not a near-tie in fp32 (best two logits more than 0.05
    apart). Random tiny heads have many near-ties (a 150-word vocabulary more), and the tiny
    tokenizers' vocabularies vary from one training to the next, so near-ties are left out: they
    flip on int8's own error, which decided the test at random before."""
    fp32, int8 = family_model(family, head), family_model(family, head, "int8")
    arrays = arrays_for(fp32, BATCHES[0] + BATCHES[1][:1])
    a = fp32.session.run(**arrays, head_mask=fp32.head_mask(None))["logits"]
    b = int8.session.run(**arrays, head_mask=int8.head_mask(None))["logits"]
    if a.ndim == 3:  # one decision per real token
        keep = arrays["attention_mask"].astype(bool)
        a, b = a[keep], b[keep]
    assert np.abs(a - b).max() <= 0.05
    top2 = np.sort(a, -1)[:, -2:]
    decided = top2[:, 1] - top2[:, 0] > 0.05
    assert (a.argmax(-1) == b.argmax(-1))[decided].all()
    assert decided.any() or head == "sequence-classification"  # the check is not empty


# What onnxruntime's optimizer (model_type "bert", attention fusion off, SkipLayerNorm fusion off
# for the CPU: export.optimize) makes of each family's graph, 2 layers: every LayerNorm stays a
# LayerNormalization beside its residual Add (2 per layer + the embeddings), the feed-forward's
# GELU becomes BiasGelu (erf GELU) or FastGelu (ALBERT's tanh GELU); the sequence head's
# activation stays a plain op (Tanh; ELECTRA's GELU is fused without its bias; DistilBERT's
# ReLU); the masked-LM transform adds one more LayerNormalization and (Bias/Fast)Gelu.
GELU = {f: "FastGelu" if f == "albert" else "BiasGelu" for f in FAMILIES}
HEAD_ACTIVATION = {f: {"electra": "Gelu", "distilbert": "Relu"}.get(f, "Tanh") for f in FAMILIES}


@pytest.mark.parametrize("family", FAMILIES)
def test_fusions_per_family(family_model, family):
    for head in HEADS:
        loaded = family_model(family, head)
        ops = Counter(n.op_type for n in onnx.load(str(loaded.session.path)).graph.node)
        layers = loaded.config.num_hidden_layers
        mlm = head == "masked-lm"
        assert ops["Softmax"] == layers, head  # every probability map stays an output
        assert ops["SkipLayerNormalization"] == 0, head
        assert ops[GELU[family]] == layers + mlm, head
        assert ops["LayerNormalization"] == 2 * layers + 1 + mlm, head
        assert ops["Erf"] == 0 and ops["Pow"] == 0, head  # no GELU left unfused
        assert ops[HEAD_ACTIVATION[family]] == (head == "sequence-classification"), head
        assert not {"Attention", "MultiHeadAttention", "EmbedLayerNormalization"} & set(ops)
        assert ops["CumSum"] == (family in ("roberta", "xlm-roberta", "camembert"))


@pytest.mark.parametrize("family", ["roberta", "albert"])
def test_value_norms_match_transformers(family_checkpoint, family_model, family):
    """‖f_h(x_j)‖ from the graph against transformers' value projections (hooks) and weights."""
    path, ex = family_checkpoint(family, "base"), family_model(family, "base")
    encodings = [ex.tokenizer.encode(t, p) for t, p in
                 (("The cat sat on the mat.", "Mary went to Paris."), ("John ran!", None))]  # fmt: skip
    arrays = batch_arrays(encodings, ex.config.pad_token_id, ex.session.inputs)
    got = ex.session.run(["value_norms"], **arrays, head_mask=ex.head_mask(None))["value_norms"]
    expected = hf_value_norms(path, arrays)
    keep = np.broadcast_to(unpadded("value_norms", 4, arrays["attention_mask"] > 0), got.shape)
    assert arrays["attention_mask"].min() == 0 and got.shape == expected.shape
    np.testing.assert_allclose(got[keep], expected[keep], atol=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
def test_logits_graph_equals_the_full_graph(family_model, family):
    """A sequence classifier's logits-only graph ([CLS] alone in the last layer) gives the full
    graph's logits, with padding and per-item head masks, and has no other output."""
    ex = family_model(family, "sequence-classification")
    batch = BATCHES[0] + BATCHES[1]
    encodings = [ex.tokenizer.encode(t, p) for t, p in batch]
    masks = np.random.default_rng(0).integers(0, 2, (len(batch), *ex.head_mask(None).shape))
    full = ex.run(encodings, masks, outputs=["logits"])["logits"]
    got = ex.logits(encodings, masks)
    assert ex.logits_session is not ex.session  # the logits graph, not the full one
    assert ex.logits_session.outputs == ["logits"]
    ops = Counter(n.op_type for n in onnx.load(str(ex.logits_session.path)).graph.node)
    assert ops["Softmax"] == ex.config.num_hidden_layers  # still one attention per layer
    np.testing.assert_allclose(got, full, atol=1e-5)


@pytest.mark.parametrize("head", ["token-classification", "masked-lm"])
def test_other_heads_read_logits_from_the_full_graph(family_model, head):
    ex = family_model("bert", head)
    encodings = [ex.tokenizer.encode("The dog ran to London.")]
    np.testing.assert_array_equal(ex.logits(encodings), ex.run(encodings, outputs=["logits"])["logits"])
    assert ex.logits_session is ex.session

"""The ONNX files: parity with torch and transformers, fusions, dynamic axes, int8 and fp16."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import pytest
from hf_oracle import hf_value_norms
from tiny_checkpoints import assert_close_unpadded, random_batch

import bertviz_lite as bv
from bertviz_lite.tokenizer import batch_arrays

ARCHITECTURES = [
    "BertModel",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertForMaskedLM",
]


def onnx_forward(loaded, batch, head_mask=None):
    out = loaded.session.run(
        **batch, head_mask=loaded.head_mask(head_mask, len(batch["input_ids"]))
    )
    return out.get("logits"), out["attentions"], out["hidden_states"]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_fp32_matches_transformers_at_other_lengths(checkpoints, hf_forward, architecture):
    path = checkpoints[architecture]
    ex = bv.load(str(path), variant="fp32", progress=False)
    for lengths in ([7, 4], [29, 13, 2]):  # the export example is 16 long: these are not
        batch = random_batch(ex.config.vocab_size, lengths, seed=lengths[0], pair_at=3)
        assert_close_unpadded(
            onnx_forward(ex, batch), hf_forward(path, batch), batch["attention_mask"]
        )


@pytest.mark.slow
def test_minilm_fp32_matches_transformers(minilm_dir, hf_forward):
    ex = bv.load("minilm", variant="fp32", progress=False)
    texts = [
        ("The cat sat on the mat.", "It was happy."),
        ("Shares in the London-based bank fell sharply on Tuesday after the announcement.", None),
        (" ".join(["Attention is all you need, they said."] * 12), "Not quite."),
    ]
    batch = batch_arrays([ex.tokenizer.encode(t, p) for t, p in texts])
    assert batch["input_ids"].shape[1] not in (16,) and batch["attention_mask"].min() == 0
    assert_close_unpadded(
        onnx_forward(ex, batch), hf_forward(minilm_dir, batch), batch["attention_mask"]
    )


def op_counts(loaded) -> Counter:
    return Counter(n.op_type for n in onnx.load(str(loaded.session.path)).graph.node)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_fusions_keep_softmax(variant):
    ex = bv.load("minilm", variant=variant, progress=False)
    ops, layers = op_counts(ex), ex.config.num_hidden_layers
    assert ops["Softmax"] == layers  # attention fusion off: every probability map stays an output
    # SkipLayerNorm fusion off on the CPU (export.optimize): embeddings, then two per layer
    assert ops["LayerNormalization"] == 2 * layers + 1 and ops["SkipLayerNormalization"] == 0
    assert ops["BiasGelu"] == layers and ops["Erf"] == 0
    assert not {"Attention", "MultiHeadAttention", "EmbedLayerNormalization"} & set(ops)
    graph = onnx.load(str(ex.session.path)).graph
    producer = {o: n.op_type for n in graph.node for o in n.output}
    # The padding mask rides in Q·Kᵀ (bert.BertSelfAttention): no Add over the [T, T] scores.
    assert {producer[n.input[0]] for n in graph.node if n.op_type == "Softmax"} == {"Div"}
    if variant == "int8":
        assert ops["MatMulInteger"] == 6 * layers  # Q, K, V, output, two feed-forward
        assert ops["MatMul"] == 3 * layers  # Q·Kᵀ, P·V and the value norms' Gram product


@pytest.mark.parametrize(
    "architecture", ["BertForSequenceClassification", "BertForTokenClassification"]
)
def test_int8_keeps_the_argmax(checkpoints, architecture):
    fp32 = bv.load(str(checkpoints[architecture]), variant="fp32", progress=False)
    int8 = bv.load(str(checkpoints[architecture]), variant="int8", progress=False)
    batch = random_batch(fp32.config.vocab_size, [12, 9, 5], seed=7)
    a, b = onnx_forward(fp32, batch)[0], onnx_forward(int8, batch)[0]
    keep = batch["attention_mask"].astype(bool)
    argmax_a, argmax_b = a.argmax(-1), b.argmax(-1)
    if a.ndim == 3:
        argmax_a, argmax_b = argmax_a[keep], argmax_b[keep]
    assert (argmax_a == argmax_b).mean() >= 0.9


@pytest.mark.slow
def test_minilm_int8_drift_is_small():
    """The figures the README quotes: int8 against fp32 on real sentences."""
    fp32, int8 = (bv.load("minilm", variant=v, progress=False) for v in ("fp32", "int8"))
    texts = [
        "The quick brown fox jumps over the lazy dog.",
        "Manchester United beat Chelsea 2-1 at Old Trafford on Saturday evening.",
        "I absolutely loved this movie, the acting was superb.",
    ]
    for text in texts:
        a, b = fp32.analyze(text), int8.analyze(text)
        drift = np.abs(a.attentions - b.attentions)
        assert drift.mean() < 0.01 and drift.max() < 0.6
        cos = (a.hidden_states[-1] * b.hidden_states[-1]).sum(-1) / (
            np.linalg.norm(a.hidden_states[-1], axis=-1)
            * np.linalg.norm(b.hidden_states[-1], axis=-1)
        )
        assert cos.min() > 0.95


def test_fp16_file_for_cuda(checkpoints):
    """fp16 is built for CUDA; its graph computes in half precision and keeps fp32 inputs/outputs."""
    from bertviz_lite import cache
    from bertviz_lite.export import export
    from bertviz_lite.weights import load_model

    model = load_model(checkpoints["BertForSequenceClassification"])
    out = cache.cache_root() / "fp16-test.onnx"
    meta = export(model, "fp16", out, progress=False)
    graph = onnx.load(str(out)).graph
    assert meta["drift_vs_torch"]["attentions_max"] < 2e-2
    assert {o.type.tensor_type.elem_type for o in graph.output} == {onnx.TensorProto.FLOAT}
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in graph.initializer)


@pytest.mark.slow
def test_value_norms_match_transformers_minilm(minilm_dir):
    ex = bv.load("minilm", variant="fp32", progress=False)
    for text, pair in (("The cat sat on the mat.", "It purred."),
                       ("Shares in the London-based bank fell sharply on Tuesday.", None)):  # fmt: skip
        r = ex.analyze(text, pair)
        expected = hf_value_norms(minilm_dir, batch_arrays([r.encoding]))[0]
        assert r.value_norms.shape == expected.shape == (6, 12, len(r.tokens))
        np.testing.assert_allclose(r.value_norms, expected, atol=1e-4)


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_logits_graph_is_for_sequence_classifiers(checkpoints, tmp_path, variant):
    """The logits-only graph is checked against torch like the full one, and refused for a head
    whose logits need every token's last state."""
    from bertviz_lite.export import export
    from bertviz_lite.weights import load_model

    model = load_model(checkpoints["BertForSequenceClassification"])
    meta = export(model, variant, tmp_path / "logits.onnx", progress=False, logits_only=True)
    assert meta["outputs"] == ["logits"] and meta["drift_vs_torch"]["logits_max"] < 5e-2
    assert [o.name for o in onnx.load(str(tmp_path / "logits.onnx")).graph.output] == ["logits"]
    with pytest.raises(ValueError, match="sequence classifiers"):
        tagger = load_model(checkpoints["BertForTokenClassification"])
        export(tagger, variant, tmp_path / "tagger.onnx", progress=False, logits_only=True)

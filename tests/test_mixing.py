"""Context mixing, each measure by its definition against `transformers`' own model: value
zeroing by zeroing a value vector with a hook and rerunning the model, ALTI by the paper's
equations written out here on the modules' weights and the activations hooks capture."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import transformers
from families.tiny_families import write

import bertviz_lite as bv
from bertviz_lite.analysis import norm_weighted, rollout
from bertviz_lite.mixing import FLOATS_PER_RUN

TEXT = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="module")
def models(tmp_path_factory, minilm_dir):
    """(our loaded model, transformers' model) for MiniLM and a tiny random RoBERTa."""
    roberta = write(tmp_path_factory.mktemp("mixing") / "roberta", "roberta", "base", seed=3)
    out = {}
    for name, path in (("minilm", minilm_dir), ("roberta", roberta)):
        arch = json.loads((path / "config.json").read_text())["architectures"][0]
        hf = getattr(transformers, arch).from_pretrained(path, attn_implementation="eager").eval()
        out[name] = (bv.load(str(path) if name == "roberta" else "minilm", progress=False), hf)
    return out


def hf_run(hf, ids: np.ndarray, hook=None):
    """transformers' hidden states and attentions for a batch of ids, with an optional forward
    hook (module, function) in place during the run."""
    handle = hook[0].register_forward_hook(hook[1]) if hook else None
    try:
        with torch.no_grad():
            out = hf(
                input_ids=torch.from_numpy(ids), output_hidden_states=True, output_attentions=True
            )
    finally:
        if handle:
            handle.remove()
    return out


def encoder(hf):
    return getattr(hf, "bert", None) or getattr(hf, "roberta", None) or hf


def value_zeroing_oracle(hf, ids: list[int]) -> np.ndarray:
    """[layers, T, T] by the definition: for each layer l and token j, the model run with token
    j's value vector zeroed in every head of layer l alone (a hook on that layer's value
    projection); entry (i, j) the cosine distance of token i's output of layer l to the
    original; rows divided by their sums."""
    t = len(ids)
    base = hf_run(hf, np.array([ids]))
    layers = encoder(hf).encoder.layer
    out = np.zeros((len(layers), t, t))
    for layer_index, layer in enumerate(layers):

        def zero_row(module, inputs, output):  # item j of the batch: token j's value zeroed
            output = output.clone()
            output[torch.arange(t), torch.arange(t)] = 0
            return output

        altered = hf_run(hf, np.array([ids] * t), (layer.attention.self.value, zero_row))
        original = base.hidden_states[layer_index + 1][0].double().numpy()  # [T, D]
        changed = altered.hidden_states[layer_index + 1].double().numpy()  # [J, T, D]
        cos = (changed * original).sum(-1) / (
            np.linalg.norm(changed, axis=-1) * np.linalg.norm(original, axis=-1))  # fmt: skip
        out[layer_index] = (1 - cos).T  # [i, j]
    return out / out.sum(-1, keepdims=True)


def alti_oracle(hf, ids: list[int]) -> np.ndarray:
    """[layers, T, T] by Ferrando et al. (2022), eq. by eq., in float64: T_i(x_j) =
    L(Σ_h α_hij v_hj W_O^h + [j = i] x_i) / σ_i with L(z) = γ ⊙ (z − mean z); y_i the first
    LayerNorm's output (hooked); c_ij = max(0, ‖y_i‖₁ − ‖y_i − T_i(x_j)‖₁), rows normalised."""
    layers = encoder(hf).encoder.layer
    captured = {}
    handles = []
    for layer_index, layer in enumerate(layers):
        for name, module in (
            ("v", layer.attention.self.value),
            ("ln", layer.attention.output.LayerNorm),
        ):

            def keep(module, inputs, output, key=(name, layer_index)):
                captured[key] = (inputs[0][0].double().numpy(), output[0].double().numpy())

            handles.append(module.register_forward_hook(keep))
    try:
        out = hf_run(hf, np.array([ids]))
    finally:
        for h in handles:
            h.remove()
    result = []
    for layer_index, layer in enumerate(layers):
        x = out.hidden_states[layer_index][0].double().numpy()  # [T, D]
        probs = out.attentions[layer_index][0].double().numpy()  # [H, T, T]
        heads, t = probs.shape[0], x.shape[0]
        v = captured["v", layer_index][1].reshape(t, heads, -1)  # [T, H, d_h]
        w_o = layer.attention.output.dense.weight.detach().double().numpy()  # [D_out, D_in]
        norm = layer.attention.output.LayerNorm
        gamma = norm.weight.detach().double().numpy()
        pre, y = captured["ln", layer_index]
        sigma = np.sqrt(pre.var(-1) + norm.eps)
        contributions = np.zeros((t, t))
        for i in range(t):
            for j in range(t):
                z = sum(probs[h, i, j] * w_o[:, h * v.shape[2]:(h + 1) * v.shape[2]] @ v[j, h]
                        for h in range(heads))  # fmt: skip
                if i == j:
                    z = z + x[i]
                part = gamma * (z - z.mean()) / sigma[i]
                contributions[i, j] = max(0.0, np.abs(y[i]).sum() - np.abs(y[i] - part).sum())
        result.append(contributions / contributions.sum(-1, keepdims=True))
    return np.stack(result)


def ids_of(model, text: str) -> list[int]:
    return list(model.tokenizer.encode(text).ids)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["minilm", "roberta"])
def test_value_zeroing_equals_zeroing_a_value_in_transformers(models, name):
    ours, hf = models[name]
    text = TEXT if name == "minilm" else "The cat sat on the mat."
    got = ours.context_mixing(text, method="value-zeroing")
    expected = value_zeroing_oracle(hf, ids_of(ours, text))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-4)
    np.testing.assert_allclose(got.sum(-1), 1, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["minilm", "roberta"])
def test_alti_equals_the_papers_equations_on_transformers(models, name):
    ours, hf = models[name]
    text = TEXT if name == "minilm" else "Mary played in Paris and London."
    got = ours.context_mixing(text, method="alti")
    np.testing.assert_allclose(got, alti_oracle(hf, ids_of(ours, text)), atol=1e-4)


def test_rollout_composes_each_measure_as_its_paper_does(models):
    ours, _ = models["minilm"]
    r = ours.analyze(TEXT)
    # attention and norm: the existing rollouts, residual added
    np.testing.assert_allclose(ours.context_mixing(TEXT, method="attention", analysis=r,
                                                   across_layers="rollout"),
                               rollout(r.attentions), atol=1e-6)  # fmt: skip
    weighted = norm_weighted(r.attentions, r.value_norms, normalise=False)
    np.testing.assert_allclose(ours.context_mixing(TEXT, method="norm", analysis=r,
                                                   across_layers="rollout"),
                               rollout(weighted), atol=1e-6)  # fmt: skip
    # ALTI: R_l = C_l · R_{l-1}, no residual added (its contributions include it)
    per_layer = ours.context_mixing(TEXT, method="alti", analysis=r).astype(np.float64)
    rolled = ours.context_mixing(TEXT, method="alti", analysis=r, across_layers="rollout")
    acc = np.eye(len(r.tokens))
    for layer, c in enumerate(per_layer):
        acc = c @ acc
        np.testing.assert_allclose(rolled[layer], acc, atol=1e-5)


def test_a_layer_with_every_head_off_passes_each_token_through(models):
    """With no head in layer 1, the attention block's output of token i is x_i's alone (plus
    biases): ALTI gives the identity row; value zeroing moves nothing, and says identity too."""
    ours, _ = models["minilm"]
    mask = np.ones((6, 12), np.float32)
    mask[1] = 0
    r = ours.analyze(TEXT, head_mask=mask)
    eye = np.eye(len(r.tokens))
    np.testing.assert_allclose(
        ours.context_mixing(TEXT, method="alti", analysis=r)[1], eye, atol=1e-6
    )
    vz = ours.context_mixing(TEXT, method="value-zeroing", analysis=r)
    np.testing.assert_allclose(vz[1], eye, atol=1e-6)
    assert not np.allclose(vz[0], eye, atol=1e-2)  # the other layers still mix


def test_long_inputs_run_in_chunks_with_progress(models):
    """A text longer than one run's rows: the chunks join into the same matrix as a direct
    computation of a few of its columns."""
    ours, _ = models["minilm"]
    text = " ".join(["the quick brown fox jumps over the lazy dog"] * 11)  # 101 tokens
    r = ours.analyze(text)
    seen = []
    vz = ours.context_mixing(text, method="value-zeroing", analysis=r,
                             progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    per_run = FLOATS_PER_RUN // (len(r.tokens) * ours.config.intermediate_size)
    runs = math.ceil(len(r.tokens) / per_run)
    assert runs > 1 and seen == [(n, runs) for n in range(1, runs + 1)]
    feed = {"hidden_states": r.hidden_states[:-1], "attentions": r.attentions}
    tokens = np.array([0, 7, len(r.tokens) - 1])
    raw = ours.mixing_session.session.run(
        ["value_zeroing"], feed | {"zeroed": tokens, "rows": np.zeros(1, np.int64)}
    )[0]
    # columns 0, 7 and T−1 are the raw distances scaled by each row's sum
    all_raw = ours.mixing_session.session.run(
        ["value_zeroing"],
        feed | {"zeroed": np.arange(len(r.tokens)), "rows": np.zeros(1, np.int64)},
    )[0]
    sums = all_raw.sum(1)  # [L, T_i]
    np.testing.assert_allclose(
        vz[:, :, tokens], raw.transpose(0, 2, 1) / sums[..., None], rtol=1e-4
    )


def test_bad_arguments_are_refused(models):
    ours, _ = models["minilm"]
    with pytest.raises(ValueError, match="unknown method"):
        ours.context_mixing(TEXT, method="magic")
    with pytest.raises(ValueError, match="across_layers"):
        ours.context_mixing(TEXT, across_layers="flow")

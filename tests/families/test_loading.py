"""Loading any family through the public API; what is not supported says so at load."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from tiny_families import FAMILIES, HEADS, LABELS

import bertviz_lite as bv
from bertviz_lite import families
from bertviz_lite.config import CheckpointError, read_config
from bertviz_lite.weights import load_model

TASK = {"base": None, "sequence-classification": "classification",
        "token-classification": "ner", "masked-lm": "masked-lm"}  # fmt: skip


@pytest.mark.parametrize("family", FAMILIES)
def test_load_any_family_through_the_api(family_model, family):
    for head in HEADS:
        ex = family_model(family, head)
        assert ex.task == TASK[head]
        assert (ex.config.num_hidden_layers, ex.config.num_attention_heads) == (2, 4)
        assert ex.labels == LABELS.get(head, [])
        r = ex.analyze("The cat sat on the mat.", pair="John ran.")
        T = len(r.tokens)
        assert r.attentions.shape == (2, 4, T, T) and r.hidden_states.shape == (3, T, 32)
        np.testing.assert_allclose(r.attentions.sum(-1), 1, atol=1e-5)
        assert r.word_ids == r.encoding.word_ids and r.encoding.type_ids[-1] == 1
        assert ("token_type_ids" in ex.session.inputs) == (family in ("bert", "electra", "albert"))


def edited(tmp_path, source, **changes):
    path = tmp_path / "ck"
    shutil.copytree(source, path)
    config = json.loads((path / "config.json").read_text())
    config.update(changes)
    (path / "config.json").write_text(json.dumps(config))
    return path


@pytest.mark.parametrize("model_type", ["gpt2", "t5", "deberta-v2", "mpnet"])
def test_other_families_fail_at_load_naming_the_supported(tmp_path, family_checkpoint,
                                                          model_type):  # fmt: skip
    path = edited(tmp_path, family_checkpoint("roberta", "base"), model_type=model_type)
    with pytest.raises(CheckpointError) as err:
        bv.load(str(path), progress=False)
    message = str(err.value)
    assert f"model_type {model_type!r} is not supported" in message
    for supported in ("bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra",
                      "albert"):  # fmt: skip
        assert supported in message


def test_an_architecture_of_another_family_is_refused(tmp_path, family_checkpoint):
    path = edited(tmp_path, family_checkpoint("roberta", "base"), architectures=["BertModel"])
    with pytest.raises(CheckpointError, match="'BertModel' is not supported for model_type"):
        read_config(path)


def test_albert_with_several_inner_layers_is_refused(tmp_path, family_checkpoint):
    path = edited(tmp_path, family_checkpoint("albert", "base"), inner_group_num=2)
    with pytest.raises(CheckpointError, match="inner_group_num 2 is not supported"):
        read_config(path)


def test_electra_discriminator_reads_as_its_encoder(tmp_path, family_checkpoint):
    import torch
    import transformers

    path = tmp_path / "discriminator"
    config = transformers.AutoConfig.from_pretrained(family_checkpoint("electra", "base"))
    torch.manual_seed(0)
    transformers.ElectraForPreTraining(config).save_pretrained(path)
    model = load_model(path)  # discriminator_predictions.* left aside
    assert model.config.head == "base" and model.embeddings_project is not None


def test_family_names_map_onto_ours(family_checkpoint):
    """DistilBERT's own names in a checkpoint land on our (BERT's) modules, and a missing one is
    named in ours."""
    from safetensors.torch import load_file, save_file

    path = family_checkpoint("distilbert", "sequence-classification")
    state = load_file(path / "model.safetensors")
    family = families.FAMILIES["distilbert"]
    assert family.candidates("distilbert.transformer.layer.1.attention.q_lin.weight") == [
        "bert.encoder.layer.1.attention.self.query.weight"]  # fmt: skip
    assert family.candidates("pre_classifier.bias")[0] == "bert.pooler.dense.bias"
    broken = path.parent / "distilbert-broken"
    shutil.copytree(path, broken)
    del state["distilbert.transformer.layer.1.ffn.lin2.weight"]
    save_file(state, broken / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"missing tensors: bert\.encoder\.layer\.1\.output"):
        load_model(broken)


def test_albert_layers_are_shared(family_checkpoint):
    model = load_model(family_checkpoint("albert", "masked-lm"))
    assert model.config.num_hidden_layers == 2 and len(model.bert.encoder.layer) == 1
    assert model.bert.embeddings.word_embeddings.weight.shape[1] == 16  # factorised
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight


def test_roberta_positions_bound_the_length(family_model):
    """RoBERTa's positions start after the padding index: 66 positions hold 64 tokens."""
    ex = family_model("roberta", "base")
    assert ex.config.max_tokens == ex.config.max_position_embeddings - 2 == 64
    r = ex.analyze("the cat sat on the mat " * 40)
    assert r.truncated and len(r.tokens) == 64 and r.attentions.shape[-1] == 64
    assert r.tokens[0] == "<s>" and r.tokens[-1] == "</s>"  # cut inside, the specials kept
    assert any(t.startswith("Ġ") for t in r.encoding.tokens)  # raw: as the vocabulary spells it
    assert not any("Ġ" in t for t in r.tokens)  # what views show

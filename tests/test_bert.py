"""Our PyTorch BERT against transformers' eager BERT, head_mask semantics, case embeddings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from tiny_checkpoints import assert_close_unpadded, random_batch

from bertviz_lite.bert import BertForTokenClassification
from bertviz_lite.tokenizer import CASES
from bertviz_lite.weights import load_model


def torch_forward(model, batch, head_mask=None):
    with torch.no_grad():
        out = model(
            *(
                torch.from_numpy(batch[k])
                for k in ("input_ids", "attention_mask", "token_type_ids")
            ),
            head_mask=head_mask,
        )
    logits = None if out.logits is None else out.logits.numpy()
    return logits, out.attentions.numpy(), out.hidden_states.numpy()


@pytest.mark.parametrize(
    "architecture",
    ["BertModel", "BertForSequenceClassification", "BertForTokenClassification", "BertForMaskedLM"],
)
@pytest.mark.parametrize("lengths", [[7, 4], [19, 11, 3]])
def test_matches_transformers_on_tiny_checkpoints(checkpoints, hf_forward, architecture, lengths):
    path = checkpoints[architecture]
    model = load_model(path)
    batch = random_batch(model.config.vocab_size, lengths, seed=len(lengths), pair_at=3)
    assert_close_unpadded(
        torch_forward(model, batch), hf_forward(path, batch), batch["attention_mask"]
    )


@pytest.mark.slow
def test_matches_transformers_on_minilm(minilm_dir, hf_forward):
    model = load_model(minilm_dir)
    for lengths in ([9, 5], [37, 20, 12]):
        batch = random_batch(model.config.vocab_size, lengths, seed=1, pair_at=4)
        assert_close_unpadded(
            torch_forward(model, batch), hf_forward(minilm_dir, batch), batch["attention_mask"]
        )


def test_head_mask_switches_one_head_off(checkpoints):
    model = load_model(checkpoints["BertForSequenceClassification"])
    c = model.config
    batch = random_batch(c.vocab_size, [9], seed=3)
    plain = torch_forward(model, batch)
    ones = torch_forward(model, batch, torch.ones(c.num_hidden_layers, c.num_attention_heads))
    for a, b in zip(plain, ones):
        np.testing.assert_array_equal(a, b)  # all ones is no mask at all

    captured = {}
    layer = model.bert.encoder.layer[1].attention.self
    hook = layer.register_forward_hook(lambda m, args, out: captured.update(context=out[0]))
    mask = torch.ones(c.num_hidden_layers, c.num_attention_heads)
    mask[1, 2] = 0
    try:
        off = torch_forward(model, batch, mask)
    finally:
        hook.remove()
    d = c.head_size
    context = captured["context"][0]  # [T, heads·d]: the switched-off head's slice is all zeros
    assert torch.count_nonzero(context[:, 2 * d : 3 * d]) == 0
    assert torch.count_nonzero(context[:, 1 * d : 2 * d]) > 0
    assert np.all(off[1][0, 1, 2] == 0) and np.all(off[1][0, 1, 1] == plain[1][0, 1, 1])
    assert not np.allclose(off[0], plain[0])  # and the logits move


def test_case_embeddings_start_as_the_base_then_read_the_case(checkpoints):
    base = load_model(checkpoints["BertForTokenClassification"])
    config = dataclasses.replace(base.config, case_vocab_size=len(CASES))
    model = BertForTokenClassification(config).eval()
    missing, unexpected = model.load_state_dict(base.state_dict(), strict=False)
    assert (missing, unexpected) == (["bert.embeddings.case_embeddings.weight"], [])
    batch = random_batch(config.vocab_size, [9, 5], seed=4)
    inputs = [torch.from_numpy(batch[k]) for k in ("input_ids", "attention_mask", "token_type_ids")]
    cases = torch.randint(
        0, len(CASES), inputs[0].shape, generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        with pytest.raises(ValueError, match="case_ids"):
            model(*inputs)
        # All zero at first: exactly the base model, whatever the case.
        torch.testing.assert_close(model(*inputs, case_ids=cases).logits, base(*inputs).logits)
        torch.nn.init.normal_(model.bert.embeddings.case_embeddings.weight)
        lower = model(*inputs, case_ids=torch.ones_like(cases)).logits
        mixed = model(*inputs, case_ids=cases).logits
    assert not torch.allclose(lower, mixed)

"""Task adapters on other families' bases: the same format (our names), merged at load."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from bertviz_lite import adapter
from bertviz_lite.bert import build
from bertviz_lite.config import read_config

peft = pytest.importorskip("peft")
LABELS = ["negative", "positive", "neutral"]


@pytest.mark.parametrize(
    ("family", "architecture"),
    [("electra", "ElectraForSequenceClassification"),  # no pooler in the base: the adapter's
     ("roberta", "RobertaForTokenClassification"),
     ("albert", "AlbertForSequenceClassification")],  # one layer module used twice
)  # fmt: skip
def test_adapter_round_trip(family_checkpoint, tmp_path, family, architecture):
    base = family_checkpoint(family, "base")
    config = dataclasses.replace(read_config(base), architecture=architecture,
                                 id2label=dict(enumerate(LABELS)))  # fmt: skip
    torch.manual_seed(0)
    model = build(config)
    adapter.load_base(model, base)
    head = ["classifier"] + (["pooler"] if config.head == "sequence-classification" else [])
    lora = peft.LoraConfig(r=2, lora_alpha=4, target_modules=["query", "value"],
                           modules_to_save=head)  # fmt: skip
    wrapped = peft.get_peft_model(model, lora)
    with torch.no_grad():
        for p in wrapped.parameters():
            if p.requires_grad:
                p.copy_(torch.randn_like(p) * 0.1)
    wrapped.eval()
    meta = {"base": family, "base_config": {"name": family, **adapter.base_shape(config)},
            "architecture": architecture, "id2label": dict(enumerate(LABELS)),
            "lora": {"r": 2, "alpha": 4, "targets": ["query", "value"]}}  # fmt: skip
    adapter.save(wrapped, tmp_path, meta, dtype="float32")
    merged = adapter.load_merged(base, tmp_path)
    ids = torch.randint(5, config.vocab_size, (2, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        np.testing.assert_allclose(merged(ids).logits.numpy(), wrapped(ids).logits.numpy(),
                                   atol=1e-5)  # fmt: skip
    assert adapter.task_config(read_config(base), tmp_path).head == config.head

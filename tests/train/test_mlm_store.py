"""The masked-LM model as it is stored: what its adapter.json says, and which folders it reads."""

from __future__ import annotations

import pytest

from bertviz_lite import catalog
from bertviz_lite.config import CheckpointError
from bertviz_lite.train import mlm, mlm_store


def test_meta_says_what_the_model_is(base):
    s = mlm.SETTINGS
    meta = mlm_store.model_meta(s, base, "lora")
    assert meta["architecture"] == "BertForMaskedLM" and meta["id2label"] == {}
    assert meta["lora"]["targets"] == list(s.lora_targets)
    assert meta["tied"] == {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight"
    }
    assert mlm_store.model_meta(s, base, "head")["lora"] is None
    assert mlm_store.model_meta(s, base, "head")["name"] == f"{mlm.NAME} ({mlm.HEAD_ONLY})"


def test_only_a_masked_lm_adapter_is_read(base, tmp_path):
    """A classifier's adapter (the committed sentiment model) or a folder without adapter.json
    is refused with a message naming it, before any tensor is loaded."""
    with pytest.raises(CheckpointError, match="not a masked-LM adapter"):
        mlm_store.load_merged(base, catalog.MODELS_DIR / "sentiment")
    with pytest.raises(CheckpointError, match=r"has no adapter\.json"):
        mlm_store.read_meta(tmp_path)

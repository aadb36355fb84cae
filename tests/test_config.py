"""config.json checks and locating checkpoints, offline."""

from __future__ import annotations

import json
import shutil

import pytest

from bertviz_lite.config import CheckpointError, read_config, resolve


def edited(tmp_path, checkpoints, **changes):
    path = tmp_path / "ck"
    shutil.copytree(checkpoints["BertForSequenceClassification"], path)
    config = json.loads((path / "config.json").read_text())
    config.update(changes)
    (path / "config.json").write_text(json.dumps(config))
    return path


def test_reads_labels_and_architecture(checkpoints):
    config = read_config(checkpoints["BertForSequenceClassification"])
    assert config.architecture == "BertForSequenceClassification"
    assert config.labels == ["negative", "positive", "neutral"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model_type": "gpt2"}, "model_type 'gpt2' is not supported"),
        (
            {"architectures": ["BertForNextSentencePrediction"]},
            "architecture 'BertForNextSentencePrediction'",
        ),
        ({"position_embedding_type": "relative_key"}, "position_embedding_type 'relative_key'"),
        ({"hidden_act": "swish"}, "hidden_act 'swish'"),
        ({"id2label": {}}, "has no id2label"),
    ],
)
def test_unsupported_configs_say_what(tmp_path, checkpoints, change, message):
    with pytest.raises(CheckpointError, match=message):
        read_config(edited(tmp_path, checkpoints, **change))


def test_hub_id_offline_says_so(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        CheckpointError, match="could not fetch 'nobody/no-such-bert' from the Hugging Face hub"
    ):
        resolve("nobody/no-such-bert")


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="is not a checkpoint directory"):
        resolve(tmp_path / "nothing" / "here")

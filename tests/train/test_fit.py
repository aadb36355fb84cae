"""Tests of the training pipeline (`train.fit`): what adapter.json records of the model and the
data, and one real (one-step) training from the split files to the saved adapter and its card."""

from __future__ import annotations

import json

import pytest

from bertviz_lite import adapter
from bertviz_lite.train import cards, fit
from bertviz_lite.train.tasks import TASKS, default_out

pytest.importorskip("peft")

# adapter.json keys added after some adapters were committed.
LATER = {"case_vocab_size", "eval_max_length"}


def committed_meta(task: str) -> dict:
    return json.loads((default_out(task) / "adapter.json").read_text())


@pytest.mark.parametrize("task", list(TASKS))
def test_model_meta_is_what_the_committed_adapter_says(base, task):
    meta = json.loads(json.dumps(fit.model_meta(TASKS[task], base)))  # as JSON stores it
    recorded = committed_meta(task)
    assert set(meta) - set(recorded) <= LATER
    assert {k: recorded[k] for k in meta if k in recorded} == {
        k: v for k, v in meta.items() if k in recorded
    }
    assert list(meta["id2label"].values()) == list(TASKS[task].labels)


@pytest.mark.parametrize("task", list(TASKS))
def test_data_info_is_what_the_committed_adapter_says(task):
    """Same data version, split, fingerprint, source and package versions as the data the
    committed adapter was trained on: the split files would be made the same again."""
    recorded = committed_meta(task)["data"]
    info = json.loads(json.dumps(fit.data_info(task, recorded["sizes"])))
    assert info == recorded
    assert list(info) == list(recorded)  # and the same order in adapter.json


@pytest.mark.slow
def test_train_task_saves_an_adapter_and_its_card(tmp_path, monkeypatch, capsys):
    """One step on 8 items, written where the card writer writes a card (models/<task>/ stood
    in for by a temporary folder)."""
    monkeypatch.setattr(fit, "default_out", lambda task: tmp_path / task)
    command = "python -m bertviz_lite.train sentiment --epochs 1 --limit 8"
    folder = fit.train_task("sentiment", command, epochs=1, limit=8)
    assert folder == tmp_path / "sentiment"
    meta = adapter.read_meta(folder)
    training = meta["training"]
    assert training["command"] == command
    assert training["settings"] == json.loads(json.dumps(TASKS["sentiment"].as_dict()))
    assert (training["epochs_run"], training["best_epoch"], training["steps"]) == (1, 1, 1)
    assert meta["data"]["sizes"] == {"train": 8, "dev": 8}
    assert meta["dtype"] in ("float16", "float32")
    out = capsys.readouterr().out
    test_line = next(line for line in out.splitlines() if line.startswith("TEST "))
    assert test_line.startswith("TEST (torch fp32, merged adapter): accuracy ")
    assert test_line.endswith("(n=8)")
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert card.startswith("# MiniLM sentiment (negative / positive)\n")
    assert f"```\n{command}\npython -m bertviz_lite.train eval sentiment" in card
    accuracy = float(test_line.split("accuracy ")[1].split()[0])
    assert f"| PyTorch fp32 (merged adapter) | {accuracy:.4f} |" in card
    assert "train 8, dev 8, test 8 examples." in card
    assert "## Notes" not in card  # no NOTES.md in the new folder
    # A trial run elsewhere gets no card.
    other = fit.train_task("sentiment", command, tmp_path / "trial", epochs=1, limit=8)
    assert (other / "adapter.json").is_file() and not (other / "README.md").exists()
    assert cards.NOTES == "NOTES.md"

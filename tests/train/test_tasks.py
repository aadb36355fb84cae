"""Tests of the per-task settings: one `TaskSettings` per task says what the task is and how it
is trained, and what adapter.json records of it is the training part only."""

from __future__ import annotations

import json

import pytest

from bertviz_lite import adapter, catalog
from bertviz_lite.train import data
from bertviz_lite.train.tasks import BASE, DESCRIPTION, TASKS, base_dir, default_out


def test_settings_are_consistent():
    for name, s in TASKS.items():
        assert s.task == name
        assert s.architecture in adapter.TASK_ARCHITECTURES
        assert ("Token" in s.architecture) == (name == "ner")
        assert "classifier" in s.modules_to_save
        assert s.max_length <= s.eval_length <= 512
        # Case embeddings start at zero and stay there unless trained in full.
        assert s.case_embeddings == ("case_embeddings" in s.modules_to_save)


def test_each_task_describes_itself():
    assert [TASKS[t].metric for t in TASKS] == ["accuracy", "accuracy", "entity F1"]
    assert [TASKS[t].target for t in TASKS] == [0.90, 0.97, 0.80]
    assert TASKS["topic"].title == "MiniLM BBC News topic (5 classes)"
    for name, s in TASKS.items():
        assert 0 < s.target < 1
        assert len(set(s.labels)) == len(s.labels) >= 2
        # The data side reads its label names from here: one list per task, not two.
        assert data.label_names(name) == list(s.labels)
    ner = TASKS["ner"].labels
    assert ner[0] == "O"
    assert {t[2:] for t in ner[1:]} == {"PER", "ORG", "LOC", "MISC"}
    assert all(f"I-{t[2:]}" in ner for t in ner if t.startswith("B-"))


@pytest.mark.parametrize("task", list(TASKS))
def test_as_dict_is_what_adapter_json_records(task):
    """The committed adapter.json's training settings have the keys `as_dict` gives (older
    adapters predate the two newest settings), and the same values where they have them."""
    settings = TASKS[task]
    recorded = json.loads((default_out(task) / "adapter.json").read_text())["training"]["settings"]
    written = json.loads(json.dumps(settings.as_dict()))  # tuples as adapter.json has them
    assert not set(DESCRIPTION) & set(written)
    assert set(written) - set(recorded) <= {"eval_max_length", "case_embeddings"}
    assert set(recorded) <= set(written)
    assert {k: written[k] for k in recorded} == recorded


def test_where_things_live():
    assert base_dir() == catalog.checkpoint_dir(catalog.entries()[BASE])
    assert (base_dir() / "config.json").is_file()
    for task in TASKS:
        assert default_out(task) == catalog.MODELS_DIR / task
        assert catalog.entries()[task].adapter == task

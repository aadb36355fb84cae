"""Your own models in the app: --model registers a checkpoint under a name; links name it, never
a path; the page's ranges, labels and examples follow it."""

from __future__ import annotations

import argparse

import pytest

from bertviz_lite import catalog, events, examples, serve, urlstate
from bertviz_lite.config import CheckpointError


@pytest.fixture
def registered(checkpoints, monkeypatch):
    monkeypatch.setattr(catalog, "_registered", {})
    return checkpoints


def test_a_model_by_path_gets_a_name_and_answers(registered):
    added = serve.add_models([str(registered["BertForSequenceClassification"])], ["tiny-cls"])
    assert added == ["tiny-cls"] and "tiny-cls" in catalog.names()
    assert events.shape("tiny-cls")[:3] == (2, 4, ("negative", "positive", "neutral"))
    state = urlstate.default_state(events.shape("tiny-cls"), text="the cat sat", model="tiny-cls")
    out = events.analyze(state)
    assert set(out["prediction"]) == {"negative", "positive", "neutral"}  # its own labels
    assert examples.example_for("tiny-cls") == [examples.EXAMPLES[0][0], "", "tiny-cls"]


def test_links_name_models_never_paths(registered):
    path = str(registered["BertModel"])
    serve.add_models([f"mine={path}"], [])
    state, notes = urlstate.parse({"text": "hi", "model": "mine", "layer": "9"}, catalog.names(),
                                  events.shape)  # fmt: skip
    assert state.model == "mine" and state.layer == 2  # clamped to the tiny model's 2 layers
    state, notes = urlstate.parse({"text": "hi", "model": path}, catalog.names(), events.shape)
    assert state.model == "minilm" and "unknown model" in notes[0]


def test_specs_from_flags_environment_and_file(tmp_path, monkeypatch):
    file = tmp_path / "models.txt"
    file.write_text("# my models\nc=some/hub-id\n\n")
    monkeypatch.setenv("BERTVIZ_LITE_MODELS", "a=/x/one;/x/two")
    args = argparse.Namespace(model=["/x/zero"], models_file=str(file))
    specs = serve.model_specs(args)
    assert specs == ["/x/zero", "a=/x/one", "/x/two", "c=some/hub-id"]
    assert [catalog.from_spec(s) for s in specs[1:]] == [
        ("/x/one", "a"), ("/x/two", None), ("some/hub-id", "c")]  # fmt: skip


@pytest.mark.parametrize("name", ["../etc", "a/b", "", "minilm", "x" * 80])
def test_bad_names_are_refused(registered, name):
    with pytest.raises(CheckpointError):
        catalog.register(str(registered["BertModel"]), name or "/")


def test_a_checkpoint_that_cannot_load_fails_at_start(registered, tmp_path):
    with pytest.raises((CheckpointError, events.UserError)):
        serve.add_models([str(tmp_path)], ["empty"])

"""Tests of the training loop (`train.loop`): batching, NER labelling, metrics, and real MiniLM
trained a few steps on a handful of examples -- the loss falls, and the saved adapter round-trips
through load_merged and an ONNX export.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
import torch

from bertviz_lite import adapter
from bertviz_lite.train import data, examples, loop
from bertviz_lite.train.fit import model_meta
from bertviz_lite.train.tasks import TASKS

pytest.importorskip("peft")


def test_batches_cover_every_example_once():
    items = [
        examples.Example(ids=[0] * random.Random(i).randint(3, 40), labels=0) for i in range(97)
    ]
    for rng in (random.Random(0), None):
        got = examples.batches(items, 8, rng)
        flat = sorted(i for b in got for i in b)
        assert flat == list(range(97))
        assert all(len(b) <= 8 for b in got)
    ordered = examples.batches(items, 8, None)  # evaluation: sorted by length
    lengths = [len(items[i].ids) for b in ordered for i in b]
    assert lengths == sorted(lengths)


def test_ner_labels_only_the_first_sub_token(base):
    names = data.label_names("ner")
    item = {"words": ["Obamacare", "critics", "met", "Zuckerberg"],
            "tags": [names.index("B-MISC"), 0, 0, names.index("B-PER")]}  # fmt: skip
    (ex,) = examples.encode("ner", [item], examples.tokenizer(base, 32))
    firsts = [i for i, w in enumerate(ex.word_index) if w is not None]
    assert [ex.word_index[i] for i in firsts] == [0, 1, 2, 3]
    assert [ex.labels[i] for i in firsts] == item["tags"]
    assert len(ex.ids) > 6  # some words were split: their later pieces are ignored
    assert all(ex.labels[i] == examples.IGNORE for i in range(len(ex.ids)) if i not in firsts)
    # A word-level evaluation that predicts the gold tags scores 1.
    onehot = np.eye(len(names))[[max(v, 0) for v in ex.labels]][None]
    metrics = loop.evaluate("ner", [ex], lambda arrays: onehot)
    assert metrics["f1"] == 1.0


@pytest.fixture(scope="module")
def trained(base):
    """Each task trained a few steps on 8 examples: several passes over the same batch."""
    out = {}
    for task in TASKS:
        settings = dataclasses.replace(
            TASKS[task], batch_size=8, max_length=min(TASKS[task].max_length, 64), lr=2e-3,
            warmup=0.0,
        )  # fmt: skip
        items = data.load_split(task, "train", limit=8)
        out[task] = (
            settings,
            loop.train(settings, base, items, items[:4], epochs=6, progress=False),
        )
    return out


@pytest.mark.slow
@pytest.mark.parametrize("task", list(TASKS))
def test_loss_falls(trained, task):
    _, result = trained[task]
    losses = [loss for h in result.history for loss in h["losses"]]
    assert len(losses) == 6
    assert losses[-1] < losses[0] * 0.8, losses
    assert result.best_epoch >= 1


@pytest.mark.slow
@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_artifact_round_trip_through_onnx(trained, base, tmp_path, task):
    from bertviz_lite.export import export
    from bertviz_lite.runtime import Session

    settings, result = trained[task]
    adapter.save(result.model, tmp_path, model_meta(settings, base), dtype="float32")
    merged = adapter.load_merged(base, tmp_path)
    dev = examples.encode(task, data.load_split(task, "dev", limit=4), examples.tokenizer(base, 64))
    arrays = examples.collate(dev)
    expected = loop.torch_logits(result.model)(arrays)
    np.testing.assert_allclose(loop.torch_logits(merged)(arrays), expected, atol=1e-4)
    export(merged, "fp32", tmp_path / "m.onnx", progress=False)
    inputs = {k: v for k, v in arrays.items() if k != "labels"}
    got = Session(tmp_path / "m.onnx").run(**inputs, head_mask=np.ones((6, 12), np.float32))
    keep = arrays["attention_mask"].astype(bool)
    logits = got["logits"][keep] if task == "ner" else got["logits"]
    np.testing.assert_allclose(logits, expected[keep] if task == "ner" else expected, atol=1e-3)


def test_cross_entropy_matches_torch_and_breaks_ties():
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(7, 5)) * 4, rng.integers(0, 5, 7)
    expected = torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels))
    assert loop._cross_entropy(logits, labels) == pytest.approx(float(expected), rel=1e-9)
    first = {"accuracy": 0.99, "loss": 0.30}
    assert loop.better("topic", first, None)
    assert loop.better("topic", {"accuracy": 0.99, "loss": 0.10}, first)  # same score, surer
    assert not loop.better("topic", {"accuracy": 0.99, "loss": 0.30}, first)
    assert not loop.better("topic", {"accuracy": 0.98, "loss": 0.01}, first)
    assert loop.better("ner", {"f1": 0.8, "loss": 0.5}, {"f1": 0.7, "loss": 0.1})

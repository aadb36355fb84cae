"""Tests of the evaluation of committed adapters (`train.evaluate`): the test figures through
fp32 torch and through ONNX, on the same token ids, and through the app's own `analyze_batch`."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from bertviz_lite.train import data, evaluate
from bertviz_lite.train.tasks import default_out

pytest.importorskip("peft")


def test_eval_length():
    assert evaluate.eval_length({"max_length": 256, "eval_max_length": 512}) == 512
    # Adapters saved before the setting existed were evaluated at their training length.
    assert evaluate.eval_length({"max_length": 64}) == 64


class FakeLoaded:
    """Stands in for a LoadedModel: predicts "positive" when the text says "good"."""

    def __init__(self):
        self.labels = ["negative", "positive"]
        self.calls: list[list[str]] = []

    def analyze_batch(self, pairs):
        assert all(pair is None for _, pair in pairs)
        self.calls.append([text for text, _ in pairs])
        label = lambda t: "positive" if "good" in t else "negative"  # noqa: E731
        return [SimpleNamespace(predictions={"label": label(t)}) for t, _ in pairs]


def test_app_accuracy_batches_by_length_and_counts():
    texts = ["good", "bad film", "a good one", "bad", "so so good, really", "good but long text"]
    labels = [1, 0, 0, 0, 1, 1]  # "a good one" is labelled negative: the fake gets it wrong
    items = [{"text": t, "label": y} for t, y in zip(texts, labels, strict=True)]
    loaded = FakeLoaded()
    assert evaluate.app_accuracy(loaded, items, batch_size=4) == {"accuracy": 5 / 6, "n": 6}
    assert [len(c) for c in loaded.calls] == [4, 2]
    flat = [t for c in loaded.calls for t in c]
    assert sorted(flat) == sorted(texts)
    assert [len(t) for t in flat] == sorted(len(t) for t in texts)  # similar lengths together


@pytest.mark.slow
def test_committed_sentiment_through_torch_onnx_and_the_app():
    figures = evaluate.evaluate_committed("sentiment", default_out("sentiment"), "int8", limit=24)
    assert list(figures) == ["torch_fp32", "onnx_int8", "onnx_int8_app"]
    assert all(m["n"] == 24 for m in figures.values())
    torch_acc, onnx_acc = figures["torch_fp32"]["accuracy"], figures["onnx_int8"]["accuracy"]
    assert torch_acc >= 0.75  # the committed model scores 0.89 on the whole test split
    # int8 and the app's own tokenization move a borderline text or two at most.
    assert abs(onnx_acc - torch_acc) <= 2 / 24
    assert abs(figures["onnx_int8_app"]["accuracy"] - onnx_acc) <= 2 / 24
    assert abs(figures["onnx_int8"]["loss"] - figures["torch_fp32"]["loss"]) < 0.1


@pytest.mark.slow
def test_committed_ner_has_no_app_row():
    figures = evaluate.evaluate_committed("ner", default_out("ner"), "int8", limit=40)
    assert list(figures) == ["torch_fp32", "onnx_int8"]
    a, b = figures["torch_fp32"], figures["onnx_int8"]
    assert a["n"] == b["n"] == 40
    # 0.80 on the whole split; these 40 sentences are ORG-heavy, the weakest type (0.66 here).
    assert a["f1"] >= 0.5 and abs(a["f1"] - b["f1"]) < 0.05
    assert set(a["per_type"]) == {"PER", "ORG", "LOC", "MISC"}
    # The same gold entities on both paths: only the predictions differ.
    assert {t: v["support"] for t, v in a["per_type"].items()} == {
        t: v["support"] for t, v in b["per_type"].items()
    }


@pytest.mark.slow
def test_an_adapter_outside_the_catalog_is_exported_for_the_occasion(tmp_path):
    for name in ("adapter.json", "adapter.safetensors"):
        shutil.copy(default_out("sentiment") / name, tmp_path / name)
    figures = evaluate.evaluate_committed("sentiment", tmp_path, "fp32", limit=12)
    # No app row without a catalog entry; fp32 ONNX agrees with fp32 torch.
    assert list(figures) == ["torch_fp32", "onnx_fp32"]
    a, b = figures["torch_fp32"], figures["onnx_fp32"]
    assert a["accuracy"] == b["accuracy"]
    assert a["loss"] == pytest.approx(b["loss"], abs=1e-4)
    assert len(data.load_split("sentiment", "test", 12)) == a["n"] == 12

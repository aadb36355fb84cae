"""Tests of the committed task adapters (models/<task>/): each fits MiniLM, and each task model,
loaded through the public API as the app loads it, gets clear examples right.
"""

from __future__ import annotations

import pytest
import torch

from bertviz_lite import adapter, catalog
from bertviz_lite.tokenizer import CASES
from bertviz_lite.train import data
from bertviz_lite.train.tasks import TASKS


def committed(task: str):
    folder = catalog.MODELS_DIR / task
    if not (folder / "adapter.json").is_file():
        pytest.fail(f"no committed adapter in {folder}: train it with python -m bertviz_lite.train")
    return folder


@pytest.mark.parametrize("task", list(TASKS))
def test_committed_adapter_fits_minilm(base, task):
    folder = committed(task)
    adapter.check_base(base, folder)
    meta = adapter.read_meta(folder)
    assert meta["base"] == "minilm"
    assert meta["architecture"] == TASKS[task].architecture
    assert list(meta["id2label"].values()) == data.label_names(task)
    assert meta.get("case_vocab_size", 0) == (len(CASES) if TASKS[task].case_embeddings else 0)
    size = sum(f.stat().st_size for f in folder.glob("adapter.*"))
    assert size < 5e6, f"{task} adapter is {size / 1e6:.1f} MB"


@pytest.fixture(scope="module")
def loaded():
    import bertviz_lite as bv

    cache = {}

    def get(task):
        committed(task)
        if task not in cache:
            cache[task] = bv.load(task, device="cpu", variant="int8", progress=False)
        return cache[task]

    return get


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("This movie was wonderful, I loved every minute.", "positive"),
        ("A dull, lifeless film; the worst two hours I have spent in a cinema.", "negative"),
    ],
)
def test_committed_sentiment(loaded, text, label):
    assert loaded("sentiment").analyze(text).predictions["label"] == label


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Chelsea beat Arsenal 2-0 to go top of the Premiership as the striker scored twice "
         "in the second half.", "sport"),
        ("Shares in the bank fell 5% after it reported lower quarterly profits and the "
         "company's chief executive warned of weak sales.", "business"),
    ],
)  # fmt: skip
def test_committed_topic(loaded, text, label):
    assert loaded("topic").analyze(text).predictions["label"] == label


@pytest.mark.slow
def test_committed_ner(loaded):
    text = "Barack Obama visited Paris with officials from Microsoft."
    pred = loaded("ner").analyze(text).predictions
    spans = {(text[e["start"] : e["end"]], e["label"]) for e in pred["entities"]}
    assert {("Barack Obama", "PER"), ("Paris", "LOC"), ("Microsoft", "ORG")} <= spans, spans


def test_committed_sentiment_merges_in_torch(base):
    """The committed sentiment adapter merges without error and gives finite logits (fp32)."""
    merged = adapter.load_merged(base, committed("sentiment"))
    ids = torch.tensor([[101, 2023, 3185, 2001, 6919, 1012, 102]])
    logits = merged(ids).logits
    assert torch.isfinite(logits).all() and logits.shape == (1, 2)

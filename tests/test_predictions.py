"""Logits to labels, entities with character spans, masked-word guesses."""

from __future__ import annotations

import numpy as np
import pytest

from bertviz_lite import predictions
from bertviz_lite.tokenizer import Tokenizer

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


@pytest.fixture(scope="module")
def tok(minilm_dir):
    return Tokenizer.from_dir(minilm_dir)


def tag_logits(enc, tags_by_token: dict[int, str]) -> np.ndarray:
    logits = np.zeros((len(enc), len(LABELS)))
    logits[:, 0] = 5
    for t, tag in tags_by_token.items():
        logits[t, LABELS.index(tag)] = 10
    return logits


def test_entities_are_words_with_spans(tok):
    text = "Yesterday Angela Merkel visited Tokenizationville in New York."
    enc = tok.encode(text)
    start_of = {text[slice(*enc.offsets[t])]: t for t in range(1, len(enc) - 1)}
    pieces = [t for t, w in enumerate(enc.word_ids) if w == enc.word_ids[start_of["Token"]]]
    assert len(pieces) > 2
    tags = {
        start_of["Angela"]: "B-PER",
        start_of["Mer"]: "I-PER",
        pieces[0]: "B-LOC",
        pieces[1]: "O",  # a later sub-token's tag is not read: the word keeps its first one
        start_of["New"]: "B-LOC",
        start_of["York"]: "I-LOC",
    }
    out = predictions.entities(tag_logits(enc, tags), LABELS, enc)
    spans = [(e["label"], e["text"]) for e in out["entities"]]
    assert spans == [("PER", "Angela Merkel"), ("LOC", "Tokenizationville"), ("LOC", "New York")]
    assert all(text[e["start"] : e["end"]] == e["text"] for e in out["entities"])
    assert all(0.5 < e["score"] <= 1 for e in out["entities"])


def bio_valid(tags: list[str]) -> bool:
    """No I-X unless right after B-X or I-X."""
    return all(
        not tag.startswith("I-") or (prev != "O" and prev[2:] == tag[2:])
        for prev, tag in zip(["O", *tags], tags)
    )


def test_bio_path_is_the_argmax_when_that_is_valid_and_the_best_valid_fix_when_not():
    rng = np.random.default_rng(0)
    mended = 0
    for _ in range(50):
        scores = predictions.log_softmax(rng.normal(size=(6, len(LABELS))) * 3)
        tags = [LABELS[k] for k in predictions.bio_path(scores, LABELS)]
        argmax = [LABELS[k] for k in scores.argmax(1)]
        assert bio_valid(tags)
        if bio_valid(argmax):
            assert tags == argmax
        mended += tags != argmax
    assert mended > 10  # random scores are often invalid: the check above is not idle
    # I-PER first, then I-LOC: B-LOC I-LOC (0.1 · 0.5) beats B-PER I-PER (0.1 · 0.1).
    probs = np.array([[0.1, 0.1, 0.6, 0.1, 0.1], [0.1, 0.1, 0.1, 0.2, 0.5]])
    assert [LABELS[k] for k in predictions.bio_path(np.log(probs), LABELS)] == ["B-LOC", "I-LOC"]
    assert predictions.bio_path(np.zeros((0, len(LABELS))), LABELS) == []


def test_stray_inside_tags_are_mended_and_types_do_not_merge(tok):
    enc = tok.encode("Paris London Mary")
    logits = tag_logits(enc, {1: "I-LOC", 2: "I-LOC", 3: "I-PER"})
    logits[1, LABELS.index("B-LOC")] = logits[3, LABELS.index("B-PER")] = 9  # the runners-up
    out = predictions.entities(logits, LABELS, enc)
    assert [w["tag"] for w in out["words"]] == ["B-LOC", "I-LOC", "B-PER"]
    assert [(e["label"], e["text"]) for e in out["entities"]] == [
        ("LOC", "Paris London"),
        ("PER", "Mary"),
    ]
    assert out["words"][0]["score"] < 0.5 < out["words"][1]["score"]  # the chosen tag's own


def test_entities_in_the_second_sentence_point_into_it(tok):
    enc = tok.encode("hello", pair="Mary sings")
    mary = enc.tokens.index("mary")
    out = predictions.entities(tag_logits(enc, {mary: "B-PER"}), LABELS, enc)
    assert out["entities"][0]["sequence"] == 1 and out["entities"][0]["text"] == "Mary"


def test_classification_probabilities():
    out = predictions.classification(np.array([0.0, 2.0, -1.0]), ["a", "b", "c"])
    assert out["label"] == "b" and abs(sum(out["probabilities"].values()) - 1) < 1e-9


def test_ablation_delta_classification():
    labels = ["negative", "positive"]
    before = predictions.classification(np.array([0.0, 2.0]), labels)
    after = predictions.classification(np.array([1.0, 0.0]), labels)
    d = predictions.ablation_delta(before, after)
    assert d["label_before"] == "positive" and d["label_after"] == "negative"
    assert d["label_changed"] and "positive" in d["summary"] and "negative" in d["summary"]
    deltas = {c["label"]: c["delta"] for c in d["changes"]}
    p = after["probabilities"]["positive"] - before["probabilities"]["positive"]
    assert deltas["positive"] == pytest.approx(p) and deltas["negative"] == pytest.approx(-p)
    same = predictions.ablation_delta(before, before)
    assert not same["label_changed"] and all(c["delta"] == 0 for c in same["changes"])


def test_ablation_delta_ner():
    def ent(label, start, end, score, text=""):
        return {"label": label, "start": start, "end": end, "sequence": 0, "text": text,
                "score": score}  # fmt: skip

    before = {"task": "ner", "entities": [ent("PER", 0, 4, 0.9, "John"),
                                           ent("LOC", 14, 19, 0.8, "Paris"),
                                           ent("LOC", 24, 30, 0.7, "London")]}  # fmt: skip
    after = {"task": "ner", "entities": [ent("PER", 0, 4, 0.6, "John"),
                                          ent("PER", 14, 19, 0.5, "Paris"),
                                          ent("LOC", 31, 35, 0.4, "Rome")]}  # fmt: skip
    d = predictions.ablation_delta(before, after)
    assert [e["text"] for e in d["added"]] == ["Rome"]
    assert [e["text"] for e in d["removed"]] == ["London"]
    assert [(r["text"], r["label_before"], r["label_after"]) for r in d["relabelled"]] == [
        ("Paris", "LOC", "PER")
    ]
    assert [(k["text"], round(k["delta"], 6)) for k in d["kept"]] == [("John", -0.3)]
    assert d["summary"] == "1 added, 1 removed, 1 relabelled, 1 unchanged"


def test_ablation_delta_rejects_mismatched_tasks():
    with pytest.raises(ValueError, match="cannot compare"):
        predictions.ablation_delta({"task": "ner", "entities": []}, {"task": "classification"})
    with pytest.raises(ValueError, match="bare encoder"):
        predictions.ablation_delta(None, None)

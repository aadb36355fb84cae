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

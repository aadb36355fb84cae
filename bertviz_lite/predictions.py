"""A task head's logits as a person reads them: label probabilities, entities, masked-word guesses.

Pure NumPy. Named entities are word-level: a word is read at its first sub-token (the one the model
was trained on), the sentence's tags are the most probable sequence that BIO allows (`bio_path`),
they are merged into spans, and each span carries its character offsets into the text it came from.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .tokenizer import Encoding


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def classification(logits: np.ndarray, labels: list[str]) -> dict:
    """One text's class probabilities, best first in `label`."""
    probs = softmax(logits.astype(np.float64))
    best = int(probs.argmax())
    return {
        "task": "classification",
        "label": labels[best],
        "score": float(probs[best]),
        "probabilities": {label: float(p) for label, p in zip(labels, probs)},
    }


def bio_path(scores: np.ndarray, labels: list[str]) -> list[int]:
    """The best tag sequence that BIO allows (I-X only right after B-X or I-X): Viterbi over
    per-word log-probabilities [words, labels]. Where the argmax is already valid, it is the
    argmax; where it is not (I-LOC after O, I-ORG after B-PER), the cheapest valid fix wins."""
    if len(scores) == 0:
        return []
    parts = [label.partition("-") for label in labels]
    inside = np.array([p == "I" for p, _, _ in parts])
    follows = np.array(
        [[k1 == k2 and p1 in ("B", "I") for _, _, k2 in parts] for p1, _, k1 in parts]
    )
    step = np.where(~inside[None, :] | follows, 0.0, -np.inf)  # [previous tag, next tag]
    best = np.where(inside, -np.inf, scores[0])
    back = np.zeros(scores.shape, np.int64)
    for i in range(1, len(scores)):
        total = best[:, None] + step
        back[i] = total.argmax(0)
        best = total.max(0) + scores[i]
    path = [int(best.argmax())]
    for i in range(len(scores) - 1, 0, -1):
        path.append(int(back[i, path[-1]]))
    return path[::-1]


def entities(logits: np.ndarray, labels: list[str], enc: Encoding) -> dict:
    """Word-level tags and entity spans from per-token logits [T, labels]."""
    log_probs = log_softmax(logits.astype(np.float64))
    words: list[dict] = []
    first_tokens: list[int] = []
    for t, w in enumerate(enc.word_ids):
        if w is None:
            continue
        start, end = enc.offsets[t]
        if words and words[-1]["word_id"] == w:
            words[-1]["end"] = end  # a later sub-token of the same word: widen the span only
            continue
        words.append({"word_id": w, "sequence": enc.sequence_ids[t], "start": start, "end": end})
        first_tokens.append(t)
    for sequence in (0, 1):  # each sentence of a pair is tagged on its own
        group = [i for i, word in enumerate(words) if word["sequence"] == sequence]
        rows = log_probs[[first_tokens[i] for i in group]]
        for i, row, tag in zip(group, rows, bio_path(rows, labels)):
            words[i].update(tag=labels[tag], score=float(np.exp(row[tag])))
    spans: list[dict] = []
    for word in words:
        prefix, _, kind = word["tag"].partition("-")
        last = spans[-1] if spans else None
        extends = (
            prefix == "I"
            and last is not None
            and (last["label"], last["sequence"]) == (kind, word["sequence"])
            and last["_last"] == word["word_id"] - 1
        )
        if extends:
            last.update(end=word["end"], _last=word["word_id"])
            last["_scores"].append(word["score"])
        elif prefix in ("B", "I"):  # an I- without its B- still starts an entity
            spans.append({"label": kind, "start": word["start"], "end": word["end"],
                          "sequence": word["sequence"], "_last": word["word_id"],
                          "_scores": [word["score"]]})  # fmt: skip
    for span in spans:
        source = enc.text if span["sequence"] == 0 else enc.pair or ""
        span["text"] = source[span["start"] : span["end"]]
        span["score"] = float(np.mean(span.pop("_scores")))
        span.pop("_last")
    return {"task": "ner", "entities": spans,
            "words": [{k: v for k, v in w.items() if k != "word_id"} for w in words]}  # fmt: skip


def masked_words(
    logits: np.ndarray, enc: Encoding, token: Callable[[int], str], mask_id: int, k: int = 5
) -> dict:
    """The k likeliest tokens at each [MASK] position."""
    guesses = []
    for t, token_id in enumerate(enc.ids):
        if token_id != mask_id:
            continue
        probs = softmax(logits[t].astype(np.float64))
        top = np.argsort(-probs)[:k]
        guesses.append(
            {
                "position": t,
                "candidates": [{"token": token(int(i)), "score": float(probs[i])} for i in top],
            }
        )
    return {"task": "masked-lm", "masks": guesses}

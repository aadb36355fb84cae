"""A task head's logits as a person reads them: label probabilities, entities, masked-word guesses.

Pure NumPy. Named entities are word-level, words as the tokenizer itself splits them (its word ids
and offsets, so WordPiece, byte-level BPE and SentencePiece all work alike): a word is read at its
first sub-token (the one the model was trained on), the sentence's tags are the most probable
sequence that BIO allows (`bio_path`), they are merged into spans, and each span carries its
character offsets into the text it came from.
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
    keep = [i for i, word in enumerate(words) if word["end"] > word["start"]]
    words, first_tokens = [words[i] for i in keep], [first_tokens[i] for i in keep]  # not spaces
    for sequence in (0, 1):  # each sentence of a pair is tagged on its own
        group = [i for i, word in enumerate(words) if word["sequence"] == sequence]
        rows = log_probs[[first_tokens[i] for i in group]]
        for i, row, tag in zip(group, rows, bio_path(rows, labels)):
            words[i].update(tag=labels[tag], score=float(np.exp(row[tag])))
    spans: list[dict] = []
    for index, word in enumerate(words):
        prefix, _, kind = word["tag"].partition("-")
        last = spans[-1] if spans else None
        extends = (
            prefix == "I"
            and last is not None
            and (last["label"], last["sequence"]) == (kind, word["sequence"])
            and last["_last"] == index - 1
        )
        if extends:
            last.update(end=word["end"], _last=index)
            last["_scores"].append(word["score"])
        elif prefix in ("B", "I"):  # an I- without its B- still starts an entity
            spans.append({"label": kind, "start": word["start"], "end": word["end"],
                          "sequence": word["sequence"], "_last": index,
                          "_scores": [word["score"]]})  # fmt: skip
    for span in spans:
        source = enc.text if span["sequence"] == 0 else enc.pair or ""
        span["text"] = source[span["start"] : span["end"]]
        span["score"] = float(np.mean(span.pop("_scores")))
        span.pop("_last")
    return {"task": "ner", "entities": spans,
            "words": [{k: v for k, v in w.items() if k != "word_id"} for w in words]}  # fmt: skip


def masked_words(
    logits: np.ndarray, enc: Encoding, token: Callable[[int], str], mask_id: int | None,
    k: int = 5,
) -> dict:  # fmt: skip
    """The k likeliest tokens at each position of the mask token (`mask_id`: [MASK], <mask>),
    each shown by `token` (the tokenizer's readable form)."""
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


# --- comparing two predictions of the same input (heads switched off) ------------------------


def _span_key(e: dict) -> tuple:
    return (e.get("sequence", 0), e["start"], e["end"])


def ablation_delta(before: dict, after: dict) -> dict:
    """Compare two predictions dicts (from bertviz_lite.predictions) of the same input.

    classification: label before/after and each label's probability change, largest first.
    ner: entities added, removed, relabelled (same span, new label) and kept (score change).
    masked-lm: each mask token's top guess before/after.
    """
    if not before or not after:
        raise ValueError("both predictions are needed (a bare encoder has none)")
    task = before.get("task")
    if task != after.get("task"):
        raise ValueError(f"cannot compare a {task!r} prediction with a {after.get('task')!r} one")

    if task == "classification":
        pb, pa = before["probabilities"], after["probabilities"]
        changes = [
            {"label": k, "before": pb[k], "after": pa.get(k, 0.0), "delta": pa.get(k, 0.0) - pb[k]}
            for k in pb
        ]
        changes.sort(key=lambda c: -abs(c["delta"]))
        changed = before["label"] != after["label"]
        summary = (
            f"{before['label']} ({before['score']:.2f}) → {after['label']} ({after['score']:.2f})"
            if changed
            else f"still {after['label']}: {before['score']:.2f} → {after['score']:.2f}"
        )
        return {"task": task, "label_before": before["label"], "label_after": after["label"],
                "label_changed": changed, "changes": changes, "summary": summary}  # fmt: skip

    if task == "ner":
        old = {_span_key(e): e for e in before["entities"]}
        new = {_span_key(e): e for e in after["entities"]}
        added = [new[k] for k in new if k not in old]
        removed = [old[k] for k in old if k not in new]
        relabelled, kept = [], []
        for k in old.keys() & new.keys():
            b, a = old[k], new[k]
            row = {"text": a.get("text"), "start": a["start"], "end": a["end"], "sequence": k[0],
                   "score_before": b["score"], "score_after": a["score"]}  # fmt: skip
            if b["label"] != a["label"]:
                relabelled.append({**row, "label_before": b["label"], "label_after": a["label"]})
            else:
                kept.append({**row, "label": a["label"], "delta": a["score"] - b["score"]})
        relabelled.sort(key=lambda r: r["start"])
        kept.sort(key=lambda r: (r["sequence"], r["start"]))
        summary = (
            f"{len(added)} added, {len(removed)} removed, {len(relabelled)} relabelled, "
            f"{len(kept)} unchanged"
        )
        return {"task": task, "added": added, "removed": removed, "relabelled": relabelled,
                "kept": kept, "summary": summary}  # fmt: skip

    if task == "masked-lm":
        rows = []
        for b, a in zip(before["masks"], after["masks"]):
            tb, ta = b["candidates"][0], a["candidates"][0]
            rows.append({"position": b["position"], "before": tb["token"], "after": ta["token"],
                         "score_before": tb["score"], "score_after": ta["score"],
                         "changed": tb["token"] != ta["token"]})  # fmt: skip
        n = sum(r["changed"] for r in rows)
        return {"task": task, "masks": rows, "summary": f"{n} of {len(rows)} top guesses changed"}

    raise ValueError(f"unknown prediction task {task!r}")

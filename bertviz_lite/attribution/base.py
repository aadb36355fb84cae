"""What every attribution method shares: its result, its target, the units it scores, and the
one interface a method implements (`Method`).

Targets: for a classifier, `target=None` explains the predicted label and a label name (or index)
picks another. For NER, the target is one entity of the prediction, by its index in
`predictions["entities"]` (default: the first) or by its (start, end) character span; f is the
mean probability of the entity's BIO tags at its words' first pieces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..analysis import Analysis, unit_labels, word_spans
from ..errors import UserError
from ..predictions import softmax
from ..tokenizer import Encoding

MAX_STEPS = 512  # IG's steps at most, unless a caller bounds them lower


@dataclass
class Attribution:
    tokens: list[str]  # the scored units: tokens, or words when asked
    scores: np.ndarray  # float32 [units]; 0 for [CLS]/[SEP], which are never removed
    target: str  # the label explained
    method: str
    delta: float | None = None  # gradient methods: the completeness gap
    units: list[list[int]] = field(default_factory=list)  # token indices of each unit
    f_input: float | None = None  # f(x): the target's probability (or mean tag probability)
    note: str = ""  # how the method was cut down for a long input, to be said beside it


@dataclass(frozen=True)
class Target:
    """What f measures: the probability of `label` at `positions` (a classifier: one row)."""

    label: str
    positions: tuple[int, ...]  # token rows of the logits; () for sequence classification
    classes: tuple[int, ...]  # the class index at each position (one for a classifier)

    def value(self, logits: np.ndarray) -> float:
        p = softmax(np.asarray(logits, np.float64))
        if not self.positions:
            return float(p[..., self.classes[0]])
        return float(np.mean([p[i, c] for i, c in zip(self.positions, self.classes)]))


def resolve_target(model: Any, r: Analysis, target: Any = None) -> Target:
    """The Target a person asked for, checked against this model and prediction."""
    labels = list(model.labels)
    if model.task == "classification":
        if target is None:
            index = int(np.argmax(r.logits))
        elif isinstance(target, str) and target in labels:
            index = labels.index(target)
        elif isinstance(target, int) and 0 <= target < len(labels):
            index = target
        else:
            raise UserError(f"Unknown target {str(target)[:40]!r}: choose one of {', '.join(labels)}.")
        return Target(labels[index], (), (index,))
    if model.task == "ner":
        entities = r.predictions["entities"] if r.predictions else []
        if not entities:
            raise UserError("The model found no entity in this text: nothing to explain.")
        if target is None:
            entity = entities[0]
        elif isinstance(target, int) and 0 <= target < len(entities):
            entity = entities[target]
        elif isinstance(target, (tuple, list)) and len(target) == 2:
            found = [e for e in entities if (e["start"], e["end"]) == tuple(target)]
            if not found:
                raise UserError(f"No entity spans characters {tuple(target)}.")
            entity = found[0]
        else:
            raise UserError("For NER, the target is an entity's index or its (start, end) span.")
        return _entity_target(labels, r.encoding, entity)
    raise UserError("Attributions explain a prediction: pick a classifier or an NER model.")


def _entity_target(labels: list[str], enc: Encoding, entity: dict) -> Target:
    rows, seen = [], set()
    for i, (w, s, (a, b)) in enumerate(zip(enc.word_ids, enc.sequence_ids, enc.offsets)):
        if w is None or w in seen or s != entity.get("sequence", 0):
            continue
        seen.add(w)  # a word is read at its first piece
        if a >= entity["start"] and b <= entity["end"]:
            rows.append(i)
    tags = [f"B-{entity['label']}"] + [f"I-{entity['label']}"] * (len(rows) - 1)
    classes = tuple(labels.index(t) for t in tags)
    return Target(f"{entity['label']} {entity.get('text', '')}".strip(), tuple(rows), classes)


def units_of(enc: Encoding, words: bool) -> list[list[int]]:
    """Token indices of each removable unit: every non-special token, or every word."""
    units = word_spans(enc.word_ids, enc.sequence_ids) if words else [[i] for i in range(len(enc))]
    return [u for u in units if enc.word_ids[u[0]] is not None]


def mask_id(model: Any) -> int:
    """The tokenizer's mask token ([MASK], <mask>); its unknown token where it has none."""
    tok = model.tokenizer
    if tok.mask_id is not None:
        return int(tok.mask_id)
    unknown = next((tok.token_id(t) for t in ("[UNK]", "<unk>") if tok.token_id(t) is not None), 0)
    return int(unknown)


def labels_of(r: Analysis, units: list[list[int]], words: bool) -> list[str]:
    """Tokens as the views show them; words as written in the text."""
    return unit_labels(r.tokens, units, r.encoding) if words else [r.tokens[u[0]] for u in units]


class Method:
    """One attribution method: its name, a one-line caveat shown beside its scores, what it
    costs, and `run`, which scores the units of an analysed input for a resolved target. A new
    method is one subclass and one line in `attribution.METHODS`; the Explain view, the benchmark
    and the tests iterate over that registry."""

    name: ClassVar[str]
    caveat: ClassVar[str]
    cost: ClassVar[str]  # what one run costs, in words
    tasks: ClassVar[tuple[str, ...]] = ("classification", "ner")  # the targets it explains

    def run(self, model: Any, r: Analysis, target: Target, words: bool = False,
            max_units: int | None = None, max_steps: int = MAX_STEPS) -> Attribution:  # fmt: skip
        """Scores of `r`'s units (tokens, or words when asked and the method can) for `target`;
        `max_units` and `max_steps` bound its cost where it has such a knob."""
        raise NotImplementedError

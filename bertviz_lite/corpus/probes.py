"""Linear probes of a corpus's token vectors, layer by layer, with control tasks: where a label
becomes decodable (Tenney et al. 2019, "BERT rediscovers the classical NLP pipeline") and how much
the probe learnt itself (Hewitt & Liang 2019, "Designing and interpreting probes with control
tasks"). Labels: spaCy's `pos`, `dep` (relation to the head) or `entity` (BIO; adjacent entities
of one type read as one) at each word's first sub-word. Probe: StandardScaler + LogisticRegression
(tol 1e-3, `max_iter`) on a split by text (seeded; `test_share` of the texts tested), training
capped at `max_tokens` tokens and testing at a quarter of that, by whole texts. Control task:
each word type (lower-cased) gets one label drawn from the training labels' distribution;
selectivity = accuracy - control accuracy. Majority: the test share of the training split's most
frequent label. Expected layer: sum_l l·D_l / sum_l D_l, D_l = max(0, acc_l - acc_(l-1)) over
the layers asked (None where none gains). compare: the same probe on another corpus of the same
texts (matched by string, tokens by position; the same tokens required).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..tokenizer import CONTINUATION, SPACE
from .store import CorpusError

LABELS = ("pos", "dep", "entity")
COLUMNS = ("layer", "accuracy", "control_accuracy", "selectivity", "majority", "train_tokens",
           "test_tokens", "base_accuracy", "base_control_accuracy", "base_selectivity")  # fmt: skip


@dataclass
class ProbeResult:
    """One row per layer (`to_rows`, `table`), the expected layers, the label set and counts."""

    label: str
    model: str
    rows: list[dict]
    labels: list[str]
    expected_layer: float | None
    control_expected_layer: float | None
    train_texts: int
    test_texts: int
    base_model: str | None = None
    base_expected_layer: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_rows(self) -> list[dict]:
        return [dict(row) for row in self.rows]  # copies, for the view

    def table(self) -> str:
        """The rows as Markdown, headed by the expected layers and followed by the notes."""
        names = [c for c in COLUMNS if any(row.get(c) is not None for row in self.rows)]
        fmt = lambda v: "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
        base = f"; {self.base_model} {fmt(self.base_expected_layer)}" if self.base_model else ""
        lines = [f"{self.label} probe of {self.model}: expected layer {fmt(self.expected_layer)} "
                 f"(control {fmt(self.control_expected_layer)}{base})", "",
                 "| " + " | ".join(names) + " |", "|" + "---:|" * len(names)]  # fmt: skip
        lines += ["| " + " | ".join(fmt(row.get(c)) for c in names) + " |" for row in self.rows]
        return "\n".join(lines + [""] + [f"- {note}" for note in self.notes])


def probe(corpus: Any, label: str = "pos", layers: list[int] | None = None, control: bool = True,
          compare: Any = None, seed: int = 0, max_tokens: int = 20_000, test_share: float = 0.2,
          max_iter: int = 100) -> ProbeResult:  # fmt: skip
    """Probe `label` at each of `layers` (default: every indexed layer) of a built corpus."""
    if label not in LABELS:
        raise UserError(f"unknown label {label!r:.40} (choose from {', '.join(LABELS)})")
    if not 0 < test_share < 1 or max_tokens < 100:
        raise UserError("test_share must lie between 0 and 1, and max_tokens be 100 or more")
    if not corpus.manifest["settings"]["annotate"]:
        raise CorpusError("this corpus was built without annotations (annotate=False)")
    layers = [corpus._indexed(layer) for layer in (layers or corpus.manifest["vectors_layers"])]
    base, notes = (_other(compare) if compare is not None else None), []
    d = tokens(corpus, label)
    if base is not None:
        d, base_sentence, dropped = _matched(d, corpus, base)
        notes.append(f"compared with {base.model}'s corpus ({base.folder.name}); {dropped} texts "
                     "not in both left out")  # fmt: skip
    train, test, capped = split(d["sentence"], seed, test_share, max_tokens)
    labels, y = np.unique(d["y"], return_inverse=True)
    y_control = control_labels(d["type"], y, train, seed) if control else None
    majority = float(np.mean(y[test] == np.bincount(y[train]).argmax()))
    rows: list[dict] = []
    unconverged: list[str] = []  # where LogisticRegression stopped at max_iter
    for layer in layers:
        row = {"layer": layer, **_scores(vectors(corpus, layer, d["sentence"], d["position"]), y,
                                         y_control, train, test, seed, max_iter),
               "majority": majority, "train_tokens": int(train.sum()),
               "test_tokens": int(test.sum())}  # fmt: skip
        if base is not None and layer in base.manifest["vectors_layers"]:
            x = vectors(base, layer, base_sentence, d["position"])
            scores = _scores(x, y, y_control, train, test, seed, max_iter)
            row.update({f"base_{k}": v for k, v in scores.items()})
        elif base is not None:
            notes.append(f"layer {layer} is not indexed in {base.model}'s corpus")
        unconverged += [f"{'base ' * (k != 'ok')}layer {layer}" for k in ("ok", "base_ok")
                        if row.pop(k, 1) == 0]  # fmt: skip
        rows.append(row)
    texts = [len(np.unique(d["sentence"][side])) for side in (train, test)]
    notes += [capped] * bool(capped) + [
        f"{len(labels)} labels; {int(train.sum())} training tokens from {texts[0]} texts, "
        f"{int(test.sum())} test tokens from {texts[1]} texts; seed {seed}; "
        f"LogisticRegression(max_iter={max_iter}, tol=1e-3) on standardised vectors"]  # fmt: skip
    if unconverged:
        notes.append(f"stopped at max_iter before converging: {', '.join(unconverged)}")
    expect = lambda key: expected_layer(layers, [r.get(key) for r in rows])  # noqa: E731
    return ProbeResult(label, corpus.model, rows, [str(v) for v in labels], expect("accuracy"),
                       expect("control_accuracy"), texts[0], texts[1],
                       base.model if base is not None else None, expect("base_accuracy"), notes)  # fmt: skip


def tokens(corpus: Any, label: str) -> dict[str, np.ndarray]:
    """Each word's first sub-word that bears the label (entity: every word, O outside one), in
    corpus order: sentence, position, token, type (lower-cased word) and y (the label)."""
    columns = list(dict.fromkeys(["sentence", "position", "token", "word", "pos", "entity", label]))
    rows = corpus.store.table("tokens").search().select(columns).limit(None).to_arrow()
    order = np.lexsort((rows.column("position").to_numpy(), rows.column("sentence").to_numpy()))
    get = lambda name: np.array(rows.column(name).to_pylist(), dtype=object)[order]  # noqa: E731
    sentence, token, y = get("sentence").astype(np.int64), get("token"), get(label)
    first = np.array([not t.startswith(CONTINUATION) and t != SPACE for t in token], bool)
    first &= get("pos") != None  # noqa: E711 (tokens spaCy left out)
    if label == "entity":
        kind, at = np.where(y == None, "O", y)[first].astype(str), sentence[first]  # noqa: E711
        same = np.r_[False, (kind[1:] == kind[:-1]) & (at[1:] == at[:-1])]
        y[first] = np.where(kind == "O", "O", np.char.add(np.where(same, "I-", "B-"), kind))
    keep = first & (y != None)  # noqa: E711
    return {"sentence": sentence[keep], "position": get("position")[keep].astype(np.int64),
            "token": token[keep], "type": np.char.lower(get("word")[keep].astype(str)),
            "y": y[keep].astype(str)}  # fmt: skip


def split(sentence: np.ndarray, seed: int, test_share: float, max_tokens: int,
          ) -> tuple[np.ndarray, np.ndarray, str]:  # fmt: skip
    """Train and test masks over the tokens: texts split by a seeded permutation, each side
    capped by whole texts (training at max_tokens, testing at a quarter of it); and a note."""
    texts, counts = np.unique(sentence, return_counts=True)
    if len(texts) < 2:
        raise UserError("a probe needs a corpus of two texts at least")
    order = np.random.default_rng(seed).permutation(len(texts))
    n_test = min(len(texts) - 1, max(1, round(test_share * len(texts))))
    sides, note = [], ""
    for side, picked, cap in (("training", order[n_test:], max_tokens),
                              ("test", order[:n_test], max_tokens // 4)):  # fmt: skip
        total = np.cumsum(counts[picked])
        kept = picked[total <= cap] if total[-1] > cap else picked
        if len(kept) < len(picked):
            note += (f"{side} tokens capped at {cap:,} of {total[-1]:,} ({len(kept)} of "
                     f"{len(picked)} texts, whole texts in a seeded order). ")  # fmt: skip
        sides.append(np.isin(sentence, texts[kept]))
    return sides[0], sides[1], note.strip()


def control_labels(types: np.ndarray, y: np.ndarray, train: np.ndarray, seed: int) -> np.ndarray:
    """Hewitt & Liang's control task: one label per word type, drawn from the training split's
    label distribution, the same at every occurrence."""
    p = np.bincount(y[train], minlength=y.max() + 1) / train.sum()
    names, inverse = np.unique(types, return_inverse=True)
    return np.random.default_rng([seed, 1]).choice(len(p), size=len(names), p=p)[inverse]


def vectors(corpus: Any, layer: int, sentence: np.ndarray, position: np.ndarray) -> np.ndarray:
    """The layer-`layer` vectors of these (sentence, position) tokens, in their order."""
    wanted = np.unique(sentence)
    search = corpus.store.table("tokens").search().select(["sentence", "position", f"v{layer}"])
    if len(wanted) < corpus.size:
        search = search.where(f"sentence IN ({', '.join(map(str, wanted.tolist()))})")
    rows = search.limit(None).to_arrow()
    keys = (rows.column("sentence").to_numpy() << 32) | rows.column("position").to_numpy()
    values = rows.column(f"v{layer}").combine_chunks().flatten().to_numpy()
    sorter, asked = np.argsort(keys), (sentence << 32) | position
    at = sorter[np.minimum(np.searchsorted(keys, asked, sorter=sorter), len(keys) - 1)]
    if not np.array_equal(keys[at], asked):
        raise CorpusError(f"{corpus.folder}: tokens without their layer-{layer} vectors")
    return values.reshape(rows.num_rows, -1)[at]


def fit_score(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
              seed: int = 0, max_iter: int = 100) -> tuple[float, bool]:  # fmt: skip
    """Test accuracy of a standardised logistic-regression probe, and whether it converged."""
    from sklearn import exceptions, linear_model, pipeline, preprocessing
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    if len(np.unique(y_train)) < 2:  # one label: LogisticRegression refuses it
        return float(np.mean(y_test == y_train[0])), True
    lr = linear_model.LogisticRegression(max_iter=max_iter, tol=1e-3, random_state=seed)
    model = pipeline.make_pipeline(preprocessing.StandardScaler(), lr)
    # One BLAS thread: with two, on 2 busy cores, a fit ran 4 to 8 times slower.
    with threadpool_limits(1), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", exceptions.ConvergenceWarning)
        model.fit(x_train, y_train)
    converged = not any(issubclass(w.category, exceptions.ConvergenceWarning) for w in caught)
    return float(model.score(x_test, y_test)), converged


def expected_layer(layers: list[int], accuracy: list[float | None]) -> float | None:
    """sum_l l·D_l / sum_l D_l, D_l = max(0, acc_l - acc_prev) over consecutive rows; None when
    no layer gains (or fewer than two layers, or a missing accuracy)."""
    if len(layers) < 2 or any(a is None for a in accuracy):
        return None
    gains = np.maximum(0.0, np.diff(np.asarray(accuracy, float)))
    return float(np.dot(layers[1:], gains) / gains.sum()) if gains.sum() > 0 else None


def _scores(x, y, y_control, train, test, seed: int, max_iter: int) -> dict:
    accuracy, ok = fit_score(x[train], y[train], x[test], y[test], seed, max_iter)
    c, ok_c = (fit_score(x[train], y_control[train], x[test], y_control[test], seed, max_iter)
               if y_control is not None else (None, True))  # fmt: skip
    return {"accuracy": accuracy, "control_accuracy": c, "ok": ok and ok_c,
            "selectivity": None if c is None else accuracy - c}  # fmt: skip


def _other(compare: Any) -> Any:
    """The corpus to compare with: a Corpus, a corpus folder, or a catalog model (its default)."""
    from .. import catalog, corpora
    from .queries import Corpus

    if isinstance(compare, Corpus):
        return compare
    if isinstance(compare, str | Path) and (Path(compare).expanduser() / "corpus.json").exists():
        return Corpus(Path(compare).expanduser())
    if isinstance(compare, str) and compare in catalog.shipped_names():
        return corpora.wait_for_default(compare)
    raise UserError(f"compare must be a Corpus, a corpus folder or a catalog model "
                    f"({', '.join(catalog.shipped_names())}), not {compare!r:.60}")  # fmt: skip


def _matched(d: dict, corpus: Any, base: Any) -> tuple[dict, np.ndarray, int]:
    """The tokens of texts both corpora hold, each one's sentence number in `base`, and how many
    texts only this corpus holds; refused unless `base` has the same tokens at each position."""
    ours, theirs = _read(corpus, "texts", ("sentence",), "text"), _read(base, "texts", ("text",), "sentence")
    mapped = np.array([theirs.get(ours[s], -1) for s in d["sentence"].tolist()], np.int64)
    d, mapped = {k: v[mapped >= 0] for k, v in d.items()}, mapped[mapped >= 0]
    found = _read(base, "tokens", ("sentence", "position"), "token")
    differ = sum(found.get(k) != t for k, t in zip(zip(mapped.tolist(), d["position"].tolist()),
                                                   d["token"]))  # fmt: skip
    if not len(mapped) or differ:
        raise UserError(f"cannot compare with {base.model}'s corpus ({base.folder.name}): "
                        + (f"its tokenizer splits these texts into other tokens ({differ} "
                           "positions differ)" if differ else "it holds none of these texts"))  # fmt: skip
    return d, mapped, len(set(ours.values()) - set(theirs))


def _read(corpus: Any, table: str, key: tuple[str, ...], value: str) -> dict:
    """{key: value} over a table's rows (a one-column key: its value alone; first rows first)."""
    rows = corpus.store.table(table).search().select([*key, value]).limit(None).to_arrow()
    keys = zip(*(rows.column(k).to_pylist() for k in key)) if len(key) > 1 else rows.column(key[0]).to_pylist()
    return dict(list(zip(keys, rows.column(value).to_pylist()))[::-1])

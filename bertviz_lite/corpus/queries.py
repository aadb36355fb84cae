"""A built corpus, opened: per-head statistics, dependency accuracy, search by context, examples.

Every answer is a `pyarrow.Table` of named columns (`.to_pandas()`, `.to_pylist()`); layers and
heads are numbered from 0, as the axes of `analyze`'s arrays.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..config import CheckpointError
from ..errors import UserError
from .stats import MEASURES, OFFSETS, STATS, Totals
from .store import REFINE, SEARCHED_PARTITIONS, CorpusError, Store, read_manifest

log = logging.getLogger(__name__)
MAX_K = 1000
HIT_COLUMNS = ("sentence", "text", "position", "token", "word", "score", "pos", "dep", "entity")


class Corpus:
    """A finished corpus folder (`corpus.open(folder)`)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        if self.manifest.get("status") != "complete":
            raise CorpusError(
                f"{self.folder} is an unfinished build: run the same build command again to "
                "finish it"
            )
        self._check_model()
        self.store = Store(self.folder)
        self._totals: Totals | None = None
        self._model = None

    @property
    def size(self) -> int:
        """How many texts the corpus holds (empty ones skipped)."""
        return self.manifest["size"]

    @property
    def model(self) -> str:
        return self.manifest["model"]

    @property
    def layers(self) -> int:
        return self.manifest["layers"]

    @property
    def heads(self) -> int:
        return self.manifest["heads"]

    def __repr__(self) -> str:
        m = self.manifest
        return (f"Corpus({str(self.folder)!r}: {m['size']} texts, {m['tokens']} tokens, "
                f"model {m['model']!r})")  # fmt: skip

    def _check_model(self) -> None:
        from ..model import version

        try:
            current = version(self.model)
        except (CheckpointError, OSError) as e:
            log.warning("cannot check the model of %s (%s): search needs it", self.folder, e)
            return
        if current != self.manifest["model_version"]:
            raise CorpusError(
                f"{self.folder} was built by another version of model {self.model!r} (its "
                f"weights or config have changed since): build the corpus again"
            )

    @property
    def totals(self) -> Totals:
        if self._totals is None:
            self._totals = self.store.totals()
        return self._totals

    # --- per head ------------------------------------------------------------------------------

    def head_stats(self, measure: str = "attention") -> pa.Table:
        """One row per (layer, head): the mean of each statistic (stats.STATS) over every query
        token of the corpus, for `measure` "attention" or "norm" (see corpus.stats)."""
        m = _choice("measure", measure, MEASURES)
        means = self.totals.sums[m] / self.totals.tokens  # [stat, L, H]
        layer, head = np.divmod(np.arange(self.layers * self.heads), self.heads)
        return pa.table({"layer": layer, "head": head,
                         **{s: means[i].ravel() for i, s in enumerate(STATS)}})  # fmt: skip

    def dependency_accuracy(self, measure: str = "attention") -> pa.Table:
        """One row per (relation, layer, head): the share of the relation's dependents whose
        most-attended word is their syntactic head (Clark et al. 2019), with the relation's
        best fixed-offset baseline. Needs a build with annotate=True."""
        m = _choice("measure", measure, MEASURES)
        t = self.totals
        if not self.manifest["settings"]["annotate"]:
            raise CorpusError("this corpus was built without annotations (annotate=False)")
        columns: dict[str, list] = {k: [] for k in ("relation", "dependents", "layer", "head",
                                                     "accuracy", "baseline", "baseline_offset")}  # fmt: skip
        for relation in sorted(t.dependents):
            n = t.dependents[relation]
            best = int(np.argmax(t.at_offset[relation]))
            for layer, head in np.ndindex(self.layers, self.heads):
                for key, value in (("relation", relation), ("dependents", n), ("layer", layer),
                                   ("head", head),
                                   ("accuracy", t.correct[relation][m, layer, head] / n),
                                   ("baseline", t.at_offset[relation][best] / n),
                                   ("baseline_offset", best - OFFSETS)):  # fmt: skip
                    columns[key].append(value)
        return pa.table(columns)

    def dependency_best(self, measure: str = "attention") -> pa.Table:
        """Per relation, most dependents first: the head that finds the syntactic head most
        often, beside the best fixed offset (Clark et al.'s Table 2)."""
        rows = self.dependency_accuracy(measure).to_pylist()
        best: dict[str, dict] = {}
        for row in rows:
            if row["relation"] not in best or row["accuracy"] > best[row["relation"]]["accuracy"]:
                best[row["relation"]] = row
        ordered = sorted(best.values(), key=lambda r: (-r["dependents"], r["relation"]))
        return pa.Table.from_pylist(ordered)

    def examples(self, layer: int, head: int, stat: str, k: int = 10,
                 measure: str = "attention", lowest: bool = False) -> pa.Table:  # fmt: skip
        """The k texts whose own mean of `stat` at (layer, head) is highest (`lowest`: lowest, as
        for a focused head's entropy): sentence, text, value, tokens."""
        layer, head = _index("layer", layer, self.layers), _index("head", head, self.heads)
        stat = STATS[_choice("stat", stat, STATS)]
        column = f"{MEASURES[_choice('measure', measure, MEASURES)]}_{stat}"
        k = _k(k)
        texts = self.store.table("texts")
        rows = texts.search().select(["sentence", column]).limit(None).to_arrow()
        values = rows.column(column).combine_chunks().flatten().to_numpy()
        values = values.reshape(rows.num_rows, -1)[:, layer * self.heads + head]
        top = np.argsort(values if lowest else -values, kind="stable")[:k]
        sentences = rows.column("sentence").to_numpy()[top]
        found = self._texts(sentences, ["sentence", "text", "tokens"])
        return pa.table({"sentence": sentences, "text": [found[s]["text"] for s in sentences],
                         "value": values[top], "tokens": [found[s]["tokens"] for s in sentences]})  # fmt: skip

    # --- by context ----------------------------------------------------------------------------

    def search(self, text: str, position: int, layer: int, k: int = 10,
               where: str | None = None) -> pa.Table:  # fmt: skip
        """The k corpus tokens whose layer-`layer` vectors lie nearest (cosine) to token
        `position` of `text` run through the corpus's model: sentence, text, position, token,
        word, score (the cosine), pos, dep, entity. `where` filters on those columns first
        (SQL: "pos = 'NOUN'", "entity = 'GPE'", "word = 'bank'"). Exact up to 50,000 tokens, then
        through an IVF index, the nearest re-ranked exactly (store.VECTOR_INDEX_FROM; recall@10
        measured 1.000 on 118,823 tokens)."""
        if not isinstance(text, str) or not text.strip():
            raise UserError("search needs a text")
        layer = self._indexed(layer)
        r = self.loaded_model().analyze(text)
        position = _index("position", position, len(r.tokens))
        return self.search_vector(r.hidden_states[layer][position], layer, k, where)

    def search_vector(self, query: np.ndarray, layer: int, k: int = 10,
                      where: str | None = None) -> pa.Table:  # fmt: skip
        """As `search`, for a token vector the caller has (a layer-`layer` hidden state of the
        corpus's model, as the app's analysis holds it)."""
        layer, k = self._indexed(layer), _k(k)
        columns = ["sentence", "position", "token", "word", "pos", "dep", "entity", "_distance"]
        search = (self.store.table("tokens").search(query, vector_column_name=f"v{layer}")
                  .distance_type("cosine").select(columns).limit(k))  # fmt: skip
        if self.manifest.get("vector_index"):
            search = search.nprobes(SEARCHED_PARTITIONS).refine_factor(REFINE)
        if where:
            search = search.where(where, prefilter=True)
        try:
            hits = search.to_arrow()
        except (ValueError, RuntimeError) as e:
            raise UserError(f"cannot filter by {where!r:.200}: {str(e)[:300]}") from None
        sentences = hits.column("sentence").to_numpy()
        found = self._texts(sentences, ["sentence", "text"])
        score = 1 - hits.column("_distance").to_numpy()
        table = hits.drop_columns(["_distance"]).append_column("score", pa.array(score))
        table = table.append_column("text", pa.array([found[s]["text"] for s in sentences]))
        return table.select(list(HIT_COLUMNS))

    def _indexed(self, layer) -> int:
        layer = _index("layer", layer, self.layers + 1)
        if layer not in self.manifest["vectors_layers"]:
            built = ", ".join(map(str, self.manifest["vectors_layers"])) or "none"
            raise CorpusError(f"layer {layer} was not indexed (this corpus has layers {built})")
        return layer

    def tokens_where(self, column: str, value: str, k: int = 10) -> pa.Table:
        """Up to k tokens whose `column` (pos, dep, entity or word) is `value`, one per text, in
        corpus order: sentence, position, token, word, pos, dep, entity, text."""
        _choice("column", column, ("pos", "dep", "entity", "word"))
        if not isinstance(value, str):
            raise UserError(f"{column} must be text, not {type(value).__name__}")
        quoted = value.replace("'", "''")
        rows = (self.store.table("tokens").search().where(f"{column} = '{quoted}'")
                .select(["sentence", "position", "token", "word", "pos", "dep", "entity"])
                .limit(max(50, 20 * _k(k))).to_arrow())  # fmt: skip
        _, first = np.unique(rows.column("sentence").to_numpy(), return_index=True)
        rows = rows.take(np.sort(first)[:k])
        found = self._texts(rows.column("sentence").to_numpy(), ["sentence", "text"])
        texts = [found[s]["text"] for s in rows.column("sentence").to_pylist()]
        return rows.append_column("text", pa.array(texts, pa.string()))

    def texts(self, sentences) -> dict[int, str]:
        """The texts of these sentence numbers, by number."""
        found = self._texts(np.asarray(list(sentences), dtype=np.int64), ["sentence", "text"])
        return {s: row["text"] for s, row in found.items()}

    def sample(self, n: int) -> list[int]:
        """Up to `n` sentence numbers spread evenly over the corpus (the same ones every time)."""
        rows = self.store.table("texts").search().select(["sentence"]).limit(None).to_arrow()
        every = np.sort(rows.column("sentence").to_numpy())
        picked = np.linspace(0, len(every) - 1, min(n, len(every))).round().astype(int)
        return every[np.unique(picked)].tolist() if len(every) else []

    def faithfulness(self, methods=None, n: int = 200, **options):
        """Comprehensiveness and sufficiency of each explanation over up to `n` texts, beside the
        random floor, with 95% intervals (corpus/faithfulness.py; `.table()` to print it)."""
        from .faithfulness import faithfulness

        return faithfulness(self, methods, n, **options)

    def probe(self, label: str = "pos", layers=None, control: bool = True, compare=None,
              **options):  # fmt: skip
        """A linear probe of `label` (pos, dep, entity) per layer, beside a control task's
        (Hewitt & Liang: selectivity) and the majority baseline; `compare`: the same probe on
        another corpus of the same texts, e.g. "minilm" (corpus/probes.py; `.table()`)."""
        from .probes import probe

        return probe(self, label, layers, control, compare, **options)

    def show(self, view: str = "atlas", text: str | None = None, **settings):
        """A corpus view (atlas, search, qk) in a notebook, drawn as the app draws it; `text`: the
        current text (default: the corpus's first)."""
        from ..notebook import show

        model = self.loaded_model()
        text = text or next(iter(self.texts(self.sample(1)).values()))
        return show(model.analyze(text), view, model, corpus=self, **settings)

    def loaded_model(self):
        """The corpus's model, loaded on first use (search runs its query through it)."""
        if self._model is None:
            from ..model import load

            variant = self.manifest["settings"]["variant"]  # the vectors' own
            self._model = load(self.model, variant=variant, progress=False)
        return self._model

    def _texts(self, sentences, columns: list[str]) -> dict[int, dict]:
        if len(sentences) == 0:
            return {}
        listed = ", ".join(str(int(s)) for s in set(sentences.tolist()))
        rows = (self.store.table("texts").search().where(f"sentence IN ({listed})")
                .select(columns).limit(None).to_arrow().to_pylist())  # fmt: skip
        return {row["sentence"]: row for row in rows}


def _index(name: str, value, size: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < size:
        raise UserError(f"{name} must be a whole number from 0 to {size - 1}, not {value!r:.40}")
    return int(value)


def _choice(name: str, value, choices) -> int:
    if value not in choices:
        raise UserError(f"unknown {name} {value!r:.40} (choose from {', '.join(choices)})")
    return choices.index(value)


def _k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        raise UserError(f"k must be a whole number from 1 to {MAX_K}, not {k!r:.40}")
    return int(k)

"""A corpus on disk: a folder with `corpus.json` (what was built, by which model, and whether the
build finished) and an embedded LanceDB database (Arrow/Lance files, no server) of three tables:

- texts: one row per text: `sentence` (its index in the data), `text`, `tokens`, `truncated`,
  and the text's own mean of each statistic per head (`attention_to_prev`: [layers·heads], ...);
- tokens: one row per non-special token: `sentence`, `position`, `token`, `word`, `pos`, `dep`,
  `entity`, and its vector at each layer asked for (`v0` the embeddings ... `vL`);
- chunks: one row per finished chunk: its texts' digest and their per-head sums (stats.Totals).

A chunk's rows are added texts, tokens, then its chunks row, each add a commit of its own: a
chunk is done once its chunks row exists, and a resumed build first drops the rows of any chunk
that is not. `corpus.json` says "complete" only after every chunk and the indexes are written.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pyarrow as pa

from ..errors import UserError
from .extract import ChunkResult, Settings
from .stats import Totals

FORMAT = 1
MANIFEST = "corpus.json"
TABLES = ("texts", "tokens", "chunks")
# From this many tokens on, each vector column gets an IVF index: 8-bit scalar-quantised vectors
# (a quarter of the column's size) in partitions, SEARCHED_PARTITIONS of them searched, and the
# best REFINE·k re-ranked by their exact cosine. On 118,823 MiniLM tokens (layer 3, the nyt set),
# 40 queries: a flat scan took 100 ms a query; this index 7.1 ms with recall@10 1.000 against
# brute force, built in 3.6 s (IVF_FLAT, a full copy of the vectors: 10.7 ms, 1.000; IVF_PQ:
# 6.8 ms, 0.955, built in 31 s).
VECTOR_INDEX_FROM = 50_000
SEARCHED_PARTITIONS = 20
REFINE = 5
CHUNKS = pa.schema([("chunk", pa.int32()), ("digest", pa.string()), ("texts", pa.int32()),
                    ("tokens", pa.int64()), ("totals", pa.binary())])  # fmt: skip


class CorpusError(UserError):
    """A folder that is not a corpus, not a finished one, or not this model's."""


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise CorpusError(f"{folder} is not a corpus (no {MANIFEST}); build one with "
                          "`python -m bertviz_lite corpus build`")  # fmt: skip
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorpusError(f"{path} is damaged ({e}): build the corpus again") from None
    if manifest.get("format") != FORMAT:
        raise CorpusError(f"{folder} was written in corpus format {manifest.get('format')!r}; "
                          f"this version reads format {FORMAT}: build it again")  # fmt: skip
    return manifest


def write_manifest(folder: Path, manifest: dict) -> None:
    """Replaces corpus.json in one step: a reader sees the old file or the new, never half."""
    path = Path(folder) / MANIFEST
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(manifest, indent=1))
    os.replace(partial, path)


class Store:
    """The LanceDB tables of a corpus folder, for the build (write) and for queries (read)."""

    def __init__(self, folder: Path):
        os.environ.setdefault("LANCE_LOG", "error")  # not its warning for each new table
        import lancedb  # optional: only corpora need it

        self.folder = Path(folder)
        self.db = lancedb.connect(str(self.folder / "lance"))
        self._reopened = False  # by a write: corpus.json says "building" again

    def table(self, name: str):
        return self.db.open_table(name) if name in self.db.list_tables().tables else None

    # --- building ------------------------------------------------------------------------------

    @classmethod
    def begin(cls, folder: Path, settings: Settings, model: dict) -> tuple[Store, dict[int, str]]:
        """The store to build into, and the chunks already done (index -> digest): none for a
        new folder, those of an interrupted build asked for with the same settings."""
        folder = Path(folder)
        wanted = {"settings": settings.as_dict(), "model_version": model["model_version"]}
        if (folder / MANIFEST).exists():
            manifest = read_manifest(folder)
            found = {k: manifest.get(k) for k in wanted}
            if found != wanted:
                raise CorpusError(
                    f"{folder} holds a corpus built with other settings or another model "
                    f"({_differences(found, wanted)}): choose another --out, or delete it"
                )
        elif folder.exists() and any(folder.iterdir()):
            raise CorpusError(f"{folder} is not empty and is not a corpus: choose another --out")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            write_manifest(folder, {"format": FORMAT, "status": "building", **wanted, **model,
                                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})  # fmt: skip
        store = cls(folder)
        done = store.chunk_digests()
        store.drop_unfinished(set(done))
        return store, done

    def chunk_digests(self) -> dict[int, str]:
        chunks = self.table("chunks")
        if chunks is None:
            return {}
        rows = chunks.search().select(["chunk", "digest"]).limit(None).to_arrow().to_pylist()
        return {row["chunk"]: row["digest"] for row in rows}

    def drop_unfinished(self, done: set[int]) -> None:
        """Removes the rows of chunks whose chunks row was never written (a killed build)."""
        for name in ("texts", "tokens"):
            table = self.table(name)
            if table is None:
                continue
            keep = f"chunk NOT IN ({', '.join(map(str, sorted(done)))})" if done else "true"
            if table.count_rows(keep) if done else table.count_rows():
                table.delete(keep)

    def write(self, result: ChunkResult) -> None:
        """Adds one chunk's rows; the chunks row last, as the mark that the chunk is done. A
        finished corpus that gets more texts says "building" again until it is finished."""
        if not self._reopened:
            manifest = read_manifest(self.folder)
            if manifest["status"] == "complete":
                write_manifest(self.folder, {**manifest, "status": "building"})
            self._reopened = True
        record = pa.table({"chunk": [result.index], "digest": [result.digest],
                           "texts": [result.texts.num_rows], "tokens": [result.tokens.num_rows],
                           "totals": [result.totals.to_bytes()]}, schema=CHUNKS)  # fmt: skip
        for name, rows in (("texts", result.texts), ("tokens", result.tokens), ("chunks", record)):
            table = self.table(name)
            if table is None:
                self.db.create_table(name, rows)
            else:
                table.add(rows)

    def finish(self, skipped: int) -> dict:
        """Indexes the tags `where` filters on (and the vectors of a large corpus) and marks the
        corpus complete; returns its manifest. The tables keep a fragment per chunk: compacting
        them (LanceDB's optimize) read every vector into memory at once (+454 MB at 2,000
        reviews) and searches ran no faster."""
        from lancedb.index import Bitmap, BTree, IvfSq

        texts, tokens = self.table("texts"), self.table("tokens")
        if texts is None:
            raise CorpusError("the data holds no text to build a corpus from "
                              f"({skipped} empty ones skipped)")  # fmt: skip
        texts.create_index("sentence", config=BTree(), replace=True)
        tokens.create_index("sentence", config=BTree(), replace=True)
        tokens.create_index("word", config=BTree(), replace=True)
        for column in ("pos", "dep", "entity"):
            tokens.create_index(column, config=Bitmap(), replace=True)
        manifest = read_manifest(self.folder)
        indexed = tokens.count_rows() >= VECTOR_INDEX_FROM
        if indexed:
            for layer in manifest["vectors_layers"]:
                tokens.create_index(f"v{layer}", config=IvfSq(distance_type="cosine"),
                                    replace=True)  # fmt: skip
        manifest.update(status="complete", size=texts.count_rows(), tokens=tokens.count_rows(),
                        skipped=skipped, vector_index="IVF_SQ" if indexed else None,
                        finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))  # fmt: skip
        write_manifest(self.folder, manifest)
        return manifest

    # --- reading -------------------------------------------------------------------------------

    def totals(self) -> Totals:
        """The corpus's statistics: every chunk's sums, added in chunk order (so a resumed or a
        Ray build adds exactly what an uninterrupted one does)."""
        rows = self.table("chunks").search().select(["chunk", "totals"]).limit(None).to_arrow()
        ordered = sorted(rows.to_pylist(), key=lambda row: row["chunk"])
        total = Totals.from_bytes(ordered[0]["totals"])
        for row in ordered[1:]:
            total.add(Totals.from_bytes(row["totals"]))
        return total


def _differences(found: dict, wanted: dict) -> str:
    parts = []
    for key in ("settings", "model_version"):
        a, b = found.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            parts += [f"{k}: {a.get(k)!r} there, {b.get(k)!r} now" for k in b if a.get(k) != b.get(k)]
        elif a != b:
            parts.append(f"{key}: {a!r} there, {b!r} now")
    return "; ".join(parts)

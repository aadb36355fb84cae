"""Building a corpus: the data in chunks, each chunk through the Extractor, into the store.

engine="local" runs the Extractor in this process, with a progress bar (texts/s). engine="ray"
runs the same Extractor class under Ray Data, in an actor pool with one onnxruntime session per
actor, on the cluster that RAY_ADDRESS names or on a local Ray; results come back to this process,
which writes them: one writer, so resuming works the same for both engines.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .extract import CHUNK_TEXT_CHARS, Chunk, ChunkResult, Extractor, Settings, vector_layers
from .sources import Source
from .store import CorpusError, Store, read_manifest

log = logging.getLogger(__name__)
ENGINES = ("local", "ray")


def build(model: str, data: str | Path | Sequence[str], out: str | Path, engine: str = "local",
          vectors_layers: Sequence[int] | None = None, annotate: bool = True,
          progress: bool | Callable[[int], None] = True, chunk_size: int = 256,
          column: str = "text",
          workers: int | None = None, variant: str = "fp32"):  # fmt: skip
    """Build (or finish building) the corpus of `data` under `model` in folder `out`, and open it.

    data: a list of str; a .txt (a text per line), .jsonl (`column` field), .csv (`column`
    column) or .parquet file; or a named set (sources.NAMED). vectors_layers: the hidden-state
    layers whose token vectors `search` can use (None: every one, 0 the embeddings; (): none).
    annotate: tag words with spaCy (part of speech, dependencies, entities). progress: a bar, or
    a function told how many texts are read after each chunk (local engine). Run again after an
    interruption with the same arguments, it resumes. workers: Ray actors (default: one per CPU
    of the cluster but one, each of one CPU). variant: "fp32", the model's own attention, or
    "int8", faster and approximate (its drift: models/drift.json, `python -m benchmarks.drift`).
    """
    from ..config import read_config
    from ..model import locate, version
    from .queries import Corpus

    if variant not in ("fp32", "int8"):
        raise ValueError(f"variant must be fp32 or int8, not {variant!r:.40}")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, not {chunk_size!r:.40}")
    source = Source(data, column)
    config = read_config(locate(model)[1])
    layers = vector_layers(vectors_layers, config.num_hidden_layers)
    settings = Settings(str(model), variant, None if vectors_layers is None else layers,
                        bool(annotate), chunk_size)  # fmt: skip
    shape = {"model": str(model), "model_version": version(model), "layers":
             config.num_hidden_layers, "heads": config.num_attention_heads,
             "hidden": config.hidden_size, "vectors_layers": list(layers),
             "data": data if isinstance(data, str) else str(data) if isinstance(data, Path)
             else f"a list of {len(data)} texts"}  # fmt: skip
    store, done = Store.begin(Path(out), settings, shape)
    pending = _pending(source, settings, done)
    told = progress if callable(progress) else None
    bar = _progress(source, progress is True and engine == "local")
    if engine == "local":
        extractor = Extractor(settings)
        for chunk in pending:
            store.write(extractor.extract(chunk))
            if bar is not None:  # the empty texts passed count as read
                bar.update(max(0, chunk.sentences[-1] + 1 - bar.n))
            if told is not None:
                told(chunk.sentences[-1] + 1)
    else:
        _run_ray(settings, pending, store, workers, Path(out))
    if bar is not None:
        bar.close()
    if read_manifest(store.folder)["status"] == "complete" and len(store.chunk_digests()) == len(done):
        return Corpus(Path(out))  # built already, from the same data: nothing to do
    manifest = store.finish(source.skipped)
    if manifest["skipped"]:
        log.info("%d empty texts skipped", manifest["skipped"])
    return Corpus(Path(out))


def _pending(source: Source, settings: Settings, done: dict[int, str]) -> Iterator[Chunk]:
    """The chunks of `source` not yet done; a done one must hold the texts it held before.
    Chunks end where the data says (counts and lengths of texts), so a resumed build cuts the
    data where the first run did."""
    index, sentences, texts, chars = 0, [], [], 0

    def chunk() -> Chunk | None:
        c = Chunk(index, sentences, texts)
        if index not in done:
            return c
        if done[index] != c.digest:
            raise CorpusError(
                f"the data is not what this corpus was being built from (chunk {index}, "
                f"sentences {sentences[0]}–{sentences[-1]}, differs): build into another --out"
            )
        return None

    for sentence, text in source:
        sentences.append(sentence)
        texts.append(text)
        chars += min(len(text), CHUNK_TEXT_CHARS)
        if len(texts) == settings.chunk_size or chars >= settings.chunk_chars:
            if (c := chunk()) is not None:
                yield c
            index, sentences, texts, chars = index + 1, [], [], 0
    if texts and (c := chunk()) is not None:
        yield c


def _progress(source: Source, show: bool):
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=source.total, unit=" texts", desc="corpus", smoothing=0.1)


def _runtime_env(out: Path) -> dict | None:
    """On the cluster RAY_ADDRESS names, the workers run from a copy of this project (the
    package and models/, its task adapters): what they need beyond the requirements, which must
    be installed there. A local Ray's workers import it from here."""
    if not os.environ.get("RAY_ADDRESS"):
        return None
    root = Path(__file__).resolve().parents[2]
    excludes = [".git", ".venv", "tests", "benchmarks", "assets", "*.onnx"]
    if out.resolve().is_relative_to(root):
        excludes.append(str(out.resolve().relative_to(root)))
    return {"working_dir": str(root), "excludes": excludes}


def _run_ray(settings: Settings, pending: Iterator[Chunk], store: Store, workers: int | None,
             out: Path):  # fmt: skip
    import ray

    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False, runtime_env=_runtime_env(out))
    cpus = int(ray.cluster_resources().get("CPU", 1))
    # An actor pool holding every CPU starves Ray Data's own tasks: one CPU stays free.
    workers = workers or max(1, cpus - 1)
    per_actor = max(1, (cpus - 1) // workers) if cpus > 1 else 1
    items = [{"chunk": c.index, "sentences": c.sentences, "texts": c.texts} for c in pending]
    if not items:
        return
    dataset = ray.data.from_items(items).map_batches(
        Extractor, fn_constructor_kwargs={"settings": settings, "threads": per_actor},
        batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=per_actor,
    )  # fmt: skip
    for row in dataset.iter_rows():
        store.write(ChunkResult.from_bytes(row["result"]))

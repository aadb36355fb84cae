"""The extractor: one chunk of texts in, the rows and statistics the store keeps out.

One class for both engines: the local build calls it in-process, Ray Data runs it in an actor
pool (one onnxruntime session per actor). A chunk's texts run in batches of like length, each
batch through `LoadedModel.analyze_encodings` (the same attention `analyze` returns); each map is
reduced to per-head sums as soon as it is made and then dropped.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa

from ..analysis import unit_labels, word_spans
from .stats import MEASURES, STATS, Totals

# A batch of like-length texts holds at most MAX_BATCH texts, BATCH_ROWS padded tokens and
# MAP_BUDGET cells of a T×T map (per layer and head): 2,000 amazon reviews ran at 229 texts/s in
# batches of 32 per chunk of 256, at ~300 in these (padding costs twice: in the rows and in the
# maps); a 512-token text runs alone (MiniLM's maps for it: 75 MB).
MAX_BATCH = 64
BATCH_ROWS = 512
MAP_BUDGET = 1 << 19


CHUNK_TEXT_CHARS = 3_000  # what one text counts toward Settings.chunk_chars, at most


@dataclass(frozen=True)
class Settings:
    """What a build is asked for; a resumed build must ask the same."""

    model: str
    variant: str = "fp32"
    vectors_layers: tuple[int, ...] | None = None  # hidden-state layers indexed; None: all
    annotate: bool = True
    chunk_size: int = 256
    # A chunk also ends once its texts reach this many characters (a long text counts as at most
    # CHUNK_TEXT_CHARS): 256 short reviews or ~17 news articles, ~10k tokens either way, so a
    # chunk's rows stay ~100 MB with MiniLM's vectors at every layer.
    chunk_chars: int = 40_000

    def as_dict(self) -> dict:
        d = asdict(self)
        d["vectors_layers"] = None if self.vectors_layers is None else list(self.vectors_layers)
        return d


@dataclass
class Chunk:
    """A run of consecutive non-empty texts; `index` orders the chunks of a corpus."""

    index: int
    sentences: list[int]
    texts: list[str]

    @property
    def digest(self) -> str:
        """Names the chunk's texts, so a resumed build can tell that its data is unchanged."""
        h = hashlib.sha256()
        for sentence, text in zip(self.sentences, self.texts):
            h.update(f"{sentence}\0{len(text)}\0".encode())
            h.update(text.encode("utf-8", "surrogatepass"))
        return h.hexdigest()[:32]


@dataclass
class ChunkResult:
    index: int
    digest: str
    texts: pa.Table  # one row per text: its sentence number, text, length and per-head means
    tokens: pa.Table  # one row per non-special token: tags and the vectors asked for
    totals: Totals

    def to_bytes(self) -> bytes:
        """For Ray: the whole result as one value (Arrow IPC for the tables)."""
        parts = [self.texts, self.tokens]
        blobs = []
        for table in parts:
            sink = io.BytesIO()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            blobs.append(sink.getvalue())
        blobs.append(self.totals.to_bytes())
        head = np.array([self.index, *(len(b) for b in blobs)], np.int64).tobytes()
        return head + self.digest.encode() + b"".join(blobs)

    @classmethod
    def from_bytes(cls, data: bytes) -> ChunkResult:
        index, *sizes = np.frombuffer(data[:32], np.int64)
        digest, at = data[32:64].decode(), 64
        blobs = []
        for size in sizes:
            blobs.append(data[at : at + size])
            at += size
        texts, tokens = (pa.ipc.open_stream(b).read_all() for b in blobs[:2])
        return cls(int(index), digest, texts, tokens, Totals.from_bytes(blobs[2]))


def stat_columns() -> list[str]:
    """The per-text table's columns of per-head means: attention_to_cls, ..., norm_entropy."""
    return [f"{m}_{s}" for m in MEASURES for s in STATS]


class Extractor:
    """Loads the model (and spaCy) once; called on a Chunk, returns its ChunkResult."""

    def __init__(self, settings: Settings, threads: int | None = None):
        from ..model import load

        self.settings = settings
        self.model = load(settings.model, variant=settings.variant, progress=False, threads=threads)
        c = self.model.config
        self.layers, self.heads = c.num_hidden_layers, c.num_attention_heads
        self.vector_layers = vector_layers(settings.vectors_layers, self.layers)
        self.hidden = c.hidden_size

    def __call__(self, batch: dict) -> dict:
        """Ray Data's call (map_batches): a batch of chunks as columns, results as bytes."""
        results = [self.extract(Chunk(int(i), [int(s) for s in sentences], list(texts)))
                   for i, sentences, texts in zip(batch["chunk"], batch["sentences"], batch["texts"])]  # fmt: skip
        return {"result": np.array([r.to_bytes() for r in results], dtype=object)}

    def extract(self, chunk: Chunk) -> ChunkResult:
        encodings = [self.model.tokenizer.encode(t) for t in chunk.texts]
        units = [word_spans(e.word_ids) for e in encodings]
        notes: list = [None] * len(encodings)
        if self.settings.annotate:
            from .annotate import annotate

            notes = annotate(encodings, units)
        totals = Totals(self.layers, self.heads)
        text_rows: list = [None] * len(encodings)
        token_rows: list = [None] * len(encodings)
        for batch in batches([len(e) for e in encodings]):
            # A batch's maps are reduced here and dropped with it: a chunk of 17 news articles
            # would hold 1.3 GB of MiniLM's maps at once.
            for i, r in zip(batch, self.model.analyze_encodings([encodings[i] for i in batch])):
                arcs = notes[i].arcs if notes[i] is not None else ()
                means = totals.add_text(r.attentions, r.value_norms, r.tokens, r.word_ids,
                                        units[i], arcs)  # fmt: skip
                sentence = chunk.sentences[i]
                text_rows[i] = text_row(sentence, chunk.index, r, means)
                token_rows[i] = self.token_rows(sentence, chunk.index, r, units[i], notes[i])
        return ChunkResult(chunk.index, chunk.digest, texts_table(text_rows),
                           tokens_table(token_rows, self.vector_layers, self.hidden), totals)  # fmt: skip

    def token_rows(self, sentence: int, chunk: int, r, units, note) -> dict:
        words = unit_labels(r.tokens, units, r.encoding)
        word_of = {t: words[u] for u, unit in enumerate(units) for t in unit}
        keep = [t for t, w in enumerate(r.word_ids) if w is not None]
        tag = (lambda name: [getattr(note, name)[t] for t in keep]) if note else (
            lambda name: [None] * len(keep))  # fmt: skip
        return {
            "sentence": [sentence] * len(keep), "chunk": [chunk] * len(keep), "position": keep,
            "token": [r.tokens[t] for t in keep], "word": [word_of[t] for t in keep],
            "pos": tag("pos"), "dep": tag("dep"), "entity": tag("entity"),
            **{f"v{layer}": r.hidden_states[layer][keep] for layer in self.vector_layers},
        }  # fmt: skip


def vector_layers(asked: Sequence[int] | None, layers: int) -> tuple[int, ...]:
    """The hidden-state layers to index (0 the embeddings, `layers` the last), checked."""
    if asked is None:
        return tuple(range(layers + 1))
    out = []
    for layer in asked:
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer):
            raise ValueError(f"vectors_layers must be whole numbers, not {layer!r:.40}")
        if not 0 <= layer <= layers:
            raise ValueError(
                f"vectors_layers: {layer} is not a layer of this model (0, the embeddings, "
                f"to {layers})"
            )
        out.append(int(layer))
    return tuple(sorted(set(out)))


def batches(lengths: Sequence[int]) -> list[list[int]]:
    """Indices in batches of like length (sorted, longest first), within the bounds above."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    out: list[list[int]] = []
    for i in order:
        n, width = (len(out[-1]) + 1, lengths[out[-1][0]]) if out else (0, 0)
        if out and n <= MAX_BATCH and n * width <= BATCH_ROWS and n * width * width <= MAP_BUDGET:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def text_row(sentence: int, chunk: int, r, means: np.ndarray) -> dict:
    e = r.encoding
    # The text as far as the model read it (to the end of the word it stopped in).
    end = max((b for _, b in e.offsets), default=0)
    space = next((i for i in range(end, len(e.text)) if e.text[i].isspace()), len(e.text))
    row = {"sentence": sentence, "chunk": chunk, "text": e.text[:space], "tokens": len(r.tokens),
           "truncated": r.truncated}  # fmt: skip
    for (m, s), name in zip(np.ndindex(len(MEASURES), len(STATS)), stat_columns()):
        row[name] = means[m, s].ravel()
    return row


def texts_table(rows: list[dict]) -> pa.Table:
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    fields = {"sentence": pa.int64(), "chunk": pa.int32(), "text": pa.string(),
              "tokens": pa.int32(), "truncated": pa.bool_()}  # fmt: skip
    arrays = {name: pa.array(columns[name], fields[name]) for name in fields}
    for name in stat_columns():
        values = np.stack(columns[name]).astype(np.float32)
        arrays[name] = pa.FixedSizeListArray.from_arrays(pa.array(values.ravel()), values.shape[1])
    return pa.table(arrays)


def tokens_table(rows: list[dict], layers: Sequence[int], hidden: int) -> pa.Table:
    def joined(name):
        return [v for row in rows for v in row[name]]

    arrays = {"sentence": pa.array(joined("sentence"), pa.int64()),
              "chunk": pa.array(joined("chunk"), pa.int32()),
              "position": pa.array(joined("position"), pa.int32()),
              **{name: pa.array(joined(name), pa.string())
                 for name in ("token", "word", "pos", "dep", "entity")}}  # fmt: skip
    for layer in layers:
        values = np.concatenate([row[f"v{layer}"] for row in rows]).astype(np.float32)
        arrays[f"v{layer}"] = pa.FixedSizeListArray.from_arrays(pa.array(values.ravel()), hidden)
    return pa.table(arrays)

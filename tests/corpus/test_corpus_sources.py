"""The data a corpus reads: every file format, named sets, and bad input said in words."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bertviz_lite.corpus.sources import NAMED, Source
from bertviz_lite.errors import UserError

TEXTS = ["First text.", "", "Third, with a comma", "  ", "Fifth — ünïcode."]
EXPECTED = [(0, "First text."), (2, "Third, with a comma"), (4, "Fifth — ünïcode.")]


def write(path, kind: str):
    if kind == "txt":
        path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    elif kind == "jsonl":
        path.write_text("\n".join(json.dumps({"id": i, "text": t}) for i, t in enumerate(TEXTS)))
    elif kind == "csv":
        rows = "".join(f'{i},"{t}"\n' for i, t in enumerate(TEXTS))
        path.write_text("id,text\n" + rows, encoding="utf-8")
    else:
        pq.write_table(pa.table({"id": range(len(TEXTS)), "text": TEXTS}), path)
    return path


@pytest.mark.parametrize("kind", ["txt", "jsonl", "csv", "parquet"])
def test_each_file_format_streams_its_texts_skipping_empty_ones(tmp_path, kind):
    source = Source(write(tmp_path / f"data.{kind}", kind))
    assert list(source) == EXPECTED
    assert source.skipped == 2
    assert source.total == len(TEXTS) or kind != "parquet"


def test_a_list_keeps_each_texts_index_as_its_sentence():
    source = Source(TEXTS)
    assert list(source) == EXPECTED and source.skipped == 2 and source.total == 5


@pytest.mark.parametrize("kind", ["jsonl", "csv", "parquet"])
def test_a_missing_column_is_named(tmp_path, kind):
    path = write(tmp_path / f"data.{kind}", kind)
    with pytest.raises(UserError, match="'body'"):
        list(Source(path, column="body"))


def test_a_non_utf8_file_is_named_with_its_line(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("one\ntwo\ncaf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"latin\.txt, line 3: not UTF-8"):
        list(Source(path))


@pytest.mark.parametrize("data, message", [
    ("nowhere.txt", "no such file"), ("notes.docx", "neither a named set"),
    (42, "must be a list of str"), (["ok", 3], "item 1 is a int"),
])  # fmt: skip
def test_bad_data_says_what_is_wrong(data, message):
    with pytest.raises(UserError, match=message):
        Source(data)


def test_a_bad_json_line_is_named(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "fine"}\n{"text": oops}\n')
    with pytest.raises(UserError, match="line 2: not JSON"):
        list(Source(path))


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_sets_come_from_the_installed_packages(name):
    texts = []
    for _, text in Source(name):
        texts.append(text)
        if len(texts) == 50:
            break
    assert len(texts) == 50 and all(t.strip() for t in texts)

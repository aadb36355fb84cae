"""A build killed at any moment resumes to exactly the uninterrupted statistics; a folder that is
not a finished corpus of this model says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import bertviz_lite as bv
from bertviz_lite.corpus.sources import Source
from bertviz_lite.corpus.store import CorpusError, Store

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = dict(chunk_size=8, vectors_layers=(3,), annotate=True, progress=False)


def texts(n: int) -> list[str]:
    out = []
    for _, text in Source("amazon"):
        out.append(text)
        if len(out) == n:
            return out
    raise AssertionError("amazon has fewer texts")


def same_corpus(a, b) -> None:
    for measure in ("attention", "norm"):
        x, y = a.head_stats(measure), b.head_stats(measure)
        for name in x.column_names:
            np.testing.assert_array_equal(x.column(name).to_numpy(), y.column(name).to_numpy())
    assert a.dependency_accuracy().equals(b.dependency_accuracy())
    keys = ["sentence", "position", "token", "pos"]
    rows = [c.store.table("tokens").search().select(keys).limit(None).to_arrow()
            .sort_by([("sentence", "ascending"), ("position", "ascending")]) for c in (a, b)]  # fmt: skip
    assert rows[0].equals(rows[1])
    assert a.manifest["size"] == b.manifest["size"] and a.manifest["tokens"] == b.manifest["tokens"]


@pytest.mark.slow
def chunks_written(out) -> int:
    """Chunks the build in another process has finished; 0 before it creates their table (the
    store's folder appears first: a poll in between found no table 'chunks')."""
    try:
        return len(Store(out).chunk_digests())
    except ValueError:
        return 0


def test_a_killed_build_resumes_to_exactly_the_uninterrupted_statistics(tmp_path):
    data = tmp_path / "texts.txt"
    data.write_text("\n".join(texts(160)) + "\n")
    out = tmp_path / "killed"
    script = (f"import bertviz_lite as bv; bv.corpus.build('minilm', {str(data)!r}, "
              f"out={str(out)!r}, **{SETTINGS!r})")  # fmt: skip
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and child.poll() is None:
            if (out / "lance").exists() and chunks_written(out) >= 3:
                break
            time.sleep(0.05)
        assert child.poll() is None, "the build ended before it could be killed"
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    done = len(Store(out).chunk_digests())
    assert 3 <= done < 20
    with pytest.raises(CorpusError, match="unfinished build"):
        bv.corpus.open(out)
    resumed = bv.corpus.build("minilm", data, out=out, **SETTINGS)
    whole = bv.corpus.build("minilm", data, out=tmp_path / "whole", **SETTINGS)
    same_corpus(resumed, whole)
    assert resumed.size == 160


def test_rows_of_an_unfinished_chunk_are_dropped_on_resume(tmp_path):
    out = tmp_path / "c"
    whole = bv.corpus.build("minilm", ["One text.", "Two texts."], out=out, chunk_size=1,
                            progress=False, annotate=False)  # fmt: skip
    tokens = whole.store.table("tokens")
    n = tokens.count_rows()
    # A kill between a chunk's tokens and its chunks row leaves rows no chunk owns.
    orphans = tokens.search().where("chunk = 1").limit(None).to_arrow()
    tokens.add(orphans.set_column(1, "chunk", pa.array([7] * orphans.num_rows, pa.int32())))
    manifest = json.loads((out / "corpus.json").read_text())
    (out / "corpus.json").write_text(json.dumps({**manifest, "status": "building"}))
    again = bv.corpus.build("minilm", ["One text.", "Two texts."], out=out, chunk_size=1,
                            progress=False, annotate=False)  # fmt: skip
    assert again.store.table("tokens").count_rows() == n


def test_folders_that_are_not_a_finished_corpus_of_this_model_say_so(tmp_path, checkpoints):
    with pytest.raises(CorpusError, match="not a corpus"):
        bv.corpus.open(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CorpusError, match="not empty and is not a corpus"):
        bv.corpus.build("minilm", ["A text."], out=tmp_path, progress=False)
    out = tmp_path / "c"
    bv.corpus.build("minilm", ["A text."], out=out, progress=False, annotate=False)
    with pytest.raises(CorpusError, match=r"other settings.*annotate"):
        bv.corpus.build("minilm", ["A text."], out=out, progress=False)
    with pytest.raises(CorpusError, match="not what this corpus was being built from"):
        bv.corpus.build("minilm", ["Another text."], out=out, progress=False, annotate=False)
    (out / "corpus.json").write_text("{not json")
    with pytest.raises(CorpusError, match="damaged"):
        bv.corpus.open(out)


def test_a_corpus_of_a_changed_model_says_so(tmp_path, checkpoints):
    import shutil

    model = shutil.copytree(checkpoints["BertModel"], tmp_path / "model")
    out = tmp_path / "c"
    bv.corpus.build(str(model), ["the cat sat on the mat ."], out=out, progress=False)
    assert bv.corpus.open(out).head_stats().num_rows == 2 * 4
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "layer_norm_eps": 1e-5}))
    with pytest.raises(CorpusError, match="another version of model"):
        bv.corpus.open(out)


def test_a_corpus_of_empty_texts_only_says_so(tmp_path):
    with pytest.raises(CorpusError, match=r"no text.*2 empty"):
        bv.corpus.build("minilm", ["", " "], out=tmp_path / "c", progress=False)


def test_a_long_text_is_cut_as_analyze_cuts_it(tmp_path, minilm):
    text = "A very long story. " * 6000  # 114,000 characters
    c = bv.corpus.build("minilm", [text], out=tmp_path / "c", progress=False, vectors_layers=())
    row = c.store.table("texts").to_arrow().to_pylist()[0]
    r = minilm.analyze(text)
    assert row["truncated"] and row["tokens"] == len(r.tokens) == minilm.config.max_tokens
    assert len(row["text"]) < 3000 and text.startswith(row["text"])


def test_a_finished_corpus_given_more_texts_is_unfinished_until_it_is_finished(tmp_path,
                                                                               monkeypatch):
    texts = ["One.", "Two.", "Three.", "Four.", "Five.", "Six."]
    out = tmp_path / "c"
    settings = dict(chunk_size=2, progress=False, annotate=False, vectors_layers=())
    assert bv.corpus.build("minilm", texts[:4], out=out, **settings).size == 4

    def killed(self, skipped):
        raise KeyboardInterrupt

    monkeypatch.setattr(Store, "finish", killed)
    with pytest.raises(KeyboardInterrupt):
        bv.corpus.build("minilm", texts, out=out, **settings)
    with pytest.raises(CorpusError, match="unfinished build"):
        bv.corpus.open(out)
    monkeypatch.undo()
    assert bv.corpus.build("minilm", texts, out=out, **settings).size == 6

"""Exports: real files of a real analysis, reused when identical, the folder bounded by bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bertviz_lite import events, exports
from bertviz_lite.tensors import unpacked


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    return exports.folder()


def test_files_hold_the_tensors(folder):
    r = events.analysis("minilm", "Export me.", "And me.")
    npz, js = exports.export_files(r, "minilm|Export me.|And me.")
    assert str(folder) in npz  # inside Gradio's cache: served without a copy
    with np.load(npz) as data:
        np.testing.assert_allclose(data["attentions"], r.attentions, atol=1e-3)
        assert list(data["tokens"]) == r.tokens
    out = json.loads(Path(js).read_text())
    assert out["tokens"] == r.tokens
    np.testing.assert_allclose(unpacked(out["hidden_states"]), r.hidden_states, atol=2e-2, rtol=1e-3)


def test_identical_exports_are_reused_and_the_folder_is_bounded(folder):
    r = events.analysis("minilm", "The cat sat on the mat. " * 20, None)
    first = exports.export_files(r, "a")
    mtime = folder.joinpath(first[0]).stat().st_mtime_ns
    assert exports.export_files(r, "a") == first
    assert folder.joinpath(first[0]).stat().st_mtime_ns == mtime  # not written again
    one = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    for key in "bcdefg":
        exports.export_files(r, key, max_bytes=int(2.5 * one))
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert total <= 2.5 * one and len(list(folder.iterdir())) == 2
    assert exports.export_files(r, "g", max_bytes=int(2.5 * one))[0].startswith(str(folder))

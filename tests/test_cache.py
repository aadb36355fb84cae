"""The export cache: damaged files rebuilt, unwritable folders survived, keys that follow inputs."""

from __future__ import annotations

import json
import logging
import os

import pytest

import bertviz_lite as bv
from bertviz_lite import cache


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTVIZ_LITE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_damaged_file_is_rebuilt(checkpoints, own_cache, caplog):
    path = str(checkpoints["BertForSequenceClassification"])
    first = bv.load(path, variant="fp32", progress=False)
    onnx_file = first.session.path
    expected = first.analyze("the cat sat").predictions
    size = onnx_file.stat().st_size
    with open(onnx_file, "r+b") as f:  # truncate it, as a full disk or a killed copy would
        f.truncate(size // 2)
    with caplog.at_level(logging.WARNING):
        again = bv.load(path, variant="fp32", progress=False)
    assert "damaged or stale: rebuilding" in caplog.text
    assert again.session.path.stat().st_size == size
    assert again.analyze("the cat sat").predictions == expected


def test_flipped_byte_is_caught_by_the_checksum(checkpoints, own_cache):
    path = str(checkpoints["BertModel"])
    entry = bv.load(path, variant="fp32", progress=False).session.path.parent
    data = bytearray((entry / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one weight changed: only the hash can tell
    (entry / "model.onnx").write_bytes(bytes(data))
    assert not cache.is_valid(entry)
    bv.load(path, variant="fp32", progress=False)
    assert cache.is_valid(entry)


def test_key_follows_weights_and_variant(checkpoints, own_cache):
    path = checkpoints["BertModel"]
    a = bv.load(str(path), variant="fp32", progress=False).session.path
    b = bv.load(str(path), variant="int8", progress=False).session.path
    assert a != b
    os.utime(path / "model.safetensors")  # the weights file changed: a new entry
    c = bv.load(str(path), variant="fp32", progress=False).session.path
    assert c != a
    meta = json.loads((c.parent / "meta.json").read_text())
    assert meta["variant"] == "fp32" and meta["outputs"][:2] == ["attentions_0", "attentions_1"]
    assert "value_norms" in meta["outputs"] and "hidden_states_2" in meta["outputs"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_cache_falls_back(tmp_path, monkeypatch, caplog):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv("BERTVIZ_LITE_CACHE", str(locked / "cache"))
    with caplog.at_level(logging.WARNING):
        root = cache.cache_root()
    assert root != locked / "cache" and "not writable" in caplog.text


def test_cache_path_that_is_a_file_falls_back(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BERTVIZ_LITE_CACHE", str(blocker / "cache"))
    with caplog.at_level(logging.WARNING):
        root = cache.cache_root()
    assert root.is_dir() and "not writable" in caplog.text


def test_two_processes_exporting_at_once_share_one_file(checkpoints, tmp_path):
    """Both start with an empty cache: one exports under the lock, the other waits and reuses it."""
    import subprocess
    import sys

    env = {**os.environ, "BERTVIZ_LITE_CACHE": str(tmp_path / "shared")}
    cmd = [sys.executable, "-m", "bertviz_lite", "export", "--model", str(checkpoints["BertModel"]),
           "--variant", "fp32"]  # fmt: skip
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    exported = sum("exporting BertModel" in err for _, err in outs)
    assert exported == 1, [err[-500:] for _, err in outs]
    entries = [e for e in (tmp_path / "shared" / "onnx").iterdir() if e.is_dir()]
    assert len(entries) == 1 and cache.is_valid(entries[0])
    assert not [e for e in (tmp_path / "shared" / "onnx").iterdir() if e.name.startswith(".")]
    assert not [e for e in (tmp_path / "shared" / "onnx").iterdir() if e.name.endswith(".lock")]


def test_failed_build_leaves_nothing(tmp_path):
    """A build that writes part of its file and fails: no entry, no temporary folder, no lock."""
    entry = tmp_path / "onnx" / "model-fp32-0123"

    def build(out):
        out.write_bytes(b"half an export")
        raise RuntimeError("the exporter failed")

    with pytest.raises(RuntimeError, match="the exporter failed"):
        cache.get_or_build(entry, build)
    assert list((tmp_path / "onnx").iterdir()) == []


def test_good_build_leaves_only_its_entry(tmp_path):
    entry = tmp_path / "onnx" / "model-fp32-0123"

    def build(out):
        out.write_bytes(b"an export")
        return {"variant": "fp32"}

    assert cache.get_or_build(entry, build) == entry and cache.is_valid(entry)
    assert [e.name for e in (tmp_path / "onnx").iterdir()] == [entry.name]


def _count_under_lock(lock, counter, rounds):
    import time

    for _ in range(rounds):
        with cache.locked(lock):
            value = int(counter.read_text())  # read, pause, write: lost updates without the lock
            time.sleep(0.001)
            counter.write_text(str(value + 1))


def test_lock_excludes_other_processes_and_leaves_no_file(tmp_path):
    """The lock file is removed on every release while others wait on it: still one holder at a
    time (no update lost across four processes), and no file left."""
    import multiprocessing

    lock, counter = tmp_path / "entry.lock", tmp_path / "counter"
    counter.write_text("0")
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_count_under_lock, args=(lock, counter, 40)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    assert int(counter.read_text()) == 160
    assert not lock.exists()

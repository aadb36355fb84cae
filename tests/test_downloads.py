"""Exports: real files of a real analysis; paths per visitor and unguessable; every link kept at
least 10 minutes (a full folder refuses a new export rather than evict a young one); sizes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bertviz_lite import downloads, events
from bertviz_lite.views import UserError

ROOT = Path(__file__).resolve().parent.parent
TEXT = "The cat sat on the mat. " * 20


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    return downloads.folder()


@pytest.fixture(scope="module")
def analysis():
    return events.analysis("minilm", TEXT, None)


def stored(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def age(path: str, seconds: float) -> None:
    """Make the folder of `path` look handed out `seconds` ago."""
    then = time.time() - seconds
    os.utime(Path(path).parent, (then, then))


def test_files_hold_the_tensors_once(folder):
    r = events.analysis("minilm", "Export me.", "And me.")
    npz, js = downloads.export_files(r, "minilm|Export me.|And me.", extra={"scores": [0.5, 0.25]})
    assert str(folder) in npz  # inside Gradio's cache: served without a copy
    with np.load(npz) as data:
        np.testing.assert_allclose(data["attentions"], r.attentions, atol=1e-3)
        np.testing.assert_allclose(data["hidden_states"], r.hidden_states, atol=2e-2, rtol=1e-3)
        assert list(data["tokens"]) == r.tokens and list(data["scores"]) == [0.5, 0.25]
    out = json.loads(Path(js).read_text())
    assert out["tokens"] == r.tokens and out["predictions"] == r.predictions
    assert out["scores"] == [0.5, 0.25]
    # The JSON names the NPZ beside it and the shape of each tensor there, and holds none.
    assert Path(js).parent / out["tensors"]["file"] == Path(npz)
    assert out["tensors"]["attentions"]["shape"] == list(r.attentions.shape)
    assert "attentions" not in out and "hidden_states" not in out


def test_files_say_what_computed_them(folder):
    """A file read next month says which model (and which weights), at which precision, by
    which library versions."""
    import onnxruntime

    import bertviz_lite
    from bertviz_lite.model import version

    r = events.analysis("sentiment", "Export me.", None, variant="int8")
    npz, js = downloads.export_files(r, "sentiment|int8|Export me.")
    with np.load(npz) as data:
        about = json.loads(str(data["about"]))
    assert about == json.loads(Path(js).read_text())["about"]
    assert about["model"] == "sentiment" and about["weights"] == version("sentiment")
    assert about["precision"] == "int8" and about["exact"] is False
    assert about["bertviz_lite"] == bertviz_lite.__version__
    assert about["onnxruntime"] == onnxruntime.__version__
    assert (about["layers"], about["heads"]) == r.attentions.shape[:2]


def test_a_512_token_export_is_one_copy_of_the_tensors(folder):
    r = events.analysis("minilm", "Attention is all you need, they said. " * 80, None)
    assert len(r.tokens) == 512
    npz, js = downloads.export_files(r, "long")
    raw = r.attentions.astype(np.float16).nbytes + r.hidden_states.astype(np.float16).nbytes
    assert os.path.getsize(js) < 100_000  # 51.5 MiB before: the tensors again, as base64
    assert os.path.getsize(npz) < raw  # float16, compressed
    assert stored(folder) * 7 <= 256 * 2**20  # the default folder holds seven (three before)


def test_two_visitors_with_the_same_text_get_unguessable_folders_of_their_own(folder, analysis):
    key = "minilm\x1ffp32\x1f" + TEXT + "\x1f"
    with downloads.as_visitor("session-a"):
        a = downloads.export_files(analysis, key)
        assert downloads.visitor.get() == "session-a"
    assert downloads.visitor.get() == ""  # reset on leaving
    with downloads.as_visitor("session-b"):
        b = downloads.export_files(analysis, key)
    anonymous = downloads.export_files(analysis, key)
    folders = {Path(p[0]).parent for p in (a, b, anonymous)}
    assert len(folders) == 3 and all(f.parent == folder for f in folders)
    # Not the key's plain hash (how paths were named before), whoever asks.
    plain = hashlib.sha256(key.encode()).hexdigest()
    assert not any(plain[:16] in f.name for f in folders)
    # The code, the visitor and the text are not enough: another process (another secret)
    # names the same request differently.
    code = ("import os; os.environ['GRADIO_TEMP_DIR'] = '/nonexistent'\n"
            "from bertviz_lite import downloads\n"
            f"with downloads.as_visitor('session-a'): print(downloads._target({key!r}).name)")  # fmt: skip
    elsewhere = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()  # fmt: skip
    assert elsewhere and elsewhere != Path(a[0]).parent.name


def test_the_same_visitor_asking_again_reuses_its_files(folder, analysis):
    with downloads.as_visitor("session-a"):
        first = downloads.export_files(analysis, "k")
        mtime = Path(first[0]).stat().st_mtime_ns
        age(first[0], 300)
        assert downloads.export_files(analysis, "k") == first
    assert Path(first[0]).stat().st_mtime_ns == mtime  # not written again
    assert time.time() - Path(first[0]).parent.stat().st_mtime < 60  # handed out again: kept anew
    png = np.zeros((4, 4, 3), np.uint8)
    with downloads.as_visitor("session-a"):
        image = downloads.export_image(png, "img", "x.png")
        assert downloads.export_image(png, "img", "x.png") == image
    with downloads.as_visitor("session-b"):
        assert downloads.export_image(png, "img", "x.png") != image


def test_young_downloads_are_never_evicted_a_full_folder_says_when_to_retry(folder, analysis):
    with downloads.as_visitor("one"):
        first = downloads.export_files(analysis, "a")
    one = stored(folder)
    limit = int(2.5 * one)
    with downloads.as_visitor("two"):
        second = downloads.export_files(analysis, "b", max_bytes=limit)
    with downloads.as_visitor("three"), pytest.raises(UserError) as refused:
        downloads.export_files(analysis, "c", max_bytes=limit)
    message = str(refused.value)
    assert "download space is busy" in message and "Try again in about 10 minute(s)" in message
    assert all(Path(p).is_file() for p in (*first, *second))  # nobody's fresh link went
    assert stored(folder) <= limit
    age(first[0], 9 * 60)  # a minute from aging out: that is when to retry
    with downloads.as_visitor("three"), pytest.raises(UserError, match="about 1 minute"):
        downloads.export_files(analysis, "c", max_bytes=limit)
    age(first[0], 11 * 60)  # past ten minutes: it may go now
    with downloads.as_visitor("three"):
        third = downloads.export_files(analysis, "c", max_bytes=limit)
    assert not Path(first[0]).exists() and all(Path(p).is_file() for p in (*second, *third))
    assert stored(folder) <= limit
    with pytest.raises(UserError, match="larger than the server's download space"):
        downloads.export_files(analysis, "d", max_bytes=one // 2)


def test_a_visitor_keeps_at_most_a_few_downloads_and_replaces_only_their_own(folder, analysis):
    with downloads.as_visitor("other"):
        theirs = downloads.export_files(analysis, "x")
    with downloads.as_visitor("busy"):
        mine = [downloads.export_files(analysis, str(i)) for i in range(downloads.PER_VISITOR + 2)]
    kept = [all(Path(p).is_file() for p in files) for files in mine]
    assert kept == [False, False] + [True] * downloads.PER_VISITOR  # their own oldest, young or not
    assert all(Path(p).is_file() for p in theirs)
    assert len(list(folder.iterdir())) == downloads.PER_VISITOR + 1
    # A folder emptied by Gradio's own cleanup goes too, once old: no folder is left per visitor.
    for f in Path(theirs[0]).parent.iterdir():
        f.unlink()
    age(theirs[0], 11 * 60)
    downloads.export_files(analysis, "y")
    assert not Path(theirs[0]).parent.exists()

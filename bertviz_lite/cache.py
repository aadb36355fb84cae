"""The on-disk cache of exported ONNX files: where it lives, what a key is, and safe rebuilding.

An entry is a directory named by a hash of everything that decides its bytes (the weights, the
task adapter, the variant, the exporter and library versions). It holds model.onnx and meta.json
with the file's SHA-256, checked on every load: a truncated or damaged file is rebuilt, not crashed
on. Builds go to a temporary directory renamed into place under a lock, so two processes starting
at once neither corrupt nor duplicate each other's export; a failed build leaves nothing, and the
lock file goes with the lock (`locked`). No torch here: a warm start never imports it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from importlib import metadata
from pathlib import Path

from filelock import FileLock

try:
    import fcntl
except ImportError:  # Windows: filelock's lock, which removes its file itself
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

EXPORT_VERSION = "4"  # bump when export.py changes what it writes (3: per-layer outputs, value norms,
# queries/keys/values, head_mask per item; 4: value norms by ReduceL2 of v·R_hᵀ)


def cache_root() -> Path:
    """$BERTVIZ_LITE_CACHE, else $XDG_CACHE_HOME/bertviz_lite; a temp dir if not writable."""
    base = (
        os.environ.get("BERTVIZ_LITE_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bertviz_lite"
    )
    root = Path(base)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
        return root
    except OSError as e:
        fallback = Path(tempfile.gettempdir()) / "bertviz_lite"
        log.warning("cache directory %s is not writable (%s); using %s", root, e, fallback)
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


def package_version(package: str) -> str:
    """The installed version of a distribution (dashes or underscores), or "none"."""
    for name in (package, package.replace("-", "_")):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "none"


def file_fingerprint(path: Path) -> str:
    """Cheap identity of a large file (weights): path, size and modification time."""
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def entry_key(*parts: str) -> str:
    """Hash of the given parts plus the versions of everything that shapes the exported file."""
    libraries = ("torch", "onnx", "onnxruntime-gpu", "onnxruntime")
    versions = [EXPORT_VERSION, *map(package_version, libraries)]
    return hashlib.sha256("\n".join([*versions, *parts]).encode()).hexdigest()[:16]


def is_valid(entry: Path) -> bool:
    """True when meta.json exists and model.onnx has the size and SHA-256 written there."""
    try:
        meta = json.loads((entry / "meta.json").read_text())
        onnx = entry / "model.onnx"
        return onnx.stat().st_size == meta["size"] and file_digest(onnx) == meta["sha256"]
    except (OSError, ValueError, KeyError):
        return False


def get_or_build(entry: Path, build: Callable[[Path], dict]) -> Path:
    """Return a valid entry, building it with `build(onnx_path) -> meta` when needed."""
    if is_valid(entry):
        return entry
    entry.parent.mkdir(parents=True, exist_ok=True)
    with locked(entry.with_name(entry.name + ".lock")):
        if is_valid(entry):  # another process built it while we waited
            return entry
        if entry.exists():
            log.warning("cached export %s is damaged or stale: rebuilding it", entry)
            shutil.rmtree(entry)
        tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{entry.name}-"))
        try:
            meta = build(tmp / "model.onnx")
            onnx = tmp / "model.onnx"
            meta.update(size=onnx.stat().st_size, sha256=file_digest(onnx))
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
            os.replace(tmp, entry)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return entry


def discard(entry: Path) -> None:
    """Remove an entry that proved useless (it will not load), so that none is left behind."""
    with locked(entry.with_name(entry.name + ".lock")):
        shutil.rmtree(entry, ignore_errors=True)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `path`, created for it and removed before it is let go.

    Whoever waited on the removed file finds, once it holds it, that `path` is gone or is another
    file, and locks afresh: at any time one process at most holds the lock on the file `path`
    names, and no empty lock file stays behind (filelock's Unix lock leaves one per entry)."""
    if fcntl is None:
        with FileLock(str(path)):
            yield
        return
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held = os.fstat(fd)
            try:
                now = os.stat(path)
                current = (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)
            except FileNotFoundError:
                current = False
        except BaseException:
            os.close(fd)
            raise
        if current:
            break
        os.close(fd)  # the holder before us removed this file: lock the one now there
    try:
        yield
    finally:
        try:
            with suppress(FileNotFoundError):  # still held: nobody can lock it and think it current
                os.unlink(path)
        finally:
            os.close(fd)

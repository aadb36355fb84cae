"""Downloads (the tensors of an analysis, full-resolution images) in one folder bounded by bytes.

Files go inside Gradio's own cache folder so that Gradio serves them without copying them (it
copies any file from elsewhere). Gradio serves any file there to whoever names its path, so:

- **Paths are per visitor and unguessable.** A download's folder is named by HMAC-SHA256, with a
  random secret drawn when the process starts, over (visitor, key): the same visitor asking for
  the same input again reuses the files; nobody else can compute the path, not even with the
  same text, nor learn whether anyone analysed it. The visitor is the `visitor` context variable
  (ui.py sets it to Gradio's session hash with `as_visitor` around each handler; other callers,
  the notebook and in-process code, share the default "" and are still keyed by the secret).
- **Links live at least KEEP_S (10 minutes).** A folder handed out (written or reused) within
  KEEP_S is never removed to make room for someone else. Room for a new download is made by
  removing, first, the visitor's own oldest beyond PER_VISITOR, then the least recently used
  older than KEEP_S; if only others' young downloads fill the folder, the new one is refused with
  a UserError saying when to retry (folders emptied by Gradio's own cleanup go once older than
  KEEP_S). Files are encoded in memory first, so the room asked for is
  their exact size and the folder never holds more than MAX_BYTES, not even during a write.
- **Each tensor is stored once.** The NPZ holds the tensors (float16, compressed); the JSON holds
  everything else (text, tokens, offsets, predictions, attributions) and names the NPZ and the
  shape of each tensor in it. At 512 tokens of MiniLM: NPZ 32.5 MiB, JSON 15 kB (it used to
  repeat the tensors as base64 float16: 51.5 MiB, gzipped still 35.5 MiB); a 256 MiB folder held
  three such downloads, now seven.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import math
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import numpy as np

from .analysis import Analysis
from .errors import UserError

MAX_BYTES = int(os.environ.get("BERTVIZ_LITE_EXPORTS_MB", "256")) * 2**20
KEEP_S = 600.0  # a download handed out is kept at least this long
PER_VISITOR = 4  # downloads kept per visitor: a fifth replaces their own oldest
NPZ, JSON = "analysis.npz", "analysis.json"

visitor: ContextVar[str] = ContextVar("visitor", default="")
_SECRET = secrets.token_bytes(32)  # per process: a restart makes every path new
_lock = threading.Lock()


@contextlib.contextmanager
def as_visitor(session_id: str | None) -> Iterator[None]:
    """Downloads made inside are this visitor's (Gradio's `request.session_hash`)."""
    token = visitor.set(session_id or "")
    try:
        yield
    finally:
        visitor.reset(token)


def folder() -> Path:
    """Where downloads live: inside Gradio's cache (GRADIO_TEMP_DIR), read when asked."""
    gradio_cache = os.environ.get("GRADIO_TEMP_DIR") or str(Path(tempfile.gettempdir()) / "gradio")
    return Path(gradio_cache) / "bertviz-lite-exports"


def _mac(*parts: str) -> str:
    message = json.dumps(parts)  # unambiguous, and ASCII even for lone surrogates
    return hmac.new(_SECRET, message.encode("ascii"), hashlib.sha256).hexdigest()


def _target(key: str) -> Path:
    """<visitor tag>-<export tag>: both keyed by the secret; the first groups a visitor's own."""
    who = visitor.get()
    return folder() / f"{_mac('visitor', who)[:16]}-{_mac('export', who, key)[:32]}"


def _owner(path: Path) -> str:
    return path.name.split("-", 1)[0]


def _size(path: Path) -> int:
    total = 0
    with contextlib.suppress(FileNotFoundError):  # Gradio's delete_cache may remove files too
        for f in path.iterdir():
            with contextlib.suppress(FileNotFoundError):
                total += f.stat().st_size if f.is_file() else 0
    return total


def _folders(root: Path) -> list[tuple[Path, float, int]]:
    """(folder, last handed out, bytes), least recently handed out first."""
    root.mkdir(parents=True, exist_ok=True)
    found = []
    for p in root.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if p.is_dir():
                found.append((p, p.stat().st_mtime, _size(p)))
    return sorted(found, key=lambda f: f[1])


def _make_room(target: Path, need: int, max_bytes: int) -> None:
    """Remove what may go so that `need` more bytes fit beside the rest; refuse (UserError)
    rather than remove another visitor's download handed out within KEEP_S."""
    now = time.time()
    folders = _folders(target.parent)
    total = sum(size for _, _, size in folders)
    others = [f for f in folders if f[0] != target]
    mine = [f for f in others if _owner(f[0]) == _owner(target)]
    drop = mine[: max(0, len(mine) - (PER_VISITOR - 1))]  # the visitor's own oldest, any age
    drop += [f for f in others if f[2] == 0 and now - f[1] >= KEEP_S and f not in drop]  # emptied
    freed = sum(size for _, _, size in drop)
    young = []
    for f in others:
        if f in drop:
            continue
        if total - freed + need <= max_bytes:
            break
        if now - f[1] < KEEP_S:
            young.append(f)
        else:
            drop.append(f)
            freed += f[2]
    if total - freed + need > max_bytes:
        if need > max_bytes:
            raise UserError(f"This download ({need / 2**20:.0f} MB) is larger than the server's "
                            f"download space ({max_bytes / 2**20:.0f} MB): use a shorter text.")  # fmt: skip
        wait = KEEP_S
        for _, handed_out, size in young:  # when enough of them will have aged
            freed += size
            if total - freed + need <= max_bytes:
                wait = handed_out + KEEP_S - now
                break
        raise UserError(f"The server's download space is busy: other visitors' downloads of the "
                        f"last {KEEP_S / 60:.0f} minutes fill it, and each is kept that long. Try "
                        f"again in about {max(1, math.ceil(wait / 60))} minute(s).")  # fmt: skip
    for path, _, _ in drop:
        shutil.rmtree(path, ignore_errors=True)


def _publish(target: Path, files: dict[str, memoryview | bytes], max_bytes: int | None) -> None:
    """Write `files` (name → bytes) into `target` once there is room; nothing is left half."""
    limit = MAX_BYTES if max_bytes is None else max_bytes
    _make_room(target, sum(len(b) for b in files.values()), limit)
    target.mkdir(parents=True, exist_ok=True)
    try:
        for name, data in files.items():
            (target / name).write_bytes(data)
    except BaseException:
        for name in files:
            (target / name).unlink(missing_ok=True)
        raise


def _reused(target: Path, *names: str) -> bool:
    """Whether the files are there: then handed out again now (kept KEEP_S from now)."""
    if all((target / n).is_file() for n in names):
        os.utime(target)
        return True
    return False


def export_image(image: np.ndarray, key: str, name: str, max_bytes: int | None = None) -> str:
    """A lossless PNG of an RGB image, in the same bounded folder; reused for the same key and
    visitor. Raises UserError when the download space is busy."""
    from PIL import Image

    def png() -> dict[str, memoryview]:
        out = io.BytesIO()
        Image.fromarray(image).save(out, "PNG", compress_level=3)
        return {name: out.getbuffer()}

    target = _target(key)
    _written(target, (name,), png, max_bytes)
    return str(target / name)


def export_files(
    r: Analysis, key: str, max_bytes: int | None = None, extra: dict | None = None
) -> tuple[str, str]:
    """(NPZ with the tensors, JSON with the rest that names the NPZ) of `r`; `key` names the
    input (model, text, variant…): the same key and visitor give the same files without writing
    them again. `extra` adds named arrays to both: one per token (attributions) written out in
    the JSON too, matrices (context mixing) as float16 tensors the JSON describes; the key must
    name them too. Raises UserError when the download space is busy."""
    extra = {k: np.asarray(v) for k, v in (extra or {}).items()}
    matrices = {k: v.astype(np.float16) for k, v in extra.items() if v.ndim > 1}
    vectors = {k: v for k, v in extra.items() if v.ndim <= 1}

    def encoded() -> dict[str, memoryview | bytes]:
        tensors = {"attentions": r.attentions.astype(np.float16),
                   "hidden_states": r.hidden_states.astype(np.float16), **matrices}  # fmt: skip
        npz = io.BytesIO()
        doc = r.summary()
        np.savez_compressed(npz, **tensors, tokens=np.array(r.tokens),
                            segment_ids=np.array(r.encoding.type_ids), **vectors,
                            about=np.array(json.dumps(doc["about"])))  # fmt: skip
        doc = {**doc, **{k: v.tolist() for k, v in vectors.items()},
               "tensors": {"file": NPZ, "how": "np.load(file)[name]",
                           **{k: {"dtype": "float16", "shape": list(v.shape)}
                              for k, v in tensors.items()}}}  # fmt: skip
        return {NPZ: npz.getbuffer(), JSON: json.dumps(doc).encode()}

    target = _target(key)
    _written(target, (NPZ, JSON), encoded, max_bytes)
    return str(target / NPZ), str(target / JSON)


def _written(target: Path, names: tuple[str, ...], encode, max_bytes: int | None) -> None:
    """The files `names` in `target`: reused when there, else encoded (outside the lock: a
    512-token NPZ takes a second to compress, and other visitors' downloads need not wait) and
    published."""
    with _lock:
        if _reused(target, *names):
            return
    files = encode()
    with _lock:
        if not _reused(target, *names):  # another request of this visitor may have been first
            shutil.rmtree(target, ignore_errors=True)  # a half-removed pair is written anew
            _publish(target, files, max_bytes)

"""The tensors of an analysis as downloadable files, in a folder bounded by bytes.

Files go inside Gradio's own cache folder so that Gradio serves them without copying them (it
copies any file from elsewhere), and one folder per distinct input: asking twice for the same
export reuses the files instead of writing them again. After each write the oldest exports are
removed until the folder holds at most MAX_BYTES.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from .analysis import Analysis
from .tensors import packed

MAX_BYTES = int(os.environ.get("BERTVIZ_LITE_EXPORTS_MB", "256")) * 2**20
_lock = threading.Lock()


def folder() -> Path:
    """Where exports live: inside Gradio's cache (GRADIO_TEMP_DIR), read when asked."""
    gradio_cache = os.environ.get("GRADIO_TEMP_DIR") or str(Path(tempfile.gettempdir()) / "gradio")
    return Path(gradio_cache) / "bertviz-lite-exports"


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def prune(root: Path, max_bytes: int, keep: Path | None = None) -> None:
    """Remove the least recently used export folders until `root` holds at most `max_bytes`."""
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    total = sum(_size(p) for p in folders)
    for old in folders:
        if total <= max_bytes:
            break
        if old != keep:
            total -= _size(old)
            shutil.rmtree(old, ignore_errors=True)


def _target(key: str) -> Path:
    root = folder()
    root.mkdir(parents=True, exist_ok=True)
    return root / hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def export_image(image: np.ndarray, key: str, name: str, max_bytes: int | None = None) -> str:
    """A lossless PNG of an RGB image, in the same bounded folder; reused for the same key."""
    from PIL import Image

    target = _target(key)
    path = target / name
    with _lock:
        if not path.is_file():
            target.mkdir(exist_ok=True)
            Image.fromarray(image).save(path, "PNG", compress_level=3)
        os.utime(target)
        prune(target.parent, MAX_BYTES if max_bytes is None else max_bytes, keep=target)
    return str(path)


def export_files(
    r: Analysis, key: str, max_bytes: int | None = None, extra: dict | None = None
) -> tuple[str, str]:
    """(NPZ with the tensors, JSON with everything) of `r`; `key` names the input (model, text,
    variant…): the same key gives the same files without writing them again. `extra` adds named
    arrays (attributions) to both files; the key must then name them too."""
    extra = extra or {}
    target = _target(key)
    root = target.parent
    npz, js = target / "analysis.npz", target / "analysis.json"
    with _lock:
        if not (npz.is_file() and js.is_file()):
            target.mkdir(exist_ok=True)
            np.savez_compressed(
                npz, attentions=r.attentions.astype(np.float16),
                hidden_states=r.hidden_states.astype(np.float16),
                tokens=np.array(r.tokens), segment_ids=np.array(r.encoding.type_ids),
                **{k: np.asarray(v) for k, v in extra.items()},
            )  # fmt: skip
            js.write_text(json.dumps({**r.summary(), "attentions": packed(r.attentions),
                                      "hidden_states": packed(r.hidden_states),
                                      **{k: np.asarray(v).tolist() for k, v in extra.items()}}))  # fmt: skip
        os.utime(target)  # most recently used: the last to be pruned
        prune(root, MAX_BYTES if max_bytes is None else max_bytes, keep=target)
    return str(npz), str(js)

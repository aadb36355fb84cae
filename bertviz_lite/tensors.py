"""Arrays as compact JSON: base64 of float16 bytes with their shape (3× smaller than lists)."""

from __future__ import annotations

import base64

import numpy as np


def packed(array: np.ndarray) -> dict:
    """Decode with np.frombuffer(base64.b64decode(d["data"]), d["dtype"]).reshape(d["shape"])."""
    a = np.ascontiguousarray(array, np.float16)
    return {"dtype": "float16", "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode()}


def unpacked(d: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(d["data"]), d["dtype"]).reshape(d["shape"])

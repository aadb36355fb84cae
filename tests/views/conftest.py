"""A real MiniLM analysis of a sentence pair, and states to draw it under."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from bertviz_lite import events, urlstate


@pytest.fixture(scope="module")
def pair():
    return events.analysis("minilm", "Tokenization works.", "It really does.")


@pytest.fixture
def state():
    """Every setting at its default for MiniLM (6 layers, 12 heads); `.replace(...)` to change."""
    return urlstate.default_state((6, 12), text="Tokenization works.", pair="It really does.")


@pytest.fixture
def z_of():
    """A heatmap figure's z, decoded from the typed array the page receives."""

    def decode(figure: dict) -> np.ndarray:
        z = figure["data"][0]["z"]
        shape = [int(n) for n in z.get("shape", str(len(z["bdata"]))).split(",")]
        return np.frombuffer(base64.b64decode(z["bdata"]), z["dtype"]).reshape(shape)

    return decode

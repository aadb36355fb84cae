"""Which heads matter, and the attention formula step by step, on the real MiniLM models."""

from __future__ import annotations

import numpy as np
import pytest

from bertviz_lite import events
from bertviz_lite.views.formula import steps
from bertviz_lite.views.head_importance import cell_at, importance_image

TEXT = "This movie was wonderful, I loved every minute of it."


def test_the_formula_recomputes_the_models_attention(state):
    s = state.replace(text=TEXT, pair="", model="sentiment", formula_layer=3, formula_head=7,
                      formula_query=4)  # fmt: skip
    out = events.render(s, "formula")
    full = events.model("sentiment").analyze(TEXT, extra=("queries", "keys", "values"))
    q, k, v = full.queries[2, 6], full.keys[2, 6], full.values[2, 6]
    got = steps(q, k, v, 4, np.ones(len(full.tokens), bool))
    # softmax(q·k/√d) in NumPy equals the exported attention probabilities
    np.testing.assert_allclose(got["weights"], full.attentions[2, 6, 4], atol=1e-5)
    np.testing.assert_allclose(got["output"], full.attentions[2, 6, 4] @ v, atol=1e-5)
    assert "wonderful" in out["formula.steps"] and "d_k = 32" in out["formula.steps"]


def test_head_importance_grid_and_its_test(state):
    s = state.replace(text=TEXT, pair="", model="sentiment", heads_k=3)
    out = events.render(s, "heads")
    lines = out["heads.test"].splitlines()
    assert lines[0].startswith("top 3 off") and lines[1].startswith("bottom 3 off")
    after = [float(line.rsplit("→", 1)[1]) for line in lines]
    assert after[0] < after[1]  # the top heads matter more than the bottom ones
    assert out["heads.grid"].shape == (6 * 38 - 2, 12 * 38 - 2, 3)
    assert cell_at(0, 0, 6, 12) == (0, 0) and cell_at(37, 0, 6, 12) is None


def test_the_importance_image_is_darkest_at_the_top_head():
    importance = np.zeros((2, 3), np.float32)
    importance[1, 2] = 0.5
    image = importance_image(importance)
    darkest = np.unravel_index(image.sum(-1).argmin(), image.shape[:2])
    assert cell_at(darkest[1], darkest[0], 2, 3) == (1, 2)


@pytest.mark.parametrize("model", ["minilm", "ner"])
def test_importance_for_other_models(state, model):
    text = "Angela Merkel met Emmanuel Macron in Paris."
    out = events.render(state.replace(text=text, pair="", model=model), "heads")
    assert out["heads.test"]

"""Which heads matter, and the attention formula step by step, on the real MiniLM models."""

from __future__ import annotations

import numpy as np
import pytest

from bertviz_lite import events
from bertviz_lite.views.formula import steps
from bertviz_lite.views.head_importance import FLOOR, cell_at, importance_image, scale_end
from bertviz_lite.views.overview import BELOW, RIGHT

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
    assert out["heads.grid"].shape == (6 * 38 - 2 + BELOW, 12 * 38 - 2 + RIGHT, 3)
    assert cell_at(0, 0, 6, 12) == (0, 0) and cell_at(37, 0, 6, 12) is None
    assert cell_at(12 * 38 + 5, 5, 6, 12) == (0, 11)  # a layer's number opens its nearest head
    assert cell_at(12 * 38 + RIGHT, 5, 6, 12) is None


def test_the_importance_image_is_red_at_the_top_head_on_a_stated_scale():
    importance = np.zeros((2, 3), np.float32)
    importance[1, 2] = 0.5
    image = importance_image(importance)
    grid = image[: 2 * 38 - 2, : 3 * 38 - 2].astype(int)
    reddest = np.unravel_index((grid[..., 0] - grid[..., 2]).argmax(), grid.shape[:2])
    assert cell_at(reddest[1], reddest[0], 2, 3) == (1, 2)
    assert (grid[0, 0] > 240).all()  # no change: white


def test_a_small_drop_is_not_drawn_as_a_large_one():
    """The scale is symmetric and never shorter than FLOOR: a 0.003 drop stays near white
    (it was the darkest colour when the grid was scaled to its own maximum)."""
    importance = np.zeros((2, 3), np.float32)
    importance[0, 1] = 0.003
    assert scale_end(importance) == FLOOR
    cell = importance_image(importance)[5, 38 + 5].astype(int)
    assert (cell > 230).all(), cell
    assert scale_end(np.array([[0.3, -0.7]])) == 1.0


@pytest.mark.parametrize("model", ["minilm", "ner"])
def test_importance_for_other_models(state, model):
    text = "Angela Merkel met Emmanuel Macron in Paris."
    out = events.render(state.replace(text=text, pair="", model=model), "heads")
    assert out["heads.test"]

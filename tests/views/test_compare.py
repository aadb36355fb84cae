"""What fine-tuning changed: exact differences of two real models on one input."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from bertviz_lite import events
from bertviz_lite.analysis import linear_cka
from bertviz_lite.views.compare import attention_change, counterpart, layer_similarity

TEXT = "This movie was wonderful, I loved every minute of it."


def test_cka_is_one_under_rotation_and_scale_and_small_for_unrelated():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 16))
    q, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    assert linear_cka(x, 3.0 * x @ q) == pytest.approx(1.0)
    assert linear_cka(x, rng.standard_normal((60, 16))) < 0.4


def test_a_model_against_itself_changes_nothing():
    r = events.analysis("sentiment", TEXT, None)
    delta, change = attention_change(r, r)
    assert not delta.any() and not change.any()
    np.testing.assert_allclose(layer_similarity(r, r), 1.0)


def test_the_task_model_against_its_base():
    task, base = events.analysis("sentiment", TEXT, None), events.analysis("minilm", TEXT, None)
    delta, change = attention_change(task, base)
    np.testing.assert_allclose(delta, task.attentions - base.attentions)
    np.testing.assert_allclose(change, np.abs(task.attentions - base.attentions).mean((2, 3)))
    assert change.max() > 0.001  # the adapter moved attention
    similarity = layer_similarity(task, base)
    assert similarity.shape == (7,) and (similarity <= 1 + 1e-9).all()


def test_the_view_draws_the_chosen_heads_difference(state, z_of):
    s = state.replace(text=TEXT, pair="", model="sentiment", against="minilm", delta_layer=6,
                      delta_head=3)  # fmt: skip
    out = events.render(s, "compare")
    figure = go.Figure(out["compare.delta"])  # Plotly's validation accepts it
    z = z_of(out["compare.delta"]) / 100
    expected = (events.analysis("sentiment", TEXT, None).attentions
                - events.analysis("minilm", TEXT, None).attentions)[5, 2]  # fmt: skip
    np.testing.assert_allclose(z, np.round(expected * 100) / 100, atol=0.0051)
    assert "layer 6, head 3" in title_of(figure)


def title_of(figure) -> str:
    """A figure's title as one line (titles are broken into lines a phone shows whole)."""
    return figure.layout.title.text.replace("<br>", " ")


def test_a_task_model_is_compared_with_its_base_by_default(state):
    assert counterpart("sentiment") == "minilm" and counterpart("minilm") == "sentiment"
    out = events.render(state.replace(text=TEXT, pair="", model="ner"), "compare")
    assert "ner against minilm" in title_of(out["compare.grid"])


def test_what_the_other_model_is_is_said_and_a_model_is_not_compared_with_itself(state):
    from bertviz_lite.views import UserError

    out = events.render(state.replace(text=TEXT, pair="", model="minilm"), "compare")
    assert "minilm against sentiment (its task model)" in title_of(out["compare.grid"])
    out = events.render(state.replace(text=TEXT, pair="", model="ner"), "compare")
    assert "ner against minilm (its base)" in title_of(out["compare.grid"])
    with pytest.raises(UserError, match="no base or task model here"):
        events.render(state.replace(text=TEXT, pair="", model="topic", against="topic"),
                      "compare")  # fmt: skip

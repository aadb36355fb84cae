"""The Context mixing view draws exactly the measure picked, per layer or composed, in words."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from bertviz_lite import events
from bertviz_lite.analysis import attention_flow, merge_to_words, word_spans
from bertviz_lite.notebook import show
from bertviz_lite.views.mixing import MAX_ZEROING_TOKENS

TEXT = "Tokenization of unbelievable words works."


def mixing(state, **settings):
    return events.render(state.replace(view="mixing", **settings), "mixing")


@pytest.mark.parametrize("method,name", [("ALTI", "alti"), ("value zeroing", "value-zeroing"),
                                         ("norm", "norm"), ("attention", "attention")])  # fmt: skip
def test_a_layer_or_its_rollout_is_the_models_own_matrix(state, z_of, method, name):
    s = state.replace(text=TEXT, pair="")
    r = events.analysis("minilm", TEXT, None)
    model = r.model
    per_layer = model.context_mixing(TEXT, method=name, analysis=r)
    rolled = model.context_mixing(TEXT, method=name, analysis=r, across_layers="rollout")
    out = mixing(s, mixing_method=method, mixing_layer=3)
    go.Figure(out["mixing.mixing_plot"])  # Plotly's validation accepts it
    np.testing.assert_array_equal(z_of(out["mixing.mixing_plot"]), np.round(per_layer[2] * 100))
    assert "layer 3" in out["mixing.mixing_plot"]["layout"]["title"]["text"]
    out = mixing(s, mixing_method=method, mixing_layer=4, mixing_across="from the input")
    np.testing.assert_array_equal(z_of(out["mixing.mixing_plot"]), np.round(rolled[3] * 100))
    assert "input → layer 4" in out["mixing.mixing_plot"]["layout"]["title"]["text"]


def test_whole_words_and_no_special_tokens(state, z_of):
    s = state.replace(text=TEXT, pair="")
    r = events.analysis("minilm", TEXT, None)
    alti = r.model.context_mixing(TEXT, method="alti", analysis=r)[5]
    units = word_spans(r.word_ids, r.encoding.sequence_ids)
    words = merge_to_words(alti, units)[1:-1, 1:-1]  # [CLS] and [SEP] dropped
    out = mixing(s, mixing_words=True, mixing_special=False)
    figure = out["mixing.mixing_plot"]
    assert figure["data"][0]["x"][0] == "Tokenization"  # the word as written, one column
    np.testing.assert_array_equal(z_of(figure), np.round(words * 100))


def test_attention_flow_up_to_a_layer(state, z_of):
    s = state.replace(text=TEXT, pair="")
    r = events.analysis("minilm", TEXT, None)
    out = mixing(s, mixing_method="attention flow", mixing_layer=2)
    np.testing.assert_array_equal(z_of(out["mixing.mixing_plot"]),
                                  np.round(attention_flow(r.attentions[:2]) * 100))  # fmt: skip
    assert "Abnar" in out["mixing.mixing_note"]


def test_long_inputs_get_a_note_for_the_costly_measures(state):
    text = " ".join(["word"] * (MAX_ZEROING_TOKENS + 10))
    s = state.replace(text=text, pair="")
    for method in ("value zeroing", "attention flow"):
        out = mixing(s, mixing_method=method)
        assert out["mixing.mixing_plot"] is None
        assert "up to" in out["mixing.mixing_note"] and "Python API" in out["mixing.mixing_note"]
    assert mixing(s, mixing_method="norm")["mixing.mixing_plot"] is not None


def test_a_pair_and_markup_in_the_text_stay_text(state):
    s = state.replace(text="<b>bold</b> & <img src=x>", pair="It <i>really</i> does.")
    out = mixing(s)
    labels = out["mixing.mixing_plot"]["data"][0]["x"]
    assert not any("<b>" in label or "<img" in label for label in labels)
    assert "<img" not in out["mixing.mixing_note"]


def test_the_notebook_shows_it():
    r = events.analysis("minilm", TEXT, None)
    shown = show(r, "mixing", mixing_method="ALTI", mixing_layer=2)
    assert shown is not None


def test_the_export_carries_the_matrices_computed(state):
    s = state.replace(text="A text whose mixing is exported.", pair="")
    mixing(s, mixing_method="ALTI")
    out = events.render(s.replace(view="export"), "export")
    with np.load(out["export.npz"]) as npz:
        r = events.analysis("minilm", s.text, None)
        expected = r.model.context_mixing(s.text, method="alti", analysis=r)
        assert npz["mixing_alti"].dtype == np.float16
        np.testing.assert_allclose(npz["mixing_alti"], expected, atol=1e-3)

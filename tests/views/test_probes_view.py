"""What each layer knows draws the corpus probe's own numbers, and says how to read them."""

from __future__ import annotations

import pytest

from bertviz_lite.context import Memo, ViewContext
from bertviz_lite.views import VIEWS
from bertviz_lite.views.probes import READING


@pytest.mark.slow
def test_the_view_draws_the_probes_rows(default_corpus, state):
    from bertviz_lite import events

    r = events.analysis("minilm", "The cat sat on the mat.", None)
    ctx = ViewContext(r, r.model, Memo(2**26), corpora=lambda name: default_corpus)
    s = state.replace(view="probes", corpus="default", probe_label="pos", probe_compare=False)
    out = VIEWS["probes"].render(ctx, s)
    result = default_corpus.probe("pos")  # the same seed and split: the same numbers
    traces = {t["name"]: t["y"] for t in out["probe_plot"]["data"]}
    assert traces["minilm: accuracy"] == [row["accuracy"] for row in result.rows]
    assert traces["control task"] == [row["control_accuracy"] for row in result.rows]
    assert traces["minilm: selectivity"] == [row["selectivity"] for row in result.rows]
    line = out["probe_plot"]["layout"]["shapes"][0]
    assert line["x0"] == pytest.approx(result.expected_layer)
    assert "Hewitt &amp; Liang" in out["probe_note"] and READING[:40].replace("'", "&#x27;") in out["probe_note"]
    again = VIEWS["probes"].render(ctx, s)  # kept: no second probe
    assert again["probe_plot"]["data"] == out["probe_plot"]["data"]


@pytest.mark.slow
def test_a_notebook_draws_it_from_the_corpus(default_corpus):
    shown = default_corpus.show("probes", "The cat sat on the mat.", probe_label="entity")
    assert "entity probe" in shown.data and "Hewitt" in shown.data

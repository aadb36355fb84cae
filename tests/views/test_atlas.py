"""The head atlas against the corpus it draws: tile colours are the statistic, clicks name heads,
examples are the corpus's top texts with their strongest link, markup stays text."""

from __future__ import annotations

import numpy as np
import pytest

import bertviz_lite as bv
from bertviz_lite import events, urlstate
from bertviz_lite.context import ViewContext
from bertviz_lite.views import VIEWS, UserError
from bertviz_lite.views.atlas import DEPENDENCY, TILE, head_values
from bertviz_lite.views.overview import GAP, LUT

TEXT = "The quick brown fox jumps over the lazy dog."


def context(corpus, text: str = TEXT) -> ViewContext:
    r = events.analysis("minilm", text, None)
    return ViewContext(r, events.model("minilm"), events.CACHE, None, lambda name: corpus)


def state(**settings):
    return urlstate.default_state(events.shape("minilm"), text=TEXT, view="atlas").replace(**settings)


def test_the_default_corpus_is_offered_with_catalog_models_only():
    assert urlstate.default_state(events.shape("minilm")).corpus == "default"
    assert VIEWS["atlas"].controls[0].options(events.shape("sentiment")) == ["default"]


@pytest.mark.parametrize("stat", ["to_prev", "entropy", "to_cls"])
def test_each_tile_is_coloured_by_its_heads_statistic(default_corpus, stat):
    out = VIEWS["atlas"].render(context(default_corpus), state(atlas_stat=stat))
    image = out["grid"]
    values = default_corpus.head_stats().column(stat).to_numpy().reshape(6, 12)
    levels = np.round(values / values.max() * 255).astype(int)
    step = TILE + GAP
    for layer, head in [(0, 0), (2, 7), (5, 11)]:  # a corner: inside the outline, off the text
        corner = image[layer * step + 5, head * step + 5]
        np.testing.assert_array_equal(corner, LUT[levels[layer, head]])


def test_the_picked_head_is_outlined(default_corpus):
    image = VIEWS["atlas"].render(context(default_corpus), state(layer=3, head=5))["grid"]
    y, x = 2 * (TILE + GAP), 4 * (TILE + GAP)
    np.testing.assert_array_equal(image[y, x + TILE // 2], [255, 140, 0])


def test_a_click_on_a_tile_opens_that_head_and_a_gap_nothing():
    r = events.analysis("minilm", TEXT, None)
    step = TILE + GAP
    view = VIEWS["atlas"]
    assert view.select(r, state(), [4 * step + 5, 2 * step + 5]) == {"layer": 3, "head": 5}
    assert view.select(r, state(), [TILE + 1, 5]) == {}


def test_examples_are_the_top_texts_with_their_strongest_counted_link(default_corpus):
    out = VIEWS["atlas"].render(context(default_corpus), state(atlas_stat="to_prev", layer=2, head=4))
    figure = out["examples"]
    ranked = default_corpus.examples(1, 3, "to_prev", k=40).to_pylist()
    top = [row["text"] for row in ranked if row["tokens"] >= 8][:4]  # long enough to tell
    captions = [a["text"] for a in figure["layout"]["annotations"]]
    assert len(figure["data"]) == len(top) == 4
    model = events.model("minilm")
    for text, caption, shape in zip(top, captions, figure["layout"]["shapes"], strict=True):
        assert caption.startswith(text[:40].replace("&", "&amp;").replace("<", "&lt;"))
        r = model.analyze(text)
        m = r.attentions[1, 3]
        previous = np.eye(len(r.tokens), k=-1, dtype=bool)  # the links to_prev counts
        a, b = np.unravel_index(np.argmax(np.where(previous, m, -1)), m.shape)
        assert b == a - 1 and f"{r.tokens[a]} → {r.tokens[b]} {m[a, b]:.0%}" in caption
        if len(r.tokens) <= 32:  # longer texts are cut around the link
            assert (shape["y0"] + 0.5, shape["x0"] + 0.5) == (a, b)


def test_focused_heads_show_their_lowest_entropy_texts(default_corpus):
    out = VIEWS["atlas"].render(context(default_corpus), state(atlas_stat="entropy", layer=1, head=1))
    lowest = default_corpus.examples(0, 0, "entropy", k=40, lowest=True).to_pylist()
    first = next(row["text"] for row in lowest if row["tokens"] >= 8)
    assert out["examples"]["layout"]["annotations"][0]["text"].startswith(first[:30])
    assert "lowest entropy" in out["examples"]["layout"]["title"]["text"]


def test_dependency_accuracy_states_its_baseline(default_corpus):
    values, caption = head_values(default_corpus, DEPENDENCY, "amod", "attention")
    rows = [r for r in default_corpus.dependency_accuracy().to_pylist() if r["relation"] == "amod"]
    expected = np.zeros((6, 12))
    for row in rows:
        expected[row["layer"], row["head"]] = row["accuracy"]
    np.testing.assert_array_equal(values, expected)
    assert f"{rows[0]['dependents']:,} dependents" in caption
    assert f"({rows[0]['baseline_offset']:+d} words): {rows[0]['baseline']:.2f}" in caption


def test_dependency_examples_outline_the_dependents_most_attended_other_word(default_corpus):
    out = VIEWS["atlas"].render(context(default_corpus),
                                state(atlas_stat=DEPENDENCY, atlas_relation="nsubj", layer=4, head=2))  # fmt: skip
    found = default_corpus.tokens_where("dep", "nsubj", 4).to_pylist()
    model = events.model("minilm")
    for hit, shape in zip(found, out["examples"]["layout"]["shapes"], strict=True):
        r = model.analyze(hit["text"])
        row = r.attentions[3, 1][hit["position"]]
        own = r.word_ids[hit["position"]]
        other = [w is not None and w != own for w in r.word_ids]
        target = int(np.argmax(np.where(other, row, -1)))
        if len(r.tokens) <= 32:
            assert (shape["y0"] + 0.5, shape["x0"] + 0.5) == (hit["position"], target)


def test_a_relation_the_corpus_lacks_is_said(default_corpus):
    with pytest.raises(UserError, match="This corpus has no no-such dependents"):
        head_values(default_corpus, DEPENDENCY, "no-such", "attention")


def test_corpus_text_is_never_markup(tmp_path):
    texts = ["<b>bold</b> and <img src=x onerror=alert(1)> here.", "A plain second text."]
    corpus = bv.corpus.build("minilm", texts, out=tmp_path / "c", progress=False)
    out = VIEWS["atlas"].render(context(corpus), state(atlas_stat="to_cls"))
    captions = " ".join(a["text"] for a in out["examples"]["layout"]["annotations"])
    assert "&lt;b&gt;bold&lt;/b&gt;" in captions and "<img" not in captions


def test_a_notebook_draws_the_atlas(default_corpus):
    shown = default_corpus.show("atlas", TEXT, layer=2, head=3)
    assert "data:image/" in shown.data and "top 4 of 1,026 corpus texts" in shown.data

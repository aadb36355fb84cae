"""The views in a notebook: the app's figures inline, offline (plotly.js once per process), and
bertviz's calls on what transformers returns. The HTML is opened in Chromium and every request it
makes recorded: nothing may leave the page."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest

import bertviz_lite as bv
from bertviz_lite import catalog, notebook_html
from bertviz_lite.notebook import from_attention, show
from bertviz_lite.views import VIEWS, UserError
from bertviz_lite.views.overview import (
    BELOW,
    GAP,
    RIGHT,
    overview_image,
    overview_legend,
    tile_pixels,
)

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def fresh_process(monkeypatch):
    """As in a Python process that has displayed no figure yet."""
    monkeypatch.setattr(notebook_html, "_sent", False)


@pytest.fixture(scope="module")
def minilm():
    return bv.load("minilm", progress=False)


@pytest.fixture(scope="module")
def hf_attention(minilm_dir):
    import torch
    from transformers import AutoTokenizer, BertModel

    tok = AutoTokenizer.from_pretrained(minilm_dir)
    model = BertModel.from_pretrained(minilm_dir, attn_implementation="eager").eval()
    inputs = tok("The cat sat on the mat.", "It purred.", return_tensors="pt")
    with torch.no_grad():
        out = model(**inputs, output_attentions=True)
    tokens = tok.convert_ids_to_tokens(inputs["input_ids"][0])
    return out.attentions, tokens, int(inputs["token_type_ids"][0].tolist().index(1))


def requests_of(html: str, tmp_path: Path, drawn: str = "") -> tuple[list[str], str]:
    """Every URL a page with this HTML asks for, and its visible text (once `drawn` shows, when
    given: plotly.js parses for a while on a busy machine)."""
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "cell.html"
    page_file.write_text(f"<!doctype html><meta charset=utf-8><body>{html}</body>")
    asked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])  # fmt: skip
        page = browser.new_page()
        page.on("request", lambda r: asked.append(r.url))
        page.goto(page_file.as_uri())
        if drawn:
            page.wait_for_function("(t) => document.body.innerText.includes(t)", arg=drawn,
                                   timeout=30_000)  # fmt: skip
        page.wait_for_timeout(1500)
        text = page.inner_text("body")
        browser.close()
    return [u for u in asked if not u.startswith(("file:", "data:", "about:"))], text


@pytest.mark.slow
def test_inline_views_load_nothing_from_outside(minilm, tmp_path, fresh_process):
    r = minilm.analyze("The cat sat on the mat.", pair="It purred.")
    cells = [r.show("head", layer=2, head=5), r.show("overview"),
             r.show("embeddings", vectors_layer=3), r.show("head", style="links", words=True)]  # fmt: skip
    html = "".join(c._repr_html_() for c in cells)  # plotly.js in the first cell only
    outside, text = requests_of(html, tmp_path, drawn="Cosine similarity, layer 3")
    assert outside == []
    # the first figure, and the third drawn from the first cell's plotly.js
    assert "layer 2, head 5" in text and "cat" in text and "Cosine similarity, layer 3" in text
    assert notebook_html.MISSING not in text


@pytest.mark.slow
def test_bertviz_calls_take_transformers_attention(hf_attention, minilm, tmp_path):
    attention, tokens, b_start = hf_attention
    r = from_attention(attention, tokens, sentence_b_start=b_start)
    expected = np.stack([a[0].numpy() for a in attention])
    np.testing.assert_array_equal(r.attentions, expected)
    ours = minilm.analyze("The cat sat on the mat.", pair="It purred.")
    np.testing.assert_allclose(r.attentions, ours.attentions, atol=1e-4)  # the same model
    assert r.encoding.type_ids == ours.encoding.type_ids and r.word_ids == ours.word_ids
    shown = bv.head_view(attention, tokens, sentence_b_start=b_start, layer=1, heads=[4],
                         html_action="return")  # fmt: skip
    model = bv.model_view(attention, tokens, html_action="return")
    outside, _ = requests_of(shown.data + model.data, tmp_path)
    assert outside == [] and "layer 2, head 5" in shown.data


def test_views_run_the_model_that_made_the_analysis(sentiment):
    r = sentiment.analyze("A fine film.")
    assert "positive" in r.show("ablation", heads_off=["L1H1"]).data
    bare = from_attention([r.attentions[i][None] for i in range(6)], r.tokens)
    with pytest.raises(UserError, match="runs the model again"):
        bare.show("heads")


# What each kind of model cannot show, and says so (a base encoder has nothing to explain).
# The corpus views draw from a corpus: r.show says how (corpus.show draws them, test_atlas.py).
CORPUS = {view: "draw from a corpus" for view in ("atlas", "probes", "search", "qk")}
DOES_NOT_APPLY = {
    None: {"ablation": "no prediction", "explain": "explain a prediction", "fill": "masked-LM",
           **CORPUS},
    "classification": {"fill": "masked-LM", **CORPUS},
    "ner": {"fill": "masked-LM", **CORPUS},
    "masked-lm": {"explain": "explain a prediction", **CORPUS},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", catalog.names())
def test_every_view_draws_in_a_notebook(name):
    """r.show(view) for every registered view and every catalog model: drawn, or a message saying
    why it does not apply (five views once failed with AttributeError in a notebook)."""
    m = bv.load(name, progress=False)
    text = "Angela Merkel visited the museum in Paris."
    r = m.analyze(text.replace("museum", m.mask_token) if m.task == "masked-lm" else text)
    for view in VIEWS:
        expected = DOES_NOT_APPLY[m.task].get(view)
        if expected is None:
            assert r.show(view).data, view
        else:
            with pytest.raises(UserError, match=expected):
                r.show(view)


def test_plotly_js_travels_once_per_process(sentiment, fresh_process):
    """The first figure displayed carries plotly.js inline, later ones use the page's; a Shown
    displayed again shows the same HTML; .data and .standalone() always carry the library."""
    from plotly.offline import get_plotlyjs

    library = get_plotlyjs()
    r = sentiment.analyze("The cat sat on the mat.")
    first, second = r.show("head", layer=2, head=5), r.show("head", layer=3, head=1)
    shown_first, shown_second = first._repr_html_(), second._repr_html_()
    assert len(shown_first) > 3_000_000 and library in shown_first
    assert len(shown_second) < 200_000 and library[:200] not in shown_second
    assert "layer 3, head 1" in shown_second and notebook_html.MISSING in shown_second  # waits
    assert first._repr_html_() == shown_first and second._repr_html_() == shown_second
    page = second.standalone()
    assert page.startswith("<!doctype html>") and library in page and library in second.data
    assert library not in r.show("ablation")._repr_html_()  # no figure, no library


def test_entities_are_marked_text_not_a_repr(ner):
    """NER entities (gr.HighlightedText values) as the text with each entity in a <mark> with
    its label; the entity spans are the model's own."""
    r = ner.analyze("Angela Merkel visited the museum in Paris.")
    data = show(r, "ablation", heads_off=["L1H1"]).data
    expected = [(e["text"], e["label"]) for e in r.predictions["entities"] if e["sequence"] == 0]
    assert expected
    marks = re.findall(r"<mark[^>]*>([^<]*)<span class=\"bvl-tag\"[^>]*>([^<]*)</span></mark>", data)
    assert set(expected) <= set(marks) and len(marks) >= 2 * len(expected)  # before and after
    assert "Entities, every head on" in data and "Entities, those heads off" in data
    assert "{'text'" not in data and "'entities'" not in data and "<pre>{" not in data


def test_entities_around_markup_stay_text(ner):
    r = ner.analyze("<b>Angela Merkel</b> wrote <script>alert(1)</script> in Paris.")
    data = show(r, "ablation").data
    assert "<script>alert(1)" not in data and "<b>" not in data
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in data and "&lt;b&gt;" in data
    assert re.search(r"<mark[^>]*>Paris<span", data)


def bertviz_inputs(r):
    """What transformers hands bertviz: a [1, heads, T, T] tensor a layer, and the tokens."""
    return [r.attentions[i][None] for i in range(r.attentions.shape[0])], list(r.tokens)


def test_head_view_has_a_layer_picker(sentiment):
    r = sentiment.analyze("The cat sat on the mat.")
    attention, tokens = bertviz_inputs(r)
    tokens[3] = "<script>alert(1)</script>"
    layers = len(attention)
    data = bv.head_view(attention, tokens, layer=2, heads=[4], html_action="return").data
    options = re.findall(r'<option value="(\d+)"( selected)?>([^<]*)</option>', data)
    assert [label for _, _, label in options] == [f"Layer {i}" for i in range(1, layers + 1)]
    assert [int(v) for v, picked, _ in options if picked] == [2]
    drawings = dict(re.findall(r'<template data-layer="(\d+)">(.*?)</template>', data, re.S))
    assert sorted(map(int, drawings)) == list(range(layers))
    assert len(set(drawings.values())) == layers  # each layer its own drawing
    bare = from_attention(attention, tokens)
    for i, drawing in drawings.items():  # the links view of that layer's head 5
        assert drawing.startswith("<iframe") and f"layer {int(i) + 1}, head 5" in drawing
        assert drawing == show(bare, "head", style="links", layer=int(i) + 1, head=5).body
    assert re.search(r'<div class="bvl-layer">(.*?)</div><template', data, re.S)[1] == drawings["2"]
    assert "<script>alert(1)" not in data and "alert(1)" in data
    default = bv.head_view(attention, tokens, html_action="return").data
    assert re.findall(r'<option value="(\d+)" selected>', default) == ["0"]
    assert all(f"layer {i}, mean of heads" in default for i in range(1, layers + 1))


def test_model_view_is_labelled(sentiment):
    """model_view shows the app's All heads image: layer numbers right of each row, head numbers
    under each column (drawn in its margins), and says so in text under it."""
    r = sentiment.analyze("The cat sat on the mat.")
    attention, tokens = bertviz_inputs(r)
    layers, heads = r.attentions.shape[:2]
    data = bv.model_view(attention, tokens, html_action="return").data
    from PIL import Image

    png = re.search(r'src="data:image/png;base64,([^"]+)"', data)[1]
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB"))
    side = tile_pixels(len(tokens))
    np.testing.assert_array_equal(image, overview_legend(overview_image(r.attentions), side))
    step, grid_h, grid_w = side + GAP, layers * (side + GAP) - GAP, heads * (side + GAP) - GAP
    assert image.shape == (grid_h + BELOW, grid_w + RIGHT, 3)
    ink = image.min(axis=2) < 128
    assert all(ink[i * step : i * step + side, grid_w:].any() for i in range(layers))  # L1…
    assert all(ink[grid_h : grid_h + 18, j * step : j * step + side].any() for j in range(heads))
    caption = re.search(r"<figcaption>(.*?)</figcaption>", data)[1]
    assert f"layers L1–L{layers}" in caption and f"heads H1–H{heads}" in caption

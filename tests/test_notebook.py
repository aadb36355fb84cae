"""The views in a notebook: the app's figures inline, self-contained, and bertviz's calls on
what transformers returns. The HTML is opened in Chromium and every request it makes recorded:
nothing may leave the page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import bertviz_lite as bv
from bertviz_lite import catalog
from bertviz_lite.notebook import from_attention
from bertviz_lite.views import VIEWS, UserError

CHROMIUM = "/usr/bin/chromium"


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


def requests_of(html: str, tmp_path: Path) -> tuple[list[str], str]:
    """Every URL a page with this HTML asks for, and its visible text."""
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
        page.wait_for_timeout(1500)
        text = page.inner_text("body")
        browser.close()
    return [u for u in asked if not u.startswith(("file:", "data:", "about:"))], text


@pytest.mark.slow
def test_inline_views_load_nothing_from_outside(minilm, tmp_path):
    r = minilm.analyze("The cat sat on the mat.", pair="It purred.")
    cells = [r.show("head", layer=2, head=5), r.show("overview"),
             r.show("embeddings", vectors_layer=3), r.show("head", style="links", words=True)]  # fmt: skip
    html = "".join(c._repr_html_() for c in cells)
    outside, text = requests_of(html, tmp_path)
    assert outside == []
    assert "layer 2, head 5" in text and "cat" in text


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


def test_views_run_the_model_that_made_the_analysis():
    r = bv.load("sentiment", progress=False).analyze("A fine film.")
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

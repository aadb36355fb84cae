"""The notebook's HTML pieces: highlighted text as marked, escaped text; figures that wait for
plotly.js and whose text cannot close their script."""

from __future__ import annotations

import re

import plotly.graph_objects as go

from bertviz_lite.notebook_html import figure_html, highlighted_html, spans
from bertviz_lite.views.fill_mask import words_of
from bertviz_lite.views.prediction import prediction_values


def marks(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<mark[^>]*>([^<]*)<span class="bvl-tag"[^>]*>([^<]*)</span></mark>', html)


def test_entities_dict_as_the_prediction_view_makes_it():
    text = "<b>Ada</b> met <script>x</script> in Rome."
    rome, ada = text.index("Rome"), text.index("Ada")
    predictions = {"task": "ner", "entities": [
        {"label": "LOC", "start": rome, "end": rome + 4, "sequence": 0},
        {"label": "PER", "start": ada, "end": ada + 3, "sequence": 0},
        {"label": "ORG", "start": ada + 1, "end": ada + 5, "sequence": 0},  # overlaps: plain
        {"label": "PER", "start": 0, "end": 4, "sequence": 1}]}  # the pair's: not shown
    _, value = prediction_values(predictions, text)
    assert "".join(t for t, _ in spans(value)) == text
    html = highlighted_html(value)
    assert marks(html) == [("Ada", "PER"), ("Rome", "LOC")]
    assert "<b>" not in html and "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_text_tag_pairs_and_markup_in_tags(ner):
    r = ner.analyze("The <i>cat</i> sat.")
    words = [(r.encoding.text[a:b] + " ", None) for a, b, _ in words_of(r)]  # as fill_mask's
    words[1] = (words[1][0], "<img src=x onerror=alert(1)>")
    html = highlighted_html([*words, ("\n", None), ("plain", "")])
    assert marks(html) == [(words[1][0].replace("<", "&lt;").replace(">", "&gt;"),
                            "&lt;img src=x onerror=alert(1)&gt;")]  # fmt: skip
    assert "<img" not in html and "<i>" not in html and "<mark" in html.split("\n")[-1]


def test_a_figure_waits_for_plotly_and_keeps_its_script_closed():
    html = figure_html(go.Figure(go.Bar(x=["</script><script>alert(1)</script>"], y=[1])))
    assert html.count("</script>") == 1 and "alert(1)" in html
    assert "window.Plotly" in html and "plotly.js is not on this page" in html

"""What the app's events compute, without a browser: input cleaning, views, ablation, exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bertviz_lite import explorer
from bertviz_lite.views.selection import Selection

ODD = [
    "Emoji 👩‍👩‍👧 and flags 🇫🇷 — fine?",
    "Combining: e\u0301 a\u0308 and zero\u200bwidth\u200d joiners",
    "Right-to-left: مرحبا بالعالم and שלום",
    "Control \x07 chars \x1b[31m and a NUL \x00 byte",
    "\u202eoverride\u202c and lone surrogate-free text",
]


@pytest.mark.parametrize("text", ODD)
def test_odd_unicode_gives_a_result(text):
    clean, pair, _ = explorer.clean(text, "")
    r = explorer.analysis("minilm", clean, pair)
    assert "\x00" not in r.encoding.text and np.isfinite(r.attentions).all()
    fig, html = explorer.head_view(r, Selection(words=True), "heatmap")
    assert fig is not None and html is None


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x00"])
def test_empty_text_is_a_clear_message(text):
    with pytest.raises(explorer.UserError, match="empty"):
        explorer.clean(text, "")


def test_huge_text_is_cut_and_said():
    text, _, notes = explorer.clean("word " * 40_000, "")
    assert len(text) == explorer.MAX_CHARS and "cut to its first 100,000 characters" in notes[0]
    r = explorer.analysis("minilm", text, None)
    assert r.truncated and "showing the first 512 of" in explorer.notes(r, notes)


def test_pair_with_an_empty_side():
    _, pair, _ = explorer.clean("only the first", "   ")
    assert pair is None


def test_unknown_model_is_refused_never_loaded_as_a_path():
    with pytest.raises(explorer.UserError, match="Unknown model"):
        explorer.model("/etc")


MARKUP = '<img src=x onerror=alert(1)> "><svg onload=alert(2)> <script>alert(3)</script>'


def test_markup_is_text_in_every_view():
    r = explorer.analysis("minilm", MARKUP, "b <b>bold</b>")
    fig, _ = explorer.head_view(r, Selection(), "heatmap")
    payload = fig.to_json()
    assert "<img" not in payload and "<script" not in payload and "&lt;" in payload
    _, html = explorer.head_view(r, Selection(words=True), "links")
    inner = html.split('srcdoc="', 1)[1]
    assert "<img" not in inner and "<script>alert" not in inner and "&lt;script&gt;" in inner
    assert 'sandbox="allow-scripts"' in html
    projection, similarity = explorer.embeddings(r, 3)
    for figure in (projection, similarity):
        assert "<img" not in figure.to_json() and "<svg" not in figure.to_json()


def test_overview_click_maps_to_heads():
    r = explorer.analysis("minilm", "The cat sat on the mat.", None)
    image = explorer.overview(r)
    tile = image.shape[0] // 6
    assert explorer.overview_click(r, 0, 0) == (1, 1)
    assert explorer.overview_click(r, image.shape[1] - 1, image.shape[0] - 1) == (6, 12)
    assert explorer.overview_click(r, 3 * tile + 5, 2 * tile + 5) == (3, 4)
    assert explorer.overview_click(r, 10_000, 5) is None


def test_ablation_needs_a_task_and_checks_head_names():
    with pytest.raises(explorer.UserError, match="no prediction"):
        explorer.ablate("minilm", "hello", None, ("L1H1",))
    with pytest.raises(explorer.UserError, match="not a head"):
        explorer.heads_off_mask("minilm", ("L9H99",))


def test_exports(tmp_path):
    r = explorer.analysis("minilm", "Export me.", "And me.")
    npz, js = explorer.export_files(r)
    with np.load(npz) as data:
        assert data["attentions"].shape == r.attentions.shape
        np.testing.assert_allclose(data["attentions"], r.attentions, atol=1e-3)
    out = json.loads(Path(js).read_text())
    assert out["tokens"] == r.tokens and out["attentions"]["shape"] == list(r.attentions.shape)


def test_switching_heads_off_moves_the_prediction():
    text = "This movie was wonderful, I loved every minute of it."
    every_head = tuple(f"L{layer}H{head}" for layer in range(1, 7) for head in range(1, 13))
    out = explorer.ablate("sentiment", text, None, every_head)
    before, after = out["before"]["probabilities"], out["after"]["probabilities"]
    assert out["before"]["label"] == "positive" and before != after
    assert "positive" in out["delta"]["summary"]
    one = explorer.ablate("sentiment", text, None, ("L6H3",))
    assert one["after"]["probabilities"] != before

"""What the app's events compute, without a browser: input cleaning, views, ablation, exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bertviz_lite import events
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
    clean, pair, _ = events.clean(text, "")
    r = events.analysis("minilm", clean, pair)
    assert "\x00" not in r.encoding.text and np.isfinite(r.attentions).all()
    fig, html = events.head_view(r, Selection(words=True), "heatmap")
    assert fig is not None and html is None


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x00"])
def test_empty_text_is_a_clear_message(text):
    with pytest.raises(events.UserError, match="empty"):
        events.clean(text, "")


def test_huge_text_is_cut_and_said():
    text, _, notes = events.clean("word " * 40_000, "")
    assert len(text) == events.MAX_CHARS and "cut to its first 100,000 characters" in notes[0]
    r = events.analysis("minilm", text, None)
    assert r.truncated and "showing the first 512 of" in events.notes(r, notes)


def test_pair_with_an_empty_side():
    _, pair, _ = events.clean("only the first", "   ")
    assert pair is None


def test_unknown_model_is_refused_never_loaded_as_a_path():
    with pytest.raises(events.UserError, match="Unknown model"):
        events.model("/etc")


MARKUP = '<img src=x onerror=alert(1)> "><svg onload=alert(2)> <script>alert(3)</script>'


def test_markup_is_text_in_every_view():
    r = events.analysis("minilm", MARKUP, "b <b>bold</b>")
    fig, _ = events.head_view(r, Selection(), "heatmap")
    payload = fig.to_json()
    assert "<img" not in payload and "<script" not in payload and "&lt;" in payload
    _, html = events.head_view(r, Selection(words=True), "links")
    inner = html.split('srcdoc="', 1)[1]
    assert "<img" not in inner and "<script>alert" not in inner and "&lt;script&gt;" in inner
    assert 'sandbox="allow-scripts"' in html
    projection, similarity = events.embeddings(r, 3)
    for figure in (projection, similarity):
        assert "<img" not in figure.to_json() and "<svg" not in figure.to_json()


def test_overview_click_maps_to_heads():
    r = events.analysis("minilm", "The cat sat on the mat.", None)
    image = events.overview(r)
    tile = image.shape[0] // 6
    assert events.overview_click(r, 0, 0) == (1, 1)
    assert events.overview_click(r, image.shape[1] - 1, image.shape[0] - 1) == (6, 12)
    assert events.overview_click(r, 3 * tile + 5, 2 * tile + 5) == (3, 4)
    assert events.overview_click(r, 10_000, 5) is None


def test_ablation_needs_a_task_and_checks_head_names():
    with pytest.raises(events.UserError, match="no prediction"):
        events.ablate("minilm", "hello", None, ("L1H1",))
    with pytest.raises(events.UserError, match="not a head"):
        events.heads_off_mask("minilm", ("L9H99",))


def test_exports(tmp_path):
    r = events.analysis("minilm", "Export me.", "And me.")
    npz, js = events.export_files(r)
    with np.load(npz) as data:
        assert data["attentions"].shape == r.attentions.shape
        np.testing.assert_allclose(data["attentions"], r.attentions, atol=1e-3)
    out = json.loads(Path(js).read_text())
    assert out["tokens"] == r.tokens and out["attentions"]["shape"] == list(r.attentions.shape)


def test_switching_heads_off_moves_the_prediction():
    text = "This movie was wonderful, I loved every minute of it."
    every_head = tuple(f"L{layer}H{head}" for layer in range(1, 7) for head in range(1, 13))
    out = events.ablate("sentiment", text, None, every_head)
    before, after = out["before"]["probabilities"], out["after"]["probabilities"]
    assert out["before"]["label"] == "positive" and before != after
    assert "positive" in out["delta"]["summary"]
    one = events.ablate("sentiment", text, None, ("L6H3",))
    assert one["after"]["probabilities"] != before

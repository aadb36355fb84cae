"""Page weight: what one view sends at 128 tokens, and that 512 tokens still render."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bertviz_lite import events
from bertviz_lite.views.selection import Selection

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank today. "


@pytest.fixture(scope="module")
def at128():
    r = events.analysis("minilm", SENTENCE * 8 + "and so on", None)
    assert 120 <= len(r.tokens) <= 136
    return r


@pytest.mark.parametrize("style", ["heatmap", "links"])
def test_one_head_view_is_under_30kb_at_128_tokens(at128, style):
    fig, html = events.head_view(at128, Selection(layer=3, head=4), style)
    size = len(fig.to_json()) if fig is not None else len(html)
    assert size <= 30_000, f"{style}: {size} bytes"


def test_overview_is_under_500kb_at_128_tokens(at128):
    buffer = io.BytesIO()
    Image.fromarray(events.overview(at128)).save(buffer, "WEBP")  # as gr.Image(format="webp")
    assert len(buffer.getvalue()) <= 500_000


def test_512_tokens_render():
    r = events.analysis("minilm", SENTENCE * 60, None)
    assert len(r.tokens) == 512
    fig, _ = events.head_view(r, Selection(), "heatmap")
    _, html = events.head_view(r, Selection(), "links")
    assert len(fig.to_json()) < 400_000 and len(html) < 400_000
    assert events.overview(r).shape == (6 * 66 - 2, 12 * 66 - 2, 3)
    projection, _ = events.embeddings(r, 6)
    assert len(projection.frames) == 7

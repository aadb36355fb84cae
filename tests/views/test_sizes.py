"""Page weight: what one view sends at 128 tokens, and that 512 tokens still render."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bertviz_lite import events, urlstate
from bertviz_lite.context import ViewContext
from bertviz_lite.views.overview import BELOW, RIGHT

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank today. "


def view(r, name: str, **settings) -> dict:
    state = urlstate.default_state((6, 12)).replace(**settings)
    return events.VIEWS[name].render(ViewContext(r, r.model, events.CACHE), state)


@pytest.fixture(scope="module")
def at128():
    r = events.analysis("minilm", SENTENCE * 8 + "and so on", None)
    assert 120 <= len(r.tokens) <= 136
    return r


@pytest.mark.parametrize("style", ["heatmap", "links"])
def test_one_head_view_is_under_30kb_at_128_tokens(at128, style):
    out = view(at128, "head", layer=4, head=5, style=style)
    size = len(out["plot"].to_json()) if style == "heatmap" else len(out["links"])
    assert size <= 30_000, f"{style}: {size} bytes"


def test_overview_is_under_500kb_at_128_tokens(at128):
    buffer = io.BytesIO()
    Image.fromarray(view(at128, "overview")["grid"]).save(
        buffer, "WEBP"
    )  # as gr.Image(format="webp")
    assert len(buffer.getvalue()) <= 500_000


def test_512_tokens_render():
    r = events.analysis("minilm", SENTENCE * 60, None)
    assert len(r.tokens) == 512
    fig, html = view(r, "head")["plot"], view(r, "head", style="links")["links"]
    assert len(fig.to_json()) < 400_000 and len(html) < 400_000
    # the tiles, their layer numbers on the right, head numbers and colour bar below
    assert view(r, "overview")["grid"].shape == (6 * 66 - 2 + BELOW, 12 * 66 - 2 + RIGHT, 3)
    assert len(view(r, "embeddings")["projection"]["frames"]) == 7

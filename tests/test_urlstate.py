"""URL state: round trips, and garbage in a link is clamped or ignored with a note."""

from __future__ import annotations

from urllib.parse import parse_qsl

from bertviz_lite.urlstate import MAX_URL_TEXT, ViewState, parse

MODELS = ["minilm", "sentiment", "topic", "ner"]


def shape(model: str) -> tuple[int, int]:
    return 6, 12


def test_round_trip():
    state = ViewState(text="a <b> & ü", pair="two", model="ner", view="overview", layer=3, head=7,
                      source="rollout", style="links", words=True, special=False, segment="A→B",
                      threshold=0.05)  # fmt: skip
    back, notes = parse(dict(parse_qsl(state.query())), MODELS, shape)
    assert back == state and notes == []


def test_defaults_are_not_written():
    assert ViewState(text="hi").query() == "text=hi"


def test_out_of_range_and_garbage_are_clamped_or_ignored():
    params = {"text": "x", "layer": "99", "head": "-3", "model": "../../etc/passwd", "view": "<script>",
              "segment": "C→D", "threshold": "nan", "words": "maybe", "evil": "1"}  # fmt: skip
    state, notes = parse(params, MODELS, shape)
    assert (state.layer, state.head, state.model, state.view) == (6, 1, "minilm", "head")
    assert state.segment == "all" and state.threshold == 0.0 and state.words is False
    text = " ".join(notes)
    for expected in ("layer 99 is out of range", "head -3", "unknown model", "unknown view",
                     "unknown segment", "unknown parameter 'evil'"):  # fmt: skip
        assert expected in text


def test_garbled_numbers_and_long_text():
    state, notes = parse(
        {"layer": "3x", "threshold": "lots", "text": "a" * (MAX_URL_TEXT + 5)}, MODELS, shape
    )
    assert state.layer == 1 and len(state.text) == MAX_URL_TEXT
    assert any("not a number" in n for n in notes) and any("cut to" in n for n in notes)

"""URL state: round trips, and garbage in a link is clamped or ignored with a note."""

from __future__ import annotations

from urllib.parse import parse_qsl

from bertviz_lite.urlstate import MAX_URL_TEXT, default_state, from_values, parse, to_query
from bertviz_lite.views.base import Shape

MODELS = ["minilm", "sentiment", "topic", "ner"]
SHAPE = (6, 12)


def shape(model: str) -> tuple[int, int]:
    return SHAPE


def test_round_trip_of_every_setting():
    state = default_state(SHAPE, text="a <b> & ü \"q\"", pair="two", model="ner", view="overview",
                          variant="int8")  # fmt: skip
    state = state.replace(layer=3, head=7, source="rollout", style="links", words=True,
                          special=False, segment="A→B", threshold=0.05, vectors_layer=2,
                          heads_off=["L1H2", "L6H12"])  # fmt: skip
    back, notes = parse(dict(parse_qsl(to_query(state, SHAPE))), MODELS, shape)
    assert back == state and notes == []


def test_defaults_are_not_written():
    assert to_query(default_state(SHAPE, text="hi"), SHAPE) == "text=hi"


def test_controls_values_by_name():
    values = {"text": "x", "model": "ner", "layer": 2.0, "words": 1, "heads_off": ("L1H1",)}
    state = from_values(values, SHAPE)
    assert (state.layer, state.words, state.heads_off, state.head) == (2, True, ["L1H1"], 1)
    assert state.vectors_layer == 6  # a default that follows the model's shape


def test_out_of_range_and_garbage_are_clamped_or_ignored():
    params = {"text": "x", "layer": "99", "head": "-3", "model": "../../etc/passwd", "view": "<script>",
              "segment": "C→D", "threshold": "nan", "words": "maybe", "evil": "1",
              "variant": "fp64"}  # fmt: skip
    state, notes = parse(params, MODELS, shape)
    assert (state.layer, state.head, state.model, state.view) == (6, 1, "minilm", "head")
    assert state.segment == "all" and state.threshold == 0.0 and state.words is False
    assert state.variant == "fp32"
    text = " ".join(notes)
    for expected in ("layer 99 is out of range", "head -3", "unknown model", "unknown view",
                     "unknown segment", "unknown parameter 'evil'", "unknown variant"):  # fmt: skip
        assert expected in text


def test_a_value_is_clamped_to_its_own_control():
    # The threshold slider stops at 0.5: a link asking 0.7 gets 0.5 and a note, not an error.
    state, notes = parse({"text": "The cat sat", "threshold": "0.7"}, MODELS, shape)
    assert state.threshold == 0.5 and "threshold 0.7 is out of range" in notes[0]


def test_garbled_numbers_and_long_text():
    state, notes = parse(
        {"layer": "3x", "threshold": "lots", "text": "a" * (MAX_URL_TEXT + 5)}, MODELS, shape
    )
    assert state.layer == 1 and len(state.text) == MAX_URL_TEXT
    assert any("not a number" in n for n in notes) and any("cut to" in n for n in notes)


def test_notes_quote_bounded_input():
    huge = "<b>" * 1000
    _, notes = parse({huge: "1", "model": huge, "heads_off": huge}, MODELS, shape)
    assert notes and all(len(n) < 120 for n in notes)


def test_values_of_the_wrong_kind_get_a_clear_message():
    """The page sends what its widgets hold; an API call can send anything: each value is checked
    by its control, and a wrong one is named with what it should be (not a traceback)."""
    import pytest

    from bertviz_lite.views import UserError

    for name, bad, expected in [
        ("layer", "abc", "Layer \\(layer\\) must be a number from 1 to 6"),
        ("layer", [1], "\\(layer\\) must be a number"), ("layer", float("nan"), "\\(layer\\) must be a number"),
        ("threshold", float("inf"), "\\(threshold\\) must be a number"),
        ("head", True, "\\(head\\) must be a number"), ("words", "maybe", "\\(words\\) must be true or false"),
        ("source", "<b>x</b>", "\\(source\\) must be one of"), ("heads_off", "L1H1", "\\(heads_off\\) must be a list"),
        ("heads_off", [9], "\\(heads_off\\) must be a list"), ("text", 12, "text must be text"),
        ("model", ["minilm"], "model must be text"),
    ]:  # fmt: skip
        with pytest.raises(UserError, match=expected):
            from_values({"text": "x", name: bad}, SHAPE)
    # Left out or None: the default; out of range: clamped (the page may lag behind a model).
    state = from_values({"text": "x", "layer": None, "head": "40"}, SHAPE)
    assert (state.layer, state.head) == (1, 12)
    # Choices that follow the model: another model's value is this model's default, not an error.
    ner = Shape(6, 12, ("O", "B-PER", "I-PER"), "ner")
    state = from_values({"text": "x", "explain_target": "predicted", "heads_off": ["L9H9"]}, ner)
    assert (state.explain_target, state.heads_off) == ("entity 1", [])


def test_a_link_stays_short_enough_to_open_and_says_when_it_was_cut():
    from bertviz_lite.urlstate import MAX_LINK_BYTES

    for text, pair in (("東京" * 2000, "日本" * 2000), ("word " * 3000, ""), ("é" * 4000, "x")):
        query = to_query(default_state(SHAPE, text=text, pair=pair, view="explain"), SHAPE)
        assert len(query) <= MAX_LINK_BYTES + 100 and "view=explain" in query
        state, notes = parse(dict(parse_qsl(query)), MODELS, shape)
        assert text.startswith(state.text) and len(state.text) > 100 and pair.startswith(state.pair)
        assert any("beginning of a longer text" in n for n in notes)
    short = to_query(default_state(SHAPE, text="東京" * 100), SHAPE)
    assert "cut" not in short and parse(dict(parse_qsl(short)), MODELS, shape)[1] == []


def test_only_the_page_s_own_cut_mark_adds_its_note():
    state, notes = parse({"text": "short", "cut": "<u>1</u>"}, MODELS, shape)
    assert state.text == "short" and not any("beginning of a longer text" in n for n in notes)

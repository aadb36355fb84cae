"""What the app's events compute, without a browser: input cleaning, views, ablation, exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bertviz_lite import events, urlstate

ODD = [
    "Emoji 👩‍👩‍👧 and flags 🇫🇷 — fine?",
    "Combining: e\u0301 a\u0308 and zero\u200bwidth\u200d joiners",
    "Right-to-left: مرحبا بالعالم and שלום",
    "Control \x07 chars \x1b[31m and a NUL \x00 byte",
    "\u202eoverride\u202c and lone surrogate-free text",
]


def state(text: str, model: str = "minilm", pair: str = "", **settings):
    return urlstate.default_state((6, 12), text=text, pair=pair, model=model).replace(**settings)


@pytest.mark.parametrize("text", ODD)
def test_odd_unicode_gives_a_result(text):
    clean, pair, _ = events.clean(text, "")
    r = events.analysis("minilm", clean, pair)
    assert "\x00" not in r.encoding.text and np.isfinite(r.attentions).all()
    out = events.render(state(text, words=True), "head")
    assert out["head.plot"] is not None and out["head.links"] == ""


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


@pytest.mark.parametrize("name", ["/etc", None, 123, ["minilm"], "<b>x</b>" * 100])
def test_unknown_model_is_refused_never_loaded_as_a_path(name):
    with pytest.raises(events.UserError, match="Unknown model") as err:
        events.model(name)
    assert len(str(err.value)) < 200


@pytest.mark.parametrize("text", [123, ["a list"], {"a": 1}])
def test_wrong_typed_text_is_a_clear_message(text):
    with pytest.raises(events.UserError, match="must be text"):
        events.clean(text, "")


def test_a_lone_surrogate_is_replaced_not_a_crash():
    text, _, _ = events.clean("bad \ud800 half", "")
    assert "\ud800" not in text and events.analysis("minilm", text, None).tokens[0] == "[CLS]"


MARKUP = '<img src=x onerror=alert(1)> "><svg onload=alert(2)> <script>alert(3)</script>'


def test_markup_is_text_in_every_view():
    s = state(MARKUP, pair="b <b>bold</b>")
    payload = events.render(s, "head")["head.plot"].to_json()
    assert "<img" not in payload and "<script" not in payload and "&lt;" in payload
    assert "&quot;" not in payload and '\\"' in payload  # a quote shows as a quote
    html = events.render(s.replace(style="links", words=True), "head")["head.links"]
    inner = html.split('srcdoc="', 1)[1]
    assert "<img" not in inner and "<script>alert" not in inner and "&lt;script&gt;" in inner
    assert 'sandbox="allow-scripts"' in html
    for figure in events.render(s, "embeddings").values():
        assert "<img" not in figure.to_json() and "<svg" not in figure.to_json()
        assert "&quot;" not in figure.to_json()


def test_only_the_open_view_is_drawn():
    out = events.analyze(state("Only one view.", view="embeddings"))
    drawn = {k.split(".")[0] for k in out if "." in k}
    assert drawn == {"embeddings"} and out["prediction"] is None


def test_overview_click_opens_the_head():
    s = state("The cat sat on the mat.")
    r, _ = events.run_inputs("minilm", s.text, "")
    image = events.render(s, "overview")["overview.grid"]
    tile = image.shape[0] // 6
    view = events.VIEWS["overview"]
    assert view.select(r, s, (0, 0)) == {"layer": 1, "head": 1, "view": "head"}
    assert view.select(r, s, (image.shape[1] - 1, image.shape[0] - 1))["layer"] == 6
    assert view.select(r, s, (3 * tile + 5, 2 * tile + 5))["head"] == 4
    assert view.select(r, s, (10_000, 5)) == {}


def test_the_full_resolution_overview_has_one_pixel_per_weight(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    s = state("The cat sat on the mat. " * 20)  # 122 tokens: more than a 64-pixel tile
    r, _ = events.run_inputs("minilm", s.text, "")
    path = events.render(s, "overview", frozenset({"full"}))["overview.full"]
    image = np.asarray(Image.open(path))
    T = len(r.tokens)
    assert image.shape == (6 * (T + 2) - 2, 12 * (T + 2) - 2, 3)
    # Layer 2, head 3's tile is its attention, pixel for pixel, through the colour table.
    from bertviz_lite.views.overview import LUT

    tile = image[1 * (T + 2): 1 * (T + 2) + T, 2 * (T + 2): 2 * (T + 2) + T]
    levels = np.round(np.sqrt(np.clip(r.attentions[1, 2], 0, 1)) * 255).astype(np.uint8)
    np.testing.assert_array_equal(tile, LUT[levels])


def test_an_ner_analysis_names_the_entities_its_pickers_offer():
    """The "Explain" and "For" pickers of an NER model offered "entity 1" … "entity 8" for any
    text; an analysis names those that exist by their words and type, the picked one kept
    where it still applies, each the entity that attribution.resolve_target reads for it."""
    from bertviz_lite.attribution import resolve_target
    from bertviz_lite.views.explain import chosen_target

    text, pair = "Angela Merkel met Emmanuel Macron.", "They flew to Paris."
    out = events.analyze(state(text, "ner", pair, heads_target="entity 3"))
    r = events.model("ner").analyze(text, pair)
    spans = [(text, pair)[e["sequence"]][e["start"]:e["end"]] for e in r.predictions["entities"]]
    assert spans == ["Angela Merkel", "Emmanuel Macron", "Paris"]  # the pair's entity too
    for picker, picked in (("explain_target", "entity 1"), ("heads_target", "entity 3")):
        update = out[picker]
        assert update["value"] == picked
        assert update["choices"] == [("Angela Merkel (PER)", "entity 1"),
                                     ("Emmanuel Macron (PER)", "entity 2"),
                                     ("Paris (LOC)", "entity 3")]  # fmt: skip
    for name, value in out["heads_target"]["choices"]:
        goal = resolve_target(events.model("ner"), r, chosen_target(value))
        assert r.tokens[goal.positions[0]].lower() in name.lower()
    fewer = events.analyze(state("Paris is large.", "ner", heads_target="entity 3"))
    assert fewer["heads_target"]["value"] == "entity 1"  # entity 3 no longer exists
    assert events.analyze(state("nothing here", "ner"))["heads_target"]["choices"] == [
        ("no entity found", "entity 1")]
    assert "heads_target" not in events.analyze(state(text, "sentiment"))  # labels name themselves
    twice = events.analyze(state("Paris is large. Paris is old.", "ner"))["heads_target"]
    assert [n for n, _ in twice["choices"]] == ["Paris (LOC)", "Paris (LOC) #2"]


def test_ablation_needs_a_task_and_checks_head_names():
    with pytest.raises(events.UserError, match="no prediction"):
        events.render(state("hello", heads_off=["L1H1"]), "ablation")
    with pytest.raises(events.UserError, match="not a head"):
        events.render(state("hello", model="sentiment", heads_off=["L9H99"]), "ablation")


def test_switching_heads_off_moves_the_prediction():
    text = "This movie was wonderful, I loved every minute of it."
    every_head = [f"L{layer}H{head}" for layer in range(1, 7) for head in range(1, 13)]
    out = events.render(state(text, "sentiment", heads_off=every_head), "ablation")
    before, after = out["ablation.before"], out["ablation.after"]
    assert max(before, key=before.get) == "positive" and before != after
    assert "positive" in out["ablation.change"]
    one = events.render(state(text, "sentiment", heads_off=["L6H3"]), "ablation")
    assert one["ablation.after"] != before
    # The same as running the model with that head off by hand.
    mask = np.ones((6, 12), np.float32)
    mask[5, 2] = 0
    by_hand = events.model("sentiment").analyze(text, head_mask=mask).predictions
    assert one["ablation.after"] == pytest.approx(by_hand["probabilities"])


def test_the_export_carries_the_attributions_computed(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    s = state("A dull plot, but wonderful acting.", model="sentiment")
    before = events.render(s, "export")["export.npz"]
    with np.load(before) as data:
        assert not any(k.startswith("attribution") for k in data.files)
    events.render(s.replace(explain_words=True), "explain")
    after = events.render(s, "export")
    with np.load(after["export.npz"]) as data:
        scores, tokens = data["attribution_occlusion"], data["attribution_occlusion_tokens"]
        assert len(scores) == len(tokens) and "wonderful" in list(tokens)
        assert "attribution_integrated_gradients" in data.files
    assert "attribution_occlusion" in json.loads(Path(after["export.json"]).read_text())


def test_the_cache_counts_every_array_an_analysis_holds():
    r = events.analysis("minilm", "The cat sat.", None)
    arrays = [r.attentions, r.hidden_states, r.value_norms]
    assert events.Memo.size(r) >= sum(a.nbytes for a in arrays)
    mlm = events.analysis("minilm-mlm", "The capital of France is [MASK].", None)
    assert events.Memo.size(mlm) >= mlm.logits.nbytes > mlm.attentions.nbytes


@pytest.mark.parametrize("view", ["heads", "explain"])
def test_long_work_stops_at_its_time_limit_with_a_message(view):
    """Inside a long job, the head sweep and Explain check the clock between their chunks."""
    from bertviz_lite.budget import LongWork, TimeLimitExceeded

    s = state(f"A {view} text that nothing has explained before, slow and dull.", model="sentiment")
    events.render(s, "head")  # the analysis itself is not long work
    with pytest.raises(TimeLimitExceeded, match="Stopped after"), LongWork(time_limit=0).job("v"):
        events.render(s, view)
    assert events.render(s, view)  # outside a job (the API, a notebook): no limit


def test_explain_is_computed_in_full_up_to_128_tokens():
    """The page cuts Explain's cost only past 128 tokens, as it says (README's Limits)."""
    from bertviz_lite.views.explain import MAX_RUNS, cost_bounds

    assert cost_bounds(100) == {"max_units": None, "max_steps": 512}
    assert cost_bounds(129)["max_units"] == MAX_RUNS and cost_bounds(512)["max_steps"] == 8

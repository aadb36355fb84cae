"""The view interface: controls parse links by their own ranges; every registered view draws."""

from __future__ import annotations

import numpy as np
import pytest

from bertviz_lite import events
from bertviz_lite.views import CONTROLS, REGISTRY, Control, ViewState
from bertviz_lite.views.ablation import head_mask, head_names


def test_slider_follows_the_model_shape():
    layer = Control("layer", "Layer", "slider", 1, low=1, high="layers")
    assert layer.bounds((12, 16)) == (1, 12)
    assert layer.parse("13", (12, 16)) == (12, "layer 13 is out of range: showing 12 (1–12)")
    assert layer.parse("4.4", (12, 16)) == (4, None)
    assert Control("v", "V", "slider", "layers", high="layers").initial((24, 16)) == 24


def test_choices_and_checkboxes():
    radio = Control("style", "As", "radio", "heatmap", choices=("heatmap", "links"))
    assert radio.parse("links", (1, 1)) == ("links", None)
    assert radio.parse("<b>", (1, 1))[0] == "heatmap"
    assert Control("w", "W", "checkbox", False).parse("Yes", (1, 1)) == (True, None)


def test_state_reads_settings_as_attributes():
    s = ViewState(text="t", settings={"layer": 2})
    assert s.layer == 2 and s.replace(layer=3, view="overview").layer == 3
    assert s.replace(view="overview").view == "overview" and s.view == "head"
    with pytest.raises(AttributeError, match="no setting"):
        _ = s.nothing


def test_control_names_are_unique_and_not_fields():
    names = [c.name for view in REGISTRY for c in view.controls]
    assert len(names) == len(set(names)) == len(CONTROLS)
    assert not {"text", "pair", "model", "view", "settings"} & set(names)


def test_every_view_says_what_it_shows_in_its_first_line():
    """A newcomer reads what a tab shows before its controls (issue 28: how to read it)."""
    from bertviz_lite.views import REGISTRY

    assert [v.name for v in REGISTRY if len(v.intro) < 60] == []


def test_head_masks_by_name():
    assert head_names((2, 2)) == ["L1H1", "L1H2", "L2H1", "L2H2"]
    expected = np.ones((6, 12), np.float32)
    expected[1, 4] = expected[5, 11] = 0
    np.testing.assert_array_equal(head_mask(["L2H5", "l6h12"], (6, 12)), expected)


@pytest.mark.parametrize("view", [v for v in REGISTRY if v.name != "fill"], ids=lambda v: v.name)
def test_every_view_draws_what_it_declares(view, state, request):
    # (fill, which needs a masked-LM model, is drawn in test_fill_mask.py; the corpus views from
    # MiniLM's default corpus)
    s = state.replace(model="sentiment", view=view.name, heads_off=["L1H1"])
    if view.name in ("atlas", "probes", "search", "qk"):
        request.getfixturevalue("default_corpus")
        s = s.replace(model="minilm", corpus="default")
    out = events.render(s, view.name)
    assert set(out) == {f"{view.name}.{o.name}" for o in view.outputs if not o.on_demand}
    for o in view.outputs:
        if o.on_demand:  # drawn alone, when its button asks
            assert set(events.render(s, view.name, frozenset({o.name}))) == {
                f"{view.name}.{o.name}"}  # fmt: skip

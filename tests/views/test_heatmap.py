"""Heatmaps go to the page as Plotly's own JSON, with the weights as a typed array."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from bertviz_lite.views.heatmap import heatmap, typed_array
from bertviz_lite.views.selection import Matrix


def test_typed_array_is_what_plotly_writes():
    """The same bytes, dtype and shape as Plotly's own encoding of the array."""
    for a in (np.arange(12, dtype=np.uint8).reshape(3, 4), np.array([-100, 0, 100], np.int8)):
        ours = typed_array(a)
        theirs = go.Figure(go.Heatmap(z=a)).to_plotly_json()["data"][0]["z"]
        assert ours == theirs


def test_heatmap_figure_opens_in_plotly_and_keeps_the_values(z_of):
    values = np.random.default_rng(0).dirichlet(np.ones(5), size=5).astype(np.float32)
    labels = ["a", "<b>", "a", "c", "d"]
    spec = heatmap(Matrix(values, labels, list("vwxyz"), [0] * 5, [0] * 5), "<i>t</i>")
    fig = go.Figure(spec)  # Plotly's validation accepts every key
    np.testing.assert_array_equal(z_of(spec), np.round(values * 100).astype(np.uint8))
    assert fig.data[0].y[1] == "&lt;b&gt;" and fig.data[0].y[0] != fig.data[0].y[2]
    assert fig.layout.title.text == "&lt;i&gt;t&lt;/i&gt;"
    assert '"bdata"' in spec.to_json()


def test_colours_are_plotly_pythons_not_plotly_js_names():
    """Plotly.js reads "Blues" as dark-to-light, plotly.py as light-to-dark: the figure carries
    the scale itself, as go.Figure would send it."""
    values = np.eye(3, dtype=np.float32)
    for diverging, name in ((False, "Blues"), (True, "RdBu")):
        spec = heatmap(Matrix(values, list("abc"), list("abc"), [0] * 3, [0] * 3), "t", diverging)
        expected = go.Heatmap(colorscale=name).to_plotly_json()["colorscale"]
        ours = spec["data"][0]["colorscale"]
        assert [c for _, c in ours] == [c for _, c in expected]
        np.testing.assert_allclose([p for p, _ in ours], [p for p, _ in expected], atol=1e-12)
    assert spec["data"][0]["reversescale"] is True  # RdBu: blue for negative, red for positive


def test_a_long_inputs_colour_scale_adapts_and_says_its_range():
    """512 tokens' weights are ~0.2%: a fixed 0–100% scale drew them white. The scale ends at
    the 99.5th percentile, and the colour bar and the line under the figure say where."""
    rng = np.random.default_rng(1)
    values = rng.dirichlet(np.ones(512) * 0.3, size=512).astype(np.float32)
    labels = [f"t{i}" for i in range(512)]
    spec = heatmap(Matrix(values, labels, labels, [0] * 512, [0] * 512), "long")
    trace, layout = spec["data"][0], spec["layout"]
    assert 1 <= trace["zmax"] < 20 and trace["zmin"] == 0
    assert f"0…{trace['zmax']}" in trace["colorbar"]["title"]["text"]
    assert f"0…{trace['zmax']}%" in layout["annotations"][0]["text"]
    assert "width" not in layout  # the figure fits its card
    assert layout["title"]["automargin"] is True  # above the slanted labels, not over them


def test_a_short_inputs_scale_keeps_its_strong_weights():
    values = np.eye(4, dtype=np.float32)
    spec = heatmap(Matrix(values, list("abcd"), list("abcd"), [0] * 4, [0] * 4), "t")
    assert spec["data"][0]["zmax"] == 100

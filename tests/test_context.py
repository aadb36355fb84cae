"""ViewContext: what views ask beyond their analysis is answered once, from one memo.

Each onnxruntime run of the model's sessions is counted (the real runs, through a wrapper on the
session): a view drawn again, or with another setting that needs no new input, runs nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import bertviz_lite as bv
from bertviz_lite import attribution, urlstate
from bertviz_lite.context import Memo, ViewContext
from bertviz_lite.views import VIEWS

TEXT = "A dull plot, but the acting was wonderful."


class Runs:
    """Counts onnxruntime runs of a model's sessions (the full graph and the logits-only one)."""

    def __init__(self, model):
        self.count = self.full = 0
        for session in (model.session, model.logits_session):
            real = session.run_into

            def counted(*args, _real=real, _full=session is model.session, **kwargs):
                self.count += 1
                self.full += _full
                return _real(*args, **kwargs)

            session.run_into = counted

    def since(self, before: int) -> int:
        return self.count - before


@pytest.fixture
def setup():
    model = bv.load("sentiment", progress=False)
    runs = Runs(model)
    r = model.analyze(TEXT)
    ctx = ViewContext(r, model, Memo(256 * 2**20))
    shape = (6, 12, tuple(model.labels), model.task)
    return model, runs, ctx, urlstate.default_state(shape, text=TEXT, model="sentiment")


def draw(ctx, state, view, **settings):
    return VIEWS[view].render(ctx, state.replace(view=view, **settings))


def test_the_formula_runs_the_model_once_for_every_slider_position(setup):
    _, runs, ctx, state = setup
    before = runs.count
    first = draw(ctx, state, "formula", formula_layer=1, formula_head=1)
    assert runs.since(before) == 1  # queries, keys and values: one forward pass
    for layer, head, query in ((2, 3, 1), (6, 12, 4), (1, 1, 0)):
        draw(ctx, state, "formula", formula_layer=layer, formula_head=head, formula_query=query)
    assert runs.since(before) == 1 and first


@pytest.mark.slow
def test_explain_runs_only_the_variants_it_scores(setup):
    """Occlusion's variants and the faithfulness measures' through the logits graph; the full
    graph not once (no analysis again); nothing at all when drawn again or exported."""
    _, runs, ctx, state = setup
    before, full = runs.count, runs.full
    draw(ctx, state, "explain")
    occluded = len(attribution.units_of(ctx.analysis.encoding, False))
    first = runs.since(before)
    assert first > math.ceil(occluded / attribution.CHUNK) and runs.full == full
    draw(ctx, state, "explain")
    draw(ctx, state, "export")  # the download carries them, from the same memo
    assert runs.since(before) == first
    assert {a.method for a in ctx.attributions()} == set(attribution.METHODS)
    assert set(ctx.mixings()) >= {"value-zeroing", "alti"}


def test_the_head_sweep_runs_its_variants_and_the_two_tests(setup):
    model, runs, ctx, state = setup
    before = runs.count
    draw(ctx, state, "heads", heads_k=3)
    batch = max(1, 128 // len(ctx.analysis.tokens))
    assert runs.since(before) == math.ceil(72 / batch) + 2  # the sweep; top and bottom k off
    draw(ctx, state, "heads", heads_k=3)
    assert runs.since(before) == math.ceil(72 / batch) + 2
    importance = ctx.head_importance()
    np.testing.assert_allclose(importance, model.head_importance(TEXT), atol=1e-6)


def test_heads_off_and_another_model_are_kept_under_the_app_s_keys(setup):
    model, runs, ctx, _ = setup
    mask = np.ones((6, 12), np.float32)
    mask[0, 0] = 0
    before = runs.count
    a, b = ctx.with_heads_off(mask), ctx.with_heads_off(mask)
    assert a is b and runs.since(before) == 1
    assert ctx.memo.items[("sentiment", model.variant, TEXT, None, (0,))] is a

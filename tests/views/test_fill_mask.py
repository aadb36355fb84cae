"""Fill the mask, on a masked-LM checkpoint written by transformers: hiding a word is the same
as typing the mask token, the guesses are the model's own probabilities, and what the masked
position reads is its attention row."""

from __future__ import annotations

import numpy as np
import pytest

from bertviz_lite import catalog, events, urlstate
from bertviz_lite.predictions import softmax
from bertviz_lite.views import UserError
from bertviz_lite.views.fill_mask import FillMaskView, words_of

TEXT = "the cat sat on the mat ."


@pytest.fixture
def mlm(checkpoints, monkeypatch):
    monkeypatch.setattr(catalog, "_registered", {})
    catalog.register(str(checkpoints["BertForMaskedLM"]), "tiny-mlm")
    return "tiny-mlm"


def state(model: str, **settings):
    shape = events.shape(model)
    return urlstate.default_state(shape, text=TEXT, model=model, view="fill").replace(**settings)


def test_hiding_a_word_is_typing_the_mask(mlm):
    out = events.render(state(mlm, mask_word=2), "fill")  # "cat"
    typed = events.analysis(mlm, "the [MASK] sat on the mat .", None)
    position = typed.encoding.ids.index(events.model(mlm).tokenizer.mask_id)
    probs = softmax(typed.logits[position].astype(np.float64))
    guesses = out["fill.guesses"]
    assert len(guesses) == 10 and list(guesses.values()) == sorted(guesses.values(), reverse=True)
    assert max(guesses.values()) == pytest.approx(probs.max())
    assert [w for w, tag in out["fill.words"] if tag] == ["cat "]
    reads = out["fill.reads"]
    masked_row = typed.attentions[-1, :, position, :].mean(0)
    np.testing.assert_allclose(reads["data"][0]["y"], np.round(masked_row * 100, 1))
    assert [d["name"] for d in reads["data"]] == ["masked", "unmasked"]


def test_a_click_hides_the_word_and_a_second_click_shows_it(mlm):
    r = events.analysis(mlm, TEXT, None)
    assert len(words_of(r)) == 7
    view = FillMaskView()
    assert view.select(r, state(mlm), 1) == {"mask_word": 2}
    assert view.select(r, state(mlm, mask_word=2), 1) == {"mask_word": 0}


def test_only_masked_lm_models_fill_masks():
    with pytest.raises(UserError, match="masked-LM"):
        events.render(state("sentiment"), "fill")

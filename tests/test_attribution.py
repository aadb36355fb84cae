"""Attributions on the real MiniLM task models, checked by their defining properties."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import spearmanr

import bertviz_lite as bv
from bertviz_lite import attribution as at
from bertviz_lite.predictions import softmax

TEXT = "This movie was wonderful, I loved every minute of it."
MIXED = "The plot was dull but the acting was wonderful."


def p_label(model, text: str, label: str) -> float:
    return model.analyze(text).predictions["probabilities"][label]


@pytest.mark.slow
def test_occlusion_equals_separate_analyses(sentiment):
    a = at.attribute(sentiment, MIXED, method="occlusion", target="positive")
    base = p_label(sentiment, MIXED, "positive")
    words = MIXED.rstrip(".").split()
    lower = [w.lower() for w in words]
    checked = 0
    for score, token in zip(a.scores, a.tokens):
        if lower.count(token) != 1:
            continue  # a word of one piece, once in the text: the same input as typing [MASK]
        i = lower.index(token)
        masked = " ".join([*words[:i], "[MASK]", *words[i + 1 :]]) + "."
        assert score == pytest.approx(base - p_label(sentiment, masked, "positive"), abs=1e-5)
        checked += 1
    assert checked == 5  # plot, dull, but, acting, wonderful


@pytest.mark.slow
def test_integrated_gradients_are_complete_and_find_the_sentiment_word(sentiment):
    a = sentiment.attribute(TEXT, method="integrated-gradients")  # the LoadedModel's own method
    assert a.target == "positive" and a.method == "integrated-gradients"
    # f(baseline) recomputed through onnxruntime: the [MASK] baseline with specials kept.
    r = sentiment.analyze(TEXT)
    mask = sentiment.tokenizer.token_id("[MASK]")
    ids = [t if w is None else mask for t, w in zip(r.encoding.ids, r.encoding.word_ids)]
    logits = sentiment.run([replace(r.encoding, ids=ids)])["logits"][0]
    f_x = r.predictions["probabilities"]["positive"]
    f_b = float(softmax(logits.astype(np.float64))[sentiment.labels.index("positive")])
    gap = f_x - f_b
    assert abs(float(a.scores.sum()) - gap) <= at.COMPLETENESS * abs(gap) + 1e-6
    assert a.delta <= at.COMPLETENESS * abs(gap)
    assert a.tokens[int(np.argmax(a.scores))] in {"wonderful", "loved"}


@pytest.mark.slow
def test_integrated_gradients_report_their_steps_inside_a_long_job(sentiment):
    """In the app IG runs as a long job: each round's steps are counted as Captum's batches of
    them finish (STEP_ROWS // tokens steps a batch), from 0 to all of them (the progress bar's
    "Integrated gradients, 32 steps: 13 of 32, ~2 s left")."""
    from bertviz_lite.attribution.gradients import STEP_ROWS
    from bertviz_lite.budget import LongWork

    text = " ".join([MIXED] * 14)  # ~150 tokens: several batches a round
    per_batch = STEP_ROWS // len(sentiment.analyze(text).tokens)
    heard = []
    with LongWork(time_limit=600).job(report=lambda done, line: heard.append(line)):
        a = sentiment.attribute(text, method="integrated-gradients")
    rounds = {}
    for line in heard:
        what, count = line.rsplit(": ", 1)
        rounds.setdefault(what, []).append(int(count.split(" of ")[0]))
    assert rounds.pop("Gradients: loading the model in PyTorch") == [0], heard
    assert rounds and all(w.startswith("Integrated gradients, ") for w in rounds), heard
    for what, counts in rounds.items():
        steps = int(what.split(", ")[1].split()[0])
        assert 1 < steps // per_batch < steps, (steps, per_batch)
        batches = list(range(0, steps, per_batch))
        assert sorted(set(counts)) == [*batches, steps] and counts == sorted(counts), heard
    assert a.delta is not None


@pytest.mark.slow
def test_gradient_x_input_and_word_occlusion(sentiment):
    g = at.attribute(sentiment, TEXT, method="gradient-x-input")
    assert g.delta is None and len(g.scores) == len(g.tokens) == 12
    w = at.attribute(sentiment, "Tokenization is unbelievably good.", words=True)
    assert "Tokenization" in w.tokens and "unbelievably" in w.tokens
    with pytest.raises(ValueError, match="unknown method"):
        at.attribute(sentiment, TEXT, method="magic")


@pytest.mark.slow
def test_an_entity_is_explained_by_its_own_words(ner):
    text = "Angela Merkel met Emmanuel Macron in Paris."
    r = ner.analyze(text)
    names = [e["text"] for e in r.predictions["entities"]]
    second = names.index("Emmanuel Macron")
    a = at.attribute(ner, text, target=second, words=True)
    assert a.target == "PER Emmanuel Macron"
    assert a.tokens[int(np.argmax(a.scores))] in {"Emmanuel", "Macron"}
    by_span = at.attribute(ner, text, target=(18, 33), words=True)
    np.testing.assert_allclose(by_span.scores, a.scores)


@pytest.mark.slow
def test_agreement_is_spearman_of_attention_and_attribution(sentiment):
    r = sentiment.analyze(TEXT)
    occ = at.attribute(sentiment, TEXT)
    table = at.agreement(r, [occ])
    tokens = [u[0] for u in occ.units]
    cls_attention = r.attentions[-1, :, 0, :].mean(0)[tokens]
    expected = spearmanr(cls_attention, np.abs(occ.scores)).statistic
    assert table["last-layer attention"]["occlusion"] == pytest.approx(expected)
    assert -1 <= table["rollout"]["occlusion"] <= 1


def test_targets_are_checked(sentiment):
    r = sentiment.analyze(TEXT)
    assert at.resolve_target(sentiment, r, "negative").label == "negative"
    with pytest.raises(ValueError, match="Unknown target"):
        at.resolve_target(sentiment, r, "<b>neutral</b>")
    base = bv.load("minilm", progress=False)
    with pytest.raises(ValueError, match="explain a prediction"):
        at.resolve_target(base, base.analyze(TEXT), None)


@pytest.mark.slow
def test_concurrent_integrated_gradients_all_succeed_and_agree(sentiment):
    """Two visitors' Explain clicks share one torch model per task model: Captum's hooks on it
    must not reach another thread's run (16 of 24 concurrent runs failed before)."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [TEXT, MIXED, "Dull.", "A wonderful, moving film that I will watch again soon."]
    alone = {t: at.gradients(sentiment, t, steps=8, max_steps=8).scores for t in texts}
    with ThreadPoolExecutor(16) as pool:
        runs = list(pool.map(lambda i: (texts[i % 4], at.gradients(
            sentiment, texts[i % 4], steps=8, max_steps=8).scores), range(16)))  # fmt: skip
    for text, scores in runs:
        np.testing.assert_allclose(scores, alone[text], rtol=1e-4, atol=1e-6)


def test_occlusion_in_runs_equals_masking_each_run(sentiment):
    """Bounded for a long input, occlusion masks runs of consecutive words: each run's score is
    the drop when exactly those tokens are masked, and the runs cover every word once."""
    text = " ".join([MIXED] * 6)
    full = at.occlusion(sentiment, text, words=True)
    runs = at.occlusion(sentiment, text, words=True, max_units=8)
    assert 1 < len(runs.units) <= 9 and "runs of" in runs.note and not full.note
    assert sorted(i for u in runs.units for i in u) == sorted(i for u in full.units for i in u)
    r = sentiment.analyze(text)
    mask_id = sentiment.tokenizer.mask_id
    goal = at.resolve_target(sentiment, r, None)
    for unit, score in list(zip(runs.units, runs.scores))[:3]:
        ids = list(r.encoding.ids)
        for i in unit:
            ids[i] = mask_id
        masked = sentiment.logits([replace(r.encoding, ids=ids)])[0]
        assert score == pytest.approx(goal.value(r.logits) - goal.value(masked), abs=1e-5)
    assert runs.tokens[0] == runs.tokens[0].strip() and " " in runs.tokens[0]  # the run's text


class Uniform(at.Method):
    """A method written in a test, as a person adding one would: f(x) shared equally."""

    name = "uniform"
    caveat = "every token gets the same share of f(x): a baseline, not an explanation."
    cost = "nothing beyond the analysis"

    def run(self, model, r, target, words=False, max_units=None, max_steps=at.MAX_STEPS):
        units = at.units_of(r.encoding, False)
        f_x = target.value(r.logits)
        return at.Attribution(tokens=[r.tokens[u[0]] for u in units], method=self.name,
                              scores=np.full(len(units), f_x / len(units), np.float32),
                              target=target.label, units=units, f_input=f_x)  # fmt: skip


@pytest.mark.slow
def test_a_method_is_one_class_and_one_registry_line(sentiment, monkeypatch):
    """Registered, a new method runs through attribute(), gets its row and its caveat in the
    Explain view and its column in the agreement table; nothing else changes."""
    from bertviz_lite import events, urlstate

    monkeypatch.setitem(at.METHODS, "uniform", Uniform())
    a = at.attribute(sentiment, TEXT, method="uniform", target="negative")
    assert a.target == "negative" and float(a.scores.sum()) == pytest.approx(a.f_input, rel=1e-5)
    state = urlstate.default_state(events.shape("sentiment"), text="Dull, but kind.",
                                   model="sentiment")  # fmt: skip
    out = events.render(state, "explain")
    assert "every token gets the same share" in out["explain.methods"]
    assert "<th>uniform</th>" in out["explain.agreement"]

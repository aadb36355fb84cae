"""The query–key space (views/qk_space.py) on MiniLM's default corpus, checked by definition:
the points are the sampled tokens' queries and keys, normalised and projected independently
here; the normalisation leaves the model's attention as it was; corpus text stays text."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

import bertviz_lite as bv
from bertviz_lite import events, urlstate
from bertviz_lite.context import Memo, ViewContext
from bertviz_lite.views import VIEWS
from bertviz_lite.views.qk_space import QK_TOKENS, normalise

pytestmark = pytest.mark.slow


def decode(spec: dict) -> np.ndarray:
    shape = [int(n) for n in spec["shape"].split(",")] if "shape" in spec else [-1]
    return np.frombuffer(base64.b64decode(spec["bdata"]), spec["dtype"]).reshape(shape)


@pytest.fixture(scope="module")
def drawn(default_corpus):
    """The view at layer 3, head 5 (its context and its figure under each colouring)."""
    r = events.analysis("minilm", "The cat sat.", None)
    ctx = ViewContext(r, events.model("minilm"), Memo(64 * 2**20), None,
                      lambda name: default_corpus)  # fmt: skip
    state = urlstate.default_state(events.shape("minilm"), text="The cat sat.")
    state = state.replace(qk_layer=3, qk_head=5)
    figures = {c: VIEWS["qk"].render(ctx, state.replace(qk_colour=c))["plot"]
               for c in ("query / key", "position", "part of speech")}  # fmt: skip
    return ctx, state, figures


def sampled(figure: dict) -> list[str]:
    """The sampled texts in sample order (corpus order), from the figure's meta."""
    texts = figure["layout"]["meta"]["qk"]["texts"]
    return [texts[s] for s in sorted(texts, key=int)]


def test_points_are_the_normalised_queries_and_keys_projected_by_pca(drawn):
    _, _, figures = drawn
    fig = figures["query / key"]
    runs = events.model("minilm").analyze_batch([(t, None) for t in sampled(fig)],
                                                extra=("queries", "keys"))  # fmt: skip
    q = np.concatenate([r.queries[2, 4] for r in runs]).astype(np.float64)  # layer 3, head 5
    k = np.concatenate([r.keys[2, 4] for r in runs]).astype(np.float64)
    # AttentionViz's normalisation, written out: equal mean norms (q·c, k/c), then the keys'
    # centroid moved onto the queries'.
    c = np.sqrt(np.linalg.norm(k, axis=1).mean() / np.linalg.norm(q, axis=1).mean())
    q2, k2 = q * c, k / c
    k2 = k2 + (q2.mean(0) - k2.mean(0))
    both = np.concatenate([q2, k2])
    centred = both - both.mean(0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    expected = u[:, :2] * s[:2]
    queries, keys = fig["data"]
    got = np.concatenate([np.stack([decode(t["x"]), decode(t["y"])], 1) for t in (queries, keys)])
    assert got.shape == expected.shape == (2 * len(q), 2)
    signs = np.sign((got * expected).sum(0))  # PCA's axes have no sign of their own
    np.testing.assert_allclose(got * signs, expected, atol=2e-3 * np.abs(expected).max())
    share = (s[:2] ** 2).sum() / (s**2).sum()
    assert f"({share:.0%} of variance)" in fig["layout"]["title"]["text"]


def test_the_normalisation_keeps_attention_and_matches_centroids_and_norms(drawn):
    _, _, figures = drawn
    texts = sampled(figures["query / key"])[:6]
    runs = events.model("minilm").analyze_batch([(t, None) for t in texts],
                                                extra=("queries", "keys"))  # fmt: skip
    q = np.concatenate([r.queries for r in runs], axis=2).astype(np.float64)
    k = np.concatenate([r.keys for r in runs], axis=2).astype(np.float64)
    q2, k2 = normalise(q, k)
    np.testing.assert_allclose(q2.mean(2), k2.mean(2), atol=1e-9)
    # The mean norms are matched by the scale (q·c and k/c), before the shift.
    c = q2[..., :1, :1] / q[..., :1, :1]
    np.testing.assert_allclose(np.linalg.norm(q2, axis=-1).mean(-1),
                               np.linalg.norm(k / c, axis=-1).mean(-1), rtol=1e-9)  # fmt: skip
    # Every text's attention, from the normalised vectors, is the model's own.
    start, d = 0, q.shape[-1]
    for r in runs:
        n = len(r.tokens)
        scores = q2[..., start : start + n, :] @ np.swapaxes(k2[..., start : start + n, :], -1, -2)
        scores = scores / np.sqrt(d)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        np.testing.assert_allclose(weights, r.attentions, atol=2e-4)
        start += n


def test_the_sample_is_whole_texts_stated_in_the_title(drawn, default_corpus):
    _, _, figures = drawn
    fig = figures["query / key"]
    texts = sampled(fig)
    model = events.model("minilm")
    tokens = sum(len(model.tokenizer.encode(t)) for t in texts)
    queries, keys = fig["data"]
    assert len(decode(queries["x"])) == len(decode(keys["x"])) == tokens <= QK_TOKENS
    assert tokens > QK_TOKENS * 0.8  # the budget is used, not a token or two
    title = fig["layout"]["title"]["text"]
    assert "Layer 3, head 5" in title and "PCA" in title
    assert f"a sample of {tokens:,} tokens<br>from {len(texts)} of the corpus's " in title
    assert f"of the corpus's {default_corpus.size:,} texts" in title
    # Every text is a corpus text, whole, and spread over the corpus (not its first ones).
    numbers = sorted(map(int, fig["layout"]["meta"]["qk"]["texts"]))
    assert default_corpus.texts(numbers) == {s: t for s, t in zip(numbers, texts)}
    assert numbers[-1] > default_corpus.size * 0.9
    # A click opens a text at this head: each point's first customdata is its text's number.
    where = decode(queries["customdata"])
    assert set(where[:, 0].tolist()) == set(numbers) and where[0, 1] == 0  # [CLS] first
    assert fig["layout"]["meta"]["qk"]["layer"] == 3 and fig["layout"]["meta"]["qk"]["head"] == 5
    assert len(fig.to_json()) < 400_000


def test_colourings(drawn):
    _, _, figures = drawn
    n = len(decode(figures["query / key"]["data"][0]["x"]))
    position = figures["position"]["data"]
    assert [t["marker"]["symbol"] for t in position] == ["circle", "diamond"]
    positions = decode(position[0]["marker"]["color"])
    assert position[0]["marker"]["cmax"] == int(np.percentile(positions, 95))
    assert len(positions) == n and positions.min() == 0
    pos = figures["part of speech"]["data"]
    names = [t["name"] for t in pos if t["showlegend"]]
    assert "NOUN" in names and "special" in names and len(names) <= 9
    assert sum(len(decode(t["x"])) for t in pos) == 2 * n
    assert all("%{fullData.name}" in t["hovertemplate"] for t in pos)


def test_another_head_runs_no_model(drawn):
    ctx, state, figures = drawn
    held = [k for k in ctx.memo.items if k[0] == "qk space"]
    other = VIEWS["qk"].render(ctx, state.replace(qk_layer=6, qk_head=12))["plot"]
    assert [k for k in ctx.memo.items if k[0] == "qk space"] == held
    assert "Layer 6, head 12" in other["layout"]["title"]["text"]
    assert Memo.size(ctx.memo.items[held[0]]) > 6 * 12 * 2 * 2 * 4 * 1000  # its arrays count
    assert other["layout"]["meta"] != figures["query / key"]["layout"]["meta"]


@pytest.fixture(scope="module")
def markup_corpus(tmp_path_factory):
    texts = ["The <b>cat</b> & the <script>alert(1)</script> dog sat.",
             "A plain sentence about a mat.", "<img src=x onerror=alert(2)> was here."]  # fmt: skip
    return bv.corpus.build("minilm", texts, out=tmp_path_factory.mktemp("qk") / "c",
                           progress=False)  # fmt: skip


def test_corpus_text_stays_text(markup_corpus):
    r = events.analysis("minilm", "The cat sat.", None)
    ctx = ViewContext(r, events.model("minilm"), Memo(2**26), None, lambda name: markup_corpus)
    state = urlstate.default_state(events.shape("minilm"), text="The cat sat.")
    fig = VIEWS["qk"].render(ctx, state)["plot"]
    hovers = [h for trace in fig["data"] for h in trace["text"]]
    assert any("&lt;script&gt;" in h for h in hovers) and any("&lt;img" in h for h in hovers)
    assert not any("<script" in h or "<img" in h or "<b>" in h for h in hovers)
    assert any("«cat»" in h for h in hovers)
    # The texts a click opens travel as they are: the page puts them in the address, not markup.
    assert "The <b>cat</b> & the <script>alert(1)</script> dog sat." in json.loads(
        fig.to_json())["layout"]["meta"]["qk"]["texts"].values()  # fmt: skip


def test_notebook(markup_corpus):
    shown = bv.corpus.open(markup_corpus.folder).show("qk", qk_layer=2, qk_head=3)
    assert "Layer 2, head 3" in shown.data and "scattergl" in shown.data
    assert "<script>alert(1)" not in shown.data

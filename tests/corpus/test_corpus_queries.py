"""Search against brute force over vectors recomputed by `analyze`; examples against each text's
own statistic; answers as named columns; bad questions answered in words."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_texts import TEXTS

import bertviz_lite as bv
from bertviz_lite.corpus.queries import HIT_COLUMNS
from bertviz_lite.errors import UserError

QUERY = "The bank closed the account."


def brute_force(minilm, built, layer: int, query: np.ndarray, pos: str | None = None):
    """(sentence, position) → cosine, for every non-special token of the corpus's texts."""
    tags = {}
    if pos is not None:
        for row in built.store.table("tokens").search().select(["sentence", "position", "pos"]).limit(None).to_arrow().to_pylist():
            tags[row["sentence"], row["position"]] = row["pos"]
    scores = {}
    for sentence, text in enumerate(TEXTS):
        if not text.strip():
            continue
        r = minilm.analyze(text)
        for position, word in enumerate(r.word_ids):
            if word is None or (pos is not None and tags[sentence, position] != pos):
                continue
            v = r.hidden_states[layer][position]
            scores[sentence, position] = float(v @ query / np.linalg.norm(v) / np.linalg.norm(query))
    return scores


@pytest.mark.slow
@pytest.mark.parametrize("layer", [0, 3, 6])
def test_search_finds_what_brute_force_finds(built, minilm, layer):
    r = minilm.analyze(QUERY)
    position = r.tokens.index("bank")
    hits = built.search(QUERY, position, layer, k=10)
    assert hits.column_names == list(HIT_COLUMNS)
    scores = brute_force(minilm, built, layer, r.hidden_states[layer][position])
    best = sorted(scores, key=scores.get, reverse=True)[:10]
    found = list(zip(hits.column("sentence").to_pylist(), hits.column("position").to_pylist()))
    assert found[:3] == best[:3] and set(found) == set(best)
    np.testing.assert_allclose(hits.column("score").to_numpy(), [scores[b] for b in found], atol=1e-4)
    assert hits.column("token").to_pylist()[0] == "bank"  # the two banks of sentence 4 lead
    assert hits.column("text").to_pylist()[0] == TEXTS[4]


@pytest.mark.slow
def test_a_text_of_the_corpus_finds_itself_first(built, minilm):
    text = TEXTS[9]
    r = minilm.analyze(text)
    for position in (1, r.tokens.index("ball")):
        hit = built.search(text, position, 4, k=1).to_pylist()[0]
        assert (hit["sentence"], hit["position"]) == (9, position)
        assert hit["score"] == pytest.approx(1.0, abs=1e-5) and hit["text"] == text


@pytest.mark.slow
def test_where_filters_before_the_nearest_are_chosen(built, minilm):
    r = minilm.analyze(QUERY)
    position = r.tokens.index("closed")
    hits = built.search(QUERY, position, 2, k=5, where="pos = 'NOUN'")
    assert set(hits.column("pos").to_pylist()) == {"NOUN"}
    scores = brute_force(minilm, built, 2, r.hidden_states[2][position], pos="NOUN")
    best = sorted(scores, key=scores.get, reverse=True)[:5]
    assert list(zip(hits.column("sentence").to_pylist(), hits.column("position").to_pylist())) == best
    places = built.search("Berlin", 1, 3, k=10, where="entity = 'GPE'").column("word").to_pylist()
    # "U.K." is one spaCy token (GPE) and four model words: U . K .
    assert set(places) <= {"U", "K", ".", "London", "Paris", "New", "York"} and "Paris" in places


@pytest.mark.slow
def test_examples_are_the_texts_with_the_highest_own_mean(built, minilm):
    layer, head = 2, 3
    means = {}
    for sentence, text in enumerate(TEXTS):
        if text.strip():
            a = minilm.analyze(text).attentions[layer, head]
            means[sentence] = float(np.mean([a[i, i - 1] if i else 0.0 for i in range(len(a))]))
    got = built.examples(layer, head, "to_prev", k=4)
    assert got.column_names == ["sentence", "text", "value", "tokens"]
    assert got.column("sentence").to_pylist() == sorted(means, key=means.get, reverse=True)[:4]
    np.testing.assert_allclose(got.column("value").to_numpy(),
                               sorted(means.values(), reverse=True)[:4], atol=1e-5)  # fmt: skip


def test_dependency_tables_name_their_columns(built):
    table = built.dependency_accuracy()
    assert table.column_names == ["relation", "dependents", "layer", "head", "accuracy",
                                  "baseline", "baseline_offset"]  # fmt: skip
    assert {"nsubj", "det", "punct"} <= set(table.column("relation").to_pylist())
    accuracy = table.column("accuracy").to_numpy()
    assert ((accuracy >= 0) & (accuracy <= 1)).all() and accuracy.max() == 1.0
    best = built.dependency_best().to_pylist()
    assert best[0]["dependents"] == max(r["dependents"] for r in best)


def test_size_and_model(built):
    assert built.size == 10 and built.model == "minilm"
    assert built.manifest["skipped"] == 2 and built.manifest["status"] == "complete"


@pytest.mark.parametrize("call, message", [
    (lambda c: c.search("", 1, 1), "needs a text"),
    (lambda c: c.search("A cat.", 9, 1), "position must be a whole number from 0 to 4"),
    (lambda c: c.search("A cat.", 1, 7), "layer must be a whole number from 0 to 6"),
    (lambda c: c.search("A cat.", 1, 1, k=0), "k must be"),
    (lambda c: c.search("A cat.", 1, 1, where="pos = = 1"), "cannot filter"),
    (lambda c: c.search("A cat.", 1, 1, where="colour = 'red'"), "cannot filter"),
    (lambda c: c.examples(6, 0, "to_prev"), "layer must be a whole number from 0 to 5"),
    (lambda c: c.examples(0, 0, "to_nowhere"), "unknown stat"),
    (lambda c: c.head_stats("gradient"), "unknown measure"),
])  # fmt: skip
def test_bad_questions_are_answered_in_words(built, call, message):
    with pytest.raises(UserError, match=message):
        call(built)


@pytest.mark.slow
def test_an_indexed_search_keeps_recall_at_10_over_095(tmp_path, monkeypatch, minilm):
    from bertviz_lite.corpus import store
    from bertviz_lite.corpus.sources import Source

    monkeypatch.setattr(store, "VECTOR_INDEX_FROM", 1000)
    texts = [t for _, t in zip(range(120), (t for _, t in Source("amazon")))]
    c = bv.corpus.build("minilm", texts, out=tmp_path / "c", vectors_layers=(2,), annotate=False,
                        progress=False)  # fmt: skip
    assert c.manifest["vector_index"] == "IVF_SQ" and c.manifest["tokens"] > 1000
    rows = c.store.table("tokens").search().select(["sentence", "position", "v2"]).limit(None).to_arrow()
    vectors = rows.column("v2").combine_chunks().flatten().to_numpy().reshape(rows.num_rows, -1)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    keys = list(zip(rows.column("sentence").to_pylist(), rows.column("position").to_pylist()))
    recalls = []
    for i in np.random.default_rng(0).choice(len(keys), 20, replace=False):
        sentence, position = keys[i]
        exact = {keys[j] for j in np.argsort(-(unit @ unit[i]))[:10]}
        hits = c.search(texts[sentence], position, 2, k=10)
        recalls.append(len(exact & set(zip(hits.column("sentence").to_pylist(),
                                            hits.column("position").to_pylist()))) / 10)  # fmt: skip
    assert np.mean(recalls) >= 0.95

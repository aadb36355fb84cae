"""spaCy's tags carried to the model's tokens, and its arcs to the model's words."""

from __future__ import annotations

import bertviz_lite as bv
from bertviz_lite.analysis import word_spans
from bertviz_lite.corpus.annotate import annotate


def test_tags_and_arcs_follow_the_models_words(minilm):
    r = minilm.analyze("I don't like New York.")
    units = word_spans(r.word_ids)
    (note,) = annotate([r.encoding], [units])
    tag = {tok: (p, d, e) for tok, p, d, e in zip(r.tokens, note.pos, note.dep, note.entity)}
    assert note.pos[0] is None and note.pos[-1] is None  # [CLS], [SEP]
    assert tag["york"][2] == "GPE" and tag["new"][2] == "GPE"
    assert tag["like"][1] == "ROOT" and tag["i"][1] == "nsubj"
    # spaCy splits "do" + "n't", WordPiece "don" + "'" + "t": "'" and "t" lie in "n't".
    assert tag["don"][1] == "aux" and tag["'"][1] == "neg" and tag["t"][1] == "neg"
    words = {u: "".join(r.tokens[t] for t in unit) for u, unit in enumerate(units)}
    arcs = {(words[d], words[h], rel) for d, h, rel in note.arcs}
    assert {("i", "like", "nsubj"), ("don", "like", "aux"), ("'", "like", "neg"),
            ("new", "york", "compound"), ("york", "like", "dobj")} <= arcs  # fmt: skip
    assert all(words[d] != "t" for d, _, _ in note.arcs)  # one arc per spaCy token


def test_spacy_reads_only_what_the_model_kept(minilm):
    text = "word " * 2000 + "Paris"
    r = minilm.analyze(text)
    (note,) = annotate([r.encoding], [word_spans(r.word_ids)])
    assert r.truncated and len(note.pos) == len(r.tokens) == minilm.config.max_tokens
    assert "GPE" not in note.entity  # Paris lies beyond the cut


def test_a_bare_corpus_has_no_tags(tmp_path):
    c = bv.corpus.build("minilm", ["The cat sat."], out=tmp_path / "c", annotate=False,
                        vectors_layers=(), progress=False)  # fmt: skip
    assert c.manifest["vectors_layers"] == []
    tokens = c.store.table("tokens").to_arrow()
    assert tokens.column("token").to_pylist() == ["the", "cat", "sat", "."]
    assert tokens.column("pos").null_count == tokens.column("entity").null_count == 4

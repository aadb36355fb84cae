"""Search by context on real corpora: MiniLM's default corpus, and a small one holding markup."""

from __future__ import annotations

import pytest

from bertviz_lite import events, urlstate
from bertviz_lite.context import ViewContext
from bertviz_lite.views import VIEWS, UserError
from bertviz_lite.views.context_search import PICKED, filters, token_units

VIEW = VIEWS["search"]
IMG = "<img src=x onerror=alert(1)>"
MARKUP = [f"An image {IMG} runs code in a page.", "Bold <b>x</b> marks a word.",
          "The cat sat on the mat.", "Plain words are here too."]  # fmt: skip


def context(text: str, corpus, pair: str | None = None) -> ViewContext:
    r = events.analysis("minilm", text, pair)
    return ViewContext(r, events.model("minilm"), events.CACHE, None, lambda name: corpus)


def state_for(text: str, pair: str = "", **settings):
    state = urlstate.default_state(events.shape("minilm"), text=text, pair=pair)
    return state.replace(**settings)


def hits_of(spans: list) -> list[dict]:
    """The hits as the page shows them: each line's score, its text and its tagged token."""
    lines, line = [], None
    for text, tag in spans[1:]:  # the first span: what was searched
        if tag is None and line is None:
            score, before = text.split("  ", 1)
            line = {"score": float(score), "text": before}
        elif tag is None:
            line["text"] += text.rstrip("\n")
            lines.append(line)
            line = None
        else:
            line.update(token=text, tags=tag.split(), at=len(line["text"]))
            line["text"] += text
    return lines


@pytest.fixture(scope="module")
def corpus_text(default_corpus) -> str:
    """A short text of the default corpus (shown whole in a hit)."""
    texts = default_corpus.texts(default_corpus.sample(40)).values()
    return next(t for t in texts if 30 < len(t) < 90 and "\n" not in t)


@pytest.fixture(scope="module")
def markup_corpus(tmp_path_factory):
    from bertviz_lite import corpus

    folder = tmp_path_factory.mktemp("markup") / "corpus"
    return corpus.build("minilm", MARKUP, out=folder, vectors_layers=[0, 6], progress=False)


@pytest.mark.parametrize("layer", [0, 3, 6])
@pytest.mark.parametrize("which", [0, 2, -1])  # at layer 0, a word at a position ties with others
def test_a_corpus_sentence_finds_itself_first(default_corpus, corpus_text, layer, which):
    ctx = context(corpus_text, default_corpus)
    units = [u for u in token_units(ctx.analysis) if u[1] is not None]
    text, position = units[which]
    out = VIEW.render(ctx, state_for(corpus_text, search_token=position, search_layer=layer))
    hits = hits_of(out["hits"])
    assert len(hits) == 10
    first = hits[0]
    assert first["score"] > 0.999
    assert first["text"] == corpus_text and first["token"] == text.strip()
    assert first["at"] == ctx.analysis.encoding.offsets[position][0]  # that very token
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert f"at layer {layer}, by cosine" in out["hits"][0][0]


def test_an_int8_analysis_searches_with_the_corpus_vectors(default_corpus, corpus_text):
    r = events.analysis("minilm", corpus_text, None, variant="int8")
    ctx = ViewContext(r, events.model("minilm", "int8"), events.CACHE, None,
                      lambda name: default_corpus)  # fmt: skip
    out = VIEW.render(ctx, state_for(corpus_text, variant="int8", search_token=1))
    assert out["hits"][0][0].startswith("Your analysis ran at another precision")
    first = hits_of(out["hits"])[0]
    assert first["text"] == corpus_text and first["at"] == 0 and first["score"] > 0.999


def test_filters_hold(default_corpus, corpus_text):
    ctx = context(corpus_text, default_corpus)
    for pos, entity, check in [
        ("NOUN", "none", lambda tags: tags[0] == "NOUN" and len(tags) == 2),
        ("any", "PERSON", lambda tags: tags[-1] == "PERSON"),
        ("PROPN", "GPE", lambda tags: tags[0] == "PROPN" and tags[-1] == "GPE"),
    ]:
        state = state_for(corpus_text, search_pos=pos, search_entity=entity, search_k=20)
        hits = hits_of(VIEW.render(ctx, state)["hits"])
        assert hits and all(check(h["tags"]) for h in hits), (pos, entity, hits[:2])


def test_too_strict_filters_say_so(markup_corpus):
    ctx = context(MARKUP[2], markup_corpus)
    out = VIEW.render(ctx, state_for(MARKUP[2], search_layer=6, search_pos="INTJ",
                                     search_entity="LAW"))  # fmt: skip
    assert out["hits"] == [("No corpus token is INTJ, LAW: loosen the filters.", None)]


def test_filters_only_from_the_choices():
    assert filters("any", "any") is None
    assert filters("NOUN", "none") == "pos = 'NOUN' AND entity IS NULL"
    with pytest.raises(UserError):
        filters("NOUN' OR 1=1 --", "any")


def test_summary_shares_per_layer(default_corpus, corpus_text):
    ctx = context(corpus_text, default_corpus)
    figure = VIEW.render(ctx, state_for(corpus_text, search_k=20))["summary"]
    layers = default_corpus.manifest["vectors_layers"]
    assert all(trace["x"] == layers for trace in figure["data"])
    for i in range(len(layers)):
        assert sum(trace["y"][i] for trace in figure["data"]) == pytest.approx(1)
    names = {trace["name"] for trace in figure["data"]}
    assert names <= {"ADJ", "NOUN", "PROPN", "VERB", "PUNCT", "ADP", "DET", "AUX", "PRON",
                     "PART", "ADV", "NUM", "CCONJ", "SCONJ", "SYM", "INTJ", "X", "other"}  # fmt: skip
    # With a POS picked, every neighbour has that POS: the chart tells their relations instead.
    figure = VIEW.render(ctx, state_for(corpus_text, search_pos="NOUN"))["summary"]
    assert "dependency relations" in figure["layout"]["title"]["text"]


def test_a_click_picks_that_token(default_corpus):
    ctx = context("Tokenization works.", default_corpus, "It really does.")
    r = ctx.analysis
    state = state_for("Tokenization works.", "It really does.")
    units = token_units(r)
    shown = "".join(text for text, _ in units).replace("  ‖  ", " ")
    assert shown == "Tokenization works. It really does."
    for i, (text, position) in enumerate(units):
        change = VIEW.select(r, state, [i, text])
        if position is None:  # the separator of the two sentences
            assert change == {}
            continue
        assert change == {"search_token": position}
        assert r.encoding.sequence_ids[position] is not None  # never [CLS] or [SEP]
        shown = VIEW.render(ctx, state.replace(**change))["tokens"]
        assert [t for t, tag in shown if tag == PICKED] == [text]
    # A number out of the text (or on a special token) searches the nearest token.
    shown = VIEW.render(ctx, state.replace(search_token=500))["tokens"]
    assert [t for t, tag in shown if tag == PICKED] == ["."]


def test_markup_in_the_corpus_stays_text(markup_corpus):
    ctx = context(MARKUP[0], markup_corpus)
    r = ctx.analysis
    position = next(p for text, p in token_units(r) if text.strip() == "<")
    out = VIEW.render(ctx, state_for(MARKUP[0], search_token=position, search_layer=6))
    first = hits_of(out["hits"])[0]
    # The spans carry the corpus's characters as they are; the page shows spans as text.
    assert first["text"] == MARKUP[0] and first["token"] == "<" and first["score"] > 0.999
    assert VIEW.outputs[1].kind == "entities"
    assert not any("&lt;" in text for text, _ in out["hits"])
    # Plotly renders some HTML in titles: the token is escaped there.
    assert "“&lt;”" in out["summary"]["layout"]["title"]["text"]


def test_a_layer_without_vectors_says_which_it_has(markup_corpus):
    ctx = context(MARKUP[2], markup_corpus)
    with pytest.raises(UserError, match=r"no vectors at layer 3.*layers 0, 6"):
        VIEW.render(ctx, state_for(MARKUP[2], search_layer=3))


def test_in_a_notebook(markup_corpus):
    shown = markup_corpus.show("search", MARKUP[0], search_token=2, search_layer=6)
    assert "plotly" in shown.data and "layer by layer" in shown.data
    assert IMG not in shown.data and "&lt;img src=x onerror=alert(1)&gt;" in shown.data

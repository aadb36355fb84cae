"""The page's event handlers, called as Gradio calls them: the page's values by name in, values
by name out (the browser tests run them behind a real server)."""

from __future__ import annotations

from bertviz_lite import handlers

NER_TEXT = "Angela Merkel met Emmanuel Macron in Paris."


def page_values(**values):
    return {"text": NER_TEXT, "pair": "", "model": "ner", "view": "head", **values}


def test_an_analysis_names_an_ner_models_pickers_as_updates():
    out = handlers.analyzer(["head.plot"])(**page_values(heads_target="entity 2"))
    picker = out["heads_target"]
    assert picker["__type__"] == "update" and picker["value"] == "entity 2"
    assert [name for name, _ in picker["choices"]] == [
        "Angela Merkel (PER)", "Emmanuel Macron (PER)", "Paris (LOC)"]  # fmt: skip
    assert out["explain_target"]["value"] == "entity 1"


def test_selecting_the_open_tab_draws_nothing():
    """The browser selects the first tab as the page mounts, with the values from before a link
    is restored: that select must not draw them over the link's."""
    assert handlers.opener("head")(**page_values(view="head")) == {}
    opened = handlers.opener("overview")(**page_values(view="head"))
    assert opened["view"] == "overview" and "overview.grid" in opened

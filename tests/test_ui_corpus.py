"""The corpus views in Chromium against a real server on MiniLM's default corpus: the head atlas
draws and a click on a head shows its examples; search by context returns the clicked token's own
sentence first; the query–key plot draws and a click on a point opens its sentence."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from benchmarks.appserver import running_app

# A corpus text (assets/default_corpus.txt, line 1): its own tokens must find it first.
CORPUS_TEXT = ("Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn (£600m) for "
               "the three months to December, from $639m year-earlier.")  # fmt: skip


@pytest.fixture(scope="module")
def server(default_corpus):  # built before the app starts, which then finds it in the cache
    with running_app(timeout=180) as app:
        yield app.url


def opened(browser, server, width: int = 1400, **query):
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.set_default_timeout(120_000)
    page.goto(server + "?" + urlencode(query))
    return page


@pytest.mark.parametrize("width", [1400, 390])
def test_the_atlas_draws_and_a_click_on_a_head_shows_its_examples(server, browser, width):
    page = opened(browser, server, width, text="The quick brown fox jumps over the lazy dog.",
                  view="atlas")  # fmt: skip
    page.wait_for_function("document.querySelector('#atlas img')?.naturalWidth > 0")
    page.wait_for_function("document.querySelector('#atlas-examples .gtitle')"
                           "?.textContent.includes('layer 1, head 1')")  # fmt: skip
    # layer 3, head 5: the tile's centre, in the image's own pixels scaled to the page's
    img = page.locator("#atlas img")
    natural, box = img.evaluate("e => [e.naturalWidth, e.naturalHeight]"), img.bounding_box()
    scale = box["width"] / natural[0]
    x, y = (4 * 42 + 20) * scale, (2 * 42 + 20) * scale
    img.click(position={"x": x, "y": y})
    page.wait_for_function("document.querySelector('#atlas-examples .gtitle')"
                           "?.textContent.includes('layer 3, head 5')")  # fmt: skip
    captions = page.locator("#atlas-examples .annotation-text").all_text_contents()
    assert len(captions) == 4 and all("→" in c for c in captions), captions
    assert "layer 3, head 5" in page.locator("#atlas-head .gtitle").text_content()
    assert "layer=3" in page.locator("#share-link textarea").input_value()
    notes = page.locator("#notes textarea")
    assert not notes.is_visible() or "Error" not in notes.input_value()
    page.close()

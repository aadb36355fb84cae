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
    assert "layer=3" in page.locator("#share-link input").input_value()
    notes = page.locator("#notes textarea")
    assert not notes.is_visible() or "Error" not in notes.input_value()
    page.close()


def test_a_search_finds_the_clicked_tokens_own_sentence_first(server, browser):
    page = opened(browser, server, text=CORPUS_TEXT, view="search")
    page.wait_for_function("document.querySelector('#search-hits .token')"
                           "?.textContent.includes('nearest to')")  # fmt: skip
    page.locator("#search-tokens .token", has_text="profits").first.click()
    page.wait_for_function("document.querySelector('#search-hits .token')"
                           "?.textContent.includes('“profits”')")  # fmt: skip
    spans = page.locator("#search-hits .token").all_inner_texts()
    # after the header, the first hit: the corpus's own sentence, the clicked token marked in it
    first = next(i for i, s in enumerate(spans) if "Quarterly" in s)
    assert first <= 2, spans[:5]
    assert spans[first + 1].startswith("profits"), spans[first : first + 3]
    assert "search_token=2" in page.locator("#share-link input").input_value()
    assert page.locator("#search-summary .js-plotly-plot").count() == 1
    page.close()


@pytest.mark.parametrize("width", [1400, 390])
def test_the_query_key_plot_draws_and_a_click_opens_a_sentence(server, browser, width):
    page = opened(browser, server, width, text="The cat sat.", view="qk", qk_layer=3, qk_head=5)
    page.wait_for_function("document.querySelector('#qk-plot .js-plotly-plot')?.layout?.meta?.qk")
    page.locator("#qk-plot").scroll_into_view_if_needed()
    # a point with no other near it, so that the click cannot land on a neighbour
    point = page.evaluate("""() => {
        const gd = document.querySelector('#qk-plot .js-plotly-plot');
        const L = gd._fullLayout, d = gd._fullData[0], box = gd.getBoundingClientRect();
        let best = 0, far = -1;
        for (let i = 0; i < d.x.length; i += 7) {
            let near = Infinity;
            for (const t of gd._fullData) for (let j = 0; j < t.x.length; j++) {
                if (t === d && j === i) continue;
                near = Math.min(near, (t.x[j] - d.x[i]) ** 2 + (t.y[j] - d.y[i]) ** 2);
            }
            if (near > far) { far = near; best = i; }
        }
        return {x: box.left + L.xaxis._offset + L.xaxis.l2p(d.x[best]),
                y: box.top + L.yaxis._offset + L.yaxis.l2p(d.y[best]),
                text: gd.layout.meta.qk.texts[String(d.customdata[best][0])]};
    }""")
    page.mouse.move(point["x"], point["y"])
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("new URLSearchParams(location.search).get('view') === 'head'")
    params = page.evaluate("Object.fromEntries(new URLSearchParams(location.search))")
    assert params["text"] == point["text"] and params["layer"] == "3" and params["head"] == "5"
    page.wait_for_function("document.querySelector('#head-plot .gtitle')"
                           "?.textContent.includes('layer 3, head 5')")  # fmt: skip
    assert page.locator("textarea").first.input_value() == params["text"]
    page.close()


@pytest.mark.parametrize("width", [1400, 390])
def test_what_each_layer_knows(server, browser, width):
    page = opened(browser, server, width, text="The quick brown fox jumps over the lazy dog.",
                  view="probes", probe_label="dep")  # fmt: skip
    page.get_by_role("button", name="Probe every layer").click()
    page.wait_for_function("document.querySelector('#probe-plot .gtitle')"
                           "?.textContent.includes('dep probe')")  # fmt: skip
    legend = page.locator("#probe-plot .legend").text_content()
    assert "control task" in legend and "selectivity" in legend and "majority" in legend
    assert "expected layer" in page.locator("#probe-plot .annotation-text").first.text_content()
    note = page.locator("#probe-note").inner_text()
    assert "Hewitt & Liang" in note and "expected layer minilm" in note
    box = page.locator("#probe-plot .js-plotly-plot").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1  # not cut off
    page.screenshot(path=f"/tmp/probes-{width}.png", full_page=True)
    page.close()

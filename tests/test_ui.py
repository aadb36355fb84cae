"""The app for real: a server on loopback, gradio_client on its endpoints, Chromium on its page.

Screenshots go to $BERTVIZ_LITE_SCREENSHOTS (default: a temp folder); the README's screenshot is
the one this test takes (`BERTVIZ_LITE_SCREENSHOTS=assets python -m pytest tests/test_ui.py`).
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
from browser_pages import open_tab

from benchmarks.appserver import running_app

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(
    os.environ.get("BERTVIZ_LITE_SCREENSHOTS") or tempfile.mkdtemp(prefix="bertviz-shots-")
)
MARKUP = '<img src=x onerror=alert(1)> "><svg onload=alert(2)> <script>alert(3)</script> tail'


APP = None  # the running app of this module's tests (its log, for the start line)


@pytest.fixture(scope="module")
def server():
    global APP
    with running_app(timeout=180) as app:
        APP = app
        yield app.url


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


@pytest.fixture(scope="module")
def app_log(server):
    return APP.log_file


def test_the_start_line_names_the_apps_own_share_flag(app_log):
    """Gradio's own line said to "set share=True in launch()"; the app's flag is --share."""
    deadline = time.monotonic() + 30  # printed just after the server answers its first request
    while "--share" not in (started := app_log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "* Running on http://127.0.0.1:" in started
    assert "python app.py --share" in started and "share=True" not in started


def test_binds_to_loopback_only(server):
    port = int(server.rstrip("/").rsplit(":", 1)[1])
    others = [
        a for a in socket.gethostbyname_ex(socket.gethostname())[2] if not a.startswith("127.")
    ]
    for address in others:
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(1)
            s.connect((address, port))


def test_named_endpoints(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/predict", "/analyze"} <= names


@pytest.mark.parametrize(("model", "text", "check"), [
    ("minilm", "A plain sentence.", lambda p: p is None),
    ("sentiment", "This movie was wonderful, I loved every minute of it.", lambda p: p["label"] == "positive"),
    ("topic", "The striker scored twice as United won the league match on Saturday.", lambda p: p["label"] == "sport"),
    ("ner", "Barack Obama visited Paris.", lambda p: {"PER", "LOC"} <= {e["label"] for e in p["entities"]}),
])  # fmt: skip
def test_predict_each_model(client, model, text, check):
    out = client.predict(text, "", model, api_name="/predict")
    assert out["model"] == model and check(out["predictions"])


def test_analyze_returns_tensors_as_a_file(client):
    out, npz = client.predict(text="The cat sat.", pair="It purred.", model="minilm",
                              api_name="/analyze")  # fmt: skip
    with np.load(npz) as data:
        att, hidden = data["attentions"], data["hidden_states"]
    T = len(out["tokens"])
    assert att.shape == (6, 12, T, T) and np.allclose(att.sum(-1), 1, atol=2e-3)
    assert hidden.shape == (7, T, 384) and out["segment_ids"][-1] == 1


def test_analyze_at_512_tokens_is_usable_from_gradio_client(client):
    out, npz = client.predict(text="word " * 600, api_name="/analyze")
    assert len(out["tokens"]) == 512 and out["truncated"]
    with np.load(npz) as data:
        assert data["attentions"].shape == (6, 12, 512, 512)


def test_explore_takes_named_values(client):
    out = client.predict(text="The cat sat on the mat.", model="sentiment", layer=2, head=3,
                         api_name="/explore")  # fmt: skip
    names = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    params = [p["parameter_name"] for p in names["/explore"]["parameters"]]
    assert params[:3] == ["text", "pair", "model"]
    assert {"variant", "view", "layer", "heads_off"} <= set(params)
    assert any("layer 2, head 3" in str(value) for value in out)


@pytest.mark.parametrize(("bad", "message"), [
    (("", "", "minilm"), "empty"), (("hi", "", "/etc/passwd"), "Unknown model"),
    (("hi", "", "nope"), "Unknown model"), (("hi", "", None), "Unknown model"),
    ((123, "", "minilm"), "must be text"), ((["a"], "", "minilm"), "must be text"),
])  # fmt: skip
def test_bad_requests_get_messages(client, bad, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as err:
        client.predict(*bad, api_name="/predict")
    assert message in str(err.value)


@pytest.mark.parametrize(("setting", "message"), [
    ({"layer": "abc"}, "Layer (layer) must be a number from 1 to 6, not 'abc'"),
    ({"layer": [1]}, "(layer) must be a number"), ({"layer": None}, "layer 1, head 1"),
    ({"threshold": float("nan")}, "Hide links below (threshold) must be a number from 0 to 0.5, not nan"),
    ({"heads_off": "L1H1"}, "(heads_off) must be a list"), ({"view": "nope"}, "Unknown view"),
])  # fmt: skip
def test_bad_settings_get_messages(server, setting, message):
    """/explore with a setting of the wrong kind, sent as raw JSON (gradio_client cannot send
    NaN): the answer names the setting, instead of Gradio's message for an unexpected error."""
    import json

    import httpx
    from gradio_client import Client

    info = Client(server, verbose=False).view_api(print_info=False, return_format="dict")
    params = info["named_endpoints"]["/explore"]["parameters"]
    values = {"text": "The cat sat.", **setting}
    data = [values.get(p["parameter_name"], p.get("parameter_default")) for p in params]
    with httpx.Client(timeout=60) as http:
        post = http.post(f"{server}gradio_api/call/explore", content=json.dumps({"data": data}),
                         headers={"Content-Type": "application/json"})  # fmt: skip
        answer = http.get(f"{server}gradio_api/call/explore/{post.json()['event_id']}").text
    if setting == {"layer": None}:  # left out: the default
        assert "event: complete" in answer and message in answer, answer[:300]
    else:
        assert "event: error" in answer and message in answer, answer[:300]


def test_a_lone_surrogate_is_answered(server):
    # gradio_client cannot even send one; JSON can ("\\ud800"), so plain HTTP does.
    import json
    import urllib.request

    body = json.dumps({"data": ["half \ud800 a pair", "", "minilm"]}).encode()
    post = urllib.request.Request(f"{server}gradio_api/call/predict", data=body, method="POST",
                                  headers={"Content-Type": "application/json"})  # fmt: skip
    event = json.loads(urllib.request.urlopen(post, timeout=60).read())["event_id"]
    stream = urllib.request.urlopen(f"{server}gradio_api/call/predict/{event}", timeout=120)
    answer = stream.read().decode()
    assert "event: complete" in answer and '"[CLS]"' in answer


def test_uploads_are_refused(server):
    import urllib.error
    import urllib.request

    body = b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.bin\"\r\n\r\n"
    body += b"x" * 50_000 + b"\r\n--b--\r\n"
    request = urllib.request.Request(f"{server}gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": "multipart/form-data; boundary=b"})  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 403  # closed (serve.NoUploads), not merely size-limited


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(60_000)  # a 2-core CI machine exporting models is slow, not broken
    page.dialogs, page.errors = [], []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    assert page.dialogs == [], f"user text ran as code: {page.dialogs}"
    page.close()


def wait_plot(page, selector: str):
    page.wait_for_selector(f"{selector} .js-plotly-plot .main-svg", timeout=60_000)


def test_first_visit_shows_an_analysed_example(server, page):
    """From its first paint the page holds the example it analyses (it showed an empty text and
    another model for a second before)."""
    page.goto(server, wait_until="commit")
    text = page.get_by_label("Text")
    text.wait_for()
    assert text.input_value() == "This movie was wonderful, I loved every minute of it."
    assert page.get_by_label("Model").input_value() == "MiniLM sentiment"
    page.wait_for_function(
        "document.querySelector('#head-plot .main-svg')?.textContent.includes('wonderful')",
        timeout=180_000,
    )
    page.wait_for_selector("#prediction .output-class", timeout=60_000)
    assert page.locator("#entities").is_hidden()  # no empty box for a prediction that is not
    assert "text=This+movie" in page.url


@pytest.mark.parametrize("width", [1400, 390])
def test_enter_and_arrow_keys_redraw(server, page, width):
    """A head typed in the slider's box and Enter, or the slider's arrow keys, redraw at once
    (before, the old head stayed drawn until focus left the box)."""
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(server)
    title = "document.querySelector('#head-plot .gtitle')?.textContent"
    page.wait_for_function(f"{title}?.includes('head 1')", timeout=180_000)
    box = page.get_by_label("number input for Head")
    box.fill("5")
    box.press("Enter")
    page.wait_for_function(f"{title}?.includes('head 5')", timeout=30_000)
    assert box.evaluate("b => document.activeElement === b")  # drawn with the focus still there
    slider = page.get_by_label("range slider for Head")
    slider.focus()
    slider.press("ArrowRight")
    page.wait_for_function(f"{title}?.includes('head 6')", timeout=30_000)
    slider.press("ArrowLeft")
    slider.press("ArrowLeft")
    page.wait_for_function(f"{title}?.includes('head 4')", timeout=30_000)


@pytest.mark.parametrize("width", [1400, 390])
def test_long_work_says_how_far_it_is_and_can_be_cancelled(server, page, width):
    """Ranking the heads of a 512-token text (72 runs): a Cancel button and a progress bar that
    counts the runs and says the time left; Cancel stops the work on the server (this visitor's
    next long job is admitted a second later; it was refused while the first ran on), with no
    error, and the button goes when the work is done."""
    # A text of its own per width: the server keeps what it ranked, and would not count again.
    text = f"The {width} quick brown foxes jump over the lazy dog near the river bank. " * 40
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{server}?{urlencode({'text': text, 'model': 'sentiment', 'view': 'heads'})}")
    rank, cancel = (page.get_by_role("button", name=n) for n in ("Rank the heads", "Cancel"))
    assert cancel.is_hidden()
    counting = """() => [...document.querySelectorAll('[data-testid=status-tracker]')].some(
        (e) => /Each head switched off: \\d+ of 72, ~\\d+ s (left|more)/.test(e.innerText))"""
    rank.click()
    cancel.wait_for(state="visible")
    page.wait_for_function(counting, timeout=120_000)
    cancel.click()
    cancel.wait_for(state="hidden")
    page.wait_for_timeout(1000)
    rank.click()
    page.wait_for_function(counting, timeout=120_000)  # admitted: the first job has stopped
    page.wait_for_selector("#heads-grid img", timeout=180_000)
    cancel.wait_for(state="hidden")
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()


@pytest.mark.parametrize("width", [1400, 390])
def test_a_tab_that_does_not_apply_says_why_without_an_error(server, page, width):
    """Fill the mask on a classifier: the tab and its own controls say why in the notes; no
    error toast (moving its layer slider raised one)."""
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{server}?{urlencode({'text': 'A fine film.', 'model': 'sentiment', 'view': 'fill'})}")
    notes = "document.querySelector('#notes textarea')?.value"
    said = "Fill the mask: sentiment is not a masked-LM model"
    page.wait_for_function(f"{notes}?.includes('{said}')", timeout=120_000)
    slider = page.get_by_label("range slider for Attention at layer")
    slider.focus()
    slider.press("ArrowLeft")
    page.wait_for_timeout(3000)
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
    assert said in page.locator("#notes textarea").input_value()


def test_the_model_menu_shows_its_own_prediction_box(server, page):
    """Picking a model shows the box of its task and analyses the text with it; Analyze then
    fills the same box without touching the boxes' visibility."""
    page.goto(server)
    page.wait_for_selector("#prediction .output-class", timeout=180_000)
    page.get_by_label("Text").fill("Angela Merkel met Emmanuel Macron in Paris.")
    page.get_by_label("Model").click()
    page.get_by_role("option", name="MiniLM NER").click()
    page.wait_for_selector("#prediction", state="hidden", timeout=60_000)
    page.wait_for_selector("#entities :text('PER')", timeout=180_000)  # analysed on its own
    page.wait_for_function("location.search.includes('model=ner')", timeout=60_000)
    page.get_by_label("Text").fill("Barack Obama visited Berlin.")
    page.get_by_role("button", name="Analyze").click()
    page.wait_for_selector("#entities :text('Berlin')", timeout=180_000)
    assert page.locator("#prediction").is_hidden() and page.errors == []


def test_colour_bars_follow_the_address_bar(server, page):
    """Opening a tab draws its plots, then the address bar follows (view=...): every gradient or
    clip reference in the plots must point at the page's address as it is now, else the colour
    bars render white."""
    page.goto(f"{server}?text=The+cat+sat+on+the+mat.&model=minilm")
    page.wait_for_selector("#head-plot .js-plotly-plot .cbfill", timeout=120_000)
    open_tab(page, "Token vectors")
    page.wait_for_selector("#similarity .js-plotly-plot .cbfill", timeout=60_000)
    page.wait_for_function("location.search.includes('view=embeddings')", timeout=60_000)
    page.wait_for_timeout(300)  # the address is set, then the references follow it
    refs = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot *'))
        .flatMap(el => ['style', 'clip-path', 'fill'].map(a => el.getAttribute(a) || ''))
        .filter(v => v.includes('url(') && v.includes('http'))""")
    here = page.evaluate("location.href.split('#')[0]")
    assert refs and all(here + "#" in ref for ref in refs), refs[:3]


def test_an_example_of_another_model_brings_its_controls(server, page):
    """The NER example switches the model: the Explain view then offers its entities, not the
    sentiment labels the page started with."""
    page.goto(server)
    page.wait_for_selector("#prediction .output-class", timeout=180_000)
    open_tab(page, "Explain")
    page.get_by_role("radio", name="negative").wait_for()
    page.get_by_text("Angela Merkel met").first.click()
    page.wait_for_selector("#entities :text('PER')", timeout=180_000)
    page.get_by_role("radio", name="Angela Merkel (PER)").wait_for(timeout=60_000)
    assert page.get_by_role("radio", name="negative").count() == 0 and page.errors == []


# example text → (a token its heatmap must show, where its prediction appears)
EXAMPLE_CHECKS = {
    "The animal didn't cross": ("animal", None),
    "A man is playing a guitar": ("guitar", None),
    "This movie was wonderful": ("wonderful", "#prediction"),
    "Shares in the bank fell": ("shares", "#prediction"),
    "Angela Merkel met": ("angela", "#entities"),
}


def test_examples_and_every_view(server, page):
    page.goto(server)
    # the first visit analyses an example itself: let it finish, or it can land after a click
    page.wait_for_function(
        "document.querySelector('#head-plot .main-svg')?.textContent.includes('wonderful')",
        timeout=180_000,
    )
    for start, (token, prediction) in EXAMPLE_CHECKS.items():
        open_tab(page, "One head")
        page.get_by_text(start).first.click()
        # this example's own plot, not the last one's (a first use exports the model: slow)
        page.wait_for_function(
            f"document.querySelector('#head-plot .main-svg')?.textContent.includes({token!r})",
            timeout=180_000,
        )
        if prediction == "#entities":
            page.wait_for_selector("#entities :text('PER')", timeout=60_000)
            page.wait_for_selector("#entities :text('LOC')", timeout=60_000)
        elif prediction:
            page.wait_for_selector("#prediction .output-class", timeout=60_000)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / "screenshot.png"), full_page=True)
    open_tab(page, "All heads")
    page.wait_for_function(
        "document.querySelector('#overview img')?.naturalWidth > 0", timeout=60_000
    )
    page.screenshot(path=str(SHOTS / "overview.png"))
    open_tab(page, "Token vectors")
    wait_plot(page, "#projection")
    wait_plot(page, "#similarity")
    page.screenshot(path=str(SHOTS / "embeddings.png"))
    open_tab(page, "Switch heads off")
    page.get_by_role("button", name="Compare predictions").click()
    page.wait_for_function(
        "document.querySelector('#ablation-change textarea')?.value.length > 0", timeout=60_000
    )
    open_tab(page, "Share & export")
    page.get_by_role("button", name="Prepare the tensors for download").click()
    page.wait_for_selector("a[href*='analysis.npz']", timeout=60_000)
    assert page.errors == []


def test_url_state_is_restored(server, page):
    query = urlencode({"text": "The keys to the cabinet are on the table.", "model": "minilm",
                       "layer": 3, "head": 5, "view": "head", "words": 1})  # fmt: skip
    page.goto(f"{server}?{query}")
    wait_plot(page, "#head-plot")
    page.wait_for_function(
        "document.querySelector('#head-plot').innerText.includes('layer 3, head 5')"
    )
    assert "cabinet" in page.locator("#head-plot").inner_text()
    page.goto(f"{server}?text=hello&layer=99&model=/etc&view=nowhere")
    wait_plot(page, "#head-plot")
    wait_note(page, "layer 99 is out of range")
    wait_note(page, "unknown model")
    page.wait_for_function(
        "document.querySelector('#head-plot').innerText.includes('layer 6, head 1')"
    )


def test_a_late_tab_select_does_not_draw_over_a_link(server, page):
    """The browser selects the first tab as the page mounts; that event carries the page's
    values before the link is restored (the first example). Held back until the link's analysis
    is drawn (as a loaded server can order them), it must not put the first example's figure and
    empty notes over the link's (a CI run once lost "layer 99 is out of range" so)."""
    import json
    import urllib.request

    with urllib.request.urlopen(f"{server}config", timeout=30) as answer:
        dependencies = json.load(answer)["dependencies"]
    selects = {i for i, d in enumerate(dependencies) if any(t[1] == "select" for t in d["targets"])}
    held = []

    def hold_selects(route):
        if json.loads(route.request.post_data or "{}").get("fn_index") in selects and not held:
            held.append(route)  # sent once the link's analysis is on the page
        else:
            route.continue_()

    page.route("**/queue/join*", hold_selects)
    page.goto(f"{server}?text=Held+back+tab+selects&layer=99")
    page.wait_for_function(
        "document.querySelector('#head-plot')?.innerText.includes('selects')", timeout=60_000
    )
    wait_note(page, "layer 99 is out of range")
    assert held, "the page sent no tab select as it mounted"
    held[0].continue_()
    page.wait_for_timeout(3000)  # the held event's answer
    notes = page.evaluate("document.querySelector('#notes textarea')?.value ?? 'hidden'")
    assert "layer 99 is out of range" in notes, notes
    assert "selects" in page.locator("#head-plot").inner_text()


@pytest.mark.parametrize("view", ["explain", "heads", "head", "fill"])
def test_a_link_to_another_model_opens_without_a_false_error(server, page, view):
    """A link to the NER model: the page's first events carry the default model's choices
    ("predicted"); none may end in an error toast, and the address bar keeps the link (a stale
    event once wrote a bare "/?" over it)."""
    query = urlencode({"text": "Angela Merkel met Emmanuel Macron in Paris.", "model": "ner",
                       "view": view})  # fmt: skip
    page.goto(f"{server}?{query}")
    page.wait_for_function(
        "document.querySelector('#entities')?.innerText.includes('Paris')", timeout=60_000
    )
    page.wait_for_timeout(1500)  # the events that follow the analysis
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
    assert "model=ner" in page.url and (view == "head" or f"view={view}" in page.url), page.url
    link = page.locator("#share-link input").input_value()
    assert "model=ner" in link, link
    assert page.errors == []


@pytest.mark.parametrize("view", ["heads", "explain"])
def test_an_ner_models_pickers_name_the_texts_entities(server, page, view):
    """The target pickers offered "entity 1" … "entity 8" for a text with three: they name the
    entities found, and follow the next text."""
    query = urlencode({"text": f"Angela Merkel met Emmanuel Macron in Paris ({view}).",
                       "model": "ner", "view": view})  # fmt: skip
    page.goto(f"{server}?{query}")
    page.get_by_role("radio", name="Paris (LOC)").wait_for(timeout=60_000)
    panel = page.locator(".tabitem:visible")
    names = panel.get_by_role("radio").evaluate_all("rs => rs.map(r => r.labels[0].innerText)")
    assert names == ["Angela Merkel (PER)", "Emmanuel Macron (PER)", "Paris (LOC)"], names
    page.get_by_role("radio", name="Emmanuel Macron (PER)").check()
    page.get_by_label("Text").fill(f"Olaf Scholz spoke in Berlin ({view}).")
    page.get_by_role("button", name="Analyze", exact=True).click()
    page.get_by_role("radio", name="Berlin (LOC)").wait_for(timeout=60_000)
    assert page.get_by_role("radio", name="Paris (LOC)").count() == 0
    assert page.locator(".toast-body").count() == 0
    assert page.errors == []


def test_a_long_text_in_any_script_makes_a_link_that_opens(server):
    """4,000 CJK characters a box made a 72 kB link that the server refused: the page's link is
    cut to fit, opens, and says it was cut."""
    import urllib.request

    from bertviz_lite.urlstate import MAX_LINK_BYTES, default_state, to_query

    state = default_state((6, 12), text="東京は日本の首都です。" * 400, pair="漢字" * 2000)
    query = to_query(state, (6, 12))
    assert len(query) <= MAX_LINK_BYTES + 100 and "cut=1" in query
    with urllib.request.urlopen(f"{server}?{query}", timeout=60) as answer:
        assert answer.status == 200


def test_an_analyze_click_is_one_request_and_writes_the_link(server, page):
    """The Analyze button's outputs and the address bar's query come in one server event (the
    address bar once took a second request of its own)."""
    page.goto(server)
    wait_plot(page, "#head-plot")
    page.wait_for_timeout(1000)  # the first visit's own events are over
    joins = []
    page.on("request", lambda r: joins.append(r.url) if "/queue/join" in r.url else None)
    page.get_by_label("Text").fill("The keys to the cabinet are on the table.")
    page.get_by_role("button", name="Analyze", exact=True).click()
    page.wait_for_function("location.search.includes('cabinet')", timeout=60_000)
    page.wait_for_timeout(1000)
    assert len(joins) == 1, joins
    assert "cabinet" in page.locator("#share-link input").input_value()


def wait_note(page, text: str):
    page.wait_for_function(
        f"document.querySelector('#notes textarea')?.value.includes({text!r})", timeout=60_000
    )


def test_a_threshold_beyond_the_slider_is_clamped_not_an_error(server, page):
    page.goto(f"{server}?text=The+cat+sat&threshold=0.7")
    wait_plot(page, "#head-plot")
    wait_note(page, "threshold 0.7 is out of range")
    assert page.locator(".toast-body").count() == 0


# A hostile link (issue 13): markup in unknown parameter names and in values.
HOSTILE = {
    "text": "hi \"quoted\"",
    "<form id=f action=//127.0.0.1:7899/p>": "1",
    "<input form=f name=pw placeholder=Pass>": "1",
    "<button form=f>Log in</button>": "1",
    "model": "<b style=color:red;font-size:60px>HACKED",
    "view": "<img src=//127.0.0.1:7899/x>",
}


def test_a_hostile_link_shows_only_text(server, page):
    page.goto(f"{server}?" + urlencode(HOSTILE))
    wait_plot(page, "#head-plot")
    wait_note(page, "HACKED")
    for selector in ("form", "input[name=pw]", "button[form]", "img[src*='7899']",
                     "b[style]", "#notes b", "#notes img"):  # fmt: skip
        assert page.locator(selector).count() == 0, selector
    assert "<form" in page.locator("#notes textarea").input_value()  # visible, as text
    assert "&quot;" not in page.locator("#head-plot").inner_text()
    assert '"' in page.locator("#head-plot").inner_text().split("\n")  # the token " itself


def test_plots_save_as_svg_and_int8_says_it_is_approximate(server, page):
    page.goto(f"{server}?text=The+cat+sat+on+the+mat&variant=int8")
    wait_plot(page, "#head-plot")
    wait_note(page, "approximate")
    assert "(int8, approximate)" in page.locator("#head-plot").inner_text()
    page.hover("#head-plot .main-svg")
    button = page.locator("#head-plot .modebar-btn[data-title='Download plot as SVG']")
    with page.expect_download() as download:
        button.click()
    svg = Path(download.value.path()).read_text()
    assert svg.startswith("<svg") and "mat" in svg
    camera = page.locator("#head-plot .modebar-btn[data-title*='png' i]")
    with page.expect_download() as download:
        camera.click()
    assert download.value.suggested_filename == "bertviz_lite.png"  # not Plotly's newplot.png


def test_several_tokens_show_their_summed_attention(server, page):
    from bertviz_lite import events

    text = "The cat sat on the mat."
    page.goto(f"{server}?" + urlencode({"text": text, "style": "links", "layer": 2, "head": 3}))
    frame = page.frame_locator("#head-links iframe")
    frame.locator(".tok.row").first.wait_for(timeout=60_000)
    rows = frame.locator(".tok.row")
    rows.nth(2).click()
    rows.nth(3).click(modifiers=["Shift"])
    assert frame.locator(".tok.row.picked").count() == 2
    shown = [frame.locator(".tok.col .sum").nth(j).inner_text() for j in range(rows.count())]
    # The same sums from the analysis, as the page gets them (whole percents, links ≥ 1%).
    att = events.analysis("minilm", text, None).attentions[1, 2]
    percent = np.round(att * 100)
    expected = np.where(percent >= 1, percent, 0)[[2, 3]].sum(axis=0)
    for j, value in enumerate(shown):
        got = int(value.strip().rstrip("%")) if value.strip() else 0
        assert abs(got - expected[j]) <= 1, (j, value, expected[j])


@pytest.mark.parametrize(("model", "text", "expect"), [
    ("sentiment", "This movie was wonderful, I loved every minute of it.", "wonderful"),
    ("ner", "Angela Merkel met Emmanuel Macron in Paris.", "angela"),
])  # fmt: skip
def test_the_explain_view(server, page, model, text, expect):
    page.goto(f"{server}?" + urlencode({"text": text, "model": model, "view": "explain"}))
    first = "Angela Merkel (PER)" if model == "ner" else "predicted"  # targets follow the model
    page.get_by_label(first).wait_for()
    page.get_by_role("button", name="Explain this prediction").click()
    page.wait_for_selector("#explain-methods .method", timeout=120_000)
    methods = page.locator("#explain-methods").inner_text()
    assert "occlusion" in methods and "integrated gradients" in methods and expect in methods
    table = page.locator("#explain-agreement").inner_text()
    assert "Spearman" in table and "comprehensiveness" in table and "random" in table
    assert "ALTI rollout" in table and "value-zeroing rollout" in table
    page.screenshot(path=str(SHOTS / f"explain-{model}.png"), full_page=True)


def plot_title(page, selector: str) -> str:
    return page.locator(f"{selector} .js-plotly-plot .gtitle").text_content()


@pytest.mark.parametrize("width", [1400, 390])
def test_the_context_mixing_view(server, page, width):
    page.set_viewport_size({"width": width, "height": 1000})
    text = "The trophy would not fit in the suitcase because it was too big."
    page.goto(f"{server}?" + urlencode({"text": text, "view": "mixing"}))
    wait_plot(page, "#mixing-plot")
    page.wait_for_function("document.querySelector('#mixing-plot .gtitle')?.textContent"
                           ".includes('ALTI')", timeout=120_000)  # fmt: skip
    assert "layer 6" in plot_title(page, "#mixing-plot")
    assert "feed-forward" in page.locator("#mixing-note").inner_text()  # its caveat
    page.get_by_label("value zeroing").check()
    page.wait_for_function("document.querySelector('#mixing-plot .gtitle')?.textContent"
                           ".includes('value zeroing')", timeout=120_000)  # fmt: skip
    page.get_by_label("from the input").check()
    page.wait_for_function("document.querySelector('#mixing-plot .gtitle')?.textContent"
                           ".includes('input → layer')", timeout=60_000)  # fmt: skip
    assert "mixing_method=value+zeroing" in page.url or "mixing_method=value%20zeroing" in page.url
    box = page.locator("#mixing-plot .js-plotly-plot").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1  # not cut off
    page.screenshot(path=str(SHOTS / f"mixing-{width}.png"), full_page=True)
    # Past flow's limit: a note, and no empty card where the figure was
    page.goto(f"{server}?" + urlencode({"text": " ".join(["word"] * 80), "view": "mixing",
                                        "mixing_method": "attention flow"}))  # fmt: skip
    page.wait_for_function("document.querySelector('#mixing-note')?.textContent"
                           ".includes('up to 64 tokens')", timeout=120_000)  # fmt: skip
    assert page.locator("#mixing-plot").is_hidden()
    assert page.errors == []


def test_the_compare_view(server, page):
    text = "This movie was wonderful, I loved every minute of it."
    page.goto(f"{server}?" + urlencode({"text": text, "model": "sentiment", "view": "compare"}))
    wait_plot(page, "#compare-grid")
    wait_plot(page, "#compare-cka")
    assert "sentiment against minilm" in page.locator("#compare-grid").inner_text()
    assert "sentiment − minilm" in page.locator("#compare-delta").inner_text()


def test_the_heads_and_formula_views(server, page):
    text = "This movie was wonderful, I loved every minute of it."
    page.goto(f"{server}?" + urlencode({"text": text, "model": "sentiment", "view": "heads"}))
    page.get_by_role("button", name="Rank the heads").click()
    page.wait_for_function(
        "document.querySelector('#heads-test textarea')?.value.includes('bottom')",
        timeout=120_000,
    )
    page.wait_for_function("document.querySelector('#heads-grid img')?.naturalWidth > 0")
    page.screenshot(path=str(SHOTS / "heads.png"), full_page=True)
    query = {"text": text, "model": "sentiment", "view": "formula", "formula_query": 4}
    page.goto(f"{server}?" + urlencode(query))
    page.wait_for_selector("#formula-steps table", timeout=60_000)
    assert "wonderful" in page.locator("#formula-steps").inner_text()
    wait_plot(page, "#formula-plot")
    page.screenshot(path=str(SHOTS / "formula.png"), full_page=True)


def test_fill_the_mask(server, page):
    text = "The prime minister said the government would cut taxes."
    page.goto(f"{server}?" + urlencode({"text": text, "model": "minilm-mlm", "view": "fill"}))
    page.locator("#fill-words").get_by_text("government").click()  # hide it
    page.wait_for_selector("#fill-guesses .output-class", timeout=120_000)
    assert "government" in page.locator("#fill-guesses").inner_text()  # its guess, back
    wait_plot(page, "#fill-reads")
    assert "unmasked" in page.locator("#fill-reads").inner_text() or page.locator(
        "#fill-reads .main-svg").count() > 0  # fmt: skip
    page.wait_for_function("location.search.includes('mask_word=6')")  # the link carries it
    page.screenshot(path=str(SHOTS / "fill.png"), full_page=True)


def test_markup_stays_text(server, page):
    page.goto(f"{server}?" + urlencode({"text": MARKUP, "style": "links"}))
    page.wait_for_selector("#head-links iframe", timeout=60_000)
    frame = page.frame_locator("#head-links iframe")
    frame.locator(".tok").first.wait_for()
    assert frame.locator(".tok", has_text="<").count() > 0  # the "<" of the markup, as text
    page.get_by_text("heatmap", exact=True).click()
    wait_plot(page, "#head-plot")
    assert "<" in page.locator("#head-plot").inner_text()  # the token "<" shown as text
    assert page.locator("img[src=x]").count() == 0 and page.locator("svg[onload]").count() == 0
    page.wait_for_timeout(500)


@pytest.mark.parametrize("text", [
    "Emoji 👩‍👩‍👧 🇫🇷", "e\u0301 a\u0308 combining", "مرحبا بالعالم שלום", "zero\u200bwidth\u200d",
    "control \x07\x1b[31m and NUL \x00\x00 bytes", MARKUP,
])  # fmt: skip
def test_odd_text_through_the_api(client, text):
    out = client.predict(text, "", "ner", api_name="/predict")
    assert out["tokens"][0] == "[CLS]" and out["predictions"]["task"] == "ner"


def test_huge_text_and_half_empty_pair_through_the_api(client):
    out = client.predict("word " * 20_001, "   ", "sentiment", api_name="/predict")
    assert out["truncated"] and len(out["tokens"]) == 512
    assert "cut to its first 100,000 characters" in out["notes"][0]
    assert out["tokens"].count("[SEP]") == 1  # the blank second sentence was dropped


def test_every_event_that_runs_the_model_has_a_bounded_group():
    """Events outside the groups ran beside them unbounded (a restored link, an example, a grid
    click): 9 compare requests sent through them started 6 at once. Each event runs in MODEL
    (bounded by Gradio), LONG (admitted by budget.LONG_WORK) or LIGHT (no model run), and only
    the view buttons of long work are LONG."""
    from bertviz_lite.page import LIGHT, LONG, MODEL
    from bertviz_lite.ui import build
    from bertviz_lite.views import REGISTRY

    demo = build()
    runs_no_model = {"restore", "load_example"}  # reads the link; Gradio's example loader
    groups: dict[str, list[str]] = {}
    for fn in demo.fns.values():
        if fn.fn is not None and fn.name not in runs_no_model:  # not a js-only step
            groups.setdefault(str(fn.concurrency_id), []).append(fn.name)
    assert set(groups) == {MODEL, LONG, LIGHT}, groups
    assert len(groups[LONG]) == sum(1 for v in REGISTRY if v.action)
    # The address bar and the Cancel button's showing take no request of their own; Cancel's
    # click stops the work on the server and runs no model.
    assert set(groups[LIGHT]) == {"ranges", "cancelled"}

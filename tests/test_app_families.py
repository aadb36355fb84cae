"""Your own model of any family in the app: `python app.py --model NAME=PATH ...` with a tiny
checkpoint of each family written by transformers; gradio_client lists and queries them, and
Chromium shows a RoBERTa model's words merged whole."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from benchmarks.appserver import running_app
from tests.families.tiny_families import write

# one head per family, so that every kind of prediction goes through the page too
MODELS = {
    "tiny-bert": ("bert", "base"),
    "tiny-roberta": ("roberta", "sequence-classification"),
    "tiny-xlmr": ("xlm-roberta", "token-classification"),
    "tiny-camembert": ("camembert", "base"),
    "tiny-distilbert": ("distilbert", "sequence-classification"),
    "tiny-electra": ("electra", "token-classification"),
    "tiny-albert": ("albert", "masked-lm"),
}
TEXT = "Unbelievably, John went to New York!"


MODELS_DIR: dict[str, str] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    args = []
    for name, (family, head) in MODELS.items():
        MODELS_DIR[name] = str(write(root / name, family, head))
        args += ["--model", f"{name}={MODELS_DIR[name]}"]
    with running_app(timeout=300, command=("app.py", *args)) as app:
        yield app.url


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


@pytest.mark.slow
def test_every_family_is_listed_and_answers(client):
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    model = next(p for p in api["/explore"]["parameters"] if p["parameter_name"] == "model")
    listed = str(model["type"]) + str(model["python_type"])
    for name in MODELS:
        assert name in listed
        out = client.predict(text=TEXT, model=name, layer=2, head=3, api_name="/explore")
        assert any("layer 2, head 3" in str(value) for value in out), name


@pytest.mark.slow
def test_a_roberta_models_words_merge_whole(server, browser):
    query = urlencode({"text": TEXT, "model": "tiny-roberta", "words": 1})
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}?{query}")
    page.wait_for_function(
        "document.querySelector('#head-plot .main-svg')?.textContent.includes('York')",
        timeout=120_000,
    )
    labels = page.locator("#head-plot").inner_text().split("\n")
    page.close()
    from bertviz_lite import load

    pieces = load(MODELS_DIR["tiny-roberta"], progress=False).analyze(TEXT).tokens
    assert "Unbelievably" not in pieces  # it was several tokens
    # byte-level BPE cuts "Unbelievably" into pieces; merged, the word is back as written
    for word in ("Unbelievably", "John", "went", "New", "York", "!"):
        assert word in labels, (word, labels)
    assert not any("Ġ" in label for label in labels)


@pytest.mark.slow
@pytest.mark.parametrize("width", [1400, 390])
def test_switching_or_linking_to_a_model_with_fewer_layers_is_no_error(server, browser, width):
    """Layer 6, head 12 picked on MiniLM, then a 2-layer, 4-head model from the menu or a link:
    the controls follow the model (layer 2, head 4) and no error toast appears."""
    title = "document.querySelector('#head-plot .gtitle')?.textContent"
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.goto(f"{server}?{urlencode({'text': TEXT, 'layer': 6, 'head': 12})}")
    page.wait_for_function(f"{title}?.includes('layer 6, head 12')", timeout=180_000)
    page.get_by_label("Model").first.click()
    page.get_by_role("option", name="tiny-bert").click()
    page.wait_for_function(f"{title}?.includes('layer 2, head 4')", timeout=120_000)
    page.wait_for_timeout(1500)  # the events that follow
    toasts = page.locator(".toast-body").all_inner_texts()
    page.goto(f"{server}?{urlencode({'text': TEXT, 'layer': 6, 'head': 12, 'model': 'tiny-bert'})}")
    page.wait_for_function(f"{title}?.includes('layer 2, head 4')", timeout=120_000)
    page.wait_for_timeout(1500)
    toasts += page.locator(".toast-body").all_inner_texts()
    page.close()
    assert toasts == []

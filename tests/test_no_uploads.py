"""The real app (`python app.py` on loopback) takes no upload: every route through which Gradio
writes a visitor's files refuses, nothing appears under GRADIO_TEMP_DIR, and the page, its API
and its downloads still work; a download's link is its visitor's own."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from benchmarks.appserver import running_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("no-uploads")
    with running_app(scratch=scratch, timeout=240) as app:
        yield app.url, scratch / "gradio"  # running_app's GRADIO_TEMP_DIR


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


@pytest.mark.parametrize("route", [
    "gradio_api/upload", "gradio_api/upload/", "gradio_api/upload?upload_id=x1",
    "gradio_api/process_recording", "gradio_api/component_server", "gradio_api/queue/join",
    "gradio_api/call/predict",
])  # fmt: skip
def test_no_route_takes_files(app, route):
    url, temp = app
    before = tree(temp)
    # What one client did: many small files in one request (1,000 per request were written).
    files = [("files", (f"f{i}.txt", b"x" * 500, "text/plain")) for i in range(200)]
    answer = httpx.post(url + route, files=files, timeout=30)
    assert answer.status_code in (403, 404), answer.text[:200]
    time.sleep(1.0)  # Gradio moves uploaded files in a background task after answering
    assert tree(temp) == before


def test_the_upload_route_refuses_any_body(app):
    url, temp = app
    before = tree(temp)
    for body, kind in ((b"x" * 100, "application/octet-stream"), (b"{}", "application/json")):
        answer = httpx.post(url + "gradio_api/upload", content=body,
                            headers={"Content-Type": kind}, timeout=30)  # fmt: skip
        assert answer.status_code in (403, 404)
    assert tree(temp) == before


def test_the_page_the_api_and_downloads_still_work(app):
    from gradio_client import Client

    url, _ = app
    page = httpx.get(url, timeout=30)
    assert page.status_code == 200 and "bertviz" in page.text.lower()
    client = Client(url, verbose=False)
    out, npz = client.predict(text="The cat sat.", pair="", model="minilm", api_name="/analyze")
    with np.load(npz) as data:  # downloaded by gradio_client through the file route
        assert data["attentions"].shape[-1] == len(out["tokens"])


def download_link(url: str, session: str, text: str) -> str:
    """The NPZ link /analyze gives one page visit (Gradio session) for `text`."""
    body = {"data": [text, "", "minilm"], "session_hash": session}
    event = httpx.post(url + "gradio_api/call/analyze", json=body, timeout=30).json()["event_id"]
    answer = httpx.get(url + f"gradio_api/call/analyze/{event}", timeout=120).text
    data = json.loads(answer.split("event: complete\ndata: ", 1)[1].splitlines()[0])
    return data[1]["url"]


def test_a_download_link_is_its_visitors_own(app):
    url, _ = app
    text = "Nobody else may fetch what I analysed."
    mine = download_link(url, "visitor-a", text)
    assert download_link(url, "visitor-a", text) == mine  # asked again: the same files
    theirs = download_link(url, "visitor-b", text)
    assert theirs != mine and httpx.get(mine, timeout=30).status_code == 200
    assert Path(theirs).parent.name.split("-")[0] != Path(mine).parent.name.split("-")[0]

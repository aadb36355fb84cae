"""The page-like client gets what gradio_client gets from a real server, and says when it fails."""

from __future__ import annotations

import httpx
import pytest

from benchmarks import echo
from benchmarks.pageclient import PageClient


@pytest.fixture(scope="module")
def echo_url():
    demo = echo.build()
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield url
    demo.close()


def test_answers_like_gradio_client(echo_url):
    from gradio_client import Client

    page = PageClient(echo_url, "echo")
    text = "A quote \" and <b>markup</b>, sent as text."
    assert page(text=text) == [text]
    assert page(text="again, same session") == ["again, same session"]  # one page, many events
    client = Client(echo_url, verbose=False, download_files=False, analytics_enabled=False)
    assert client.predict(text=text, api_name="/echo") == page(text=text)[0]
    page.close()


def test_a_failed_event_raises(echo_url):
    page = PageClient(echo_url, "echo")
    page.fn_index = 10_000  # no such event: the server refuses the join
    with pytest.raises((httpx.HTTPStatusError, RuntimeError)):
        page(text="x")

"""A client that talks to a Gradio app the way its page does, for timing.

gradio_client's result loop looks for new messages every 50 ms (`time.sleep(0.05)` in
`gradio_client.utils.stream_sse_v1plus`), so through it every request takes the floor or the floor
plus a multiple of 50 ms. The browser reads the event stream as it arrives. This client does what
the page does for one event: POST queue/join with the event's inputs in order, then read
queue/data's server-sent events until its own `process_completed`, one session for every call (as
one open page), no polling.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx


class PageClient:
    """Calls one named endpoint of the app at `url` as the page would; `__call__` takes the
    endpoint's parameters by name (the others keep their defaults) and returns its output list."""

    def __init__(self, url: str, api_name: str, timeout: float = 180.0):
        from gradio_client import Client

        self.url = url.rstrip("/")
        info = Client(url, verbose=False, download_files=False, analytics_enabled=False)
        self.parameters = info.view_api(print_info=False, return_format="dict")[
            "named_endpoints"][f"/{api_name}"]["parameters"]  # fmt: skip
        self.fn_index = info._infer_fn_index(f"/{api_name}", None)
        self.session = str(uuid.uuid4())
        self.http = httpx.Client(timeout=timeout)

    def __call__(self, **values: Any) -> list:
        data = [values.get(p["parameter_name"], p.get("parameter_default"))
                for p in self.parameters]  # fmt: skip
        join = self.http.post(f"{self.url}/gradio_api/queue/join", json={
            "data": data, "fn_index": self.fn_index, "session_hash": self.session,
            "event_data": None, "trigger_id": None})  # fmt: skip
        join.raise_for_status()
        event = join.json()["event_id"]
        stream = f"{self.url}/gradio_api/queue/data"
        with self.http.stream("GET", stream, params={"session_hash": self.session}) as messages:
            for line in messages.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") != event or message.get("msg") != "process_completed":
                    continue
                if not message.get("success"):
                    raise RuntimeError(f"the event failed: {str(message)[:300]}")
                return message["output"]["data"]
        raise RuntimeError("the event stream ended before the answer")

    def close(self) -> None:
        self.http.close()

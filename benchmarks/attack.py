"""The load test's hostile part: long work from several visitors at once, and the largest input.

1. long work: `clients` visitors, each a session of its own, press the buttons of long work
   (Explain, the head sweep) and open the views that run the model again (compare, formula) on
   512-token texts, one request after another, for `seconds`; meanwhile another visitor keeps
   making an ordinary 12-token /explore. Reported: that visitor's latencies (the target: p99 at
   most 2 s), and every long request's end: done, refused or stopped with a message (fine), or
   failed without one (a bug).
2. largest input: one /predict of a 100,000 + 100,000-character sentence pair (the app's cap
   per box); the server's memory before and after.

The events behind buttons and tabs are private (not in the API): they are called as the page
calls them, by their index in the page's config, with the same inputs as /explore.
"""

from __future__ import annotations

import random
import threading
import time
import uuid

import numpy as np

from bertviz_lite.views import VIEWS

from .appserver import rss_mb

LONG = ("explain", "heads")  # the views behind a button of long work
REDRAWN = ("compare", "formula")  # views that run the model again when opened


def page_events(q) -> dict[str, int]:
    """{view: fn_index} of each button of long work and each tab of REDRAWN, from the config."""
    config = q.http.get(q.api.rsplit("gradio_api/", 1)[0] + "config").json()
    components = {c["id"]: c for c in config["components"]}
    found, clicked = {}, {}
    for d in config["dependencies"]:
        for target, trigger in d.get("targets", []):
            props = components.get(target, {}).get("props", {})
            for name in LONG:
                if trigger == "click" and props.get("value") == VIEWS[name].action:
                    clicked[d["id"]] = name
            for name in REDRAWN:
                if trigger == "select" and props.get("id") == name and d.get("outputs"):
                    found[name] = d["id"]
    # A button's click shows its Cancel in the browser; the work is the event that follows it.
    for d in config["dependencies"]:
        if d.get("trigger_after") in clicked and d.get("backend_fn"):
            found[clicked[d["trigger_after"]]] = d["id"]
    missing = set(LONG + REDRAWN) - set(found)
    if missing:
        raise RuntimeError(f"the page has no event for {sorted(missing)}")
    return found


def _call(q, fn: int, data: list, session: str) -> dict:
    """One event as the page sends it; its completion message."""
    body = {"data": data, "fn_index": fn, "session_hash": session, "event_data": None}
    event = q.http.post(q.api + "queue/join", json=body).json()["event_id"]
    with q.http.stream("GET", q.api + "queue/data", params={"session_hash": session}) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                import json

                message = json.loads(line[5:])
                if message.get("event_id") == event and message.get("msg") == "process_completed":
                    return message
    raise RuntimeError("the stream ended without a result")


def long_work(q, pid: int | None, clients: int, seconds: float, rng: random.Random,
              text_of) -> dict:  # fmt: skip
    """Part 1 (see the module)."""
    events = page_events(q)
    _, parameters = q.endpoint("explore")
    names = [p["parameter_name"] for p in parameters]
    defaults = [p.get("parameter_default") for p in parameters]

    def data(**values) -> list:
        return [values.get(n, d) for n, d in zip(names, defaults)]

    ends: dict[str, int] = {}
    silent: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def attacker(seed: int) -> None:
        local = random.Random(seed)
        session = str(uuid.uuid4())  # one visitor each
        while time.monotonic() < stop:
            view = local.choice(LONG + REDRAWN)
            text = text_of(512, local)
            try:
                message = _call(q, events[view], data(text=text, model="sentiment", view=view),
                                session)  # fmt: skip
                end = "done" if message.get("success") else (
                    "refused or stopped" if (message.get("output") or {}).get("error") else "silent")
            except Exception as e:  # a broken stream is a failure too
                end, message = "silent", {"error": f"{type(e).__name__}: {e}"}
            with lock:
                ends[f"{view} {end}"] = ends.get(f"{view} {end}", 0) + 1
                if end == "silent":
                    silent.append(f"{view}: {str(message)[:200]}")
            if end != "done":
                time.sleep(0.5)  # refused: ask again soon, as an impatient visitor would

    threads = [threading.Thread(target=attacker, args=(i,)) for i in range(clients)]
    memory_before = rss_mb(pid) if pid else None
    for t in threads:
        t.start()
    time.sleep(min(5.0, seconds / 10))  # the long work has begun
    latencies, failures = [], []
    session = str(uuid.uuid4())
    while time.monotonic() < stop:
        text = " ".join(rng.choice(("the", "film", "was", "a", "good", "market")) for _ in range(10))
        started = time.perf_counter()
        message = _call(q, q.endpoint("explore")[0], data(text=text, model="sentiment"), session)
        latencies.append(time.perf_counter() - started)
        if not message.get("success"):
            failures.append(str(message)[:200])
        time.sleep(0.2)
    for t in threads:
        t.join(timeout=120)
    ms = np.array(latencies) * 1000
    return {
        "clients": clients, "seconds": seconds, "long_requests": ends,
        "failed": len(silent) + len(failures), "failures": (silent + failures)[:10],
        "ordinary_requests": len(ms),
        "ordinary_p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
        "ordinary_p99_ms": round(float(np.percentile(ms, 99)), 1) if len(ms) else None,
        "ordinary_max_ms": round(float(ms.max()), 1) if len(ms) else None,
        "memory_before_mb": memory_before and round(memory_before),
        "memory_after_mb": pid and round(rss_mb(pid)),
    }  # fmt: skip


def largest_pair(q, pid: int | None, chars: int = 100_000) -> dict:
    """Part 2 (see the module)."""
    text = ("The quick brown fox jumps over the lazy dog. " * (chars // 40))[:chars]
    pair = ("Markets fell sharply on Monday after the announcement. " * (chars // 50))[:chars]
    before = rss_mb(pid) if pid else None
    started = time.perf_counter()
    session = str(uuid.uuid4())
    event = q.join("predict", session, text=text, pair=pair, model="sentiment")
    output = q.result(session, event)
    seconds = time.perf_counter() - started
    after = rss_mb(pid) if pid else None
    return {"chars_per_side": chars, "seconds": round(seconds, 2),
            "tokens": len(output["data"][0]["tokens"]), "memory_before_mb": before and round(before),
            "memory_after_mb": after and round(after),
            "memory_growth_mb": before and round(after - before)}  # fmt: skip

"""5. Throughput: concurrent gradio_client clients, a fixed number of 128-token requests each."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .appserver import App
from .common import Corpus, Settings, bullets, client, cpus, explore, fill, log, ms, p50_p90, rows
from .common import predict as predict_call


@dataclass
class ThroughputResult:
    rows: list[tuple[str, int, int, float, list[float], int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


CALLS = {"/predict": predict_call, "/explore": explore}


def throughput(s: Settings, corpus: Corpus, app: App, api: str, per_client: int) -> tuple:
    """`s.clients` threads, each with its own client, `per_client` requests each, bounded."""
    clients = [client(app.url) for _ in range(s.clients)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    # Texts made up front: tokenizing them in the workers would load the CPU being measured.
    texts = [[corpus.text(128, f"load {api} {k} {i}") for i in range(per_client)]
             for k in range(s.clients)]  # fmt: skip

    def worker(k: int) -> None:
        for text in texts[k]:
            t0 = time.perf_counter()
            try:
                CALLS[api](clients[k], text, s.request_timeout)
            except Exception as e:  # counted and reported, never hidden
                with lock:
                    errors.append(f"{type(e).__name__}: {e}"[:200])
                return
            with lock:
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(s.clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    deadline = time.monotonic() + s.request_timeout * per_client
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    wall = time.perf_counter() - t0
    return len(latencies), wall, latencies, errors


def bench_throughput(s: Settings, corpus: Corpus, app: App) -> ThroughputResult:
    result = ThroughputResult()
    for api, per_client in (("/predict", s.throughput_predict), ("/explore", s.throughput_explore)):
        if per_client <= 0:
            continue
        # Warm the endpoint's code paths first (first calls import and compile).
        CALLS[api](client(app.url), corpus.text(128, f"warm {api}"), s.request_timeout)
        done, wall, latencies, errors = throughput(s, corpus, app, api, per_client)
        result.rows.append((api, s.clients, s.clients * per_client, wall, latencies, done))
        if errors:
            result.notes.append(
                fill("throughput.failed", api=api, count=len(errors), first=errors[0])
            )
        log(f"throughput {api}: {done} in {wall:.1f} s")
    return result


def render_throughput(t: ThroughputResult) -> str:
    table = []
    for api, clients, asked, wall, latencies, done in t.rows:
        lo, hi = p50_p90(latencies)
        table.append(
            [api, clients, f"{done}/{asked}", f"{wall:.1f}", f"{done / wall:.1f}", ms(lo), ms(hi)]
        )
    return fill("throughput", slots=min(4, cpus()), rows=rows(table), notes=bullets(t.notes))

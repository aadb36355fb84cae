"""Load test: many gradio_client users at once against the app on loopback, bounded, self-stopping.

    python -m bertviz_lite.loadtest                       # 16 clients, 400 mixed requests
    python -m bertviz_lite.loadtest --clients 4 --requests 40

Starts `app.py` on a free 127.0.0.1 port (or uses --url), warms every model up at the longest
input, notes the server's memory, then sends a fixed number of mixed requests (every catalog
model; 8 to 512 tokens; /predict and the whole page /explore) from concurrent clients. Reports
failures, p50/p99 latency and the server's memory at the end against after warm-up. Exits 1 when a
request failed or memory grew by more than --max-growth.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from . import catalog
from .appserver import running_app

WORDS = ("the a market team film government new season company minister players music phone "
         "said would after year people first game election shares growth software band award "
         "london paris obama microsoft chelsea apple europe court police record profit loss").split()  # fmt: skip
LENGTHS = (8, 32, 64, 128, 256, 512)


def text_of(tokens: int, rng: random.Random) -> str:
    """About `tokens` word-piece tokens of random words (every request unlike the last)."""
    return " ".join(rng.choice(WORDS) for _ in range(max(1, tokens - 2)))


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def request(client, kind: str, model: str, text: str) -> None:
    if kind == "predict":
        client.predict(text, "", model, api_name="/predict")
    else:
        client.predict(text, "", model, 1, 1, "head", "heatmap", False, True, "all", 0.0, 6,
                       api_name="/explore")  # fmt: skip


def run(
    url: str, pid: int | None, clients: int, requests: int, seed: int, deadline_s: float
) -> dict:
    from gradio_client import Client

    rng = random.Random(seed)
    models = catalog.names()
    local = threading.local()

    def client():  # one Client per worker thread: a Client is not shared between threads
        if not hasattr(local, "client"):
            local.client = Client(url, verbose=False)
        return local.client

    def mixed(n: int) -> list[tuple[str, str, str]]:
        return [(rng.choice(("predict", "explore")), rng.choice(models), text_of(rng.choice(LENGTHS), rng))
                for _ in range(n)]  # fmt: skip

    # Warm-up: every model at the longest input, then a round of mixed requests, all from every
    # client at once, so that the memory measured next is the server's steady state.
    warm = [(kind, model, text_of(512, rng)) for model in models for kind in ("predict", "explore")]
    with ThreadPoolExecutor(clients) as executor:
        list(executor.map(lambda job: request(client(), *job), warm + mixed(2 * clients)))
    warm_mb = rss_mb(pid) if pid else None
    jobs = mixed(requests)
    latencies, failures = [], []
    stop = time.time() + deadline_s

    def one(i: int) -> float:
        if time.time() > stop:
            raise TimeoutError("the load test ran out of time")
        started = time.perf_counter()
        request(client(), *jobs[i])
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as executor:
        futures = {executor.submit(one, i): i for i in range(requests)}
        for future in as_completed(futures):
            try:
                latencies.append(future.result())
            except Exception as e:
                failures.append(f"{jobs[futures[future]][:2]}: {type(e).__name__}: {str(e)[:200]}")
    wall = time.perf_counter() - started
    end_mb = rss_mb(pid) if pid else None
    ms = np.array(latencies) * 1000
    return {
        "clients": clients, "requests": requests, "failed": len(failures), "failures": failures[:10],
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
        "p99_ms": round(float(np.percentile(ms, 99)), 1) if len(ms) else None,
        "requests_per_s": round(len(latencies) / wall, 2), "wall_s": round(wall, 1),
        "memory_after_warmup_mb": warm_mb and round(warm_mb), "memory_at_end_mb": end_mb and round(end_mb),
        "memory_growth": warm_mb and round(end_mb / warm_mb - 1, 3),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bertviz_lite.loadtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument(
        "--url", help="test a running app instead of starting one (no memory check)"
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deadline", type=float, default=1800, help="seconds before giving up")
    parser.add_argument("--max-growth", type=float, default=0.20, help="allowed memory growth")
    args = parser.parse_args(argv)
    if args.url:
        report = run(args.url, None, args.clients, args.requests, args.seed, args.deadline)
    else:
        with running_app(timeout=300) as app:
            report = run(app.url, app.process.pid, args.clients, args.requests, args.seed,
                         args.deadline)  # fmt: skip
    print(json.dumps(report, indent=1))
    grew = report["memory_growth"] is not None and report["memory_growth"] > args.max_growth
    return 1 if report["failed"] or grew else 0


if __name__ == "__main__":
    sys.exit(main())

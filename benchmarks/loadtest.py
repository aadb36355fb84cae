"""Load test: the app on loopback under many users, bounded in count and time, self-stopping.

    python -m benchmarks.loadtest                  # 16 clients, 400 mixed, 1,000 sessions, 50 unread
    python -m benchmarks.loadtest --clients 4 --requests 32 --sessions 192 --round 64 --unread 5

Starts `app.py` on a free 127.0.0.1 port (or uses --url: no memory figures then), warms every
model up at the longest input, then, from concurrent clients:

1. mixed: a fixed number of requests over every catalog model, 8 to 512 tokens, /predict and
   /explore called by name through gradio_client; p50/p99 and memory against after warm-up;
2. sessions: that many distinct visitors (each a fresh session hash) making one 512-token /explore
   request each, the server's memory after every round: the app keeps state for a bounded number
   of sessions, so memory should level off once that many have come;
3. unread: /analyze requests at 512 tokens posted to the queue and never read (the connection is
   closed without opening the result stream), memory once the server is idle and a while later;
4. the hostile part (attack.py): the largest sentence pair's memory, and long work at 512 tokens
   from several visitors while another makes ordinary requests.

Prints a JSON report; exits 1 when a request failed or memory grew past the limits.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import httpx
import numpy as np

from bertviz_lite import catalog

from . import attack
from .appserver import rss_mb, running_app

WORDS = ("the a market team film government new season company minister players music phone "
         "said would after year people first game election shares growth software band award "
         "london paris obama microsoft chelsea apple europe court police record profit loss").split()  # fmt: skip
LENGTHS = (8, 32, 64, 128, 256, 512)


def text_of(tokens: int, rng: random.Random) -> str:
    """About `tokens` word-piece tokens of random words (every request unlike the last)."""
    return " ".join(rng.choice(WORDS) for _ in range(max(1, tokens - 2)))


class Queue:
    """Gradio's queue over plain HTTP, as gradio_client uses it: POST queue/join with a session
    hash, then read that session's SSE stream (queue/data) until the event completes."""

    def __init__(self, url: str, timeout: float = 300.0):
        self.http = httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0))
        config = self.http.get(url + "config").json()
        self.api = url + config.get("api_prefix", "/gradio_api").strip("/") + "/"
        self.dependencies = config["dependencies"]
        self.endpoints = self.http.get(self.api + "info").json()["named_endpoints"]

    def endpoint(self, name: str) -> tuple[int, list[dict]]:
        """(fn_index, parameters in order) of a public endpoint."""
        if f"/{name}" not in self.endpoints:
            raise RuntimeError(f"the app has no public endpoint /{name}")
        fn = next(d["id"] for d in self.dependencies if d.get("api_name") == name
                  and d.get("api_visibility", "public") == "public")  # fmt: skip
        return fn, self.endpoints[f"/{name}"]["parameters"]

    def join(self, name: str, session: str, **values) -> str:
        """Queue one request; its event id."""
        fn, parameters = self.endpoint(name)
        data = [values.get(p["parameter_name"], p.get("parameter_default")) for p in parameters]
        body = {"data": data, "fn_index": fn, "session_hash": session, "event_data": None}
        response = self.http.post(self.api + "queue/join", json=body)
        response.raise_for_status()
        return response.json()["event_id"]

    def result(self, session: str, event: str) -> dict:
        """Read the session's stream until `event` completes; its output (raises on an error)."""
        url = self.api + "queue/data"
        with self.http.stream("GET", url, params={"session_hash": session}) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                kind = message.get("msg")
                if kind == "process_completed" and message.get("event_id") == event:
                    if not message.get("success"):
                        raise RuntimeError(f"failed: {str(message.get('output'))[:200]}")
                    return message["output"]
                if kind in ("close_stream", "unexpected_error"):
                    raise RuntimeError(f"stream ended: {str(message)[:200]}")
        raise RuntimeError("stream ended without a result")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(q: Queue, pid: int, deadline: float, quiet: float = 1.5) -> float:
    """Wait until the queue is empty and the server used < 5% of a CPU for `quiet` seconds."""
    started = time.monotonic()
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(quiet)
        waiting = q.http.get(q.api + "queue/status").json().get("queue_size") or 0
        if waiting == 0 and cpu_seconds(pid) - before < 0.05 * quiet:
            break
    return time.monotonic() - started


def mixed(url: str, pid: int | None, clients: int, requests: int, rng: random.Random,
          stop: float) -> dict:  # fmt: skip
    """Part 1: mixed /predict and /explore by name over every model, from `clients` threads."""
    from gradio_client import Client

    models = catalog.names()
    local = threading.local()

    def request(kind: str, model: str, text: str) -> None:
        if not hasattr(local, "client"):  # one Client per worker thread, never shared
            local.client = Client(url, verbose=False, download_files=False)
        local.client.predict(text=text, pair="", model=model, api_name=f"/{kind}")

    def jobs(n: int) -> list[tuple[str, str, str]]:
        return [(rng.choice(("predict", "explore")), rng.choice(models), text_of(rng.choice(LENGTHS), rng))
                for _ in range(n)]  # fmt: skip

    # Warm-up: every model at the longest input, then a round of mixed requests, all from every
    # client at once, so that the memory measured next is the server's steady state.
    warm = [(kind, model, text_of(512, rng)) for model in models for kind in ("predict", "explore")]
    with ThreadPoolExecutor(clients) as executor:
        list(executor.map(lambda job: request(*job), warm + jobs(2 * clients)))
    warm_mb = rss_mb(pid) if pid else None
    todo = jobs(requests)
    latencies, failures = [], []

    def one(i: int) -> float:
        if time.monotonic() > stop:
            raise TimeoutError("the load test ran out of time")
        started = time.perf_counter()
        request(*todo[i])
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as executor:
        futures = {executor.submit(one, i): i for i in range(requests)}
        for future in as_completed(futures):
            try:
                latencies.append(future.result())
            except Exception as e:
                failures.append(f"{todo[futures[future]][:2]}: {type(e).__name__}: {str(e)[:200]}")
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


def sessions(q: Queue, pid: int | None, clients: int, count: int, per_round: int, capacity: int,
             rng: random.Random, stop: float) -> dict:  # fmt: skip
    """Part 2: `count` visitors, each a fresh session hash with one 512-token /explore request."""
    failures: list[str] = []
    start_mb = rss_mb(pid) if pid else None
    curve = [[0, round(start_mb, 1) if pid else None]]

    def visit(text: str) -> None:
        session = uuid.uuid4().hex
        q.result(session, q.join("explore", session, text=text, pair="", model="minilm"))

    started = time.perf_counter()
    done = 0
    with ThreadPoolExecutor(clients) as executor:
        while done < count and time.monotonic() < stop:
            texts = [text_of(512, rng) for _ in range(min(per_round, count - done))]
            for future in as_completed([executor.submit(visit, t) for t in texts]):
                try:
                    future.result()
                except Exception as e:
                    failures.append(f"{type(e).__name__}: {str(e)[:200]}")
            done += len(texts)
            curve.append([done, round(rss_mb(pid), 1) if pid else None])
            print(f"[loadtest] sessions: {done}, server memory {curve[-1][1]} MB",
                  file=sys.stderr, flush=True)  # fmt: skip
    if done < count:
        failures.append(f"ran out of time after {done} of {count} sessions")
    report = {"sessions": done, "tokens": 512, "capacity": capacity, "failed": len(failures),
              "failures": failures[:10], "wall_s": round(time.perf_counter() - started, 1),
              "memory_mb": curve, "mb_per_session_to_capacity": None,
              "mb_per_session_after_capacity": None}  # fmt: skip
    if pid:
        # Growth per session up to the first round past the capacity (from the first round's
        # reading: the one before it still holds what the earlier parts left), and after it:
        # near 0 when old sessions are dropped, like the first when they are kept.
        full = next((i for i, (n, _) in enumerate(curve) if n >= capacity), None)
        if full:
            (n0, m0), (n1, m1), (n2, m2) = curve[min(1, full - 1)], curve[full], curve[-1]
            report["mb_per_session_to_capacity"] = round((m1 - m0) / (n1 - n0), 3)
            if n2 > n1:
                report["mb_per_session_after_capacity"] = round((m2 - m1) / (n2 - n1), 3)
    return report


def unread(q: Queue, pid: int | None, count: int, wait: float, rng: random.Random,
           stop: float) -> dict:  # fmt: skip
    """Part 3: `count` /analyze requests at 512 tokens queued and never read."""
    if pid:
        wait_idle(q, pid, stop)
    before = rss_mb(pid) if pid else None
    cpu = cpu_seconds(pid) if pid else 0.0
    failures = []
    for _ in range(count):
        session = uuid.uuid4().hex
        try:  # post, then drop the connection: the result stream is never opened
            q.join("analyze", session, text=text_of(512, rng), pair="", model="minilm")
        except Exception as e:
            failures.append(f"{type(e).__name__}: {str(e)[:200]}")
    report = {"requests": count, "tokens": 512, "failed": len(failures), "failures": failures[:10]}
    if pid:
        drained = wait_idle(q, pid, stop)
        after = rss_mb(pid)
        time.sleep(max(0.0, min(wait, stop - time.monotonic())))
        later = rss_mb(pid)
        report |= {"memory_before_mb": round(before), "memory_when_idle_mb": round(after),
                   "memory_later_mb": round(later), "later_s": wait, "idle_after_s": round(drained, 1),
                   "server_cpu_s": round(cpu_seconds(pid) - cpu, 1),
                   "mb_held_per_request": round((later - before) / max(1, count), 2)}  # fmt: skip
    return report


def run(url: str, pid: int | None, args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    stop = time.monotonic() + args.deadline
    report: dict = {"url": url}
    report["mixed"] = mixed(url, pid, args.clients, args.requests, rng, stop)
    q = Queue(url)
    if args.sessions:
        capacity = args.capacity
        if capacity is None:
            from bertviz_lite.ui import SESSIONS as capacity
        report["sessions"] = sessions(q, pid, args.clients, args.sessions, args.round, capacity,
                                      rng, stop)  # fmt: skip
    if args.unread:
        report["unread"] = unread(q, pid, args.unread, args.later, rng, stop)
    if args.pair_chars:
        report["largest_pair"] = attack.largest_pair(q, pid, args.pair_chars)
    if args.attack:
        report["long_work"] = attack.long_work(q, pid, args.attackers, args.attack, rng, text_of)
    return report


def verdict(report: dict, args: argparse.Namespace) -> list[str]:
    """What went wrong, if anything: failed requests, or memory past the limits."""
    problems = [f"{part}: {r['failed']} failed" for part, r in report.items()
                if isinstance(r, dict) and r.get("failed")]  # fmt: skip
    growth = report["mixed"]["memory_growth"]
    if growth is not None and growth > args.max_growth:
        problems.append(f"mixed: memory grew {growth:.0%} (limit {args.max_growth:.0%})")
    after = report.get("sessions", {}).get("mb_per_session_after_capacity")
    if after is not None and after > args.max_session_mb:
        problems.append(f"sessions: {after} MB per session past the capacity "
                        f"(limit {args.max_session_mb})")  # fmt: skip
    ordinary = report.get("long_work", {}).get("ordinary_p99_ms")
    if ordinary is not None and ordinary > args.max_ordinary_ms:
        problems.append(f"long work: an ordinary /explore's p99 {ordinary} ms "
                        f"(limit {args.max_ordinary_ms})")  # fmt: skip
    grown = report.get("largest_pair", {}).get("memory_growth_mb")
    if grown is not None and grown > args.max_pair_mb:
        problems.append(f"largest pair: memory grew {grown} MB (limit {args.max_pair_mb})")
    held = report.get("unread", {}).get("mb_held_per_request")
    if held is not None and held > args.max_unread_mb:
        problems.append(f"unread: {held} MB held per request (limit {args.max_unread_mb})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--url", help="test a running app instead of starting one (no memory)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=400, help="mixed requests")
    parser.add_argument("--sessions", type=int, default=1000, help="visitors, one request each")
    parser.add_argument("--round", type=int, default=100, help="sessions between memory readings")
    parser.add_argument("--capacity", type=int, help="sessions the app keeps (default: the app's)")
    parser.add_argument("--unread", type=int, default=50, help="/analyze answers never read")
    parser.add_argument("--later", type=float, default=60, help="seconds before the last reading")
    parser.add_argument("--attack", type=float, default=300,
                        help="seconds of long work from --attackers visitors (0: none)")  # fmt: skip
    parser.add_argument("--attackers", type=int, default=6)
    parser.add_argument("--pair-chars", type=int, default=100_000,
                        help="characters a side of the largest sentence pair (0: none)")  # fmt: skip
    parser.add_argument("--max-ordinary-ms", type=float, default=2000,
                        help="long work: an ordinary /explore's p99")  # fmt: skip
    parser.add_argument("--max-pair-mb", type=float, default=200,
                        help="largest pair: memory growth")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deadline", type=float, default=1800, help="seconds before giving up")
    parser.add_argument("--max-growth", type=float, default=0.20, help="mixed: memory growth")
    parser.add_argument("--max-session-mb", type=float, default=0.5,
                        help="sessions: MB per session once the capacity is full")  # fmt: skip
    parser.add_argument("--max-unread-mb", type=float, default=8.0,
                        help="unread: MB still held per request at the end")  # fmt: skip
    args = parser.parse_args(argv)
    if args.url:
        report = run(args.url.rstrip("/") + "/", None, args)
    else:
        with running_app(timeout=300) as app:
            report = run(app.url, app.process.pid, args)
    report["problems"] = verdict(report, args)
    print(json.dumps(report, indent=1))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""The load test in reduced size, against the app on loopback.

Mixed: concurrent clients, every model, 8 to 512 tokens, no failure, memory after the run within
20% of after warm-up. Sessions: one and a half times as many visitors as the app keeps state for,
each with one 512-token /explore; once the capacity is full, memory must stop growing (an app that
kept every session, as Gradio's default 10,000 does, adds over 1 MB per such visitor). Unread:
/analyze answers queued and never read must not stay in memory. The hostile part: the largest
sentence pair costs little memory, and long work from six visitors at 512 tokens neither fails
without a message nor starves another visitor's ordinary request. In full: the README.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bertviz_lite.ui import SESSIONS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report() -> dict:
    # The hostile part reduced to 60 s; an ordinary request's bound is loose here (CI runs this
    # beside nothing, but a timing is no test): starved, it waited 81 s at the median before.
    args = ["--clients", "4", "--requests", "32", "--sessions", str(SESSIONS * 3 // 2),
            "--round", str(SESSIONS // 2), "--unread", "5", "--later", "5", "--deadline", "600",
            "--attack", "60", "--max-ordinary-ms", "10000"]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "benchmarks.loadtest", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert done.stdout, done.stderr[-3000:]
    report = json.loads(done.stdout)
    report["returncode"] = done.returncode
    return report


@pytest.mark.slow
def test_concurrent_mixed_requests(report):
    mixed = report["mixed"]
    assert mixed["failed"] == 0, mixed["failures"]
    assert mixed["memory_growth"] <= 0.20, mixed


@pytest.mark.slow
def test_memory_levels_off_past_the_session_capacity(report):
    sessions = report["sessions"]
    assert sessions["failed"] == 0, sessions["failures"]
    assert sessions["sessions"] == SESSIONS * 3 // 2
    assert [n for n, _ in sessions["memory_mb"]] == [0, SESSIONS // 2, SESSIONS, SESSIONS * 3 // 2]
    # Generous: a kept 512-token session costs over 1 MB; a dropped one should cost nothing.
    assert sessions["mb_per_session_after_capacity"] <= 0.5, sessions


@pytest.mark.slow
def test_unread_answers_are_not_kept(report):
    unread = report["unread"]
    assert unread["failed"] == 0, unread["failures"]
    assert unread["server_cpu_s"] > 0  # they were computed, though nobody read them
    assert unread["mb_held_per_request"] <= 8, unread


@pytest.mark.slow
def test_exit_status_says_nothing_went_wrong(report):
    assert report["problems"] == [] and report["returncode"] == 0, report["problems"]


@pytest.mark.slow
def test_the_largest_pair_costs_little_memory(report):
    pair = report["largest_pair"]
    assert pair["tokens"] == 512 and pair["memory_growth_mb"] <= 200, pair


@pytest.mark.slow
def test_long_work_from_several_visitors_starves_no_one(report):
    attack = report["long_work"]
    assert attack["failed"] == 0, attack["failures"]  # done, or refused/stopped with a message
    done = sum(n for end, n in attack["long_requests"].items() if end.endswith("done"))
    assert done > 0 and attack["ordinary_requests"] > 20, attack
    assert attack["ordinary_p99_ms"] <= 10_000, attack

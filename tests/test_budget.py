"""Long work is admitted per visitor and in all, and stopped past its time limit with a message."""

from __future__ import annotations

import threading
import time

import pytest

from bertviz_lite import budget
from bertviz_lite.budget import LongWork, TimeLimitExceeded
from bertviz_lite.errors import UserError


def test_one_long_job_per_visitor_others_admitted():
    work = LongWork(running=1, waiting=3, time_limit=60)
    started, release = threading.Event(), threading.Event()

    def first():
        with work.job("alice"):
            started.set()
            release.wait(10)

    t = threading.Thread(target=first)
    t.start()
    assert started.wait(10)
    with pytest.raises(UserError, match="still running"), work.job("alice"):
        pass
    waited = []

    def second():
        with work.job("bob"):  # another visitor waits for the slot, then runs
            waited.append(time.monotonic())

    t2 = threading.Thread(target=second)
    t2.start()
    time.sleep(0.2)
    assert not waited and work.busy == 2
    release.set()
    t.join(10), t2.join(10)
    assert waited and work.busy == 0
    with work.job("alice"):  # alice's job ended: she may start another
        pass


def test_past_capacity_new_jobs_are_refused_at_once():
    work = LongWork(running=1, waiting=1, time_limit=60)
    release = threading.Event()
    holders = []

    def hold(visitor: str):
        with work.job(visitor):
            release.wait(10)

    for visitor in ("a", "b"):
        holders.append(threading.Thread(target=hold, args=(visitor,)))
        holders[-1].start()
    deadline = time.monotonic() + 10
    while work.busy < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.monotonic()
    with pytest.raises(UserError, match="busy with 2 long computations"), work.job("c"):
        pass
    assert time.monotonic() - t0 < 1  # refused, not queued
    release.set()
    for t in holders:
        t.join(10)


def test_the_time_limit_stops_the_work_with_a_message():
    work = LongWork(time_limit=0.05)
    budget.check()  # outside a job: no limit (the Python API)
    with pytest.raises(TimeLimitExceeded, match="Stopped after 0 s"), work.job("alice"):
        budget.check()  # within the limit
        time.sleep(0.1)
        budget.check()
    budget.check()  # the limit ended with the job
    assert work.busy == 0


def test_anonymous_callers_are_not_each_others_visitor():
    work = LongWork(running=2, waiting=0, time_limit=60)
    with work.job(""), work.job(""):
        assert work.busy == 2

"""Long work is admitted per visitor and in all, stopped past its time limit with a message or
when its visitor cancels it, and reports how far it is."""

from __future__ import annotations

import threading
import time

import pytest

from bertviz_lite import budget
from bertviz_lite.budget import Cancelled, LongWork, TimeLimitExceeded, progress_line
from bertviz_lite.errors import UserError


def holding(work: LongWork, visitor: str) -> tuple[threading.Thread, threading.Event]:
    """A thread running `visitor`'s job until the returned event is set (started on return)."""
    started, release = threading.Event(), threading.Event()

    def hold():
        with work.job(visitor):
            started.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    assert started.wait(10)
    return t, release


def test_one_long_job_per_visitor_others_admitted():
    work = LongWork(running=1, waiting=3, time_limit=60)
    t, release = holding(work, "alice")
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


def test_a_cancelled_job_stops_at_its_next_check_and_frees_its_visitor():
    work = LongWork()
    assert not work.cancel("alice")  # no job: nothing to stop
    with pytest.raises(Cancelled), work.job("alice"):
        budget.check()
        assert work.cancel("alice")
        budget.check()  # stops here
        raise AssertionError("not reached")
    assert work.busy == 0
    with work.job("alice"):  # admitted again at once: the cancelled job is gone
        budget.check()


def test_a_job_cancelled_while_it_waits_never_starts():
    work = LongWork(running=1, waiting=1)
    t, release = holding(work, "a")
    ran, refused = [], []

    def waiter():
        try:
            with work.job("b"):
                ran.append(True)
        except Cancelled:
            refused.append(True)

    w = threading.Thread(target=waiter)
    w.start()
    while work.busy < 2:
        time.sleep(0.01)
    assert work.cancel("b")
    release.set()
    t.join(10), w.join(10)
    assert refused == [True] and ran == []


def test_progress_is_reported_with_the_time_left_as_the_steps_so_far_foretell():
    heard = []
    with LongWork(time_limit=60).job("alice", report=lambda done, line: heard.append((done, line))):
        budget.check()  # no counts: nothing to report
        budget.check(0, 4, "Occlusion")
        time.sleep(0.2)
        budget.check(1, 4, "Occlusion")
    assert [d for d, _ in heard] == [0.0, 0.25]
    assert heard[0][1] == "Occlusion: 0 of 4"
    left = float(heard[1][1].split("~")[1].split(" s")[0])  # 3 more steps of ~0.2 s
    assert heard[1][1].startswith("Occlusion: 1 of 4, ~") and 0.4 <= left <= 1.5
    assert progress_line("x", 1, 10, 20.0, 20.0, 60.0) == "x: 1 of 10, ~180 s more: past this server's 60 s limit"
    assert progress_line("x", 1, 10, 2.0, 50.0, 60.0) == "x: 1 of 10, ~18 s more: past this server's 60 s limit"
    assert progress_line("x", 1, 10, 2.0, 20.0, 60.0) == "x: 1 of 10, ~18 s left"
    assert progress_line("x", 10, 10, 20.0, 20.0, 60.0) == "x: 10 of 10"


def test_each_kind_of_step_foretells_only_its_own_time_left():
    """Explain runs gradients, then occlusion…: the occlusion's time left is foretold by its
    own steps, not by the time the job spent before them (once 3x too much)."""
    heard = []
    with LongWork(time_limit=60).job("alice", report=lambda done, line: heard.append(line)):
        time.sleep(0.6)  # an earlier kind of step
        budget.check(1, 2, "Occlusion")  # its first count: its steps begin here
        time.sleep(0.1)
        budget.check(2, 4, "Occlusion")
    left = float(heard[-1].split("~")[1].split(" s")[0])  # 2 more steps of ~0.05 s
    assert left <= 0.4, heard

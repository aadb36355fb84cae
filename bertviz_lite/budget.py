"""Bounds on long work (Explain, the head sweep, downloads), so that no visitor takes the machine.

`LONG_WORK.job(visitor)` admits a job or refuses it at once with a message: one long job per
visitor at a time, `RUNNING` at once in all (each already uses every core) and `WAITING` more
waiting for a slot. Inside a job, `check()` (called by the work between its chunks) stops it
past its time limit with a message that says why, or at once when its visitor cancelled it
(`LONG_WORK.cancel`), and reports how far the work is (`check(done, total, what)`) to the
job's `report`. Outside a job (the Python API, the CLI), `check()` does nothing: on your own
machine nothing is bounded.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from .errors import UserError

TIME_LIMIT = float(os.environ.get("BERTVIZ_LITE_TIME_LIMIT", "60"))  # seconds per long job
RUNNING = 1  # long jobs at once: onnxruntime and torch already use every core for one
WAITING = 3  # long jobs waiting for their turn; past that a new one is refused


class TimeLimitExceeded(UserError):
    """A long job ran past its time limit and was stopped."""


class Cancelled(UserError):
    """A long job's visitor cancelled it."""


# What reports a job's progress: (fraction done, a line saying what and how long is left).
Report = Callable[[float, str], None]


@dataclass
class _Job:
    """The long job this thread is running: its time limit and how it is stopped or followed."""

    limit: float
    report: Report | None = None
    started: float = field(default_factory=time.monotonic)
    cancelled: threading.Event = field(default_factory=threading.Event)
    # The steps being counted now and when they began: a job runs several kinds of them
    # (Explain: gradients, occlusion, faithfulness…), each foretells only its own time left.
    steps: str = ""
    steps_started: float = 0.0

    def stop_if_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled("Cancelled.")


_job: ContextVar[_Job | None] = ContextVar("long_job", default=None)


def check(done: int | None = None, total: int | None = None, what: str = "") -> None:
    """Stop the running job when it is past its time limit (TimeLimitExceeded) or cancelled
    (Cancelled); report `done` of `total` steps of `what` when given. Outside a job: nothing."""
    job = _job.get()
    if job is None:
        return
    job.stop_if_cancelled()
    now = time.monotonic()
    elapsed = now - job.started
    if elapsed > job.limit:
        raise TimeLimitExceeded(
            f"Stopped after {job.limit:.0f} s, this server's limit for one long computation. "
            "A shorter text finishes sooner; on your own machine the Python API "
            "(bertviz_lite.load(...).attribute / head_importance) has no limit."
        )
    if job.report is None or done is None or not total:
        return
    if what != job.steps or done == 0:
        job.steps, job.steps_started = what, now
    took = now - job.steps_started
    job.report(done / total, progress_line(what, done, total, took, elapsed, job.limit))


def progress_line(what: str, done: int, total: int, took: float, elapsed: float,
                  limit: float) -> str:  # fmt: skip
    """What a progress bar says: the step, how many of them are done, and the time left as the
    `done` steps so far (`took` seconds) foretell it; said to pass the limit when the job, at
    `elapsed` seconds now, would."""
    line = f"{what}: {done} of {total}" if what else f"{done} of {total}"
    if done <= 0 or done >= total:
        return line
    left = took / done * (total - done)
    if elapsed + left > limit:
        return f"{line}, ~{left:.0f} s more: past this server's {limit:.0f} s limit"
    return f"{line}, ~{left:.0f} s left"


class LongWork:
    """Admission for long jobs: per visitor, in all, and in time (see the module)."""

    def __init__(self, running: int = RUNNING, waiting: int = WAITING,
                 time_limit: float = TIME_LIMIT):  # fmt: skip
        self.slots = threading.Semaphore(running)
        self.capacity = running + waiting
        self.time_limit = time_limit
        self.visitors: dict[str, _Job] = {}  # those with a job running or waiting
        self.lock = threading.Lock()

    @contextmanager
    def job(self, visitor: str = "", report: Report | None = None) -> Iterator[None]:
        """Run the body as one long job of `visitor` ("" : a caller of its own, never refused
        for another's job), or raise UserError at once when it cannot be admitted. `report`
        hears how far it is (see `check`)."""
        visitor = visitor or f"anonymous-{uuid.uuid4()}"
        job = _Job(self.time_limit, report)
        with self.lock:
            if visitor in self.visitors:
                raise UserError("Your previous long computation is still running: one at a time "
                                "per visitor. Its result will appear when it is done.")  # fmt: skip
            if len(self.visitors) >= self.capacity:
                raise UserError(f"The server is busy with {len(self.visitors)} long computations "
                                "from other visitors: try again in a minute.")  # fmt: skip
            self.visitors[visitor] = job
        try:
            with self.slots:  # the wait is bounded: at most WAITING jobs ahead, each time-limited
                job.started = time.monotonic()  # the limit counts from its turn, not its wait
                job.stop_if_cancelled()
                token = _job.set(job)
                try:
                    yield
                finally:
                    _job.reset(token)
        finally:
            with self.lock:
                self.visitors.pop(visitor, None)

    def cancel(self, visitor: str) -> bool:
        """Stop `visitor`'s long job at its next check (or before it starts, if it waits);
        False when the visitor has none."""
        with self.lock:
            job = self.visitors.get(visitor)
        if job is None:
            return False
        job.cancelled.set()
        return True

    @property
    def busy(self) -> int:
        """Long jobs running or waiting."""
        return len(self.visitors)


LONG_WORK = LongWork()

"""Bounds on long work (Explain, the head sweep, downloads), so that no visitor takes the machine.

`LONG_WORK.job(visitor)` admits a job or refuses it at once with a message: one long job per
visitor at a time, `RUNNING` at once in all (each already uses every core) and `WAITING` more
waiting for a slot. Inside a job, `check()` (called by the work between its chunks) stops it
past its time limit with a message that says why. Outside a job (the Python API, the CLI),
`check()` does nothing: on your own machine nothing is bounded.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import UserError

TIME_LIMIT = float(os.environ.get("BERTVIZ_LITE_TIME_LIMIT", "60"))  # seconds per long job
RUNNING = 1  # long jobs at once: onnxruntime and torch already use every core for one
WAITING = 3  # long jobs waiting for their turn; past that a new one is refused


class TimeLimitExceeded(UserError):
    """A long job ran past its time limit and was stopped."""


# (deadline on time.monotonic(), the limit in seconds) of the job this thread is running.
_deadline: ContextVar[tuple[float, float] | None] = ContextVar("deadline", default=None)


def check() -> None:
    """Raise TimeLimitExceeded when the running job is past its time limit; otherwise nothing."""
    current = _deadline.get()
    if current is not None and time.monotonic() > current[0]:
        raise TimeLimitExceeded(
            f"Stopped after {current[1]:.0f} s, this server's limit for one long computation. "
            "A shorter text finishes sooner; on your own machine the Python API "
            "(bertviz_lite.load(...).attribute / head_importance) has no limit."
        )


class LongWork:
    """Admission for long jobs: per visitor, in all, and in time (see the module)."""

    def __init__(self, running: int = RUNNING, waiting: int = WAITING,
                 time_limit: float = TIME_LIMIT):  # fmt: skip
        self.slots = threading.Semaphore(running)
        self.capacity = running + waiting
        self.time_limit = time_limit
        self.visitors: set[str] = set()  # those with a job running or waiting
        self.lock = threading.Lock()

    @contextmanager
    def job(self, visitor: str = "") -> Iterator[None]:
        """Run the body as one long job of `visitor` ("" : a caller of its own, never refused
        for another's job), or raise UserError at once when it cannot be admitted."""
        visitor = visitor or f"anonymous-{uuid.uuid4()}"
        with self.lock:
            if visitor in self.visitors:
                raise UserError("Your previous long computation is still running: one at a time "
                                "per visitor. Its result will appear when it is done.")  # fmt: skip
            if len(self.visitors) >= self.capacity:
                raise UserError(f"The server is busy with {len(self.visitors)} long computations "
                                "from other visitors: try again in a minute.")  # fmt: skip
            self.visitors.add(visitor)
        try:
            with self.slots:  # the wait is bounded: at most WAITING jobs ahead, each time-limited
                token = _deadline.set((time.monotonic() + self.time_limit, self.time_limit))
                try:
                    yield
                finally:
                    _deadline.reset(token)
        finally:
            with self.lock:
                self.visitors.discard(visitor)

    @property
    def busy(self) -> int:
        """Long jobs running or waiting."""
        return len(self.visitors)


LONG_WORK = LongWork()

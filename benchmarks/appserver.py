"""An app as a subprocess on loopback: for the benchmark, the load test and the UI tests.

One way to start `python app.py` (or another Gradio script, such as the echo app that measures
Gradio's floor) on a free 127.0.0.1 port, wait until it answers, and stop it whatever happens
(also when the caller is killed).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ("app.py",)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class App:
    process: subprocess.Popen
    url: str
    launched: float  # time.monotonic() just before Popen
    listening: float = 0.0  # seconds from launch to the first HTTP answer
    log_file: Path | None = None


def die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the parent dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


@contextlib.contextmanager
def running_app(
    cache_dir: Path | None = None,
    scratch: Path | None = None,
    timeout: float = 240.0,
    *,
    command: Sequence[str] = APP,
) -> Iterator[App]:
    """`python app.py --port <free>` on 127.0.0.1 with its own temp dirs; always stopped.

    `cache_dir` is the export cache (default: this process's); `scratch` holds the temp files
    and the log (default: a fresh temp dir); `command` is what follows `python` (a script or
    `-m module`) and takes `--port`. Output goes to a file, not a pipe: a pipe nobody reads
    would fill and block the server.
    """
    scratch = scratch or Path(tempfile.mkdtemp(prefix="bertviz-lite-app-"))
    scratch.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        **({"BERTVIZ_LITE_CACHE": str(cache_dir)} if cache_dir else {}),
        "GRADIO_ANALYTICS_ENABLED": "False",
        # No default corpus built in the background of a measured start or load test: a test
        # that needs it builds it first (tests/conftest.py, default_corpus).
        "BERTVIZ_LITE_CORPUS_AT_START": "0",
        "TMPDIR": str(scratch),
        "GRADIO_TEMP_DIR": str(scratch / "gradio"),
    }
    env.pop("GRADIO_SERVER_NAME", None)
    env.pop("GRADIO_SERVER_PORT", None)
    log_file = scratch / f"app-{port}.log"
    with open(log_file, "w") as out:
        launched = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, *command, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    app = App(proc, f"http://127.0.0.1:{port}/", launched, log_file=log_file)
    try:
        deadline = launched + timeout
        while True:
            try:
                urllib.request.urlopen(app.url, timeout=2).read()
                app.listening = time.monotonic() - launched
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log_file.read_text(errors="replace")[-2000:]
                    raise RuntimeError(
                        f"the app did not start (exit {proc.poll()}): {tail}"
                    ) from None
                time.sleep(0.05)
        yield app
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)

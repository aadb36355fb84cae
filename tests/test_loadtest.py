"""The load test in reduced size: concurrent clients, every model, 8 to 512 tokens, no failure,
and the server's memory after the run within 20% of after warm-up. In full: the README."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_concurrent_mixed_requests():
    done = subprocess.run(
        [sys.executable, "-m", "bertviz_lite.loadtest", "--clients", "4", "--requests", "32",
         "--deadline", "600"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert report["failed"] == 0, report["failures"]
    assert report["memory_growth"] <= 0.20, report
    assert done.returncode == 0

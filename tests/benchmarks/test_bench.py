"""The benchmark runs end to end in --quick mode and writes a report with every section filled.

No timing is asserted: timings belong in the report (BENCHMARKS.md), not in tests. What is checked
is that each section exists and carries measured numbers, so a section that silently produced an
empty table fails here; and that the report's prose blocks and the code that fills them agree.
"""

from __future__ import annotations

import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import common

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = [
    "## Machine",
    "## 1. Model forward",
    "## 2. Whole request",
    "## 3. Page weight",
    "## 4. Start-up",
    "## 5. Throughput",
    "## Targets",
]
NUMBER = re.compile(r"\d+(\.\d+)?")


def section(report: str, title: str) -> str:
    """From `title` to the next level-2 heading."""
    start = report.index(title)
    end = report.find("\n## ", start + len(title))
    return report[start : end if end != -1 else None]


def table_rows(text: str) -> list[list[str]]:
    """Body rows of the Markdown tables in `text`, as lists of cell strings."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return [r for r in rows if r]


def test_every_template_the_code_fills_exists_with_its_placeholders():
    blocks = common.templates()
    code = "\n".join(p.read_text() for p in (ROOT / "benchmarks").glob("*.py"))
    used = set(re.findall(r"""fill\(\s*"([\w.]+)\"""", code))
    assert used, "no fill() calls found"
    assert used <= set(blocks), f"missing from report.md: {sorted(used - set(blocks))}"
    assert set(blocks) <= used, f"never filled: {sorted(set(blocks) - used)}"
    for template in blocks.values():  # every block parses: no stray $ in the prose
        template.substitute({k: "x" for k in placeholders(template)})


def placeholders(template: string.Template) -> set[str]:
    return {m.group("named") or m.group("braced") for m in template.pattern.finditer(template.template)
            if m.group("named") or m.group("braced")}  # fmt: skip


def test_fill_requires_every_value_and_folds_blank_lines():
    with pytest.raises(KeyError):
        common.fill("forward.budget", n=128)
    text = common.fill("start", text="t", rows="| a |", import_s="1.0", notes="")
    assert "\n\n\n" not in text


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("bench") / "BENCHMARKS.md"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.terminate()  # SIGTERM: the bench unwinds and stops the apps it started
        try:
            stdout, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
        pytest.fail(f"the quick benchmark took over 300 s: {stderr[-3000:]}")
    assert proc.returncode == 0, stderr[-3000:]
    assert out.is_file()
    text = out.read_text()
    assert text.strip() in stdout  # printed as well as written
    return text


@pytest.mark.slow
def test_every_section_is_there(report):
    for title in SECTIONS:
        assert title in report, f"missing section {title!r}"
    assert "$" not in report  # every placeholder filled


@pytest.mark.slow
def test_machine_is_described(report):
    machine = section(report, "## Machine")
    for key in ("CPU", "CPUs available", "RAM", "OS", "Python", "torch", "onnxruntime",
                "transformers", "gradio", "Date"):  # fmt: skip
        assert f"| {key}" in machine, key


@pytest.mark.slow
@pytest.mark.parametrize(
    "title, columns",
    [
        ("## 1. Model forward", ("p50 ms", "p90 ms", "speed-up vs eager")),
        ("## 2. Whole request", ("page: echo floor p50 ms", "page: /explore p50 ms",
                                 "page: above the floor, ms", "gradio_client: echo p50 ms",
                                 "gradio_client: above the floor, ms")),
        ("## 2. Whole request", ("step", "128 tokens", "512 tokens")),
        ("## 3. Page weight", ("raw", "gzip")),
        ("## 4. Start-up", ("to first /predict answer, s",)),
        ("## 5. Throughput", ("requests/s",)),
    ],
)
def test_sections_have_numbers(report, title, columns):
    rows = table_rows(section(report, title))
    header = next(r for r in rows if all(c in r for c in columns))
    body = [r for r in rows if r is not header and len(r) == len(header)]
    assert body, f"{title}: no rows"
    for column in columns[1:] if columns[0] == "step" else columns:
        i = header.index(column)
        values = [r[i] for r in body if r[i]]
        assert values and all(NUMBER.search(v) for v in values), f"{title} / {column}: {values}"


@pytest.mark.slow
def test_request_shows_floor_steps_and_the_embeddings_view(report):
    text = section(report, "## 2. Whole request")
    rows = {r[0]: r for r in table_rows(text)}
    assert {"128", "512"} <= set(rows), "the floor targets' lengths must be measured"
    for step in ("clean + analysis (model)", "render head", "serialize: figures to_json",
                 "total", "embeddings: render", "overview: render"):  # fmt: skip
        assert step in rows and NUMBER.search(rows[step][-1]), step


@pytest.mark.slow
def test_forward_compares_with_transformers(report):
    names = [r[0] for r in table_rows(section(report, "## 1. Model forward"))]
    assert any(n.startswith("transformers") for n in names)
    assert any("ONNX int8" in n for n in names) and any("ONNX fp32" in n for n in names)
    assert any("PyTorch" in n for n in names)


@pytest.mark.slow
def test_forward_measures_the_machine_and_the_drift(report):
    """The CPU's vector extensions, the kernels MLAS picks, its measured matmul throughput on the
    model's shapes with each row's share of it, and int8's drift from fp32 beside its speed."""
    machine = section(report, "## Machine")
    assert "| Vector extensions |" in machine
    text = section(report, "## 1. Model forward")
    assert "Kernels onnxruntime's MLAS picks on this CPU" in text and "fp32 GEMM" in text
    rows = table_rows(text)
    header = next(r for r in rows if "share of fp32 peak" in r)
    body = {(r[0], r[1]): r for r in rows if len(r) == len(header) and r is not header}
    share, drift = header.index("share of fp32 peak"), header.index("max abs Δ attention vs fp32")
    for (name, _), row in body.items():
        assert row[share].endswith("%"), row
        if "ONNX int8" in name:
            assert NUMBER.search(row[drift]), row
    matmul = next(r for r in rows if "onnxruntime GFLOP/s" in r)
    sizes = [r for r in rows if len(r) == len(matmul) and r[0].startswith("[T, 384]")]
    assert {r[1] for r in sizes} == {"128", "512"} and all(float(r[2]) > 0 for r in sizes)
    assert "`head_importance`" in text and "≥ 1.5× at 128 tokens" in text


@pytest.mark.slow
def test_page_weight_sets_ours_beside_bertviz(report):
    names = [r[0] for r in table_rows(section(report, "## 3. Page weight"))]
    assert "bertviz head_view" in names and "bertviz model_view" in names
    assert any("heatmap" in n for n in names) and any("overview" in n for n in names)


@pytest.mark.slow
def test_targets_say_met_or_missed(report):
    rows = table_rows(section(report, "## Targets"))[1:]
    assert len(rows) >= 5
    assert all(r[-1] in ("met", "–") or r[-1].startswith("missed") for r in rows)
    floor = [r for r in rows if "above Gradio's floor" in r[0]]
    assert len(floor) == 2 and all(NUMBER.search(r[1]) for r in floor), floor

"""The corpus benchmark runs end to end in --quick mode: every row of its report is there with
numbers, and the build's statistics agree with the transformers loop's.

No timing is asserted: timings belong in the report, not in tests.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("lancedb")
pytest.importorskip("transformers")

from benchmarks import corpus

ROWS = [
    "| transformers eager loop",
    "| ours, stats only",
    "| ours, full build",
    "| onnxruntime run (Session.run_into) |",
    "| NumPy reduction (Totals.add_text) |",
    "| stats only | ",
    "| full build | ",
    "| full build (every layer) |",
    "| layer 3 only, ~400 tokens |",
    "| layer 3 only, ~1,200 tokens |",
]


@pytest.mark.slow
def test_corpus_benchmark_reports_every_row_and_agrees(tmp_path, capsys):
    out = tmp_path / "report.md"
    corpus.main(["--quick", "--out", str(out)])
    report = capsys.readouterr().out
    assert out.read_text() == report.rstrip("\n") + "\n"
    for row in ROWS:
        assert row in report, row
    assert "- agreement: passed" in report
    assert re.search(r"CPU: .+; \d+ CPUs available", report)
    lines = report.splitlines()
    for line, following in zip(lines, [*lines[1:], ""]):  # a table's body rows, not its header
        if line.startswith("| ") and not following.startswith("|---"):
            assert re.search(r"\d", line) and "nan" not in line, line
    recalls = re.findall(r"\| (\d\.\d{3}) \|$", report, re.M)
    assert len(recalls) == 3 and all(0 <= float(r) <= 1 for r in recalls)

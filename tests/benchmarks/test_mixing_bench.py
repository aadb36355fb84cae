"""The context-mixing benchmark runs end to end in --quick mode: every row is reported with
positive times, and ours agrees with each alternative (timings are read, never asserted)."""

from __future__ import annotations

import re

import pytest

from benchmarks import mixing

ROWS = ("value zeroing, all layers", "ALTI, all layers", "attention flow, every pair",
        "faithfulness of one explanation", "random floor")  # fmt: skip
NUMBER = r"(\d+\.\d+(?:e[-+]\d+)?)"


@pytest.mark.slow
def test_the_quick_run_reports_every_row_and_agrees_with_the_alternatives(tmp_path):
    pytest.importorskip("networkx")
    out = tmp_path / "mixing.md"
    rows = mixing.main(["--quick", "--out", str(out)])
    report = out.read_text()
    assert "load average" in report and "threads" in report and "CPU" in report
    for name in ROWS:
        found = re.search(rf"\| {re.escape(name)}[^|]* \| \d+ \| {NUMBER} \| {NUMBER} \| "
                          rf"{NUMBER}× \| {NUMBER} \|", report)  # fmt: skip
        assert found, name
        ours, alternative, ratio, agreement = map(float, found.groups())
        assert ours > 0 and alternative > 0 and ratio > 0, name
        assert agreement <= 1e-4, name  # value zeroing and ALTI exactly, flow vs networkx too
    assert [r.measure.split(" (")[0].split(",")[0] for r in rows] == [
        "value zeroing", "ALTI", "attention flow", "faithfulness of one explanation",
        "random floor"]  # fmt: skip
    for r in rows:
        assert r.ours > 0 and r.alternative > 0 and r.agreement <= 1e-4, r

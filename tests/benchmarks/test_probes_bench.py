"""The probes benchmark runs end to end in --quick mode on MiniLM's default corpus: both runs
report a time and the plain loop's accuracies lie near the probe's (timings are never asserted)."""

from __future__ import annotations

import re

import pytest

from benchmarks import probes


@pytest.mark.slow
def test_the_quick_run_reports_both_runs(tmp_path, default_corpus):
    out = tmp_path / "probes.md"
    result = probes.main(["--quick", "--out", str(out)])
    report = out.read_text()
    assert re.search(r"\| ours: `c.probe\('pos'\)`[^|]*\| \d+\.\d \| 1\.00 \|", report)
    assert re.search(r"\| scikit-learn's defaults[^|]*\| \d+\.\d \| \d+\.\d\d \|", report)
    assert result["gap"] < 0.1  # the same task on the same split: close accuracies
    assert [row["layer"] for row in result["rows"]] == [0, 3, 6]

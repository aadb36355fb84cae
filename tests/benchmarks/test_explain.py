"""The Explain benchmark runs and reports each method against its target."""

from __future__ import annotations

import pytest

from benchmarks import explain


@pytest.mark.slow
def test_explain_benchmark_reports_every_method(capsys):
    explain.main(["--reps", "1", "--tokens", "24"])
    table = capsys.readouterr().out
    from bertviz_lite.attribution import METHODS

    for method in ("analyze", *METHODS):
        assert f"| {method} | 24 |" in table
    assert "≤ 1 s:" in table and "≤ 3 s:" in table

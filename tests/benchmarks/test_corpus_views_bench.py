"""The corpus views benchmark runs end to end in --quick mode: every row has a number and the
search's recall against the exact scan is reported (timings are read, never asserted)."""

from __future__ import annotations

import re

from benchmarks import corpus_views

ROWS = ("atlas: a head opened", "atlas: a statistic changed", "search: ours",
        "search: exact NumPy scan", "search view: a token clicked", "query–key view: first draw",
        "query–key view: another head")  # fmt: skip


def test_the_quick_run_reports_every_row(tmp_path):
    out = tmp_path / "views.md"
    corpus_views.main(["--quick", "--out", str(out)])
    report = out.read_text()
    for row in ROWS:
        assert re.search(rf"\| {re.escape(row)}[^|]* \| \d+\.\d ms \|", report), row
    recall = float(re.search(r"recall@10 against the scan (\d\.\d+)", report).group(1))
    assert recall >= 0.9  # exact below the index's threshold: the same ten tokens

"""The Attention-operator benchmark (issue 29, lever 1) runs in --quick mode: both graphs answer
alike (the fused operator's softmax output is our attention map) and both are timed (timings are
never asserted)."""

from __future__ import annotations

import re

from benchmarks import attention_op


def test_the_quick_run_compares_both_graphs(tmp_path):
    out = tmp_path / "attention.md"
    rows = attention_op.main(["--quick", "--out", str(out)])
    assert [r["tokens"] for r in rows] == [32, 32]
    for r in rows:
        assert r["max_dp"] < 1e-6 and r["max_dy"] < 1e-5
        assert r["ours_ms"] > 0 and r["fused_ms"] > 0
    assert re.search(r"\| MiniLM \(12 × 32\) \| 32 \| \d+\.\d+ \| \d+\.\d+ \| \d+\.\d\d× \|",
                     out.read_text())  # fmt: skip

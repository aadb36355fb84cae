"""Tests of the model-card writer (`train.cards`, prose in `train/card_template.md`).

The strongest check: each committed card, models/<task>/README.md, is regenerated from the
committed adapter.json, NOTES.md and the figures in its own tables, and comes out the same.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from string import Template
from typing import Any

import pytest

from bertviz_lite.train import cards
from bertviz_lite.train.tasks import TASKS, default_out

ROW_KEYS = {name: key for key, name in cards.PATHS.items()}


def figures_from_card(task: str, card: str) -> dict[str, Any]:
    """The test figures a card was written from, read back from its tables (4 decimals; an
    accuracy is exact again as a count over n)."""
    n = int(re.search(r"^Test split \((\d+) ", card, re.M).group(1))
    section = card.split("## Test figures", 1)[1].split("\n## ", 1)[0]

    def rows(text: str) -> list[list[str]]:
        return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
                if line.startswith("| ")]  # fmt: skip

    figures: dict[str, Any] = {}
    for cells in rows(section.split("Per-type", 1)[0]):
        if cells[0] not in ROW_KEYS:
            continue
        if task == "ner":
            f1, p, r = map(float, cells[1:4])
            m = {"f1": f1, "precision": p, "recall": r, "n": n, "per_type": {}}
        else:
            m = {"accuracy": round(float(cells[1]) * n) / n, "n": n}
        figures[ROW_KEYS[cells[0]]] = m
    if task == "ner":
        for cells in rows(section.split("Per-type", 1)[1]):
            if cells[1].isdigit():
                for key, f1 in zip(figures, cells[2:], strict=True):
                    figures[key]["per_type"][cells[0]] = {"f1": float(f1), "support": int(cells[1])}
    return figures


def adapter_copy(task: str, folder: Path, notes: bool = True) -> Path:
    for name in ["adapter.json", "adapter.safetensors"] + (["NOTES.md"] if notes else []):
        shutil.copy(default_out(task) / name, folder / name)
    return folder


@pytest.mark.parametrize("task", list(TASKS))
def test_committed_card_regenerates(task, tmp_path):
    committed = (default_out(task) / "README.md").read_text(encoding="utf-8")
    figures = figures_from_card(task, committed)
    assert "torch_fp32" in figures and len(figures) >= 2
    cards.write_card(task, adapter_copy(task, tmp_path), figures)
    written = (tmp_path / "README.md").read_text(encoding="utf-8")
    # The difference line is computed from unrounded NER figures: it may move by 0.01 points.
    diff = re.compile(r"^(Difference, .* minus PyTorch: )([-+]\d+\.\d\d)( points\.)$", re.M)
    got, want = diff.search(written), diff.search(committed)
    assert abs(float(got.group(2)) - float(want.group(2))) <= 0.011
    assert diff.sub(r"\1X\3", written) == diff.sub(r"\1X\3", committed)
    assert committed.startswith(f"# {TASKS[task].title}\n")
    notes = cards.read_notes(default_out(task))
    assert notes and committed.endswith(f"\n## Notes\n\n{notes}\n")


def test_notes_file(tmp_path):
    assert cards.read_notes(tmp_path) is None
    (tmp_path / "NOTES.md").write_text("<!-- for editors\nonly -->\n\nFirst.\n\nSecond.\n\n")
    assert cards.read_notes(tmp_path) == "First.\n\nSecond."
    (tmp_path / "NOTES.md").write_text("<!-- nothing else -->\n")
    assert cards.read_notes(tmp_path) is None
    # Only a leading comment goes: one further down is part of the notes.
    (tmp_path / "NOTES.md").write_text("Text <!-- kept --> here.\n")
    assert cards.read_notes(tmp_path) == "Text <!-- kept --> here."


def test_card_without_notes_and_a_missed_target(tmp_path):
    folder = adapter_copy("topic", tmp_path, notes=False)
    card = cards.render("topic", folder, {"torch_fp32": {"accuracy": 0.9, "n": 216}})
    assert "## Notes" not in card
    assert card.endswith("| PyTorch fp32 (merged adapter) | 0.9000 |\n")
    assert "target accuracy ≥ 0.97: **missed by 7.0 points**." in card
    assert "Difference" not in card  # one path only, as right after training
    assert "- Sequence classification: [CLS] → pooler → dropout → linear.\n" in card
    assert "Letter case" not in card  # no case embeddings in the topic model
    assert "dev and test read up to 512, as the app does." in card
    assert "$" not in card


def test_ner_card_parts(tmp_path):
    folder = adapter_copy("ner", tmp_path)
    per_type = {"PER": {"f1": 0.9, "support": 3}, "LOC": {"f1": 0.5, "support": 2}}
    m = {"f1": 0.81, "precision": 0.8, "recall": 0.82, "n": 7, "per_type": per_type}
    card = cards.render("ner", folder, {"torch_fp32": m})
    assert (
        "Test split (7 sentences), read once after training; target entity F1 ≥ 0.80: met.\n"
        in card
    )
    assert "- Letter case: the base's vocabulary is uncased" in card
    assert "as in the app.\n- Letter case:" in card  # one list item after the other
    assert "so batching would move its figures) (the test words are fed pre-split" in card
    assert "| LOC | 2 | 0.5000 |\n| PER | 3 | 0.9000 |\n\n## Notes\n\nONNX fp32, the app" in card and "\n\nFour runs" in card


def test_figure_rows():
    a = {"accuracy": 0.5, "n": 4}
    b = {"accuracy": 0.75, "n": 4}
    rows = cards.figure_rows("sentiment", {"torch_fp32": a, "onnx_fp32": b})
    assert rows == [
        "| path | test accuracy |",
        "|---|---|",
        "| PyTorch fp32 (merged adapter) | 0.5000 |",
        "| ONNX fp32 (the app's default, exact) | 0.7500 |",
        "",
        "Difference, ONNX fp32 (the app's default, exact) minus PyTorch: +25.00 points.",
    ]
    t = {"X": {"f1": 0.25, "support": 4}}
    ner = {"f1": 0.5, "precision": 0.4, "recall": 0.6, "per_type": t, "n": 4}
    rows = cards.figure_rows("ner", {"torch_fp32": ner, "onnx_int8": {**ner, "f1": 0.45}})
    assert rows[0] == "| path | test entity F1 | precision | recall |"
    assert rows[2] == "| PyTorch fp32 (merged adapter) | 0.5000 | 0.4000 | 0.6000 |"
    assert (
        rows[5] == "Difference, ONNX int8 (the app's fast, approximate precision) minus PyTorch: -5.00 points."
    )
    assert rows[-3:] == ["| type | support | F1, torch_fp32 | F1, onnx_int8 |", "|---|---|---|---|",
                         "| X | 4 | 0.2500 | 0.2500 |"]  # fmt: skip


def test_headline():
    assert cards.headline("topic", {"accuracy": 0.97222, "n": 216}) == "accuracy 0.9722 (n=216)"
    per_type = {"PER": {"f1": 0.8}, "LOC": {"f1": 0.9}}
    m = {"f1": 0.8, "precision": 0.75, "recall": 0.85, "per_type": per_type}
    assert cards.headline("ner", m) == (
        "entity F1 0.8000 (P 0.7500, R 0.8500; LOC 0.9000, PER 0.8000)"
    )


def test_template_parts():
    parts = cards.template_parts()
    expected = {"card", "notes", "case_embeddings"}
    expected |= {f"data_rule.{t}" for t in TASKS}
    expected |= {f"{p}.{k}" for p in ("head", "test_inputs") for k in ("ner", "classification")}
    expected |= {"mlm.card", "mlm.masking.tokens", "mlm.masking.whole_word"}
    assert set(parts) == expected
    assert all(isinstance(p, Template) for p in parts.values())
    # The text before the first part (the file's own comment) is not in any part.
    assert not any("string.Template" in p.template for p in parts.values())
    assert parts["card"].template.startswith("# $title\n")
    assert parts["test_inputs.ner"].template.startswith(" (")  # the leading space is kept


# ---------------------------------------------------------------------------------------------
# the masked-LM card


def mlm_figures_from_card(card: str) -> dict[str, Any]:
    """The figures models/minilm-mlm/README.md was written from, read back from its tables (4
    decimals: exact again as counts over n), and the test split's sizes."""
    n = int(re.search(r": (\d+) probes from (\d+) windows of (\d+) documents", card).group(1))
    section = card.split("## Test figures", 1)[1].split("\n## ", 1)[0]
    table, per_source = section.split("Per source", 1)
    exact = lambda x, k: round(float(x) * k) / k  # noqa: E731
    figures: dict[str, Any] = {"before": {}, "after": {}}
    first = None
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and cells[0] in ROW_KEYS:
            key = ROW_KEYS[cells[0]]
            first = first or key
            for stage, (t1, t5) in zip(("before", "after"), (cells[1:3], cells[3:5])):
                figures[stage][key] = {"top1": exact(t1, n), "top5": exact(t5, n), "n": n,
                                       "by_source": {}}  # fmt: skip
    for line in per_source.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and cells[1].isdigit():
            k = int(cells[1])
            for stage, (t1, t5) in zip(("before", "after"), (cells[2:4], cells[4:6])):
                figures[stage][first]["by_source"][cells[0]] = {
                    "top1": exact(t1, k), "top5": exact(t5, k), "n": k}  # fmt: skip
    return figures


def mlm_sizes(card: str) -> dict[str, int]:
    m = re.search(r": (\d+) probes from (\d+) windows of (\d+) documents", card)
    return {"test_docs": int(m.group(3)), "test_windows": int(m.group(2))}


def test_committed_mlm_card_regenerates(tmp_path):
    from bertviz_lite.train.mlm import HEAD_ONLY
    from bertviz_lite.train.mlm import default_out as mlm_out

    committed = (mlm_out() / "README.md").read_text(encoding="utf-8")
    figures = mlm_figures_from_card(committed)
    assert set(figures["after"]) == {"torch_fp32", "onnx_fp32", "onnx_int8"}
    for name in ("adapter.json", "adapter.safetensors", "NOTES.md"):
        shutil.copy(mlm_out() / name, tmp_path / name)
    (tmp_path / HEAD_ONLY).mkdir()
    for name in ("adapter.json", "adapter.safetensors"):
        shutil.copy(mlm_out() / HEAD_ONLY / name, tmp_path / HEAD_ONLY / name)
    cards.write_mlm_card(tmp_path, figures, **mlm_sizes(committed))
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == committed
    notes = cards.read_notes(mlm_out())
    assert notes and committed.endswith(f"\n## Notes\n\n{notes}\n")


def test_mlm_figure_rows_and_verdict():
    def m(t1, t5, by=None):
        return {"top1": t1, "top5": t5, "n": 10, "by_source": by or {}}

    by = {"bbc": {"top1": 0.5, "top5": 0.7, "n": 6}, "tweet": {"top1": 0.25, "top5": 0.5, "n": 4}}
    figures = {
        "before": {"torch_fp32": m(0.1, 0.2, by), "onnx_int8": m(0.1, 0.3)},
        "after": {"torch_fp32": m(0.45, 0.65, by), "onnx_int8": m(0.41, 0.6)},
    }
    rows = cards.mlm_figure_rows(figures)
    assert rows[:4] == [
        "| path | before: top-1 | before: top-5 | after: top-1 | after: top-5 |",
        "|---|---|---|---|---|",
        "| PyTorch fp32 (merged adapter) | 0.1000 | 0.2000 | 0.4500 | 0.6500 |",
        "| ONNX int8 (the app's fast, approximate precision) | 0.1000 | 0.3000 | 0.4100 | 0.6000 |",
    ]
    assert rows[5] == (
        "Gain from pre-training (after minus before, top-1 / top-5 points): PyTorch fp32 (merged "
        "adapter) +35.00 / +45.00; ONNX int8 (the app's fast, approximate precision) +31.00 / +30.00."
    )
    assert rows[-2:] == ["| bbc | 6 | 0.5000 | 0.7000 | 0.5000 | 0.7000 |",
                         "| tweet | 4 | 0.2500 | 0.5000 | 0.2500 | 0.5000 |"]  # fmt: skip
    assert cards.mlm_verdict(figures["after"], 0.40, 0.60) == "met."
    verdict = cards.mlm_verdict(figures["after"], 0.42, 0.60)
    assert (
        verdict == "**missed**: top-1 through ONNX int8 (the app's fast, approximate precision) by 1.0 points."
    )
    # Without ONNX rows, PyTorch is judged.
    assert cards.mlm_verdict({"torch_fp32": m(0.3, 0.7)}, 0.4, 0.6).startswith("**missed**: top-1")

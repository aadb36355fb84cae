"""Tests of the command line (`python -m bertviz_lite.train`): its arguments reach the training
and the evaluation, and what `eval` prints and writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bertviz_lite.train import evaluate, fit
from bertviz_lite.train.__main__ import main
from bertviz_lite.train.tasks import default_out

ROOT = Path(__file__).resolve().parents[2]


def test_train_arguments(monkeypatch):
    calls = []
    monkeypatch.setattr(fit, "train_task", lambda *args: calls.append(args))
    main(["topic"])
    main(["ner", "--epochs", "2", "--max-steps", "5", "--out", "/tmp/x y", "--limit", "9"])
    assert calls == [
        ("topic", "python -m bertviz_lite.train topic", None, None, None, None),
        (
            "ner",
            "python -m bertviz_lite.train ner --epochs 2 --max-steps 5 --out '/tmp/x y' --limit 9",
            Path("/tmp/x y"), 2, 5, 9,
        ),
    ]  # fmt: skip


def test_bad_arguments(capsys):
    for argv in (["pos"], ["eval", "topic", "--variant", "fp16"], ["eval"], []):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
    assert "invalid choice: 'fp16'" in capsys.readouterr().err


FIGURES = {
    "torch_fp32": {"accuracy": 0.5, "loss": 0.7, "n": 216},
    "onnx_int8": {"accuracy": 0.75, "loss": 0.6, "n": 216},
    "onnx_int8_app": {"accuracy": 1.0, "n": 216},
}


def test_eval_prints_writes_json_and_the_card(monkeypatch, tmp_path, capsys):
    calls = []

    def fake(task, adapter_dir, variant, limit):
        calls.append((task, adapter_dir, variant, limit))
        return {k.replace("int8", variant): v for k, v in FIGURES.items()}

    monkeypatch.setattr(evaluate, "evaluate_committed", fake)
    folder = tmp_path / "topic"
    folder.mkdir()
    for name in ("adapter.json", "adapter.safetensors", "NOTES.md"):
        shutil.copy(default_out("topic") / name, folder)
    argv = ["eval", "topic", "--adapter", str(folder), "--limit", "3", "--card"]
    main([*argv, "--json", str(tmp_path / "f.json")])
    assert calls == [("topic", folder.resolve(), "int8", 3)]
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == [
        "topic test, torch fp32:      accuracy 0.5000 (n=216)",
        "topic test, ONNX int8:     accuracy 0.7500 (n=216)",
        "difference (ONNX - torch): +25.00 points",
        "topic test, ONNX int8 via analyze_batch (up to 512 tokens): accuracy 1.0000 (n=216)",
    ]
    assert lines[-1] == f"wrote {folder.resolve() / 'README.md'}"
    assert json.loads((tmp_path / "f.json").read_text()) == FIGURES
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "| ONNX int8 via `analyze_batch` (raw text, up to 512 tokens) | 1.0000 |" in card
    assert "target accuracy ≥ 0.97: **missed by 47.0 points**." in card
    # Without --card nothing is written; the default adapter is models/<task>/.
    main(["eval", "topic", "--variant", "fp32"])
    assert calls[-1] == ("topic", default_out("topic").resolve(), "fp32", None)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "topic test, ONNX fp32:     accuracy 0.7500 (n=216)"
    assert not any(line.startswith("wrote") for line in lines)


def test_runs_as_a_module():
    for argv in (["--help"], ["eval", "--help"]):
        out = subprocess.run(
            [sys.executable, "-m", "bertviz_lite.train", *argv],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        assert "usage: python -m bertviz_lite.train" in out.stdout
        assert ("--variant" in out.stdout) == (argv[0] == "eval")


@pytest.mark.slow
def test_eval_of_a_committed_adapter(tmp_path, capsys):
    pytest.importorskip("peft")
    main(["eval", "sentiment", "--limit", "8", "--json", str(tmp_path / "f.json")])
    figures = json.loads((tmp_path / "f.json").read_text())
    assert list(figures) == ["torch_fp32", "onnx_int8", "onnx_int8_app"]
    assert all(m["n"] == 8 for m in figures.values())
    out = capsys.readouterr().out
    assert (
        f"sentiment test, torch fp32:      accuracy {figures['torch_fp32']['accuracy']:.4f}" in out
    )
    assert "wrote" not in out


def test_mlm_arguments(monkeypatch):
    from bertviz_lite.train import pretrain

    calls = []
    monkeypatch.setattr(pretrain, "train_mlm", lambda *args: calls.append(args))
    main(["mlm"])
    main(["minilm-mlm", "--whole-word", "--head-only", "--resume", "--epochs", "3",
          "--head-epochs", "2", "--max-steps", "7", "--limit", "5", "--out", "/tmp/m"])  # fmt: skip
    assert calls == [
        ("python -m bertviz_lite.train mlm", None, None, None, None, None, False, False, False),
        (
            "python -m bertviz_lite.train minilm-mlm --whole-word --head-only --resume --epochs 3 "
            "--head-epochs 2 --max-steps 7 --limit 5 --out /tmp/m",
            Path("/tmp/m"), 3, 2, 7, 5, True, True, True,
        ),
    ]  # fmt: skip


def test_mlm_flags_are_for_mlm_only(capsys):
    with pytest.raises(SystemExit) as e:
        main(["topic", "--whole-word"])
    assert e.value.code == 2
    assert "--whole-word: only for mlm" in capsys.readouterr().err


def test_eval_mlm_prints_both_stages_and_writes_json(monkeypatch, tmp_path, capsys):
    from bertviz_lite.train import pretrain

    m = {"top1": 0.5, "top5": 0.75, "loss": 2.0, "n": 8, "by_source": {}}
    calls = []

    def fake(folder, variants, limit):
        calls.append((folder, variants, limit))
        rows = {"torch_fp32": m, **{f"onnx_{v}": m for v in variants}}
        return {"before": rows, "after": rows}, {"documents": 2, "windows": 3}

    monkeypatch.setattr(pretrain, "evaluate_mlm", fake)
    main(["eval", "minilm-mlm", "--adapter", str(tmp_path), "--limit", "2",
          "--json", str(tmp_path / "f.json")])  # fmt: skip
    main(["eval", "mlm", "--variant", "int8"])
    from bertviz_lite.train.mlm import default_out as mlm_out

    assert calls == [(tmp_path.resolve(), ("fp32", "int8"), 2),
                     (mlm_out().resolve(), ("int8",), None)]  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "minilm-mlm test, before, torch_fp32:  top-1 0.5000, top-5 0.7500 (n=8)"
    assert lines[2] == "minilm-mlm test, before, onnx_int8:   top-1 0.5000, top-5 0.7500 (n=8)"
    assert json.loads((tmp_path / "f.json").read_text())["after"]["onnx_fp32"] == m

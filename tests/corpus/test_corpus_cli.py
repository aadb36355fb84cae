"""`python -m bertviz_lite corpus ...`: build, stats, search and examples from the command line;
a wrong folder or file is a message and exit status 2."""

from __future__ import annotations

import json

import pytest

from bertviz_lite.__main__ import main


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data = root / "texts.jsonl"
    data.write_text("\n".join(json.dumps({"text": t}) for t in
                              ["The cat sat on the mat.", "", "Paris is in France."]))  # fmt: skip
    assert main(["corpus", "build", "--model", "minilm", "--data", str(data), "--out",
                 str(root / "c"), "--vectors-layers", "0,6", "--chunk-size", "1"]) == 0  # fmt: skip
    return root / "c"


def test_build_then_stats(folder, capsys):
    capsys.readouterr()
    assert main(["corpus", "stats", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["layer", "head", "to_cls", "to_sep", "to_self", "to_prev",
                                "to_next", "to_punct", "entropy"]  # fmt: skip
    assert len(lines) == 1 + 6 * 12 and lines[1].split()[:2] == ["0", "0"]
    assert main(["corpus", "stats", str(folder), "--measure", "norm", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 72 and abs(rows[0]["to_cls"] - 0.5) < 0.5


def test_search_examples_and_dependencies(folder, capsys):
    capsys.readouterr()
    assert main(["corpus", "search", str(folder), "--text", "A dog sat.", "--position", "3",
                 "--layer", "6", "--k", "2", "--json"]) == 0  # fmt: skip
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hits[0]["token"] == "sat" and hits[0]["sentence"] == 0
    assert main(["corpus", "examples", str(folder), "--layer", "1", "--head", "2",
                 "--stat", "entropy", "--k", "1"]) == 0  # fmt: skip
    assert "sentence" in capsys.readouterr().out
    assert main(["corpus", "stats", str(folder), "--dependencies"]) == 0
    assert "relation" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["corpus", "stats", "/"], "not a corpus"),
    (["corpus", "build", "--data", "missing.jsonl", "--out", "x"], "no such file"),
    (["corpus", "build", "--data", "amazon", "--out", "x", "--vectors-layers", "last"],
     "--vectors-layers"),
])  # fmt: skip
def test_mistakes_are_messages(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_searching_an_unindexed_layer_says_which_are(folder, capsys):
    assert main(["corpus", "search", str(folder), "--text", "A dog.", "--position", "1",
                 "--layer", "3"]) == 2  # fmt: skip
    assert "layers 0, 6" in capsys.readouterr().err


def test_without_the_store_the_message_says_what_to_install(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = ("import sys; sys.modules['pyarrow'] = None; "  # as in an app-only install
              "from bertviz_lite.__main__ import main; "
              f"sys.exit(main(['corpus', 'stats', {str(tmp_path)!r}]))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "a corpus needs pyarrow: pip install -r requirements.txt" in done.stderr

"""The corpora the app knows by name: the default corpus per catalog model, --corpus folders
registered with their checks, and a corpus folder left exactly as it was by every corpus view."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bertviz_lite import corpora, events, urlstate
from bertviz_lite.context import ViewContext
from bertviz_lite.views import VIEWS, UserError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    """Each test registers into its own list of corpora."""
    monkeypatch.setattr(corpora, "_registered", {})


def test_the_default_corpus_holds_the_shipped_texts(default_corpus):
    lines = [t for t in corpora.DEFAULT_TEXTS.read_text(encoding="utf-8").splitlines() if t.strip()]
    assert default_corpus.size == len(lines) == 1026
    assert default_corpus.model == "minilm"
    assert default_corpus.folder == corpora.default_folder("minilm")
    assert corpora.open_corpus("default", "minilm") is corpora.open_corpus("default", "minilm")


def test_every_catalog_model_offers_its_default_and_only_its_own(default_corpus, tmp_path):
    assert corpora.names_for("sentiment") == ["default"]
    assert corpora.names_for("someone-elses") == []
    with pytest.raises(UserError, match="No corpus 'mine' for model 'minilm'"):
        corpora.open_corpus("mine", "minilm")
    with pytest.raises(UserError, match="build one with"):
        corpora.open_corpus("", "someone-elses")


def copy_of(corpus, tmp_path: Path, name: str, manifest_only: bool = False) -> Path:
    folder = tmp_path / name
    if manifest_only:  # all that registering reads
        folder.mkdir()
        shutil.copy(corpus.folder / "corpus.json", folder)
    else:
        shutil.copytree(corpus.folder, folder)
    return folder


def test_a_corpus_folder_is_registered_by_name_with_its_model(default_corpus, tmp_path):
    folder = copy_of(default_corpus, tmp_path, "news")
    known = corpora.register(folder)
    assert known.name == "news" and known.model == "minilm"
    assert corpora.names_for("minilm") == ["default", "news"]
    assert corpora.names_for("sentiment") == ["default"]  # another model's corpus is not shown
    assert corpora.open_corpus("news", "minilm").size == default_corpus.size
    with pytest.raises(UserError, match="No corpus 'news' for model 'sentiment'"):
        corpora.open_corpus("news", "sentiment")


@pytest.mark.parametrize("problem", ["no manifest", "unfinished", "unknown model", "bad name"])
def test_a_bad_corpus_folder_is_refused_with_its_reason(default_corpus, tmp_path, problem):
    folder = copy_of(default_corpus, tmp_path, "bad", manifest_only=True)
    manifest = json.loads((folder / "corpus.json").read_text())
    name, match = None, {"no manifest": "not a corpus folder", "unfinished": "unfinished build",
                         "unknown model": "does not list", "bad name": "cannot name a corpus"}[problem]  # fmt: skip
    if problem == "no manifest":
        (folder / "corpus.json").unlink()
    elif problem == "unfinished":
        (folder / "corpus.json").write_text(json.dumps({**manifest, "status": "building"}))
    elif problem == "unknown model":
        (folder / "corpus.json").write_text(json.dumps({**manifest, "model": "../elsewhere"}))
    else:
        name = "../up"
    with pytest.raises(UserError, match=match):
        corpora.register(folder, name)


def files_of(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_the_corpus_views_leave_a_corpus_folder_as_it_was(default_corpus, tmp_path):
    folder = copy_of(default_corpus, tmp_path, "untouched")
    before = files_of(folder)
    corpus = corpora.register(folder) and corpora.open_corpus("untouched", "minilm")
    text = "Shares in the firm rose sharply after the report."
    ctx = ViewContext(events.analysis("minilm", text, None), events.model("minilm"),
                      events.CACHE, None, lambda name: corpus)  # fmt: skip
    state = urlstate.default_state(events.shape("minilm"), text=text)
    for view, settings in (("atlas", {"atlas_stat": "dependency"}), ("atlas", {}),
                           ("search", {"search_token": 1}), ("qk", {})):  # fmt: skip
        VIEWS[view].render(ctx, state.replace(view=view, corpus="untouched", **settings))
    assert files_of(folder) == before


def test_the_app_refuses_a_bad_corpus_at_start(tmp_path):
    done = subprocess.run([sys.executable, "app.py", "--corpus", str(tmp_path / "nowhere")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2 and "is not a corpus folder" in done.stderr, done.stderr

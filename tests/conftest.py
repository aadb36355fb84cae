"""Shared fixtures: tiny random BERT checkpoints written by `transformers`, and a private cache;
tiny checkpoints of every family and head (families/tiny_families.py, for tests/families/),
built and exported once per session on first use.

The checkpoints are saved with `save_pretrained`, so their file layout and tensor names are
exactly those of real Hugging Face checkpoints; no hub is involved.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from tiny_checkpoints import (  # noqa: F401  (kept importable from conftest as before)
    LABELS,
    SPECIALS,
    TINY,
    WORDS,
    assert_close_unpadded,
    random_batch,
    write_checkpoint,
)

# A private export cache for the whole test session, set before bertviz_lite reads it.
os.environ.setdefault("BERTVIZ_LITE_CACHE", tempfile.mkdtemp(prefix="bertviz-lite-test-cache-"))


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """One tiny checkpoint per supported architecture."""
    root = tmp_path_factory.mktemp("checkpoints")
    archs = [
        "BertModel",
        "BertForSequenceClassification",
        "BertForTokenClassification",
        "BertForMaskedLM",
    ]
    return {a: write_checkpoint(root / a, a, seed=i) for i, a in enumerate(archs)}


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    from bertviz_lite import catalog

    return catalog.checkpoint_dir(catalog.entries()["minilm"])


@pytest.fixture(scope="session")
def hf_forward():
    """The oracle: transformers' model with eager attention → (logits, attentions, hidden_states)."""
    import numpy as np
    import torch
    import transformers

    models = {}

    def forward(path: Path, batch: dict):
        if path not in models:
            arch = json.loads((path / "config.json").read_text())["architectures"][0]
            models[path] = (
                getattr(transformers, arch)
                .from_pretrained(path, attn_implementation="eager")
                .eval()
            )
        with torch.no_grad():
            out = models[path](
                **{k: torch.from_numpy(v) for k, v in batch.items()},
                output_attentions=True,
                output_hidden_states=True,
            )
        logits = getattr(out, "logits", None)
        return (
            None if logits is None else logits.numpy(),
            np.stack([a.numpy() for a in out.attentions], 1),
            np.stack([h.numpy() for h in out.hidden_states], 1),
        )

    return forward


# --- every family (tests/families/) -----------------------------------------------------------


@pytest.fixture(scope="session")
def family_checkpoint(tmp_path_factory):
    """family, head → the folder of a tiny checkpoint with its tokenizer, written once."""
    made: dict[tuple[str, str], Path] = {}
    root = tmp_path_factory.mktemp("families")

    def get(family: str, head: str) -> Path:
        if (family, head) not in made:
            from tiny_families import write  # tests/families/, on the path of its tests

            made[family, head] = write(root / f"{family}-{head}", family, head, seed=len(made))
        return made[family, head]

    return get


@pytest.fixture(scope="session")
def family_model(family_checkpoint):
    """family, head, variant → bv.load of that tiny checkpoint (exported once, kept open)."""
    import bertviz_lite as bv

    loaded = {}

    def get(family: str, head: str, variant: str = "fp32"):
        if (family, head, variant) not in loaded:
            path = family_checkpoint(family, head)
            loaded[family, head, variant] = bv.load(str(path), variant=variant, progress=False)
        return loaded[family, head, variant]

    return get


@pytest.fixture(scope="session")
def sentiment():
    """The catalog's sentiment classifier (MiniLM + its adapter), loaded once."""
    import bertviz_lite as bv

    return bv.load("sentiment", progress=False)


@pytest.fixture(scope="session")
def ner():
    """The catalog's NER model, loaded once."""
    import bertviz_lite as bv

    return bv.load("ner", progress=False)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, for the browser tests (a Playwright download cannot work
    here); without the background-networking flags it keeps calling hosts it cannot reach."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "install Debian's chromium (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])  # fmt: skip
        yield b
        b.close()


@pytest.fixture(scope="session")
def default_corpus():
    """MiniLM's default corpus (assets/default_corpus.txt, 1,026 texts), built once per session
    in the session's cache (~20 s on 2 cores); app servers started by tests find it there."""
    from bertviz_lite import corpora

    return corpora.wait_for_default("minilm")

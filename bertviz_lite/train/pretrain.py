"""Masked-LM pre-training end to end, and the test figures of the stored adapters.

`train_mlm` reads the pre-training text (`data.mlm`), trains the head alone on the frozen encoder
(stage 1, saved into <out>/head-only/: the "before") and then LoRA + head (stage 2, saved into
<out>/: what `bv.load("minilm-mlm")` opens), keeping fp16 storage only when the dev figures move
by at most 0.1 points; it checkpoints as it goes (`resume=True` continues a stopped run), then
reads the test split once through the saved artifacts and, for models/minilm-mlm/, writes the
card. `evaluate_mlm` scores both stored adapters on the test probes through fp32 torch and
through ONNX (fp32 and int8, one probe at a time as the app runs a text), on the same token ids.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import adapter, catalog
from ..cache import package_version
from ..tokenizer import Tokenizer
from . import mlm, mlm_eval, mlm_store, mlm_windows
from .data import mlm as mlm_data
from .fit import MACHINE
from .masking import Vocab
from .tasks import base_dir

# The figure paths, in the order the card lists them.
PATHS = ("torch_fp32", "onnx_fp32", "onnx_int8")


def headline(m: dict[str, Any]) -> str:
    return f"top-1 {m['top1']:.4f}, top-5 {m['top5']:.4f} (n={m['n']})"


def _versions() -> dict[str, str]:
    return {d: package_version(d) for d in ("torch", "peft", "tokenizers")}


def _corpus(s: mlm.MLMSettings, split: str, limit: int | None, tok: Tokenizer):
    items = mlm_data.load_split(split, limit)
    return items, mlm_windows.windows(items, tok, s.max_length)


def _store(result: mlm.StageResult, folder: Path, meta: dict[str, Any], base: Path, dev_w, vocab,
           s: mlm.MLMSettings) -> dict[str, Any]:  # fmt: skip
    """Save the stage's adapter, fp16 when the dev figures move by at most 0.1 points (fp32
    otherwise); return the dev figures of the stored artifact."""
    for dtype in ("float16", "float32"):
        adapter.save(result.model, folder, meta, dtype=dtype)
        dev = mlm_eval.dev_metrics(mlm_store.load_merged(base, folder), dev_w, vocab, s)
        moved = 100 * max(abs(dev["top1"] - result.best_dev["top1"]),
                          abs(dev["top5"] - result.best_dev["top5"]))  # fmt: skip
        print(f"stored as {dtype}: dev top-1 {dev['top1']:.4f} ({moved:.2f} points from training)")
        if moved <= 0.1:
            return dev
    return dev


def train_mlm(
    command: str,
    out: Path | None = None,
    epochs: int | None = None,
    head_epochs: int | None = None,
    max_steps: int | None = None,
    limit: int | None = None,
    whole_word: bool = False,
    head_only: bool = False,
    resume: bool = False,
    progress: bool = True,
) -> Path:
    """Pre-train, save <out>/head-only/ and <out>/ (default models/minilm-mlm/), return <out>."""
    s = dataclasses.replace(
        mlm.SETTINGS,
        whole_word=whole_word,
        epochs=epochs or mlm.SETTINGS.epochs,
        head_epochs=head_epochs or mlm.SETTINGS.head_epochs,
    )
    folder = out if out is not None else mlm.default_out()
    base = base_dir()
    from .loop import set_threads

    set_threads()
    tok = Tokenizer.from_dir(base, s.max_length)
    vocab = Vocab.from_backend(tok.backend)
    train_items, train_w = _corpus(s, "train", limit, tok)
    dev_items, dev_w = _corpus(s, "dev", limit, tok)
    sizes = {"train": len(train_items), "dev": len(dev_items)}
    windows = {"train": len(train_w), "dev": len(dev_w)}
    tokens = sum(len(w.ids) - 2 for w in train_w)
    print(f"{mlm.NAME}: {sizes} documents, {windows} windows, {tokens} training tokens; "
          f"settings {s.as_dict()}")  # fmt: skip

    ckpt = mlm.Checkpointer(mlm.checkpoint_file(folder), {})
    state = ckpt.load() if resume else None
    run = {"settings": s.as_dict(), "limit": limit, "max_steps": max_steps, "sizes": sizes,
           "head_only": head_only}  # fmt: skip
    if state is not None:
        if state["extra"]["run"] != run:
            raise SystemExit(
                f"--resume: the checkpoint {ckpt.path} is of another run "
                f"({state['extra']['run']}); start afresh without --resume"
            )
        print(f"resuming from {ckpt.path} (stage {state['stage']}, epoch {state['epoch']})")
    elif resume:
        print(f"--resume: no checkpoint at {ckpt.path}; starting afresh")
    done: dict[str, Any] = dict(state["extra"]["done"]) if state else {}
    ckpt.extra = {"run": run, "done": done}
    info = {**mlm_data.provenance(), "sizes": sizes, "windows": windows, "train_tokens": tokens}

    def meta(stage: str, result: mlm.StageResult) -> dict[str, Any]:
        training = {
            "settings": s.as_dict(), "stage": stage, "epochs_run": len(result.history),
            "best_epoch": result.best_epoch, "steps": result.steps,
            "seconds": round(result.seconds, 1), "machine": MACHINE, "command": command,
            "dev": result.history, "versions": _versions(),
        }  # fmt: skip
        if stage == "lora":
            training["head_stage"] = done["head"]
        return {**mlm_store.model_meta(s, base, stage), "data": info, "training": training}

    # Stage 1: the head alone on the frozen encoder.
    head_dir = folder / mlm.HEAD_ONLY
    counts = np.bincount(
        np.concatenate([w.ids for w in train_w]), minlength=len(vocab.continuation)
    )
    model = mlm.build_model(base, s.seed, counts)
    if "head" not in done:
        mlm.freeze_all_but_head(model)
        r1 = mlm.run_stage("head", model, s, train_w, dev_w, vocab, ckpt,
                           state if state and state["stage"] == "head" else None,
                           max_steps=max_steps, progress=progress)  # fmt: skip
        done["head"] = {k: v for k, v in r1.summary().items() if k != "stage"}
        _store(r1, head_dir, meta("head", r1), base, dev_w, vocab, s)
        model = r1.model
    else:  # resumed in stage 2: the head's trained values come back with the checkpoint
        print(f"stage 1 done before: {head_dir}")
    stages = {"before": head_dir}

    if not head_only:
        mlm.freeze_all_but_head(model)
        wrapped = mlm.wrap_lora(model, s)
        r2 = mlm.run_stage("lora", wrapped, s, train_w, dev_w, vocab, ckpt,
                           state if state and state["stage"] == "lora" else None,
                           max_steps=max_steps, progress=progress)  # fmt: skip
        _store(r2, folder, meta("lora", r2), base, dev_w, vocab, s)
        stages["after"] = folder
    ckpt.clear()
    minutes = (done["head"]["seconds"] + (0 if head_only else r2.seconds)) / 60
    print(f"trained in {minutes:.1f} min")

    # The test split, read once, through the saved artifacts.
    test_items, test_w = _corpus(s, "test", limit, tok)
    probes = mlm_eval.probes(test_w, vocab, s)
    figures: dict[str, dict[str, Any]] = {}
    for which, path in stages.items():
        merged = mlm_store.load_merged(base, path)
        m = mlm_eval.probe_metrics(mlm_eval.torch_logits_at(merged), probes, progress=progress)
        figures[which] = {"torch_fp32": m}
        print(f"TEST {which} (torch fp32, merged adapter): {headline(m)}")
    if not head_only and (out is None or out.resolve() == mlm.default_out().resolve()):
        from .cards import write_mlm_card

        write_mlm_card(folder, figures, test_docs=len(test_items), test_windows=len(test_w))
    return folder


# ---------------------------------------------------------------------------------------------
# evaluation of the stored adapters


def onnx_session(folder: Path, variant: str):
    """The ONNX session of an adapter as the app runs it: `bv.load("minilm-mlm")` when the
    catalog points at `folder`; otherwise the merged model exported by the same code
    (`export.export`) into a temporary folder."""
    entry = catalog.entries().get(mlm.NAME)
    if (
        entry is not None
        and entry.adapter
        and (catalog.MODELS_DIR / entry.adapter).resolve() == Path(folder).resolve()
    ):
        import bertviz_lite as bv

        return bv.load(mlm.NAME, variant=variant, device="cpu", progress=False).session
    from ..export import export
    from ..runtime import Session

    with tempfile.TemporaryDirectory(prefix="bertviz-lite-mlm-") as tmp:
        path = Path(tmp) / "model.onnx"
        export(mlm_store.load_merged(base_dir(), folder), variant, path, progress=False)
        return Session(path, "cpu")


def evaluate_mlm(
    folder: Path, variants: tuple[str, ...] = ("fp32", "int8"), limit: int | None = None,
    progress: bool = True,
) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:  # fmt: skip
    """Test-probe figures of the adapter in `folder` ("after") and of its head-only baseline in
    `folder`/head-only/ ("before", when there), through torch fp32 and ONNX `variants`.

    Returns ({"after"/"before": {"torch_fp32" | "onnx_<variant>": metrics}}, sizes).
    """
    from .loop import set_threads

    set_threads()
    s = mlm.SETTINGS
    base = base_dir()
    meta = mlm_store.read_meta(folder)
    tok = Tokenizer.from_dir(base, meta.get("max_length", s.max_length))
    vocab = Vocab.from_backend(tok.backend)
    items, wins = _corpus(s, "test", limit, tok)
    probes = mlm_eval.probes(wins, vocab, s)
    stages = {"before": Path(folder) / mlm.HEAD_ONLY, "after": Path(folder)}
    figures: dict[str, dict[str, Any]] = {}
    for which, path in stages.items():
        if not (path / adapter.META_FILE).is_file():
            continue
        merged = mlm_store.load_merged(base, path)
        c = merged.config
        row = {"torch_fp32": mlm_eval.probe_metrics(mlm_eval.torch_logits_at(merged), probes,
                                               progress=progress, desc=f"{which} torch")}  # fmt: skip
        for variant in variants:
            session = onnx_session(path, variant)
            logits = mlm_eval.session_logits_at(session, c.num_hidden_layers, c.num_attention_heads)
            # One probe per run, as the app runs a text: dynamic int8 scales by the whole batch.
            row[f"onnx_{variant}"] = mlm_eval.probe_metrics(
                logits, probes, batch_tokens=1, progress=progress, desc=f"{which} {variant}"
            )
        figures[which] = row
    return figures, {"documents": len(items), "windows": len(wins)}

"""Test figures of a committed adapter, through fp32 torch and through the ONNX model the app runs.

`evaluate_committed` scores the adapter on the test split twice -- through the merged fp32 torch
model (`adapter.load_merged`) and through ONNX (`bv.load`, as the app loads it) -- on exactly the
same token ids; for a classification task in the catalog it adds the app's own path from the raw
text (`app_accuracy`). `python -m bertviz_lite.train eval <task>` prints them; `--card` writes
them into the model card (`cards.write_card`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import adapter, catalog
from . import data
from .examples import encode, tokenizer
from .tasks import base_dir


def eval_length(meta: dict[str, Any]) -> int:
    """Tokens the figures of an adapter are read at; adapters saved before the setting existed
    were evaluated at their training length."""
    return meta.get("eval_max_length", meta["max_length"])


def onnx_model(task: str, adapter_dir: Path, variant: str):
    """(session, loaded) as the app would have them: bv.load(task) when the catalog points at
    this adapter; otherwise an export of the merged model into a temporary folder, no loaded."""
    entry = catalog.entries().get(task)
    if (
        entry is not None
        and entry.adapter
        and ((catalog.MODELS_DIR / entry.adapter).resolve() == adapter_dir.resolve())
    ):
        import bertviz_lite as bv

        loaded = bv.load(task, variant=variant, device="cpu")
        return loaded.session, loaded
    from ..export import export
    from ..runtime import Session

    # onnxruntime reads the whole file when the session starts: the folder can go after that.
    with tempfile.TemporaryDirectory(prefix="bertviz-lite-eval-") as tmp:
        path = Path(tmp) / "model.onnx"
        export(adapter.load_merged(base_dir(), adapter_dir), variant, path)
        return Session(path, "cpu"), None


def app_accuracy(loaded, items: list[dict], batch_size: int = 16) -> dict[str, Any]:
    """Accuracy through the public API as the app calls it: `analyze_batch` on the raw texts,
    the loaded's own tokenizer (up to the model's 512 positions, not the training length)."""
    from tqdm import tqdm

    # Similar lengths together: a batch is padded to its longest text.
    order = sorted(range(len(items)), key=lambda i: len(items[i]["text"]))
    correct = 0
    for start in tqdm(range(0, len(order), batch_size), desc="analyze_batch", leave=False):
        chunk = [items[i] for i in order[start : start + batch_size]]
        results = loaded.analyze_batch([(it["text"], None) for it in chunk])
        names = loaded.labels
        correct += sum(
            r.predictions["label"] == names[it["label"]] for r, it in zip(results, chunk)
        )
    return {"accuracy": correct / len(items), "n": len(items)}


def evaluate_committed(
    task: str, adapter_dir: Path, variant: str = "int8", limit: int | None = None
) -> dict[str, Any]:
    """Test figures of an adapter through torch fp32 and through ONNX, on the same token ids.

    Keys: "torch_fp32", f"onnx_{variant}", and f"onnx_{variant}_app" (`app_accuracy`) for a
    classification adapter that the catalog loads; each maps to `loop.evaluate`'s metrics.
    """
    from . import loop

    loop.set_threads()
    meta = adapter.read_meta(adapter_dir)
    base = base_dir()
    tok = tokenizer(base, eval_length(meta))
    items = data.load_split(task, "test", limit)
    examples = encode(task, items, tok)
    merged = adapter.load_merged(base, adapter_dir)
    torch_metrics = loop.evaluate(task, examples, loop.torch_logits(merged), progress=True)
    session, loaded = onnx_model(task, adapter_dir, variant)
    layers, heads = merged.config.num_hidden_layers, merged.config.num_attention_heads
    head_mask = np.ones((layers, heads), np.float32)

    def onnx_logits(arrays: dict[str, np.ndarray]) -> np.ndarray:
        inputs = {k: v for k, v in arrays.items() if k != "labels"}
        return session.run(**inputs, head_mask=head_mask)["logits"]

    # One text per run, as the app sends them: dynamic int8 quantization scales activations by
    # the range of the whole batch, padding included, so a batched run is not the app's figure.
    onnx_metrics = loop.evaluate(task, examples, onnx_logits, batch_size=1, progress=True)
    figures = {"torch_fp32": torch_metrics, f"onnx_{variant}": onnx_metrics}
    if loaded is not None and task != "ner":
        figures[f"onnx_{variant}_app"] = app_accuracy(loaded, items)
    return figures

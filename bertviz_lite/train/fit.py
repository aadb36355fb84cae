"""Train one task's adapter end to end and store it as the app loads it.

`train_task` reads the train and dev splits, trains (`loop.train`, the dev split picking the
epoch), saves adapter.safetensors + adapter.json (`model_meta`, `data_info` and the training
record), keeps fp16 storage only when dev moves by at most 0.1 points, then reads the test split
once through the saved artifact, prints its figures and, for models/<task>/, writes the card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import adapter
from ..cache import package_version
from ..config import read_config
from ..tokenizer import CASES
from . import data
from .cards import headline, write_card
from .examples import encode, tokenizer
from .tasks import BASE, TASKS, TaskSettings, base_dir, default_out

MACHINE = "2-core CPU, no GPU"


def _versions(*dists: str) -> dict[str, str]:
    return {d: package_version(d) for d in dists}


def data_info(task: str, sizes: dict[str, int]) -> dict[str, Any]:
    """What adapter.json says of the data: version, split, sizes, fingerprint, source."""
    provenance = data.provenance(task)
    info: dict[str, Any] = {
        "data_version": data.DATA_VERSION,
        "split_seed": data.SEED,
        "split_fractions": list(data.SPLIT_FRACTIONS),
        "sizes": sizes,
        "fingerprint": data.fingerprint(task),
        "source": provenance["source"],
    }
    if task == "sentiment":
        info["near_zero_threshold"] = data.NEAR_ZERO_THRESHOLD
    info["packages"] = provenance["packages"]
    return info


def model_meta(settings: TaskSettings, base: Path) -> dict[str, Any]:
    """What adapter.json says of the model itself: base, architecture, labels, LoRA, inputs."""
    return {
        "base": BASE,
        "base_config": {"name": BASE, **adapter.base_shape(read_config(base))},
        "architecture": settings.architecture,
        "id2label": dict(enumerate(settings.labels)),
        "lora": {
            "r": settings.lora_r,
            "alpha": settings.lora_alpha,
            "targets": list(settings.lora_targets),
            "dropout": settings.lora_dropout,
        },
        "modules_to_save": list(settings.modules_to_save),
        "case_vocab_size": len(CASES) if settings.case_embeddings else 0,
        "task": settings.task,
        "max_length": settings.max_length,
        "eval_max_length": settings.eval_length,
    }


def _brief(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in metrics.items() if k in ("accuracy", "f1", "precision", "recall", "loss")
    }


def train_task(
    task: str,
    command: str,
    out: Path | None = None,
    epochs: int | None = None,
    max_steps: int | None = None,
    limit: int | None = None,
) -> Path:
    """Train `task`, save the adapter into `out` (default models/<task>/) and return `out`.

    `command` is recorded in adapter.json and the card as the command that trained it. The card
    is written only for models/<task>/ (trial runs elsewhere have no notes and are not shipped).
    """
    from . import loop

    settings = TASKS[task]
    folder = out if out is not None else default_out(task)
    base = base_dir()
    train_items = data.load_split(task, "train", limit)
    dev_items = data.load_split(task, "dev", limit)
    print(f"{task}: {len(train_items)} train, {len(dev_items)} dev; settings {settings.as_dict()}")
    result = loop.train(settings, base, train_items, dev_items, epochs, max_steps)
    print(
        f"trained in {result.seconds:.0f} s ({result.steps} steps, best epoch {result.best_epoch})"
    )

    meta = {
        **model_meta(settings, base),
        "data": data_info(task, {"train": len(train_items), "dev": len(dev_items)}),
        "training": {
            "settings": settings.as_dict(),
            "epochs_run": len(result.history),
            "best_epoch": result.best_epoch,
            "steps": result.steps,
            "seconds": round(result.seconds, 1),
            "machine": MACHINE,
            "command": command,
            "dev": [
                {"epoch": h["epoch"], "train_loss": h["train_loss"], **_brief(h["dev"])}
                for h in result.history
            ],
            "versions": _versions("torch", "peft", "tokenizers"),
        },
    }

    # fp16 storage halves the file; keep it only if dev moves by at most 0.1 points.
    tok = tokenizer(base, settings.eval_length)
    dev_ex = encode(task, dev_items, tok)
    reference = loop.score(task, result.best_dev)
    for dtype in ("float16", "float32"):
        adapter.save(result.model, folder, meta, dtype=dtype)
        merged = adapter.load_merged(base, folder)
        dev = loop.evaluate(task, dev_ex, loop.torch_logits(merged), settings.eval_batch_size)
        delta = 100 * abs(loop.score(task, dev) - reference)
        print(
            f"stored as {dtype}: dev {loop.score(task, dev):.4f} ({delta:.2f} points from training)"
        )
        if delta <= 0.1:
            break

    # The test split, read once, through the saved artifact.
    test_items = data.load_split(task, "test", limit)
    test_ex = encode(task, test_items, tok)
    test = loop.evaluate(task, test_ex, loop.torch_logits(merged), settings.eval_batch_size)
    print(f"TEST (torch fp32, merged adapter): {headline(task, test)}")
    sizes = {f.name: f.stat().st_size for f in sorted(folder.glob("adapter.*"))}
    print(f"artifact: {folder} {sizes}")
    if out is None or out.resolve() == default_out(task).resolve():
        write_card(task, folder, {"torch_fp32": test})
    return folder

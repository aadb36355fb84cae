"""Model cards: models/<task>/README.md, written from the adapter's adapter.json, the measured
test figures and the experiment notes kept by hand in models/<task>/NOTES.md.

The card's prose is `card_template.md` (string.Template; see its opening comment); this module
works out the values, the figure tables and the one-line summaries (`headline`) that the CLI
prints.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from .. import adapter
from ..tokenizer import CASES
from .evaluate import eval_length
from .tasks import TASKS

TEMPLATE = Path(__file__).with_name("card_template.md")
# Hand-written notes in the adapter's folder; the card's "Notes" section is this file's text.
NOTES = "NOTES.md"

# Row names of the figure tables, by the keys of `evaluate.evaluate_committed`'s figures.
PATHS = {
    "torch_fp32": "PyTorch fp32 (merged adapter)",
    "onnx_int8": "ONNX int8 (the app's fast, approximate precision)",
    "onnx_fp32": "ONNX fp32 (the app's default, exact)",
    "onnx_int8_app": "ONNX int8 via `analyze_batch` (raw text, up to 512 tokens)",
    "onnx_fp32_app": "ONNX fp32 via `analyze_batch` (raw text, up to 512 tokens)",
}

_PART = re.compile(r"^<!-- part: ([\w.]+) -->$")


def _score(task: str, metrics: dict[str, Any]) -> float:
    from .loop import score  # the one number loop picks epochs by; imported late (torch)

    return score(task, metrics)


@cache
def template_parts() -> dict[str, Template]:
    """The parts of card_template.md by name; the text before the first part is left out."""
    parts: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in TEMPLATE.read_text(encoding="utf-8").splitlines():
        m = _PART.match(line)
        if m:
            current = parts[m.group(1)] = []
        elif current is not None:
            current.append(line)
    return {name: Template("\n".join(lines)) for name, lines in parts.items()}


def read_notes(folder: Path) -> str | None:
    """The text of folder/NOTES.md without a leading <!-- comment -->, or None if there is none."""
    path = folder / NOTES
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\A\s*<!--.*?-->", "", text, count=1, flags=re.S)
    return text.strip() or None


def headline(task: str, metrics: dict[str, Any]) -> str:
    """One line of test figures, as the CLI prints them."""
    if task == "ner":
        types = ", ".join(f"{k} {v['f1']:.4f}" for k, v in sorted(metrics["per_type"].items()))
        return f"entity F1 {metrics['f1']:.4f} (P {metrics['precision']:.4f}, R {metrics['recall']:.4f}; {types})"
    return f"accuracy {metrics['accuracy']:.4f} (n={metrics['n']})"


def figure_rows(task: str, figures: dict[str, Any]) -> list[str]:
    """The card's test-figure tables: one row per path, the first two paths' difference, and
    for NER the F1 per entity type."""
    ner = task == "ner"
    rows = [
        f"| path | test {TASKS[task].metric} |" + (" precision | recall |" if ner else ""),
        "|---|---|" + ("---|---|" if ner else ""),
    ]
    for key, m in figures.items():
        line = f"| {PATHS.get(key, key)} | {_score(task, m):.4f} |"
        if ner:
            line += f" {m['precision']:.4f} | {m['recall']:.4f} |"
        rows.append(line)
    keys = list(figures)
    if len(keys) >= 2:
        diff = 100 * (_score(task, figures[keys[1]]) - _score(task, figures[keys[0]]))
        rows.append("")
        rows.append(f"Difference, {PATHS.get(keys[1], keys[1])} minus PyTorch: {diff:+.2f} points.")
    if ner:
        rows += ["", "Per-type entity F1 on the test split:", ""]
        rows.append("| type | support | " + " | ".join(f"F1, {k}" for k in keys) + " |")
        rows.append("|---|---|" + "---|" * len(keys))
        for t, v in sorted(figures[keys[0]]["per_type"].items()):
            f1s = " | ".join(f"{figures[k]['per_type'][t]['f1']:.4f}" for k in keys)
            rows.append(f"| {t} | {v['support']} | {f1s} |")
    return rows


def _dev_str(task: str, h: dict[str, Any]) -> str:
    loss = f" (loss {h['loss']:.3f})" if "loss" in h else ""
    return (f"F1 {h['f1']:.4f}" if task == "ner" else f"accuracy {h['accuracy']:.4f}") + loss


def _with_notes(card: str, parts: dict, values: dict[str, Any], folder: Path) -> str:
    """The card, then the adapter's NOTES.md (when it has one) as the template's notes part."""
    notes = read_notes(folder)
    extra = [parts["notes"].substitute(values, notes=notes)] if notes else []
    return "\n".join([card, *extra]) + "\n"


def _common_values(meta: dict[str, Any]) -> dict[str, Any]:
    """What every card says the same way: data, LoRA, optimiser, run and versions."""
    tr, d, lora = meta["training"], meta["data"], meta["lora"]
    s = tr["settings"]
    return {
        "base": meta["base"],
        "source": d["source"],
        "packages": ", ".join(f"{k} {v}" for k, v in d["packages"].items()),
        "data_version": d["data_version"],
        "split_seed": d["split_seed"],
        "n_train": d["sizes"]["train"],
        "n_dev": d["sizes"]["dev"],
        "max_length": meta["max_length"],
        "lora_r": lora["r"],
        "lora_alpha": lora["alpha"],
        "lora_dropout": lora["dropout"],
        "lora_targets": ", ".join(lora["targets"]),
        "layers": meta["base_config"]["num_hidden_layers"],
        "lr": s["lr"],
        "weight_decay": s["weight_decay"],
        "warmup": f"{s['warmup']:.0%}",
        "seed": s["seed"],
        "precision": "bf16 autocast for the training steps (evaluation in fp32)"
        if s.get("bf16")
        else "fp32",
        "best_epoch": tr["best_epoch"],
        "epochs_run": tr["epochs_run"],
        "steps": tr["steps"],
        "minutes": f"{tr['seconds'] / 60:.1f}",
        "machine": tr["machine"],
        "torch_version": tr["versions"]["torch"],
        "peft_version": tr["versions"]["peft"],
        "dtype": meta["dtype"],
    }


def render(task: str, folder: Path, figures: dict[str, Any]) -> str:
    """The card of the adapter in `folder` (adapter.json, adapter.*, NOTES.md) for `figures`."""
    settings = TASKS[task]
    meta = adapter.read_meta(folder)
    tr, d = meta["training"], meta["data"]
    s = tr["settings"]
    sizes = {f.name: f.stat().st_size for f in sorted(folder.glob("adapter.*"))}
    test_n = next(iter(figures.values()))["n"]
    met = _score(task, figures["torch_fp32"])
    kind = "ner" if task == "ner" else "classification"
    parts = template_parts()
    values: dict[str, Any] = {
        "title": settings.title,
        "task": task,
        **_common_values(meta),
        "fingerprint": d["fingerprint"],
        "n_test": test_n,
        "units": "sentences" if task == "ner" else "examples",
        "near_zero_threshold": d.get("near_zero_threshold", ""),
        "eval_length": eval_length(meta),
        "labels": ", ".join(f"{k} = {v}" for k, v in meta["id2label"].items()),
        "trained_in_full": ", ".join(meta["modules_to_save"])
        + (" and every bias" if s.get("lora_bias") == "all" else ""),
        "batch_size": s["batch_size"],
        "epochs": s["epochs"],
        "cases": ", ".join(CASES),
        "case_vocab_size": meta.get("case_vocab_size", 0),
        "dev_per_epoch": "; ".join(f"epoch {h['epoch']} {_dev_str(task, h)}" for h in tr["dev"]),
        "files": ", ".join(f"{k} {v / 1e3:,.0f} kB" for k, v in sizes.items()),
        "command": tr["command"],
        "metric": settings.metric,
        "target": f"{settings.target:.2f}",
        "verdict": "met."
        if met >= settings.target
        else f"**missed by {100 * (settings.target - met):.1f} points**.",
        "figures": "\n".join(figure_rows(task, figures)),
    }
    values["data_rule"] = parts[f"data_rule.{task}"].substitute(values)
    head = [parts[f"head.{kind}"].substitute(values)]
    if meta.get("case_vocab_size"):
        head.append(parts["case_embeddings"].substitute(values))
    values["head"] = "\n".join(head)
    values["test_inputs"] = parts[f"test_inputs.{kind}"].substitute(values)
    return _with_notes(parts["card"].substitute(values), parts, values, folder)


def write_card(task: str, out: Path, figures: dict[str, Any]) -> None:
    """models/<task>/README.md (out/README.md) from adapter.json, the measured test figures and
    out/NOTES.md."""
    (out / "README.md").write_text(render(task, out, figures), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# the masked-LM card (models/minilm-mlm/README.md)

# Stages of the masked-LM figures, as the card names them.
MLM_STAGES = {"before": "before (head alone, frozen encoder)", "after": "after (LoRA + head)"}


def mlm_figure_rows(figures: dict[str, dict[str, Any]]) -> list[str]:
    """The masked-LM card's tables: top-1/top-5 per path, before and after pre-training; the
    gain; per source through the first path."""
    stages = [s for s in MLM_STAGES if s in figures]
    paths = [p for p in PATHS if any(p in figures[s] for s in stages)]
    head = " | ".join(f"{s}: top-1 | {s}: top-5" for s in stages)
    rows = [f"| path | {head} |", "|---|" + "---|---|" * len(stages)]
    for p in paths:
        cells = " | ".join(
            f"{figures[s][p]['top1']:.4f} | {figures[s][p]['top5']:.4f}" if p in figures[s]
            else "– | –"
            for s in stages
        )  # fmt: skip
        rows.append(f"| {PATHS[p]} | {cells} |")
    if len(stages) == 2:
        rows.append("")
        gains = [
            f"{PATHS[p]} {100 * (figures['after'][p]['top1'] - figures['before'][p]['top1']):+.2f}"
            f" / {100 * (figures['after'][p]['top5'] - figures['before'][p]['top5']):+.2f}"
            for p in paths if p in figures["before"] and p in figures["after"]
        ]  # fmt: skip
        rows.append("Gain from pre-training (after minus before, top-1 / top-5 points): "
                    + "; ".join(gains) + ".")  # fmt: skip
    first = paths[0]
    sources = sorted({src for s in stages for src in figures[s][first].get("by_source", {})})
    if sources:
        rows += ["", f"Per source, {PATHS[first]}:", ""]
        rows.append("| source | probes | " + " | ".join(f"{s}: top-1 | {s}: top-5" for s in stages)
                    + " |")  # fmt: skip
        rows.append("|---|---|" + "---|---|" * len(stages))
        for src in sources:
            n = figures[stages[0]][first]["by_source"][src]["n"]
            cells = " | ".join(
                f"{figures[s][first]['by_source'][src]['top1']:.4f} | "
                f"{figures[s][first]['by_source'][src]['top5']:.4f}"
                for s in stages
            )
            rows.append(f"| {src} | {n} | {cells} |")
    return rows


def mlm_verdict(after: dict[str, Any], top1: float, top5: float) -> str:
    """Met when every ONNX path of the "after" meets both targets (PyTorch when no ONNX row)."""
    paths = [p for p in PATHS if p in after and p.startswith("onnx_")]
    paths = paths or [p for p in PATHS if p in after]
    misses = []
    for p in paths:
        for key, target, name in (("top1", top1, "top-1"), ("top5", top5, "top-5")):
            if after[p][key] < target:
                misses.append(f"{name} through {PATHS[p]} by {100 * (target - after[p][key]):.1f}")
    return "met." if not misses else f"**missed**: {'; '.join(misses)} points."


def _mlm_dev(history: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"epoch {h['epoch']} loss {h['dev_loss']:.3f}, top-1 {h['dev_top1']:.4f}, "
        f"top-5 {h['dev_top5']:.4f}"
        for h in history
    )


def _epochs(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def _files(folder: Path) -> str:
    sizes = {f.name: f.stat().st_size for f in sorted(folder.glob("adapter.*"))}
    return ", ".join(f"{k} {v / 1e3:,.0f} kB" for k, v in sizes.items())


def render_mlm(folder: Path, figures: dict[str, dict[str, Any]], test_docs: int,
               test_windows: int) -> str:  # fmt: skip
    """The card of the masked-LM adapter in `folder` (and its head-only/ baseline)."""
    from .mlm import HEAD_ONLY, NAME, SETTINGS

    meta = json.loads((folder / "adapter.json").read_text(encoding="utf-8"))
    tr, d = meta["training"], meta["data"]
    s, h = tr["settings"], tr["head_stage"]
    parts = template_parts()
    after = figures["after"]
    n_probes = next(iter(after.values()))["n"]
    values: dict[str, Any] = {
        "title": SETTINGS.title,
        "name": NAME,
        **_common_values(meta),
        "fingerprints": ", ".join(f"{k} `{v}`" for k, v in d["fingerprints"].items()),
        "n_test": test_docs,
        "w_train": d["windows"]["train"],
        "w_dev": d["windows"]["dev"],
        "w_test": test_windows,
        "train_tokens": f"{d['train_tokens']:,}",
        "mask_prob": f"{s['mask_prob']:.0%}",
        "head_lr": s["head_lr"],
        "head_epochs": _epochs(s["head_epochs"]),
        "head_best": h["best_epoch"],
        "head_epochs_run": len(h["history"]),
        "head_steps": h["steps"],
        "head_minutes": f"{h['seconds'] / 60:.1f}",
        "head_dev": _mlm_dev(h["history"]),
        "epochs": _epochs(s["epochs"]),
        "dev_per_epoch": _mlm_dev(tr["dev"]),
        "batch_tokens": s["batch_tokens"],
        "total_minutes": f"{(tr['seconds'] + h['seconds']) / 60:.1f}",
        "files": _files(folder),
        "before_files": _files(folder / HEAD_ONLY),
        "command": tr["command"],
        "probe_every": s["probe_every"],
        "probe_seed": s["probe_seed"],
        "n_probes": n_probes,
        "target_top1": f"{SETTINGS.target_top1:.2f}",
        "target_top5": f"{SETTINGS.target_top5:.2f}",
        "verdict": mlm_verdict(after, SETTINGS.target_top1, SETTINGS.target_top5),
        "figures": "\n".join(mlm_figure_rows(figures)),
    }
    kind = "whole_word" if s.get("whole_word") else "tokens"
    values["masking"] = parts[f"mlm.masking.{kind}"].substitute(values)
    return _with_notes(parts["mlm.card"].substitute(values), parts, values, folder)


def write_mlm_card(folder: Path, figures: dict[str, dict[str, Any]], test_docs: int,
                   test_windows: int) -> None:  # fmt: skip
    """models/minilm-mlm/README.md from adapter.json (both stages), the test figures and
    NOTES.md."""
    text = render_mlm(folder, figures, test_docs, test_windows)
    (folder / "README.md").write_text(text, encoding="utf-8")

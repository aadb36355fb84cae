"""Task adapters: LoRA pairs + a trained head, kept small and merged into the base at load time.

An adapter folder holds two files:

* ``adapter.json`` -- what the adapter is: the base it was trained on (name and shape fields),
  the task architecture and its ``id2label``, the LoRA settings (r, alpha, target modules), the
  task, the max_length used in training and where the training data came from.
* ``adapter.safetensors`` -- for every adapted ``nn.Linear`` a pair ``<path>.lora_A`` [r, in]
  and ``<path>.lora_B`` [out, r], named by the Linear's parameter path in OUR model
  (``bert.encoder.layer.0.attention.self.query``), plus every fully trained tensor under its own
  name (``classifier.weight``, ``bert.pooler.dense.bias``, ...). A masked-LM head's decoder is the
  word embeddings (tied): it is never stored.

The base may be any family (families/): our model keeps BERT's names for all of them, so an
adapter's names are the same whatever the base.

Merging is W += (alpha / r) · B @ A, done here in fp32, so an export never needs ``peft``; ``peft``
is only used to train. The metadata functions (`read_meta`, `task_config`, `check_base`) are
torch-free: the runtime reads them on every start, and a warm start never imports torch.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import families
from .config import BertConfig, CheckpointError, read_config, weights_file

if TYPE_CHECKING:
    import torch

FORMAT_VERSION = 1
META_FILE = "adapter.json"
TENSORS_FILE = "adapter.safetensors"
# The base fields an adapter depends on: a base that differs in any of them cannot take it.
BASE_FIELDS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "vocab_size",
)
# Every family's architectures with a head (our model builds them all under BERT's names).
TASK_ARCHITECTURES = tuple(a for a, h in families.ARCHITECTURES.items() if h != "base")
TIED = "cls.predictions.decoder.weight"  # the masked-LM decoder is the word embeddings: not stored
# peft's names: its wrapper prefix, and where a fully trained module's copy sits.
_PEFT_PREFIX = "base_model.model."
_PEFT_SAVED = ".modules_to_save.default."


def read_meta(adapter_dir: Path) -> dict[str, Any]:
    """adapter.json of an adapter folder, checked for the fields the loaders rely on."""
    file = Path(adapter_dir) / META_FILE
    if not file.is_file():
        raise CheckpointError(f"{adapter_dir} has no {META_FILE}")
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{file} is not valid JSON: {e}") from None
    missing = [k for k in ("architecture", "id2label", "lora", "base_config") if k not in meta]
    if missing:
        raise CheckpointError(f"{file} lacks {', '.join(missing)}")
    if meta["architecture"] not in TASK_ARCHITECTURES:
        raise CheckpointError(
            f"{file}: architecture {meta['architecture']!r} is not a task architecture "
            f"(expected one of {', '.join(TASK_ARCHITECTURES)})"
        )
    return meta


def task_config(base: BertConfig, adapter_dir: Path) -> BertConfig:
    """The base config with the adapter's architecture, label names and case embeddings."""
    meta = read_meta(adapter_dir)
    if meta["architecture"] not in base.family.architectures:
        raise CheckpointError(
            f"adapter {adapter_dir} is a {meta['architecture']}, which does not fit a "
            f"{base.model_type!r} base (expected one of {', '.join(base.family.architectures)})"
        )
    return dataclasses.replace(
        base,
        architecture=meta["architecture"],
        id2label={int(k): v for k, v in meta["id2label"].items()},
        case_vocab_size=meta.get("case_vocab_size", 0),
    )


def check_base(base_dir: Path, adapter_dir: Path) -> None:
    """Raise CheckpointError when the adapter was trained on a base of another shape."""
    recorded = read_meta(adapter_dir)["base_config"]
    base = read_config(Path(base_dir))
    for name in BASE_FIELDS:
        if name not in recorded:
            raise CheckpointError(f"{adapter_dir}/{META_FILE} does not record the base's {name}")
        got = getattr(base, name)
        if recorded[name] != got:
            raise CheckpointError(
                f"adapter {adapter_dir} does not fit the base {base_dir}: {name} differs "
                f"(expected {recorded[name]}, as the adapter was trained with, got {got}); "
                f"the adapter was trained on {recorded.get('name', 'another base')!r}"
            )


def base_shape(base: BertConfig) -> dict[str, int]:
    """The base's shape fields, as adapter.json records them."""
    return {name: getattr(base, name) for name in BASE_FIELDS}


def load_base(model: torch.nn.Module, base_dir: Path) -> None:
    """The base checkpoint's encoder tensors into the task model's encoder, fp32, whatever the
    family (its names mapped onto ours). A pooler the task model has no use for is dropped; case
    embeddings are the task model's own (no base has them)."""
    from .weights import normalise, read_state_dict

    encoder = getattr(model, families.OUR_PREFIX)
    keys = {k for k in encoder.state_dict() if not k.startswith("embeddings.case_embeddings.")}
    state = normalise(read_state_dict(weights_file(base_dir)), keys, model.config.family)
    state = {k: v.float() for k, v in state.items() if k in keys}
    if not model.config.family.base_pooler:  # ELECTRA, DistilBERT: the adapter brings the pooler
        keys = {k for k in keys if not k.startswith("pooler.")}
    missing = sorted(keys - set(state))
    if missing:
        raise CheckpointError(f"base {base_dir} lacks encoder tensors: {', '.join(missing[:8])}")
    encoder.load_state_dict(state, strict=False)


def load_merged(base_dir: Path, adapter_dir: Path) -> torch.nn.Module:
    """The task model: base encoder + merged LoRA pairs + trained head, fp32, in eval mode."""
    import torch
    from safetensors.torch import load_file

    from .bert import build

    base_dir, adapter_dir = Path(base_dir), Path(adapter_dir)
    check_base(base_dir, adapter_dir)
    meta = read_meta(adapter_dir)
    config = task_config(read_config(base_dir), adapter_dir)
    model = build(config)

    load_base(model, base_dir)
    file = adapter_dir / TENSORS_FILE
    if not file.is_file():
        raise CheckpointError(f"{adapter_dir} has no {TENSORS_FILE}")
    tensors = {k: v.float() for k, v in load_file(str(file)).items()}
    lora = meta["lora"] or {"r": 0, "alpha": 0}  # None: a head-only adapter
    modules = dict(model.named_modules())
    state = model.state_dict()
    problems: list[str] = []
    merged: dict[str, torch.Tensor] = {}
    pairs = sorted({k.rsplit(".", 1)[0] for k in tensors if k.endswith((".lora_A", ".lora_B"))})
    for path in pairs:
        a, b = tensors.pop(f"{path}.lora_A", None), tensors.pop(f"{path}.lora_B", None)
        linear = modules.get(path)
        if not isinstance(linear, torch.nn.Linear):
            problems.append(f"{path}.lora_A/B (no Linear {path!r} in {config.architecture})")
            continue
        if a is None or b is None:
            problems.append(f"{path} (only one of lora_A, lora_B)")
            continue
        if not lora["r"]:
            problems.append(f"{path}.lora_A/B (adapter.json records no LoRA settings)")
            continue
        out_f, in_f = linear.weight.shape
        if a.shape != (lora["r"], in_f) or b.shape != (out_f, lora["r"]):
            problems.append(
                f"{path}.lora_A {tuple(a.shape)} / lora_B {tuple(b.shape)} "
                f"(expected {(lora['r'], in_f)} / {(out_f, lora['r'])})"
            )
            continue
        scaling = lora["alpha"] / lora["r"]
        merged[f"{path}.weight"] = state[f"{path}.weight"] + scaling * (b @ a)
    for key, tensor in tensors.items():  # fully trained tensors: the head, maybe the pooler
        if key == TIED:
            problems.append(f"{key} (tied to the word embeddings, never stored)")
        elif key not in state:
            problems.append(f"{key} (no such tensor in {config.architecture})")
        elif tensor.shape != state[key].shape:
            problems.append(f"{key} {tuple(tensor.shape)} (expected {tuple(state[key].shape)})")
        else:
            merged[key] = tensor
    # A head left at its random initialisation would give confident nonsense: insist on it, and
    # on the case embeddings (all zero, they would silently stand for "no case").
    own = (".case_embeddings.",) + (() if config.family.base_pooler else (".pooler.",))
    head = {
        k for k in state
        if not k.startswith(families.OUR_PREFIX + ".") or any(o in k for o in own)
    }
    absent = sorted(head - set(merged) - {TIED})
    if absent:
        problems.append(f"trained tensors absent from the adapter: {', '.join(absent)}")
    if problems:
        raise CheckpointError(f"adapter {adapter_dir} does not fit: " + "; ".join(problems))
    model.load_state_dict(merged, strict=False)
    return model.eval()


def adapter_tensors(model: torch.nn.Module, head: list[str] | None = None) -> dict:
    """What an adapter keeps of a (peft-wrapped) model, under our model's parameter names.

    For a peft model: every LoRA pair and every trainable non-LoRA tensor (the modules_to_save
    copies). For a plain model (no LoRA, e.g. head-only training): the parameters of the modules
    named in `head`.
    """
    from peft.tuners.lora import LoraLayer

    out = {}
    lora_layers = {n: m for n, m in model.named_modules() if isinstance(m, LoraLayer)}
    for name, layer in lora_layers.items():
        path = name.removeprefix(_PEFT_PREFIX)
        if list(layer.lora_A) != ["default"]:
            raise ValueError(
                f"{name}: expected one adapter named 'default', got {list(layer.lora_A)}"
            )
        out[f"{path}.lora_A"] = layer.lora_A["default"].weight.detach()
        out[f"{path}.lora_B"] = layer.lora_B["default"].weight.detach()
    if lora_layers:
        for name, p in model.named_parameters():
            if p.requires_grad and ".lora_" not in name:
                # A trained bias of an adapted Linear sits in peft's `base_layer`.
                key = name.removeprefix(_PEFT_PREFIX).replace(_PEFT_SAVED, ".")
                out[key.replace(".base_layer.", ".")] = p.detach()
    else:
        for name, p in model.named_parameters():
            if any(name == h or name.startswith(h + ".") for h in head or ()):
                out[name] = p.detach()
    return out


def save(model_or_peft_model: torch.nn.Module, out_dir: Path, meta: dict[str, Any],
         dtype: str = "float16") -> None:  # fmt: skip
    """Write adapter.safetensors and adapter.json into `out_dir`.

    `meta` must give architecture, id2label, lora (r, alpha, targets), base_config (the base's
    shape fields, see `base_shape`) and should give base, task, max_length and data; `dtype`
    is how the tensors are stored ("float16" halves the size; "float32").
    """
    import torch
    from safetensors.torch import save_file

    if dtype not in ("float16", "float32"):
        raise ValueError(f"dtype must be float16 or float32, not {dtype!r}")
    tensors = adapter_tensors(model_or_peft_model, meta.get("modules_to_save"))
    if not tensors:
        raise ValueError("nothing to save: the model has no LoRA layers and no head named")
    meta = {"format": FORMAT_VERSION, **meta, "dtype": dtype}
    meta["id2label"] = {str(k): v for k, v in meta["id2label"].items()}
    for key in ("architecture", "id2label", "lora", "base_config"):
        if key not in meta:
            raise ValueError(f"meta lacks {key!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = getattr(torch, dtype)
    save_file(
        {k: v.to(target).contiguous() for k, v in sorted(tensors.items())},
        str(out_dir / TENSORS_FILE),
        metadata={"format": "pt", "adapter_format": str(FORMAT_VERSION)},
    )
    (out_dir / TENSORS_FILE).chmod(0o644)  # safetensors writes 0600; the files are shipped
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

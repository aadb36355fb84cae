"""A checkpoint's files checked before anything is exported or built, at the cost of reading a few
kilobytes: the tokenizer opens, the weights file is whole, and config.json does not ask for more
parameters than the weights file holds (a config of 1,000 layers or absurd sizes would otherwise
build gigabytes of model before its weights are compared). Each failure is a CheckpointError that
names the file and what is wrong. Torch-free, like config.py: every start runs these.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

from .config import SHOWN, BertConfig, CheckpointError, read_json, short
from .tokenizer import Tokenizer, tokenizer_file

HEADER_LIMIT = 100_000_000  # bytes: safetensors' own limit on its JSON header
ITEM_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2,
              "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8,
              "F64": 8}  # fmt: skip
GROSS = 2  # config sizes needing this many times the file's parameters are refused on sight
TOKENIZER_SETTINGS = ("tokenizer_config.json", "special_tokens_map.json")


def check(path: Path, config: BertConfig, weights: Path) -> Tokenizer:
    """The checks before an export: the tokenizer (returned, opened), then the weights."""
    tokenizer = open_tokenizer(path, config)
    if weights.suffix == ".safetensors":
        check_parameters(config, safetensors_shapes(weights), path / "config.json", weights)
    return tokenizer


def open_tokenizer(path: Path, config: BertConfig) -> Tokenizer:
    """The checkpoint's tokenizer, or a CheckpointError naming the file that would not open."""
    for name in TOKENIZER_SETTINGS:
        if (path / name).is_file():
            read_json(path / name)
    try:
        file = tokenizer_file(path)
    except FileNotFoundError as e:
        raise CheckpointError(str(e)) from None
    try:
        return Tokenizer.from_dir(path, config.max_tokens, config.family.special_tokens.get("mask"))
    except Exception as e:  # the tokenizers library's errors have no common type
        raise CheckpointError(
            f"{file} cannot be read as a tokenizer: {type(e).__name__}: {str(e)[:SHOWN]}"
        ) from None


def safetensors_shapes(file: Path) -> dict[str, tuple[int, ...]]:
    """Each tensor's shape from a safetensors file's header, the file checked whole against it
    (every tensor's bytes inside the file, the data filling it exactly), without reading the
    tensors."""
    size = file.stat().st_size
    with open(file, "rb") as f:
        start = f.read(8)
        if len(start) < 8:
            raise CheckpointError(f"{file} is not a safetensors file ({size} bytes: empty or cut)")
        (length,) = struct.unpack("<Q", start)
        if length > min(HEADER_LIMIT, size - 8):
            raise CheckpointError(
                f"{file} is not a safetensors file, or is truncated: its header would be "
                f"{length:,} bytes, the file has {size:,}"
            )
        try:
            header = json.loads(f.read(length))
        except ValueError as e:
            raise CheckpointError(
                f"{file} is not a safetensors file: its header is not JSON ({str(e)[:SHOWN]})"
            ) from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{file} is not a safetensors file: its header is {short(header)}")
    data, end, shapes = size - 8 - length, 0, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        shape, offsets = _tensor(info)
        if shape is None or offsets is None:
            raise CheckpointError(f"{file}: the header's entry {short(name)} is {short(info)}")
        first, last = offsets
        if last - first != math.prod(shape) * ITEM_SIZES[info["dtype"]]:
            raise CheckpointError(
                f"{file}: tensor {short(name)}'s bytes ({last - first}) do not hold its shape "
                f"{tuple(shape)}"
            )
        shapes[name], end = tuple(shape), max(end, last)
    if end > data:
        raise CheckpointError(
            f"{file} is truncated: its header describes {end:,} bytes of tensors, the file "
            f"holds {data:,} after the header"
        )
    if end < data:
        raise CheckpointError(
            f"{file} is damaged: {data - end:,} bytes after its last tensor (the header "
            f"describes {end:,})"
        )
    return shapes


def _tensor(info) -> tuple[list[int] | None, tuple[int, int] | None]:
    """A header entry's shape and (start, end) byte offsets, or None where they are malformed."""
    if not isinstance(info, dict) or info.get("dtype") not in ITEM_SIZES:
        return None, None
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not isinstance(shape, list) or not all(_count(n) for n in shape):
        shape = None
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_count, offsets)):
        return shape, None
    return shape, (offsets[0], offsets[1]) if offsets[0] <= offsets[1] else None


def _count(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def least_parameters(config: BertConfig) -> int:
    """Fewer parameters than any encoder of these sizes has, in every family: the word and
    position embeddings, and each layer module's query, key, value and output projections and
    feed-forward weights (no biases, norms, type embeddings, projections or heads)."""
    c = config
    embeddings = (c.vocab_size + c.max_position_embeddings) * c.embedding_dim
    per_layer = 4 * c.hidden_size * c.hidden_size + 2 * c.hidden_size * c.intermediate_size
    return embeddings + c.layer_modules * per_layer


def check_parameters(
    config: BertConfig, shapes: dict[str, tuple[int, ...]], config_file: Path, weights: Path
) -> None:
    """Refuse config.json's sizes when the model they describe needs far more parameters than
    the weights file holds (more than GROSS times): before anything of that size is built, even
    on torch's meta device (a million layers take minutes there). Closer mismatches are named
    tensor by tensor when the weights are loaded (weights.load_model)."""
    held = sum(math.prod(shape) for shape in shapes.values())
    needed = least_parameters(config)
    if needed > GROSS * held:
        c = config
        sizes = (f"{c.num_hidden_layers} layers, hidden_size {c.hidden_size}, intermediate_size "
                 f"{c.intermediate_size}, vocab_size {c.vocab_size}, max_position_embeddings "
                 f"{c.max_position_embeddings}")  # fmt: skip
        raise CheckpointError(
            f"{config_file} does not fit {weights.name}: its sizes ({sizes}) need at least "
            f"{needed:,} parameters, {weights} holds {held:,}"
        )

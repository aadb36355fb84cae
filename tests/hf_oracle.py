"""transformers' own models as oracles for what our graph adds to them (value norms).

A module of its own, beside tiny_checkpoints.py, so that tests in tests/ and tests/families/
import it by a name no conftest shadows.
"""

from __future__ import annotations

import numpy as np


def hf_value_norms(path, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """‖(x_j W_V^h + b_V^h) W_O^h‖ [B, layers, heads, T] from transformers' own model: each
    layer's value projection captured by a hook, split per head, times the slice of the attention
    output dense that the head feeds (Kobayashi et al. 2020)."""
    import torch
    import transformers

    model = transformers.AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    c = model.config
    heads, d = c.num_attention_heads, c.hidden_size // c.num_attention_heads
    if hasattr(model.encoder, "layer"):  # BERT, RoBERTa, ...: (value, output dense) per layer
        modules = [(m.attention.self.value, m.attention.output.dense) for m in model.encoder.layer]
    else:  # ALBERT: one shared layer, used num_hidden_layers times
        shared = model.encoder.albert_layer_groups[0].albert_layers[0].attention
        modules = [(shared.value, shared.dense)] * c.num_hidden_layers
    captured = []  # every call of a value projection, in order: one per layer
    hooks = [value.register_forward_hook(lambda module, args, out: captured.append(out))
             for value in {value for value, _ in modules}]  # fmt: skip
    try:
        with torch.no_grad():
            model(**{k: torch.from_numpy(v) for k, v in arrays.items()})
    finally:
        for hook in hooks:
            hook.remove()
    norms = []
    with torch.no_grad():
        for (_, dense), v in zip(modules, captured, strict=True):
            w = dense.weight  # [out, in]: head h feeds input columns h·d … (h+1)·d
            per_head = [torch.linalg.vector_norm(v[..., h * d : (h + 1) * d]
                                                 @ w[:, h * d : (h + 1) * d].T, dim=-1)
                        for h in range(heads)]  # fmt: skip
            norms.append(torch.stack(per_head, 1))
    return torch.stack(norms, 1).numpy()

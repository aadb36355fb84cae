"""Share & export: the link to this view, the tensors as an NPZ file (with the attributions and
context-mixing matrices computed for this input) and the rest (text, tokens, predictions) as JSON
naming it; links per visitor, kept 10 minutes (downloads.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..context import ViewContext
from ..downloads import export_files
from .base import Output, View, ViewState


class ShareView(View):
    name = "export"
    title = "Share & export"
    intro = ("The address bar and the link in the box below always reopen this view. Each plot's "
             "camera button saves it as PNG or SVG. The JSON names the NPZ for the tensors. "
             "Download links are yours alone and last at least 10 minutes.")  # fmt: skip
    outputs = (
        Output("npz", "file", "Attentions, token vectors, context mixing (.npz, float16)", row=1),
        Output("json", "file", "Text, tokens, predictions, attributions (.json)", row=1),
    )
    action = "Prepare the tensors for download"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        # The same model, variant and input give the same tensors: the visitor's files are reused.
        # The attributions the Explain view and the context mixing its tab computed for this
        # input go along.
        extra = {}
        for a in ctx.attributions():
            name = f"attribution_{a.method.replace('-', '_')}"
            extra[name] = a.scores
            extra[f"{name}_tokens"] = np.array(a.tokens)
        for method, per_layer in ctx.mixings().items():
            extra[f"mixing_{method.replace('-', '_')}"] = per_layer  # [layers, T, T], each layer
        key = "\x1f".join((state.model, state.variant, r.encoding.text, r.encoding.pair or "",
                            *sorted(extra)))  # fmt: skip
        npz, js = export_files(r, key, extra=extra)
        return {"npz": npz, "json": js}

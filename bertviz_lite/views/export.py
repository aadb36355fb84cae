"""Share & export: the link to this view, and the tensors as NPZ and JSON files."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis import Analysis
from ..attribution import recent
from ..exports import export_files
from .base import Output, Rerun, View, ViewState


class ExportView(View):
    name = "export"
    title = "Share & export"
    intro = ("The address bar and the link in the box above always reopen this view. Each plot's "
             "camera button saves it as PNG or SVG.")  # fmt: skip
    outputs = (
        Output("npz", "file", "Attentions and token vectors (.npz, float16)", row=1),
        Output("json", "file", "Everything (.json, tensors as base64 float16)", row=1),
    )
    action = "Prepare the tensors for download"

    def render(
        self, r: Analysis, state: ViewState, rerun: Rerun, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        # The same model, variant and input give the same tensors: their files are reused. The
        # attributions the Explain view computed for this input go along.
        extra = {}
        for a in recent(rerun.model, r.encoding.text, r.encoding.pair):  # type: ignore[attr-defined]
            name = f"attribution_{a.method.replace('-', '_')}"
            extra[name] = a.scores
            extra[f"{name}_tokens"] = np.array(a.tokens)
        key = "\x1f".join((state.model, state.variant, r.encoding.text, r.encoding.pair or "",
                            *sorted(extra)))  # fmt: skip
        npz, js = export_files(r, key, extra=extra)
        return {"npz": npz, "json": js}

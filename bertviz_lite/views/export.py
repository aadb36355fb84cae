"""Share & export: the link to this view, and the tensors as NPZ and JSON files."""

from __future__ import annotations

from typing import Any

from ..analysis import Analysis
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
        # The same model, variant and input give the same tensors: their files are reused.
        variant = str(state.settings.get("variant", ""))
        key = "\x1f".join((state.model, variant, r.encoding.text, r.encoding.pair or ""))
        npz, js = export_files(r, key)
        return {"npz": npz, "json": js}

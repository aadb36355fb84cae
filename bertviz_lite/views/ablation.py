"""Switch heads off: the prediction with every head on beside the one with some heads off."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..context import ViewContext
from ..predictions import ablation_delta
from .base import Control, Output, Shape, UserError, View, ViewState
from .prediction import prediction_values


def head_names(shape: Shape) -> list[str]:
    """Every head as people name it: L1H1 … L{layers}H{heads}, counted from 1."""
    return [f"L{i}H{j}" for i in range(1, shape[0] + 1) for j in range(1, shape[1] + 1)]


def head_mask(names: list[str] | tuple[str, ...], shape: Shape) -> np.ndarray:
    """A [layers, heads] mask with the named heads (like "L2H5") at 0, every other at 1."""
    mask = np.ones(shape, np.float32)
    for name in names:
        try:
            layer, head = (int(x) for x in str(name).upper().removeprefix("L").split("H"))
            if not (1 <= layer <= shape[0] and 1 <= head <= shape[1]):
                raise IndexError
            mask[layer - 1, head - 1] = 0
        except (ValueError, IndexError):
            raise UserError(f"{str(name)[:20]!r} is not a head (write it like L2H5).") from None
    return mask


class AblationView(View):
    name = "ablation"
    title = "Switch heads off"
    intro = ("Pick heads and compare: the prediction with every head on beside the one with those "
             "heads' attention set to zero (the rest of the model as it is). A change shows the "
             "prediction used them here; no change does not prove a head useless elsewhere.")  # fmt: skip
    controls = (
        Control("heads_off", "Heads to switch off", "multiselect", (), choices=head_names,
                redraws=()),
    )  # fmt: skip
    outputs = (
        Output("before", "label", "Every head on", row=1),
        Output("after", "label", "Those heads off", row=1),
        Output("before_entities", "entities", "Entities, every head on", row=2),
        Output("after_entities", "entities", "Entities, those heads off", row=2),
        Output("change", "text", "What changed", row=3, options={"elem_id": "ablation-change",
               "placeholder": "Pick heads above, then compare the predictions."}),
    )
    action = "Compare predictions"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        if r.predictions is None:
            raise UserError("The base encoder has no prediction to compare: pick a task model.")
        off = sorted(set(state.heads_off or ()))
        after = ctx.with_heads_off(head_mask(off, r.attentions.shape[:2])) if off else r
        text = r.encoding.text
        (before_label, before_entities), (after_label, after_entities) = (
            prediction_values(p, text) for p in (r.predictions, after.predictions)
        )
        change = ablation_delta(r.predictions, after.predictions)["summary"]
        return {"before": before_label, "after": after_label, "before_entities": before_entities,
                "after_entities": after_entities,
                "change": change if off else "No head is off: pick heads above."}  # fmt: skip

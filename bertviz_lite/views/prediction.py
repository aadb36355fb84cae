"""A prediction as the page shows it: label probabilities, or entities over the text."""

from __future__ import annotations


def prediction_values(predictions: dict | None, text: str) -> tuple[dict | None, dict | None]:
    """(class probabilities for a label box, entities for a highlighted text) of one prediction.

    Entities are those of the first sentence (the text box the person typed into).
    """
    p = predictions or {}
    if p.get("task") == "classification":
        return p["probabilities"], None
    if p.get("task") == "ner":
        spans = [e for e in p["entities"] if e["sequence"] == 0]
        return None, {
            "text": text,
            "entities": [
                {"entity": e["label"], "start": e["start"], "end": e["end"]} for e in spans
            ],
        }
    return None, None

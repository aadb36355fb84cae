"""The page's examples: one per model of the catalog, and one for each model a person adds."""

from __future__ import annotations

from . import events

EXAMPLES = [
    ["This movie was wonderful, I loved every minute of it.", "", "sentiment"],
    ["The animal didn't cross the street because it was too tired.", "", "minilm"],
    ["A man is playing a guitar on stage.", "Someone is making music.", "minilm"],
    [
        "Shares in the bank fell sharply after it reported a loss for the third quarter.",
        "",
        "topic",
    ],
    ["Angela Merkel met Emmanuel Macron in Paris before flying to the United Nations.", "", "ner"],
]
FIRST = EXAMPLES[0]  # what a visitor without a link sees analysed at once


# A sentence that suits each kind of model, for the person's own models' example rows.
TASK_EXAMPLES = {"classification": EXAMPLES[0][0], "ner": EXAMPLES[4][0], None: EXAMPLES[1][0]}


def example_for(name: str) -> list[str]:
    loaded = events.model(name)
    if loaded.task == "masked-lm":
        mask = getattr(loaded.tokenizer, "mask_token", "[MASK]")
        return [f"The capital of France is {mask}.", "", name]
    return [TASK_EXAMPLES.get(loaded.task, EXAMPLES[1][0]), "", name]

"""Fill the mask: hide a word, see what a masked-LM model guesses, and what it reads to guess.

BERT is pre-trained by exactly this (Devlin et al. 2019). Click a word (or type the mask token
in the text): it becomes the mask token, the model's ten likeliest words appear with their
probabilities, and the masked position's attention (which tokens it reads) is shown beside the
same position's attention in the unmasked text.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis import Analysis
from ..context import ViewContext
from ..predictions import masked_words
from .base import Control, FigureSpec, Output, UserError, View, ViewState
from .heatmap import distinct_labels

TOP = 10


def words_of(r: Analysis) -> list[tuple[int, int, int]]:
    """(start, end, first token) of each word of the first sentence, in order."""
    spans: dict[int, list[int]] = {}
    firsts: dict[int, int] = {}
    e = r.encoding
    for i, (w, s, (a, b)) in enumerate(zip(e.word_ids, e.sequence_ids, e.offsets)):
        if w is None or s != 0:
            continue
        if w not in spans:
            spans[w], firsts[w] = [a, b], i
        spans[w][1] = b
    return [(a, b, firsts[w]) for w, (a, b) in spans.items()]


def _row(r: Analysis, position: int, layer: int) -> np.ndarray:
    """What `position` attends to at `layer` (heads averaged)."""
    return r.attentions[layer, :, position, :].mean(axis=0)


def reads_figure(rows: list[tuple[str, Analysis, int]], layer: int) -> FigureSpec:
    """One bar chart per input: the masked position's attention over that input's tokens."""
    data, layout = [], {}
    for k, (name, r, position) in enumerate(rows, start=1):
        weights = np.round(_row(r, position, layer) * 100, 1)
        axis = "" if k == 1 else str(k)
        data.append(dict(type="bar", x=distinct_labels(r.tokens), y=weights, name=name,
                         xaxis=f"x{axis}", yaxis=f"y{axis}",
                         hovertemplate="%{x}: %{y}%<extra></extra>"))  # fmt: skip
        top, bottom = 1 - (k - 1) / len(rows), 1 - k / len(rows) + 0.12
        layout[f"xaxis{axis}"] = dict(anchor=f"y{axis}", type="category", tickangle=-60)
        layout[f"yaxis{axis}"] = dict(domain=[bottom, top - 0.04], title=dict(text=f"{name} %"))
    layout.update(template="none", height=260 * len(rows), showlegend=False,
                  margin=dict(l=60, r=10, t=50, b=40),
                  title=dict(text=f"What the masked position reads, layer {layer + 1} (head "
                                  "average)", x=0.01))  # fmt: skip
    return FigureSpec(data=data, layout=layout)


class FillMaskView(View):
    name = "fill"
    title = "Fill the mask"
    intro = ("Click a word to hide it (or type the mask token, [MASK], in the text): the model "
             "guesses it. Needs a masked-LM model, e.g. MiniLM masked LM.")  # fmt: skip
    controls = (
        Control("mask_word", "Word hidden (its number; 0: the mask tokens typed in the text)",
                "number", 0, low=0, high=512),
        Control("fill_layer", "Attention at layer", "slider", "layers", low=1, high="layers",
                redraws=("reads",)),
    )  # fmt: skip
    outputs = (
        Output("words", "words", "Click a word to hide it", options={"elem_id": "fill-words"}),
        Output("guesses", "label", "The model's guesses", row=1,
               options={"elem_id": "fill-guesses", "num_top_classes": TOP}),
        Output("reads", "plot", "Which tokens it reads", row=1,
               options={"elem_id": "fill-reads"}),
    )  # fmt: skip
    clickable = "words"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        r = ctx.analysis
        model = ctx.model
        if model.task != "masked-lm":
            raise UserError(f"{state.model} is not a masked-LM model; pick MiniLM masked LM to "
                            "see a model guess hidden words.")  # fmt: skip
        tok = model.tokenizer
        words = words_of(r)
        chosen = int(state.mask_word)
        layer = min(int(state.fill_layer), r.attentions.shape[0]) - 1
        rows = []
        if 0 < chosen <= len(words):
            start, end, first = words[chosen - 1]
            text = r.encoding.text
            masked = ctx.of_text(text[:start] + tok.mask_token + text[end:])
            position = masked.encoding.ids.index(tok.mask_id)
            rows = [("masked", masked, position), ("unmasked", r, first)]
        else:
            masked = r
            if tok.mask_id in r.encoding.ids:
                rows = [("masked", r, r.encoding.ids.index(tok.mask_id))]
        shown = [(r.encoding.text[a:b] + " ", "hidden" if i + 1 == chosen else None)
                 for i, (a, b, _) in enumerate(words)]  # fmt: skip
        out: dict[str, Any] = {"words": shown}
        if not rows:
            return {**out, "guesses": None, "reads": None}
        guesses = masked_words(masked.logits, masked.encoding, tok.readable_token, tok.mask_id,
                               k=TOP)["masks"][0]["candidates"]  # fmt: skip
        out["guesses"] = {g["token"]: g["score"] for g in guesses}
        out["reads"] = reads_figure(rows, layer)
        return out

    def select(self, r: Analysis, state: ViewState, index: Any) -> dict[str, Any]:
        i = index[0] if isinstance(index, (tuple, list)) else int(index)
        return {"mask_word": 0 if i + 1 == state.mask_word else i + 1}

"""The head atlas (Clark et al. 2019; Dodrio's overview): every head of the model coloured by a
statistic over a corpus, a clicked head's top examples, and that head on the current text.

A statistic is a corpus-wide mean per head (corpus.stats): where its attention goes ([CLS], [SEP],
punctuation, itself, the previous or next token) and how spread it is (entropy); or, for a
dependency relation, the share of its dependents whose most-attended word is their syntactic head,
beside the best fixed-offset baseline. Raw attention or norm-weighted (Kobayashi et al. 2020).
The corpus control lives here; the other corpus views read the same setting.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from .. import corpora
from ..analysis import Analysis
from ..context import ViewContext
from ..corpus.stats import is_punctuation
from .base import Control, FigureSpec, Output, Shape, UserError, View, ViewState
from .heatmap import SCALES, distinct_labels, heatmap, plain, title_lines, typed_array
from .overview import GAP, LUT, font, grid_cell, labelled, tiled
from .selection import select, weighted_attention

STATS = ("to_cls", "to_sep", "to_punct", "to_self", "to_prev", "to_next", "entropy")
DEPENDENCY = "dependency"
# Relations a person picks (spaCy's English labels); a corpus without one says so.
RELATIONS = ("nsubj", "dobj", "amod", "det", "prep", "pobj", "poss", "compound", "advmod", "aux",
             "nummod", "conj")  # fmt: skip
MEASURES = {"raw": "attention", "norm-weighted": "norm"}  # the page's words → the corpus's
SAYS = {"to_cls": "attention to [CLS]", "to_sep": "attention to [SEP]",
        "to_punct": "attention to punctuation", "to_self": "attention to itself",
        "to_prev": "attention to the previous token", "to_next": "attention to the next token",
        "entropy": "entropy of attention (nats; low: focused)"}  # fmt: skip
TILE = 40  # pixels a side per head
EXAMPLES = 4
SHOWN_TOKENS = 32  # an example's map is cut to this many tokens around its strongest link
MIN_TOKENS = 8  # examples this long or longer are preferred
ROW = 240  # pixels per example: its caption (three lines) and its map


def corpus_names(shape: Shape) -> list[str]:
    return corpora.names_for(shape.model)


def first_corpus(shape: Shape) -> str:
    return next(iter(corpus_names(shape)), "")


class AtlasView(View):
    name = "atlas"
    title = "Head atlas"
    intro = ("Every head of the model over a corpus: rows are layers, columns heads, coloured by "
             "the statistic picked (its range on the colour bar). Click a head for the corpus "
             "texts where it is strongest, and for its map on your text. A high statistic "
             "describes where a head's attention goes, not what the head does for the model.")  # fmt: skip
    controls = (
        Control("corpus", "Corpus", "radio", first_corpus, choices=corpus_names),
        Control("atlas_stat", "Colour by", "radio", "to_prev", choices=(*STATS, DEPENDENCY)),
        Control("atlas_relation", "Relation (colour by dependency)", "radio", "nsubj",
                choices=RELATIONS),
        Control("atlas_measure", "Weights", "radio", "raw", choices=tuple(MEASURES)),
    )
    outputs = (
        Output("grid", "image", "Heads over the corpus",
               options={"elem_id": "atlas", "show_label": False}),
        Output("examples", "plot", "Top corpus examples of the picked head", row=1,
               options={"elem_id": "atlas-examples"}),
        Output("head", "plot", "The picked head on your text", row=1,
               options={"elem_id": "atlas-head"}),
    )  # fmt: skip
    clickable = "grid"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        corpus = ctx.corpus(state.corpus)
        measure = MEASURES[state.atlas_measure]
        # The dependency table is rebuilt from the totals on each call: kept, as the examples are.
        key = ("atlas values", str(corpus.folder), state.atlas_stat, state.atlas_relation, measure)
        values, caption = ctx.memo.get(key, lambda: head_values(corpus, state.atlas_stat,
                                                                state.atlas_relation, measure))  # fmt: skip
        layer, head = state.layer - 1, state.head - 1
        return {
            "grid": atlas_image(values, caption, (layer, head)),
            "examples": examples_figure(ctx, corpus, state, measure),
            "head": heatmap(select(ctx.analysis, state.replace(source="head",
                                   weighting=state.atlas_measure)),
                            f"your text: layer {state.layer}, head {state.head}"),
        }  # fmt: skip

    def select(self, r: Analysis, state: ViewState, index: Any) -> dict[str, Any]:
        layers, heads = r.attentions.shape[:2]
        hit = grid_cell(index[0], index[1], TILE, layers, heads)
        return {} if hit is None else {"layer": hit[0] + 1, "head": hit[1] + 1}


def head_values(corpus: Any, stat: str, relation: str, measure: str) -> tuple[np.ndarray, str]:
    """[layers, heads] values of the statistic, and a caption saying what they are."""
    shape = (corpus.layers, corpus.heads)
    where = f"{corpus.size:,} texts"
    if stat != DEPENDENCY:
        table = corpus.head_stats(measure)
        return table.column(stat).to_numpy().reshape(shape), f"{SAYS[stat]}, mean over {where}"
    try:
        table = corpus.dependency_accuracy(measure)
    except Exception as e:  # a corpus built without annotations
        raise UserError(f"No dependency accuracy: {e}.") from None
    rows = [row for row in table.to_pylist() if row["relation"] == relation]
    if not rows:
        raise UserError(f"This corpus has no {relation} dependents: pick another relation.")
    accuracy = np.zeros(shape)
    for row in rows:
        accuracy[row["layer"], row["head"]] = row["accuracy"]
    base = rows[0]
    caption = (f"{relation}: share of {base['dependents']:,} dependents whose most-attended word "
               f"is their head; best fixed offset ({base['baseline_offset']:+d} words): "
               f"{base['baseline']:.2f}")  # fmt: skip
    return accuracy, caption


def atlas_image(values: np.ndarray, caption: str, picked: tuple[int, int]) -> np.ndarray:
    """The layers × heads grid, each tile coloured by its value (0 to the largest, stated on the
    colour bar) with the value written in it; the picked head outlined."""
    from PIL import Image, ImageDraw

    top = float(values.max()) or 1.0
    levels = np.round(np.clip(values / top, 0, 1) * 255).astype(np.uint8)
    grid = tiled(np.broadcast_to(levels[..., None, None], (*levels.shape, TILE, TILE)))
    canvas = Image.fromarray(grid)
    draw, small = ImageDraw.Draw(canvas), font(11)
    step = TILE + GAP
    for (layer, head), level in np.ndenumerate(levels):
        ink = "white" if level > 140 else (40, 40, 40)
        draw.text((head * step + TILE / 2, layer * step + TILE / 2), f"{values[layer, head]:.2f}",
                  fill=ink, font=small, anchor="mm")  # fmt: skip
    layer, head = picked
    if 0 <= layer < values.shape[0] and 0 <= head < values.shape[1]:
        x, y = head * step, layer * step
        draw.rectangle((x, y, x + TILE - 1, y + TILE - 1), outline=(255, 140, 0), width=3)
    ticks = [(0, "0"), (0.5, f"{top / 2:.2f}"), (1, f"{top:.2f}")]
    return _captioned(labelled(np.asarray(canvas), TILE, LUT, ticks, ""), caption)


def _captioned(image: np.ndarray, caption: str) -> np.ndarray:
    """The image with `caption` wrapped below it (the tiles keep their pixels: clicks map)."""
    from PIL import Image, ImageDraw

    lines = textwrap.wrap(caption, width=max(30, image.shape[1] // 7))
    canvas = Image.new("RGB", (image.shape[1], image.shape[0] + 16 * len(lines) + 6), "white")
    canvas.paste(Image.fromarray(image), (0, 0))
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        draw.text((0, image.shape[0] + 2 + 16 * i), line, fill=(60, 60, 60), font=font(12))
    return np.asarray(canvas)


def examples_figure(ctx: ViewContext, corpus: Any, state: ViewState, measure: str) -> FigureSpec:
    """The picked head's small maps on corpus texts, each with a link outlined: for a statistic,
    the texts where the head's own mean of it is highest, and their strongest link; for a
    relation, texts with such a dependent, and the token the dependent attends to most (itself
    and the special tokens left out, as dependency accuracy counts it)."""
    layer, head = state.layer - 1, state.head - 1
    stat, relation = state.atlas_stat, state.atlas_relation
    key = ("atlas examples", str(corpus.folder), measure, stat, relation, layer, head)
    if stat == DEPENDENCY:
        found = ctx.memo.get(key, lambda: corpus.tokens_where("dep", relation, EXAMPLES))
        texts, rows = list(found.column("text").to_pylist()), found.column("position").to_pylist()
    else:
        texts = ctx.memo.get(key, lambda: _top_texts(corpus, layer, head, stat, measure))
        rows = [None] * len(texts)
    model = ctx.model
    runs = ctx.memo.get(("atlas runs", model.name, model.variant, *key),
                        lambda: model.analyze_batch([(t, None) for t in texts]))  # fmt: skip
    weighting = state.atlas_measure
    data, layout = [], _grid_layout(len(texts))
    for i, (text, r, row) in enumerate(zip(texts, runs, rows, strict=True)):
        m = weighted_attention(r, weighting)[layer, head]
        link = _strongest(m, row, r.word_ids, _counted(stat, r.tokens, r.word_ids))
        shown_rows, cols = _window(m, link)
        cut = m[np.ix_(shown_rows, cols)]
        tokens = [r.tokens[j] for j in shown_rows], [r.tokens[j] for j in cols]
        strongest = int(np.searchsorted(shown_rows, link[0])), int(np.searchsorted(cols, link[1]))
        axis = "" if i == 0 else str(i + 1)
        data.append(dict(type="heatmap", z=typed_array(np.round(cut * 100).astype(np.uint8)),
                         x=distinct_labels(tokens[1]), y=distinct_labels(tokens[0]), zmin=0,
                         zmax=100, colorscale=SCALES["Blues"], showscale=False, xaxis=f"x{axis}",
                         yaxis=f"y{axis}", hovertemplate="%{y} → %{x}: %{z}%<extra></extra>"))  # fmt: skip
        a, b = strongest
        layout["shapes"].append(dict(type="rect", xref=f"x{axis}", yref=f"y{axis}", x0=b - 0.5,
                                     x1=b + 0.5, y0=a - 0.5, y1=a + 0.5,
                                     line=dict(color="#ff8c00", width=2)))  # fmt: skip
        # Two short lines of the text at most: a caption must fit a phone's width.
        lines = textwrap.wrap(text, 50, max_lines=2, placeholder="…")
        said = f"{relation} dependent → most attended" if row is not None else (
            "strongest link" if stat == "entropy" else f"strongest {stat} link")
        caption = f"{said}: {tokens[0][a]} → {tokens[1][b]} {cut[a, b]:.0%}"
        layout["annotations"].append(dict(text="<br>".join(map(plain, [*lines, caption])),
                                          xref=f"x{axis} domain", yref=f"y{axis} domain", x=0,
                                          y=1, yshift=4, xanchor="left", yanchor="bottom",
                                          showarrow=False, align="left", font=dict(size=11)))  # fmt: skip
    if stat == DEPENDENCY:
        title = f"layer {state.layer}, head {state.head}: corpus texts with a {relation} dependent"
    else:
        ranked = "lowest " + SAYS[stat].split(" (")[0] if stat == "entropy" else SAYS[stat]
        title = (f"layer {state.layer}, head {state.head}: top {len(texts)} of {corpus.size:,} "
                 f"corpus texts by {ranked}")  # fmt: skip
    layout["title"] = dict(text=title_lines(title, 44), x=0.01, xanchor="left", font=dict(size=13))
    return FigureSpec(data=data, layout=layout)


def _top_texts(corpus: Any, layer: int, head: int, stat: str, measure: str) -> list[str]:
    """The texts where the head's mean of `stat` is highest, of MIN_TOKENS tokens or more where
    there are enough (in a three-token text every head's attention is "to the previous token")."""
    # For entropy the telling texts are where the head is most focused: the lowest first.
    top = corpus.examples(layer, head, stat, EXAMPLES * 10, measure,
                          lowest=stat == "entropy").to_pylist()  # fmt: skip
    long = [row for row in top if row["tokens"] >= MIN_TOKENS]
    return [row["text"] for row in (long if len(long) >= EXAMPLES else top)[:EXAMPLES]]


def _counted(stat: str, tokens: list[str], word_ids: list) -> np.ndarray:
    """bool [T, T]: the links the statistic counts (for entropy, every link)."""
    T = len(tokens)
    i, j = np.indices((T, T))
    special = np.array([w is None for w in word_ids])
    columns = {"to_cls": j == 0, "to_sep": special[j] & (j > 0), "to_self": i == j,
               "to_prev": j == i - 1, "to_next": j == i + 1,
               "to_punct": np.array([is_punctuation(t) for t in tokens])[j]}  # fmt: skip
    return columns.get(stat, np.ones((T, T), bool))


def _strongest(m: np.ndarray, row: int | None, word_ids: list,
               counted: np.ndarray) -> tuple[int, int]:  # fmt: skip
    """The strongest link the statistic counts; from `row` when given, to another word's token."""
    if row is None:
        a, b = np.unravel_index(int(np.argmax(np.where(counted, m, -1.0))), m.shape)
        return int(a), int(b)
    other = np.array([w is not None and w != word_ids[row] for w in word_ids])
    weights = np.where(other, m[row], -1.0)
    return row, int(np.argmax(weights))


def _window(m: np.ndarray, link: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of at most SHOWN_TOKENS around the link."""
    T = m.shape[0]
    if T <= SHOWN_TOKENS:
        return np.arange(T), np.arange(T)
    a, b = link

    def around(i: int) -> np.ndarray:
        start = min(max(0, i - SHOWN_TOKENS // 2), T - SHOWN_TOKENS)
        return np.arange(start, start + SHOWN_TOKENS)

    return around(a), around(b)


def _grid_layout(n: int) -> dict:
    """One map a row (legible on a phone too), each with its caption above it."""
    rows = max(n, 1)
    height = ROW * rows
    layout: dict[str, Any] = dict(template="none", height=height + 66, showlegend=False,
                                  margin=dict(l=10, r=10, t=56, b=10), shapes=[], annotations=[])  # fmt: skip
    for i in range(n):
        axis = "" if i == 0 else str(i + 1)
        top, bottom = 1 - (i * ROW + 52) / height, 1 - ((i + 1) * ROW - 8) / height
        layout[f"xaxis{axis}"] = dict(domain=[0, 1], showticklabels=False, type="category",
                                      anchor=f"y{axis}")  # fmt: skip
        layout[f"yaxis{axis}"] = dict(domain=[bottom, top], showticklabels=False,
                                      type="category", autorange="reversed", anchor=f"x{axis}")  # fmt: skip
    return layout

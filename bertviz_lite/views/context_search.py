"""Search by context (exBERT, Hoover et al. 2020): click a token of the text and see the corpus
tokens whose hidden state at a layer lies nearest to its own (cosine), each in its sentence with
its part of speech, dependency relation and entity; and how the nearest neighbours' parts of
speech change from the embeddings to the last layer.

Filters become SQL on the corpus's token table, written only from the fixed choices below, never
from what a visitor types. Corpus texts are the user's data: they reach the page as the spans of
a highlighted text, which Gradio shows as text, never as markup.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from ..analysis import Analysis
from ..context import ViewContext
from .base import Control, FigureSpec, Output, Shape, UserError, View, ViewState
from .heatmap import plain

# spaCy's Universal POS tags and its English entity labels (what corpus.annotate stores).
POS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
       "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X")  # fmt: skip
ENTITIES = ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "DATE", "TIME", "CARDINAL", "ORDINAL",
            "MONEY", "PERCENT", "QUANTITY", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE")  # fmt: skip
ANY, NONE = "any", "none"
CONTEXT = 90  # characters of a hit's text shown on either side of its token
TOP_LABELS = 6  # labels the summary names; the rest are "other"
PICKED = "searched"  # the tag of the searched token among the text's tokens


def middle_layer(shape: Shape) -> int:
    # Middle layers group tokens by their role in the sentence most clearly (Tenney et al. 2019);
    # layer 0 mostly by the word itself, the last by what pre-training needed.
    return max(1, shape[0] // 2)


def filters(pos: str, entity: str) -> str | None:
    """The `where` of a search, from the fixed choices only (anything else is refused)."""
    if pos not in (ANY, *POS) or entity not in (ANY, NONE, *ENTITIES):
        raise UserError(f"Unknown filter {pos!r:.20} / {entity!r:.20}: pick one of the choices.")
    parts = [] if pos == ANY else [f"pos = '{pos}'"]
    if entity != ANY:  # the table stores no entity as NULL
        parts.append("entity IS NULL" if entity == NONE else f"entity = '{entity}'")
    return " AND ".join(parts) or None


def token_units(r: Analysis) -> list[tuple[str, int | None]]:
    """The text (and pair) as clickable pieces: each token's characters with the white space
    after it, and its position; a separator between the sentences (position None). Special
    tokens are left out: the corpus indexes only the texts' own tokens."""
    e = r.encoding
    ends: dict[int, int] = {}  # a token's piece runs to the next token of its sentence
    following: dict[int | None, int] = {}
    for i in reversed(range(len(e.offsets))):
        seq = e.sequence_ids[i]
        if seq is not None:
            ends[i] = following.get(seq, len(e.sentence(seq)))
            following[seq] = e.offsets[i][0]
    units: list[tuple[str, int | None]] = []
    for i in sorted(ends):
        seq = e.sequence_ids[i]
        if seq == 1 and units and e.sequence_ids[units[-1][1]] == 0:
            units.append(("  ‖  ", None))
        units.append((e.sentence(seq)[e.offsets[i][0] : ends[i]], i))
    return units


def nearest_position(units: list[tuple[str, int | None]], wanted: Any) -> int:
    positions = [p for _, p in units if p is not None]
    if not positions:
        raise UserError("Type a text to search the corpus for one of its tokens.")
    wanted = int(wanted)
    return min(positions, key=lambda p: (abs(p - wanted), p))


class SearchView(View):
    name = "search"
    title = "Search by context"
    intro = ("Click a token of your text: the corpus tokens whose vectors lie nearest to its own "
             "at the layer picked (cosine, 1: the same direction), each in its sentence with its "
             "part of speech, dependency relation and entity. Near vectors mean the model "
             "represents the tokens alike there, not that they mean the same. The corpus is "
             "the one picked in Head atlas.")  # fmt: skip
    controls = (
        Control("search_token", "Token searched (its number; click one)", "number", 1, low=0,
                high=8191),
        Control("search_layer", "Layer (0: embeddings)", "slider", middle_layer, low=0,
                high="layers"),
        Control("search_k", "Neighbours", "slider", 10, low=5, high=50),
        Control("search_pos", "Part of speech of the neighbours", "radio", ANY, choices=(ANY, *POS)),
        Control("search_entity", "Entity of the neighbours", "radio", ANY,
                choices=(ANY, NONE, *ENTITIES)),
    )  # fmt: skip
    outputs = (
        Output("tokens", "words", "Click a token of your text to search for it",
               options={"elem_id": "search-tokens"}),
        Output("hits", "entities", "Nearest contexts in the corpus", row=1,
               options={"elem_id": "search-hits", "show_legend": False}),
        Output("summary", "plot", "The neighbours across layers", row=2,
               options={"elem_id": "search-summary"}),
    )  # fmt: skip
    clickable = "tokens"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        corpus = ctx.corpus(state.corpus)
        r = ctx.analysis
        units = token_units(r)
        position = nearest_position(units, state.search_token)
        layer, k = int(state.search_layer), int(state.search_k)
        indexed = sorted(corpus.manifest["vectors_layers"])
        if layer not in indexed:
            raise UserError(f"This corpus holds no vectors at layer {layer} (it has layers "
                            f"{', '.join(map(str, indexed)) or 'none'}): pick another.")  # fmt: skip
        where = filters(state.search_pos, state.search_entity)
        token = _token_text(r, position)
        search = _searcher(ctx, corpus, position, where, k)
        hits, note = search(layer)
        tokenizer = (ctx.model or corpus.loaded_model()).tokenizer
        among = f"{corpus.manifest['tokens']:,} tokens of {corpus.size:,} texts"
        label = "dep" if state.search_pos != ANY else "pos"  # a POS filter leaves one POS
        return {
            "tokens": [(text, PICKED if p == position else None) for text, p in units],
            "hits": hit_spans(hits, tokenizer, token, layer, _described(state), note, among),
            "summary": summary_figure({i: search(i)[0] for i in indexed}, label, token, layer),
        }

    def select(self, r: Analysis, state: ViewState, index: Any) -> dict[str, Any]:
        i = index[0] if isinstance(index, (tuple, list)) else int(index)
        units = token_units(r)
        position = units[i][1] if 0 <= i < len(units) else None
        return {} if position is None else {"search_token": position}


def _token_text(r: Analysis, position: int) -> str:
    """The token as it is written in the text ("Sony", where an uncased model reads "sony")."""
    e = r.encoding
    a, b = e.offsets[position]
    return e.sentence(e.sequence_ids[position])[a:b] or e.display_tokens[position]


def _described(state: ViewState) -> str:
    """The filters in words: "NOUN, no entity"."""
    said = [] if state.search_pos == ANY else [state.search_pos]
    if state.search_entity != ANY:
        said.append("no entity" if state.search_entity == NONE else state.search_entity)
    return ", ".join(said)


def _searcher(ctx: ViewContext, corpus: Any, position: int, where: str | None, k: int):
    """layer → (the k nearest corpus tokens as dicts, a note or ""), each search kept in the memo.
    The query is the analysis's own hidden state when it ran at the corpus's precision; an int8
    analysis is run again in fp32, so that both sides of the cosine come from the same model."""
    variant = corpus.manifest["settings"]["variant"]
    same = ctx.model is not None and ctx.model.variant == variant
    note = "" if same else (f"Your analysis ran at another precision; the corpus holds {variant} "
                            f"vectors, so the token was run through the {variant} model.")  # fmt: skip
    key = (str(corpus.folder), variant, ctx.text, ctx.pair)

    def vectors() -> np.ndarray:
        if same:
            return ctx.analysis.hidden_states
        return ctx.memo.get(("search query", *key),
                            lambda: corpus.loaded_model().analyze(ctx.text, ctx.pair).hidden_states)  # fmt: skip

    def nearest(layer: int, limit: int, *wheres: str | None) -> list[dict]:
        both = " AND ".join(f"({w})" for w in wheres if w) or None
        return corpus.search_vector(vectors()[layer][position], layer, limit, both).to_pylist()

    def own() -> tuple[int, int] | None:
        # The token itself, when its text is in the corpus: found at the deepest layer, where a
        # vector depends on the whole sentence (at layer 0 every "the" at that position ties);
        # unfiltered, so that it is the same for every filter.
        deepest = max(corpus.manifest["vectors_layers"])
        top = ctx.memo.get(("search own", *key, position), lambda: nearest(deepest, 1))
        found = top and top[0]["score"] > 0.9999 and top[0]["text"] == ctx.text and not ctx.pair
        return (int(top[0]["sentence"]), int(top[0]["position"])) if found else None

    def ranked(layer: int) -> list[dict]:
        rows = nearest(layer, k, where)
        mine = own() if rows and rows[0]["score"] > 0.9999 else None
        if mine is None or (rows[0]["sentence"], rows[0]["position"]) == mine:
            return rows
        # A tie at the top (same vector): the searched token's own sentence goes first.
        at = f"sentence = {mine[0]} AND position = {mine[1]}"  # numbers from the corpus
        itself = nearest(layer, 1, where, at)
        if not itself or itself[0]["score"] < rows[0]["score"] - 1e-4:
            return rows
        rest = [h for h in rows if (h["sentence"], h["position"]) != mine]
        return [itself[0], *rest][:k]

    def search(layer: int) -> tuple[list[dict], str]:
        rows = ctx.memo.get(("search", *key, position, layer, where, k), lambda: ranked(layer))
        return rows, note

    return search


def hit_spans(hits: list[dict], tokenizer: Any, token: str, layer: int, filtered: str,
              note: str = "", among: str = "the corpus") -> list[tuple[str, str | None]]:  # fmt: skip
    """Each hit on a line: its score, then its sentence around the matched token, the token
    tagged with its POS, relation and entity. Plain text spans: no corpus string becomes markup."""
    head = f"{note}\n" if note else ""
    if not hits:
        said = f"is {filtered}: loosen the filters" if filtered else "was found"
        return [(f"{head}No corpus token {said}.", None)]
    filtered = f" ({filtered} only)" if filtered else ""
    spans: list[tuple[str, str | None]] = [
        (f"{head}Of {among}, the {len(hits)} nearest to “{token}” at layer {layer}{filtered}, "
         "by cosine:\n", None)]  # fmt: skip
    for h in hits:
        text = " ".join(h["text"].split())  # one line a hit
        a, b = tokenizer.encode(text).offsets[h["position"]]
        before, after = text[:a], text[b:]
        if len(before) > CONTEXT:
            before = "…" + before[-CONTEXT:].split(" ", 1)[-1]
        if len(after) > CONTEXT:
            after = after[:CONTEXT].rsplit(" ", 1)[0] + "…"
        tags = " ".join(t for t in (h["pos"], h["dep"], h["entity"]) if t)
        spans += [(f"{h['score']:.3f}  {before}", None), (text[a:b], tags or "—"),
                  (f"{after}\n", None)]  # fmt: skip
    return spans


def summary_figure(by_layer: dict[int, list[dict]], label: str, token: str,
                   layer: int) -> FigureSpec:  # fmt: skip
    """Per layer, the share of each `label` (pos or dep) among the nearest neighbours: a stacked
    bar a layer, the most frequent labels named, the rest "other"; the layer shown outlined."""
    counts = {i: Counter(h[label] or "—" for h in hits) for i, hits in by_layer.items()}
    overall = sum(counts.values(), Counter())
    named = [name for name, _ in overall.most_common(TOP_LABELS)]
    layers = sorted(counts)
    data = []
    for name in [*named, "other"]:
        shares = [(counts[i][name] if name != "other" else
                   sum(n for lab, n in counts[i].items() if lab not in named))
                  / max(1, sum(counts[i].values())) for i in layers]  # fmt: skip
        if name == "other" and not any(shares):
            continue
        data.append(dict(type="bar", name=plain(name), x=layers, y=shares,
                         hovertemplate=f"{plain(name)}: %{{y:.0%}} at layer %{{x}}<extra></extra>"))  # fmt: skip
    what = "parts of speech" if label == "pos" else "dependency relations"
    layout = dict(
        template="none", barmode="stack", height=360, margin=dict(l=50, r=10, t=135, b=50),
        # Two short lines: a phone's width shows them whole.
        title=dict(text=f"The neighbours of “{plain(token)}”:<br>their {what}, layer by layer",
                   x=0.01, xanchor="left", y=0.995, yanchor="top", yref="container",
                   pad=dict(t=40), font=dict(size=13)),  # below the card's label
        xaxis=dict(title=dict(text="layer"), tickvals=layers,
                   ticktext=[str(i) if i else "0 emb" for i in layers]),
        yaxis=dict(title=dict(text="share"), tickformat=".0%", range=[0, 1]),
        legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom", traceorder="normal"), showlegend=True,
        shapes=[dict(type="rect", xref="x", yref="paper", x0=layer - 0.45, x1=layer + 0.45,
                     y0=0, y1=1, line=dict(color="#ff8c00", width=2))],
    )  # fmt: skip
    return FigureSpec(data=data, layout=layout)

"""The query–key space of one head (AttentionViz, Yeh et al. 2023): a corpus's queries and keys
projected together to 2-D.

A sample of whole corpus texts (at most QK_TOKENS tokens, [CLS] and [SEP] kept, as AttentionViz
keeps them) runs through the model once; every head's queries and keys are normalised as in
AttentionViz and projected by PCA then, so that moving the sliders runs neither the model nor
the PCA. The normalisation leaves every attention weight as it was: queries are multiplied and
keys divided by the same factor (dot products unchanged), chosen so that their mean norms are
equal; then the keys are shifted so that their centroid is the queries' (a shift adds the same
score to every key of a query, which softmax ignores). A query then lies near the keys it
attends to, as far as two axes can tell. Each point carries its text's number: a click in the
page opens that text in the One head view (assets/plots.js).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..context import ViewContext
from .base import Control, FigureSpec, Output, UserError, View, ViewState
from .heatmap import plain, typed_array

QK_TOKENS = 1500  # tokens sampled (each drawn twice): a ~200 kB figure, fast on a laptop
COLOURS = ("query / key", "position", "part of speech")
KINDS = {"query": ("#1b9e77", "circle"), "key": ("#e7298a", "diamond")}  # AttentionViz's hues
PLURAL = {"query": "queries", "key": "keys"}
POS_SHOWN = 8  # parts of speech with their own colour; the rest are "other"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f", "#bcbd22")  # fmt: skip
AROUND = 24  # characters of a text shown on each side of a hovered token


class QKSample:
    """What the view keeps per corpus and model: each head's projected points, the sample's
    tokens, and their texts. Arrays as attributes, so that the memo counts their bytes."""

    def __init__(self, coords: np.ndarray, explained: np.ndarray, sentence: np.ndarray,
                 position: np.ndarray, hover: list[str], pos: list[str],
                 texts: dict[int, str], corpus_size: int):  # fmt: skip
        self.coords, self.explained = coords, explained  # [L, H, 2N, 2] (queries, then keys)
        self.sentence, self.position = sentence, position  # [N] each, uint16 or wider
        self.hover, self.pos, self.texts, self.corpus_size = hover, pos, texts, corpus_size


def normalise(q: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AttentionViz's normalisation of queries and keys [..., N, d]: q·c and k/c with c making
    their mean norms equal, then keys shifted so that their centroid is the queries'."""
    mean_q = np.linalg.norm(q, axis=-1).mean(-1)[..., None, None]
    mean_k = np.linalg.norm(k, axis=-1).mean(-1)[..., None, None]
    c = np.sqrt(mean_k / np.maximum(mean_q, 1e-12))
    q, k = q * c, k / np.maximum(c, 1e-12)
    return q, k - k.mean(-2, keepdims=True) + q.mean(-2, keepdims=True)


def pca_2d(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PCA to 2-D of points [..., M, d] (batched over the leading axes): coordinates [..., M, 2]
    and each axis' share of the variance [..., 2]. An axis' sign is fixed (its largest loading
    positive), so that the picture does not flip between renders."""
    centred = x - x.mean(-2, keepdims=True)
    values, vectors = np.linalg.eigh(np.swapaxes(centred, -1, -2) @ centred)  # ascending
    top = vectors[..., ::-1][..., :2]  # [..., d, 2]
    big = np.take_along_axis(top, np.abs(top).argmax(-2)[..., None, :], -2)
    top = top * np.where(big < 0, -1.0, 1.0)
    total = np.maximum(values.sum(-1, keepdims=True), 1e-12)
    return centred @ top, np.clip(values[..., ::-1][..., :2], 0, None) / total


def sample_texts(corpus: Any, tokenizer: Any, budget: int = QK_TOKENS) -> list:
    """Encodings of whole texts spread over the corpus, at most `budget` tokens in all (a text
    that would pass it is skipped, so the sample stays spread rather than cut at one end)."""
    per_text = corpus.manifest["tokens"] / max(corpus.size, 1) + 2  # + [CLS] and [SEP]
    sentences = corpus.sample(max(1, int(budget / per_text)))
    texts = corpus.texts(sentences)
    picked, used = [], 0
    for s in sentences:
        e = tokenizer.encode(texts[s])
        if used + len(e) <= budget or not picked:
            picked.append((s, e))
            used += len(e)
    return picked


def compute(ctx: ViewContext, corpus: Any) -> QKSample:
    """Run the sample through the model (in batches of like length), project every head."""
    from ..corpus.extract import batches

    model = ctx.model
    picked = sample_texts(corpus, model.tokenizer)
    if not picked:
        raise UserError("This corpus has no texts to sample.")
    runs: list = [None] * len(picked)
    for batch in batches([len(e) for _, e in picked]):
        for i, r in zip(batch, model.analyze_encodings([picked[i][1] for i in batch],
                                                        extra=("queries", "keys"))):  # fmt: skip
            runs[i] = (r.queries, r.keys)  # the rest of the analysis (its maps) is dropped
    # One layer at a time: all of BERT-base's heads at once would take ~0.8 GB in float64.
    layers = []
    for layer in range(len(runs[0][0])):
        q = np.concatenate([qr[layer] for qr, _ in runs], axis=1).astype(np.float64)  # [H, N, d]
        k = np.concatenate([kr[layer] for _, kr in runs], axis=1).astype(np.float64)
        layers.append(pca_2d(np.concatenate(normalise(q, k), axis=1)))
    coords, explained = np.stack([c for c, _ in layers]), np.stack([e for _, e in layers])
    sentence = np.concatenate([[s] * len(e) for s, e in picked])
    sentence = sentence.astype(np.uint16 if sentence.max() < 2**16 else np.int32)
    position = np.concatenate([np.arange(len(e)) for _, e in picked]).astype(np.uint16)
    tags = part_of_speech(corpus, [s for s, _ in picked])
    hover, pos = [], []
    for s, e in picked:
        for t, token in enumerate(e.tokens):
            special = e.word_ids[t] is None
            pos.append("special" if special else tags.get((s, t)) or "untagged")
            hover.append(hover_text(e.text, e.offsets[t], token, t == 0, special))
    return QKSample(coords.astype(np.float32), explained.astype(np.float32), sentence, position,
                    hover, pos, {s: e.text for s, e in picked}, corpus.size)  # fmt: skip


def part_of_speech(corpus: Any, sentences: list[int]) -> dict[tuple[int, int], str]:
    """(sentence, position) → part of speech, from the corpus's tokens table (None: untagged)."""
    listed = ", ".join(str(int(s)) for s in sentences)
    rows = (corpus.store.table("tokens").search().where(f"sentence IN ({listed})")
            .select(["sentence", "position", "pos"]).limit(None).to_arrow().to_pylist())  # fmt: skip
    return {(row["sentence"], row["position"]): row["pos"] for row in rows}


def hover_text(text: str, span: tuple[int, int], token: str, first: bool, special: bool) -> str:
    """The token «marked» in its text cut around it, on one short line, escaped. (Not bold: the
    page gets Plotly's JSON, where each tag costs 15 bytes: 90 kB for a sample's bold tokens.)"""
    a, b = (0, 0) if special and first else (len(text), len(text)) if special else span
    start, end = max(0, a - AROUND), min(len(text), b + AROUND)
    # Cut at spaces where one is near, so that the ends are whole words.
    if start > 0 and 0 <= (space := text.find(" ", start, a)) < start + 10:
        start = space + 1
    if end < len(text) and (space := text.rfind(" ", b, end)) > end - 10:
        end = space
    before = ("…" if start > 0 else "") + text[start:a]
    after = text[b:end] + ("…" if end < len(text) else "")
    mark = f"«{token}»" if special else f"«{text[a:b]}»"
    spaced = (" " if special and first else "", " " if special and not first else "")
    return plain(" ".join(f"{before}{spaced[1]}{mark}{spaced[0]}{after}".split()))


def qk_figure(sample: QKSample, layer: int, head: int, colour: str) -> FigureSpec:
    """One head's queries and keys as WebGL points coloured by `colour` (COLOURS)."""
    n = len(sample.sentence)
    xy = sample.coords[layer, head]
    kinds = {"query": slice(0, n), "key": slice(n, 2 * n)}
    # Each point's text number (what a click opens) and its position in it, for the hover.
    where = np.stack([sample.sentence, sample.position.astype(sample.sentence.dtype)], axis=1)
    data = []

    def points(kind: str, rows: np.ndarray | slice, **extra: Any) -> dict:
        index = np.arange(n)[rows]
        said = ", %{fullData.name}" if colour == "part of speech" else ""
        at = xy[kinds[kind]][index]
        marker = dict(symbol=KINDS[kind][1], size=5, opacity=0.75, **extra.pop("marker", {}))
        return dict(type="scattergl", mode="markers", x=typed_array(at[:, 0].copy()),
                    y=typed_array(at[:, 1].copy()), text=[sample.hover[i] for i in index],
                    customdata=typed_array(where[index]), marker=marker,
                    hovertemplate=f"%{{text}}<br>{kind}, position %{{customdata[1]}}{said}; "
                                  "click: open its text<extra></extra>",
                    **extra)  # fmt: skip

    if colour == "position":
        # Most texts are short: the scale ends at the 95th percentile (later ones take its
        # colour; the hover says the true position), so that the usual ones differ.
        top = max(1, int(np.percentile(sample.position, 95))) if n else 1
        bar = dict(title=dict(text=f"position (0…{top}+)", side="top"), orientation="h",
                   thickness=10, lenmode="pixels", len=220, x=0, xanchor="left", y=0,
                   yanchor="top")  # fmt: skip
        for kind in kinds:
            data.append(points(kind, slice(None), name=PLURAL[kind], showlegend=False, marker=dict(
                color=typed_array(sample.position), colorscale="Viridis", cmin=0, cmax=top,
                showscale=kind == "query", colorbar=bar)))  # fmt: skip
    elif colour == "part of speech":
        tags = np.array(sample.pos)
        names, counts = np.unique(tags, return_counts=True)
        shown = [str(t) for t in names[np.argsort(-counts, kind="stable")][:POS_SHOWN]]
        groups = [*shown, "other"] if len(names) > POS_SHOWN else shown
        grouped = np.where(np.isin(tags, shown), tags, "other")
        for i, tag in enumerate(groups):
            for kind in kinds:
                data.append(points(kind, np.flatnonzero(grouped == tag), name=plain(tag),
                                   legendgroup=tag, showlegend=kind == "query",
                                   marker=dict(color=PALETTE[i % len(PALETTE)])))  # fmt: skip
    else:
        for kind, (hue, _) in KINDS.items():
            data.append(points(kind, slice(None), name=PLURAL[kind], marker=dict(color=hue)))
    share = float(sample.explained[layer, head].sum())
    texts = len(sample.texts)
    # Short lines: the title must fit a phone's 390 pixels too.
    title = (f"Layer {layer + 1}, head {head + 1}: queries (●) and keys (◆)<br>"
             f"<span style='font-size:11px'>PCA to 2-D ({share:.0%} of variance) of a sample of "
             f"{n:,} tokens<br>from {texts:,} of the corpus's {sample.corpus_size:,} texts</span>")  # fmt: skip
    layout = dict(
        template="none", height=620, margin=dict(l=10, r=10, t=96, b=10), hovermode="closest",
        title=dict(text=title, x=0.01, xanchor="left", y=0.995, yanchor="top", yref="container",
                   pad=dict(t=36), font=dict(size=13)),  # below the card's label
        # One unit each way, so that distances read true: the plot keeps its aspect and sits
        # left in a wide card, rather than stretching one axis.
        xaxis=dict(zeroline=False, showticklabels=False, constrain="domain",
                   constraintoward="left"),
        yaxis=dict(zeroline=False, showticklabels=False, scaleanchor="x", constrain="domain",
                   constraintoward="bottom"),  # above the legend and scale (on a phone)
        legend=dict(orientation="h", x=0, y=0, yanchor="top", itemsizing="constant"),
        # What a click needs (assets/plots.js): each text by number, and the head to open it at.
        meta=dict(qk=dict(layer=layer + 1, head=head + 1,
                          texts={str(s): t for s, t in sample.texts.items()})),
    )  # fmt: skip
    return FigureSpec(data=data, layout=layout)


class QKView(View):
    name = "qk"
    title = "Query–key space"
    intro = ("One head's queries (what each token looks for) and keys (what it offers) for a "
             "sample of the corpus's tokens, projected together to 2-D by PCA after "
             "AttentionViz's normalisation (which leaves every attention weight unchanged): a "
             "query lies near the keys it attends to most, as far as two axes can show. [CLS] "
             "and [SEP] are kept. Hover a point for its token in its text; click it to open "
             "that text in the One head view at this head.")  # fmt: skip
    controls = (
        Control("qk_layer", "Layer", "slider", 1, low=1, high="layers"),
        Control("qk_head", "Head", "slider", 1, low=1, high="heads"),
        Control("qk_colour", "Colour by", "radio", COLOURS[0], choices=COLOURS),
    )
    outputs = (Output("plot", "plot", "Queries and keys", options={"elem_id": "qk-plot"}),)

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        if ctx.model is None:
            raise UserError("The query–key space runs the model on the corpus: open it with "
                            "bv.corpus.open(folder).show('qk').")  # fmt: skip
        corpus = ctx.corpus(state.corpus)
        model = ctx.model
        key = ("qk space", model.name, model.variant, str(corpus.folder), QK_TOKENS)
        sample = ctx.memo.get(key, lambda: compute(ctx, corpus))
        layers, heads = sample.coords.shape[:2]
        layer = min(max(int(state.qk_layer), 1), layers) - 1
        head = min(max(int(state.qk_head), 1), heads) - 1
        return {"plot": qk_figure(sample, layer, head, state.qk_colour)}

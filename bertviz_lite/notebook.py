"""The app's views inline in Jupyter, self-contained (no CDN), and bertviz's calls.

    r = bv.load("minilm").analyze("The cat sat on the mat.")
    r.show("head", layer=2, head=5)           # the app's figure for this view and settings
    bv.head_view(attention, tokens)           # what bertviz's head_view takes: the tuple of
    bv.model_view(attention, tokens)          # per-layer tensors transformers returns

Every figure carries its own copy of plotly.js and every image is a data URL, so a notebook
shows them offline and keeps them when saved.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from .analysis import Analysis
from .context import Memo, ViewContext
from .tokenizer import Encoding
from .urlstate import default_state
from .views import VIEWS, UserError
from .views.base import FigureSpec, Shape

# Tokens that are no word of the text, in the families' spellings.
SPECIAL = {"[CLS]", "[SEP]", "[PAD]", "<s>", "</s>", "<pad>", "<cls>", "<sep>"}


class Shown:
    """HTML that Jupyter displays (`_repr_html_`); `.data` holds it, as in bertviz."""

    def __init__(self, data: str):
        self.data = data

    def _repr_html_(self) -> str:
        return self.data


def _plot_html(figure: Any) -> str:
    import plotly.graph_objects as go

    # A FigureSpec skips validation for the app's speed; here Plotly fills in its defaults.
    fig = go.Figure(dict(figure)) if isinstance(figure, FigureSpec) else figure
    return fig.to_html(include_plotlyjs=True, full_html=False, config={"displaylogo": False})


def _image_html(image: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="every head" src="data:image/png;base64,{data}">'


def _html(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value):
        return ""
    if hasattr(value, "to_json"):
        return _plot_html(value)
    if isinstance(value, np.ndarray):
        return _image_html(value)
    if isinstance(value, str) and value.lstrip().startswith("<iframe"):
        return value  # the token-link view: a sandboxed, self-contained iframe
    if isinstance(value, dict) and "entities" not in value:  # label → probability
        rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{v:.3f}</td></tr>"
                       for k, v in value.items())  # fmt: skip
        return f"<table>{rows}</table>"
    return f"<pre>{html.escape(str(value))}</pre>"


# What a notebook's views run again (heads off, attributions, another model) is kept here, as
# the app keeps it: drawing a view twice repeats no forward pass.
MEMO = Memo(max_bytes=256 * 2**20)


def show(r: Analysis, view: str = "head", model: Any = None, corpus: Any = None,
         **settings: Any) -> Shown:  # fmt: skip
    """One view of an analysis as in the app. Views that run the model again (heads off,
    Explain, the head sweep, another model) run `model`, by default the one that made `r`; the
    corpus views draw from `corpus` (a bv.corpus.Corpus; `corpus.show(view)` passes itself)."""
    if view not in VIEWS:
        raise UserError(f"Unknown view {view!r}: choose one of {', '.join(VIEWS)}.")
    loaded = model or r.model
    shape = r.attentions.shape[:2]
    if loaded is not None:
        shape = Shape(*shape, tuple(loaded.labels or ()), loaded.task, loaded.name)
    state = default_state(shape, view=view, **({"model": loaded.name} if loaded else {}))
    ctx = ViewContext(r, loaded, MEMO, lambda name: _load(name, loaded),
                      None if corpus is None else lambda name: corpus)
    values = VIEWS[view].render(ctx, state.replace(**settings))
    return Shown("".join(_html(v) for v in values.values()))


def _load(name: str, like: Any) -> Any:
    from .model import load

    return load(name, variant=like.variant if like is not None else "auto", progress=False)


def from_attention(
    attention: Sequence[Any], tokens: Sequence[str], sentence_b_start: int | None = None,
    prettify_tokens: bool = True,
) -> Analysis:  # fmt: skip
    """An Analysis of bertviz's inputs: per-layer attention [batch, heads, T, T] (torch or NumPy;
    the first item of the batch) and the tokens."""
    layers = [np.asarray(a.detach().cpu().float() if hasattr(a, "detach") else a, np.float32)
              for a in attention]  # fmt: skip
    att = np.stack([a[0] if a.ndim == 4 else a for a in layers])
    tokens = list(tokens)
    if att.shape[-1] != len(tokens):
        raise ValueError(f"{len(tokens)} tokens for attention over {att.shape[-1]} positions")
    if prettify_tokens:  # byte-level BPE and SentencePiece word starts, shown as words
        tokens = [t.replace("Ġ", " ").replace("▁", " ").strip() or t for t in tokens]
    b = len(tokens) if sentence_b_start is None else sentence_b_start
    special = [t in SPECIAL for t in tokens]
    sequence = [None if s else int(i >= b) for i, s in enumerate(special)]
    words, word = [], -1
    for t, s in zip(tokens, special):
        if not s and not t.startswith("##"):
            word += 1
        words.append(None if s else max(word, 0))
    enc = Encoding(text=" ".join(tokens), pair=None, tokens=tokens, ids=[0] * len(tokens),
                   type_ids=[int(i >= b) for i in range(len(tokens))],
                   offsets=[(0, 0)] * len(tokens), sequence_ids=sequence, word_ids=words,
                   original_length=len(tokens))  # fmt: skip
    hidden = np.zeros((att.shape[0] + 1, len(tokens), 1), np.float32)
    return Analysis(tokens=tokens, word_ids=words, attentions=att, hidden_states=hidden,
                    predictions=None, truncated=False, encoding=enc)  # fmt: skip


def head_view(
    attention: Sequence[Any], tokens: Sequence[str], sentence_b_start: int | None = None,
    prettify_tokens: bool = True, layer: int | None = None, heads: Sequence[int] | None = None,
    html_action: str = "view", **ignored: Any,
) -> Shown | None:  # fmt: skip
    """bertviz's head_view call: token links of one layer (0-based `layer`, as bertviz counts);
    one head when `heads` names one, else the layer's head average."""
    r = from_attention(attention, tokens, sentence_b_start, prettify_tokens)
    one = heads is not None and len(heads) == 1
    shown = show(r, "head", style="links", layer=(layer or 0) + 1,
                 head=(heads[0] + 1) if one else 1,
                 source="head" if one else "layer average")  # fmt: skip
    return _act(shown, html_action)


def model_view(
    attention: Sequence[Any], tokens: Sequence[str], sentence_b_start: int | None = None,
    prettify_tokens: bool = True, html_action: str = "view", **ignored: Any,
) -> Shown | None:  # fmt: skip
    """bertviz's model_view call: every layer × head at a glance."""
    r = from_attention(attention, tokens, sentence_b_start, prettify_tokens)
    return _act(show(r, "overview"), html_action)


def _act(shown: Shown, html_action: str) -> Shown | None:
    if html_action == "return":
        return shown
    try:
        from IPython.display import display
    except ImportError:  # not in a notebook: hand it back
        return shown
    display(shown)
    return None

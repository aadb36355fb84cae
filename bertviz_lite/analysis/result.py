"""`Analysis`: everything the model says about one input, as NumPy arrays.

Its own module so that the analysis functions and the views read it without importing the loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..tokenizer import Encoding


@dataclass
class Analysis:
    """Everything the model says about one input (one item of a batch, padding removed)."""

    tokens: list[str]
    word_ids: list[int | None]
    attentions: np.ndarray  # float32 [layers, heads, T, T]
    hidden_states: np.ndarray  # float32 [layers + 1, T, hidden]
    predictions: dict | None  # None for a bare encoder
    truncated: bool
    encoding: Encoding = field(repr=False)
    logits: np.ndarray | None = field(default=None, repr=False)
    # float32 [layers, heads, T]: ‖f_h(x_j)‖, the norm of token j's value vector after head h's
    # output projection (Kobayashi et al. 2020); head h's weighted contribution of token j to
    # token i is attentions[l, h, i, j] · value_norms[l, h, j]. None where not computed.
    value_norms: np.ndarray | None = field(default=None, repr=False)
    # float32 [layers, heads, T, head size], after the bias and before the 1/√d scaling; only
    # when asked for (LoadedModel.analyze(..., extra=("queries", "keys", "values"))).
    queries: np.ndarray | None = field(default=None, repr=False)
    keys: np.ndarray | None = field(default=None, repr=False)
    values: np.ndarray | None = field(default=None, repr=False)
    # The LoadedModel that made it (None for one made from bare attention): what `show` runs
    # again for the views that need more than this analysis.
    model: Any = field(default=None, repr=False, compare=False)

    def summary(self) -> dict:
        """Everything but the tensors, JSON-ready; `about` says what computed them."""
        e = self.encoding
        return {
            "text": e.text, "pair": e.pair, "tokens": self.tokens, "word_ids": self.word_ids,
            "segment_ids": e.type_ids, "offsets": e.offsets, "truncated": self.truncated,
            "original_length": e.original_length, "predictions": self.predictions,
            "about": self.about(),
        }  # fmt: skip

    def about(self) -> dict:
        """What computed this analysis, for a file read later: the model (its name, the digest
        of its weights, its precision) and the library versions."""
        import onnxruntime

        from .. import __version__

        about: dict = {"bertviz_lite": __version__, "onnxruntime": onnxruntime.__version__}
        m = self.model
        if m is not None:
            from ..model import weights_version

            about |= {"model": m.name, "weights": weights_version(m.checkpoint, m.adapter_dir),
                      "precision": m.variant, "exact": m.variant == "fp32",
                      "layers": m.config.num_hidden_layers, "heads": m.config.num_attention_heads}  # fmt: skip
        return about

    def to_dict(self, decimals: int = 4) -> dict:
        """JSON-ready: the summary, and the tensors as nested lists rounded to `decimals` (value
        norms, queries, keys and values where the analysis has them)."""
        tensors = ("attentions", "hidden_states", "value_norms", "queries", "keys", "values")
        return {
            **self.summary(),
            # Rounded as float64: a float32 rounded to 4 places reads 0.15950000286102295.
            **{name: np.round(getattr(self, name).astype(np.float64), decimals).tolist()
               for name in tensors if getattr(self, name) is not None},
        }  # fmt: skip

    def show(self, view: str = "head", **settings):
        """This analysis as the app draws `view` with these settings (inline in Jupyter); views
        that run the model again (heads off, Explain, another model) run the one that made it."""
        from ..notebook import show  # the views import this module: imported when asked

        return show(self, view, **settings)

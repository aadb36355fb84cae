"""What a view draws from: one analysis, its model, and what a view may ask beyond it.

A view gets a `ViewContext`, never the model to run by itself: the same input with heads
switched off, through another model, with the queries, keys and values, of another text (a word
masked), its attributions and its head sweep. Each answer is kept in one `Memo`, keyed by what it
depends on (the model, the precision, the input, and what was asked), so that moving a slider or
opening a view again repeats no forward pass the memo still holds. The app and a notebook build
the same context; the app's memo is shared by every visitor and is all they share.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from . import attribution, mixing
from .analysis import Analysis, attention_flow
from .errors import UserError


class Memo:
    """Recent results, bounded by the bytes of the arrays they hold rather than by count: one
    512-token analysis of MiniLM holds 75 MB of attention, forty short ones less than one such."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.items: OrderedDict[tuple, Any] = OrderedDict()
        self.lock = threading.Lock()

    @staticmethod
    def size(value: Any) -> int:
        """Every array it holds: a masked-LM's logits (T × vocabulary) weigh more than its
        attention (62 MB at 512 tokens of MiniLM's 30,522 words)."""
        if isinstance(value, np.ndarray):
            return value.nbytes
        held = vars(value).values() if hasattr(value, "__dict__") else ()
        return sum(v.nbytes for v in held if isinstance(v, np.ndarray))

    def get(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = compute()  # outside the lock: other requests need not wait for this one
        with self.lock:
            self.items[key] = value
            while len(self.items) > 1 and sum(map(self.size, self.items.values())) > self.max_bytes:
                self.items.popitem(last=False)
        return value

    def matching(self, prefix: tuple) -> list[Any]:
        """The values whose key starts with `prefix`, oldest first."""
        return [value for _, value in self.keyed(prefix)]

    def keyed(self, prefix: tuple) -> list[tuple[tuple, Any]]:
        """(key, value) of the keys that start with `prefix`, oldest first."""
        with self.lock:
            return [(k, v) for k, v in self.items.items() if k[: len(prefix)] == prefix]


class ViewContext:
    """The analysis a view draws (`analysis`), its model (`model`), and the only ways a view
    runs anything more; `models(name)` opens another model of the same precision, `corpora(name)`
    a corpus of this model (corpora.py)."""

    def __init__(self, analysis: Analysis, model: Any, memo: Memo,
                 models: Callable[[str], Any] | None = None,
                 corpora: Callable[[str], Any] | None = None):  # fmt: skip
        self.analysis, self.model, self.memo = analysis, model, memo
        self._models, self._corpora = models, corpora
        self._off: tuple[int, ...] | None = None  # _heads_off, once computed
        enc = analysis.encoding
        self.text, self.pair = enc.text, enc.pair

    def _key(self, *what: Any, model: Any = None) -> tuple:
        m = model or self.model
        name, variant = (m.name, m.variant) if m is not None else ("", "")
        return (name, variant, self.text, self.pair, *what)

    def _model(self) -> Any:
        if self.model is None:
            raise UserError("This view runs the model again: analyse with bv.load(...).analyze(...) "
                            "(an analysis made from bare attention has no model).")  # fmt: skip
        return self.model

    def with_heads_off(self, head_mask: np.ndarray) -> Analysis:
        """The same input with the heads where `head_mask` [layers, heads] is 0 switched off."""
        model = self._model()
        off = tuple(np.flatnonzero(np.asarray(head_mask) < 1).tolist())
        return self.memo.get(self._key(off), lambda: model.analyze(self.text, self.pair,
                                                                    head_mask=head_mask))  # fmt: skip

    def through(self, name: str) -> Analysis:
        """The same input through another model (by name; same precision)."""
        if self._models is None:
            raise UserError("Comparing models needs them by name: use the app, or bv.load both.")
        other = self._models(name)
        return self.memo.get(self._key((), model=other), lambda: other.analyze(self.text, self.pair))

    def corpus(self, name: str) -> Any:
        """The corpus `name` built with this model (a corpus.Corpus), for the corpus views."""
        if self._corpora is None:
            raise UserError("Corpus views draw from a corpus: in a notebook, "
                            "bv.corpus.open(folder).show(view, text).")  # fmt: skip
        return self._corpora(name)

    def of_text(self, text: str) -> Analysis:
        """Another text (with the same pair) through the same model: a word masked."""
        model = self._model()
        key = (model.name, model.variant, text, self.pair, ())
        return self.memo.get(key, lambda: model.analyze(text, self.pair))

    def with_extra(self, extra: tuple[str, ...]) -> Analysis:
        """The analysis with extra outputs (queries, keys, values): one forward pass, kept."""
        model = self._model()
        extra = tuple(sorted(extra))
        return self.memo.get(self._key("extra", extra),
                             lambda: model.analyze(self.text, self.pair, extra=extra))  # fmt: skip

    def attribution(self, method: str, target: Any = None, words: bool = False,
                    max_units: int | None = None,
                    max_steps: int = attribution.MAX_STEPS) -> attribution.Attribution:  # fmt: skip
        """`method`'s attribution of this prediction (attribution.attribute), kept."""
        model = self._model()
        key = self._key("attribution", method, repr(target), words, max_units, max_steps)
        return self.memo.get(key, lambda: attribution.attribute(
            model, self.text, self.pair, method, target, words, max_units, max_steps,
            analysis=self.analysis))  # fmt: skip

    def attributions(self) -> list[attribution.Attribution]:
        """The attributions already computed for this input and model (oldest first)."""
        return self.memo.matching(self._key("attribution")) if self.model is not None else []

    def head_importance(self, target: Any = None,
                        progress: Callable[[int, int], None] | None = None) -> np.ndarray:  # fmt: skip
        """Each head switched off alone: how much the output moves (LoadedModel.head_importance)."""
        model = self._model()
        return self.memo.get(self._key("head importance", repr(target)),
                             lambda: model.head_importance(self.text, self.pair, target,
                                                           progress=progress,
                                                           analysis=self.analysis))  # fmt: skip

    def mixing(self, method: str, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """`method`'s context mixing of this analysis, each layer on its own ([layers, T, T],
        mixing.per_layer), kept; heads switched off are part of the key."""
        model = self.model if method in ("attention", "norm") else self._model()
        key = self._key("mixing", method, self._heads_off())
        return self.memo.get(key, lambda: mixing.per_layer(model, self.analysis, method, progress))

    def mixings(self) -> dict[str, np.ndarray]:
        """The mixing matrices already kept for this input ({method: [layers, T, T]})."""
        if self.model is None:
            return {}
        prefix, off = self._key("mixing"), self._heads_off()
        return {key[len(prefix)]: value for key, value in self.memo.keyed(prefix) if key[-1] == off}

    def flow(self, layers: int) -> np.ndarray:
        """Attention flow from the input to layer `layers` ([T, T], analysis.attention_flow), kept."""
        key = self._key("flow", layers, self._heads_off())
        return self.memo.get(key, lambda: attention_flow(self.analysis.attentions[:layers]))

    def _heads_off(self) -> tuple[int, ...]:
        """The heads switched off in this analysis (their maps are zero), as flat indices;
        summed once per context (a 512-token analysis holds 75 MB of maps)."""
        if self._off is None:
            a = self.analysis.attentions
            self._off = tuple(np.flatnonzero(a.sum(axis=(2, 3)) == 0).tolist())
        return self._off

    def faithfulness(self, name: str, scores: Any, target: Any, *settings: Any,
                     draws: int = 8) -> attribution.Faithfulness:  # fmt: skip
        """ERASER's comprehensiveness and sufficiency of explanation `name` (its `scores`,
        made under `settings`) for this input, kept; name "random": the random floor."""
        model = self._model()
        key = self._key("faithfulness", name, repr(target), settings, draws, self._heads_off())
        if name == "random":
            return self.memo.get(key, lambda: attribution.random_floor(
                model, self.analysis, target, draws=draws))  # fmt: skip
        return self.memo.get(key, lambda: attribution.faithfulness(
            model, self.analysis, scores, target, name=name))  # fmt: skip

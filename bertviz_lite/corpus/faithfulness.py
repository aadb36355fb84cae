"""Which explanation is faithful for this model on this data: ERASER comprehensiveness and
sufficiency (attribution/faithfulness.py) of every explanation (attribution/explanations.py),
averaged over a corpus's texts, beside the random floor.

Each text is analysed once; its mixing matrices are computed once per measure and shared by the
explanations that read them. The interval is a 95% t-interval over texts (mean ± t₀.₉₇₅,ₙ₋₁ ·
s/√n, s with ddof=1; NaN for fewer than two texts). The random floor of text s uses `draws`
rankings seeded with `seed + s`. Integrated gradients take at most `max_steps` (64) steps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ..attribution import explanations
from ..attribution.base import resolve_target
from ..attribution.faithfulness import FRACTIONS, random_floor
from ..attribution.faithfulness import faithfulness as score
from ..errors import UserError

MAX_STEPS = 64  # integrated gradients' steps at most: bounded for speed over many texts
MEASURES = ("comprehensiveness", "sufficiency")


@dataclass
class CorpusFaithfulness:
    """Per explanation ("random" last): comprehensiveness, comprehensiveness_ci, sufficiency,
    sufficiency_ci, texts; `skipped`: texts left out, by reason."""

    methods: dict[str, dict]
    skipped: dict[str, int]
    sampled: int  # texts drawn from the corpus
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        """A Markdown table, one row per explanation, then what was skipped and the notes."""
        rows = ["| explanation | comprehensiveness ↑ (95% CI) | sufficiency ↓ (95% CI) | texts |",
                "|---|---|---|---|"]  # fmt: skip
        for name, m in self.methods.items():
            cells = [f"{m[k]:.3f} ({m[k + '_ci'][0]:.3f}, {m[k + '_ci'][1]:.3f})" for k in MEASURES]
            rows.append(f"| {name} | {cells[0]} | {cells[1]} | {m['texts']} |")
        skipped = ", ".join(f"{n} {why}" for why, n in self.skipped.items()) or "none"
        return "\n".join([*rows, "", f"{self.sampled} texts sampled; skipped: {skipped}.",
                          *self.notes])  # fmt: skip

    __str__ = table


def interval(values: Sequence[float]) -> tuple[float, float]:
    """The 95% t-interval of the mean of `values` (NaN for fewer than two)."""
    x = np.asarray(values, np.float64)
    if len(x) < 2:
        return (float("nan"), float("nan"))
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return (float(x.mean() - half), float(x.mean() + half))


def _summary(runs: list[tuple[float, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {"texts": len(runs)}
    for i, k in enumerate(MEASURES):
        values = [run[i] for run in runs]
        out[k] = float(np.mean(values)) if values else float("nan")
        out[f"{k}_ci"] = interval(values)
    return out


def faithfulness(corpus: Any, methods: Sequence[str] | None = None, n: int = 200,
                 target: Any = None, fractions: tuple[float, ...] = FRACTIONS, draws: int = 4,
                 seed: int = 0, max_tokens: int = 128,
                 progress: Callable[[int, int], None] | None = None,
                 max_steps: int = MAX_STEPS) -> CorpusFaithfulness:  # fmt: skip
    """Comprehensiveness and sufficiency of each explanation in `methods` (default: every one)
    and of the random floor (`draws` rankings per text), mean and 95% t-interval over up to `n`
    texts of `corpus` spread evenly. Texts over `max_tokens` tokens (value zeroing costs T²
    runs of a layer) and NER texts with no entity are skipped and counted.
    `progress(done, total)` after each text."""
    choices = explanations.names()
    if isinstance(methods, str):
        methods = [methods]
    methods = list(choices if methods is None else methods)
    unknown = [m for m in methods if m not in choices]
    if unknown or not methods:
        raise ValueError(f"unknown explanation {', '.join(map(repr, unknown)) or 'none'} "
                         f"(choose from {', '.join(choices)})")  # fmt: skip
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive whole number, not {n!r:.40}")
    model = corpus.loaded_model()
    if model.task not in ("classification", "ner"):
        raise UserError(f"Faithfulness scores a prediction: corpus model {corpus.model!r} is a "
                        "bare encoder; build the corpus with a classifier or an NER model.")  # fmt: skip
    from ..mixing import context_mixing

    texts = corpus.texts(corpus.sample(n))
    runs: dict[str, list[tuple[float, float]]] = {m: [] for m in [*methods, "random"]}
    skipped = {f"over {max_tokens} tokens": 0, "with no entity": 0}
    for done, (sentence, text) in enumerate(sorted(texts.items()), 1):
        enc = model.tokenizer.encode(text)
        if len(enc) > max_tokens:
            skipped[f"over {max_tokens} tokens"] += 1
        else:
            r = model.analyze_encodings([enc])[0]
            if model.task == "ner" and not (r.predictions or {}).get("entities"):
                skipped["with no entity"] += 1
            else:
                goal, cache = resolve_target(model, r, target), {}

                def mixing(measure: str, across: str | None, r=r, cache=cache) -> np.ndarray:
                    if (measure, across) not in cache:
                        cache[measure, across] = context_mixing(model, r, measure, across)
                    return cache[measure, across]

                for name in methods:
                    scores = explanations.explain(model, r, name, goal, mixing=mixing,
                                                  max_steps=max_steps)  # fmt: skip
                    f = score(model, r, scores, goal, fractions)
                    runs[name].append((f.comprehensiveness, f.sufficiency))
                f = random_floor(model, r, goal, fractions, draws, seed + int(sentence))
                runs["random"].append((f.comprehensiveness, f.sufficiency))
        if progress is not None:
            progress(done, len(texts))
    notes = []
    if "integrated-gradients" in methods:
        notes.append(f"Integrated gradients: at most {max_steps} steps.")
    notes.append(f"Random: {draws} seeded rankings per text; intervals: 95% t over texts.")
    return CorpusFaithfulness({m: _summary(v) for m, v in runs.items()}, skipped, len(texts), notes)

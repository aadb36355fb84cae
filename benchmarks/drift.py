"""How far each fast variant moves attention from the model's own (fp32), on real texts.

The fixed set (issue 14): the app's examples, the first 200 items of each task's test split
(sentiment snippets, NER sentences, BBC articles cut at 128 tokens) and the first 50 BBC articles
at the model's 512 tokens. For every catalog model and variant: the largest and mean |Δ| of any
attention probability, the share of heads that move by more than 0.05 somewhere, and whether the
predictions stayed the same. Writes models/drift.json, which the app quotes when int8 is picked.

    python -m benchmarks.drift [--variants int8] [--limit 200]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

import bertviz_lite as bv
from bertviz_lite import catalog
from bertviz_lite.analysis import attention_drift
from bertviz_lite.examples import EXAMPLES

OUT = catalog.MODELS_DIR / "drift.json"


def cut(tokenizer, text: str, tokens: int) -> str:
    """The text's first words that make at most `tokens` tokens with [CLS] and [SEP]."""
    enc = tokenizer.encode(text)
    return text if len(enc) <= tokens else text[: enc.offsets[tokens - 2][1]]


def fixed_set(tokenizer, limit: int = 200, long: int = 50) -> list[tuple[str, str | None]]:
    from bertviz_lite.train import data

    texts = [(t, p or None) for t, p, _ in EXAMPLES]
    texts += [(it["text"], None) for it in data.load_split("sentiment", "test", limit=limit)]
    texts += [(it["text"], None) for it in data.load_split("ner", "test", limit=limit)]
    bbc = [it["text"] for it in data.load_split("topic", "test", limit=limit)]
    texts += [(cut(tokenizer, t, 128), None) for t in bbc]
    texts += [(t, None) for t in bbc[:long]]  # cut by the model itself at 512 tokens
    return texts


def measure(name: str, variant: str, texts: list[tuple[str, str | None]]) -> dict:
    exact = bv.load(name, variant="fp32", progress=False)
    fast = bv.load(name, variant=variant, progress=False)
    worst, total, values, over, heads, agree = 0.0, 0.0, 0, 0, 0, 0
    for text, pair in texts:
        a, b = fast.analyze(text, pair), exact.analyze(text, pair)
        d = attention_drift(a, b)
        worst = max(worst, d["max"])
        total += d["mean"] * a.attentions.size
        values += a.attentions.size
        over, heads = over + d["heads_over"], heads + d["heads"]
        same = a.logits is None or bool(np.array_equal(a.logits.argmax(-1), b.logits.argmax(-1)))
        agree += same
    return {"max": round(worst, 4), "mean": round(total / values, 5),
            "heads_over_pct": round(100 * over / heads, 1), "texts": len(texts),
            "predictions_agree_pct": round(100 * agree / len(texts), 1)}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["int8"])
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    t0 = time.time()
    texts = fixed_set(bv.load("minilm", progress=False).tokenizer, args.limit, args.limit // 4)
    models = {}
    for name in catalog.names():
        models[name] = {v: measure(name, v, texts) for v in args.variants}
        print(name, models[name], flush=True)
    report = {"measured": {"date": time.strftime("%Y-%m-%d"), "texts": len(texts),
                           "cpu": platform.processor() or platform.machine(),
                           "seconds": round(time.time() - t0)},
              "models": models}  # fmt: skip
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()

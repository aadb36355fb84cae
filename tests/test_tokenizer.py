"""Tokenizer: pairs and segments, word ids and offsets, letter case, reported truncation."""

from __future__ import annotations

import pytest

from bertviz_lite.tokenizer import CASES, Tokenizer, batch_arrays, case_id


@pytest.fixture(scope="module")
def tok(minilm_dir):
    return Tokenizer.from_dir(minilm_dir)


def test_pair_segments_words_and_offsets(tok):
    enc = tok.encode("New York's skyline.", pair="Tokenization rocks!")
    assert enc.tokens[0] == "[CLS]" and enc.tokens.count("[SEP]") == 2
    sep = enc.tokens.index("[SEP]")
    assert set(enc.type_ids[: sep + 1]) == {0} and set(enc.type_ids[sep + 1 :]) == {1}
    assert enc.word_ids[0] is None and enc.word_ids[sep] is None
    # words are numbered across the pair, so the second sentence's first word follows the first's
    first = [w for w, s in zip(enc.word_ids, enc.sequence_ids) if s == 0]
    second = [w for w, s in zip(enc.word_ids, enc.sequence_ids) if s == 1]
    assert min(second) == max(first) + 1
    # sub-words of one word share its id, and offsets point back into the right sentence
    pieces = [
        t
        for t, (w, s) in enumerate(zip(enc.word_ids, enc.sequence_ids))
        if s == 1 and w == min(second)
    ]
    assert len(pieces) > 1
    start, end = enc.offsets[pieces[0]][0], enc.offsets[pieces[-1]][1]
    assert enc.pair[start:end] == "Tokenization"
    york = enc.tokens.index("york")
    assert enc.text[slice(*enc.offsets[york])] == "York"


def test_truncation_is_reported_not_silent(tok):
    short = tok.encode("a short text")
    assert not short.truncated and short.original_length == len(short)
    long = tok.encode("word " * 2000, pair="and a pair " * 300)
    assert len(long) == 512 and long.truncated and long.original_length > 2500
    assert long.tokens[-1] == "[SEP]" and 1 in long.type_ids  # both sentences kept, longest cut
    again = tok.encode("a short text")  # truncation does not stick to later calls
    assert again.tokens == short.tokens


def test_checkpoint_padding_settings_are_ignored(tok):
    """MiniLM's tokenizer.json pads and truncates to 128: we must not."""
    assert len(tok.encode("hi")) == 3
    assert len(tok.encode("word " * 300)) == 302


def test_vocab_txt_matches_tokenizer_json(minilm_dir, tmp_path):
    (tmp_path / "vocab.txt").write_text((minilm_dir / "vocab.txt").read_text())
    from_vocab = Tokenizer.from_dir(tmp_path)
    text, pair = "Héllo, WORLD! naïve café — 東京", "second one"
    a, b = from_vocab.encode(text, pair), Tokenizer.from_dir(minilm_dir).encode(text, pair)
    assert (a.ids, a.type_ids, a.offsets) == (b.ids, b.type_ids, b.offsets)


def test_batch_arrays_pad_right(tok):
    arrays = batch_arrays([tok.encode("one two three four"), tok.encode("one")])
    assert arrays["input_ids"].shape == (2, 6)
    assert arrays["attention_mask"].tolist() == [[1] * 6, [1, 1, 1, 0, 0, 0]]
    assert arrays["input_ids"][1, 3:].tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    "piece, case",
    [("", "none"), ("42", "none"), ("東京", "none"), ("—", "none"), ("bbc", "lower"),
     ("Bbc", "title"), ("I", "title"), ("É", "title"), ("BBC", "upper"), ("iPhone", "mixed"),
     ("McDonald", "mixed")],
)  # fmt: skip
def test_case_id(piece, case):
    assert CASES[case_id(piece)] == case


def test_case_ids_read_the_original_text(tok):
    enc = tok.encode("Johnson met IBM's iPhone team.", "I AGREE")
    cases = {t: CASES[c] for t, c in zip(enc.tokens, enc.case_ids)}
    # The uncased vocabulary lowercases every token: the case comes from the text's offsets.
    assert enc.tokens[1:4] == ["johnson", "met", "ibm"]
    assert cases == {
        "[CLS]": "none", "johnson": "title", "met": "lower",
        "ibm": "upper", "'": "none", "s": "lower", "iphone": "mixed", "team": "lower",
        ".": "none", "[SEP]": "none", "i": "title", "agree": "upper",
    }  # fmt: skip
    arrays = batch_arrays([enc, tok.encode("ok")], inputs=["case_ids"])
    assert arrays["case_ids"][0].tolist() == enc.case_ids
    assert arrays["case_ids"][1].tolist() == [0, 1, 0] + [0] * (len(enc) - 3)


def _full_truncation(tok: Tokenizer, text: str, pair: str | None) -> list[int]:
    """The tokenizer's own longest-first truncation of the whole input: the oracle."""
    tok.backend.enable_truncation(tok.max_length, strategy="longest_first")
    try:
        return (tok.backend.encode(text, pair) if pair else tok.backend.encode(text)).ids
    finally:
        tok.backend.no_truncation()


WORDS = ("tokenization", "the", "naïve", "東京", "markets", "fell", "x" * 60, "—", "banks", "ok")


@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "unigram-xlmr"])
def test_long_inputs_keep_exactly_what_full_truncation_keeps(kind, tok, tmp_path):
    """Cutting characters before truncating changes nothing the model sees, in every kind of
    vocabulary, whichever sentence is longer, and with words split into many pieces."""
    from families.tiny_families import family_tokenizer

    if kind == "wordpiece":
        tokenizer = tok
    else:
        family_tokenizer(kind).save_pretrained(tmp_path)
        tokenizer = Tokenizer.from_dir(tmp_path, max_length=64)
    rng = __import__("random").Random(0)
    for long_a, long_b in ((3000, 40), (40, 3000), (2000, 2500), (3000, 0), (0, 0)):
        text = " ".join(rng.choice(WORDS) for _ in range(long_a)) or "short"
        pair = " ".join(rng.choice(WORDS) for _ in range(long_b)) or None
        enc = tokenizer.encode(text, pair)
        assert enc.ids == _full_truncation(tokenizer, text, pair)
        assert enc.original_length >= len(enc)
    glued = "ab" * 5000  # one word of thousands of pieces: cut mid-word, far past the kept ones
    enc = tokenizer.encode(glued, glued)
    assert enc.ids == _full_truncation(tokenizer, glued, glued)


def test_a_long_pair_costs_memory_in_proportion(minilm_dir):
    """40k characters a side once took 3 s and 2.3 GB (100k, the app's cap: 15 GB): the tokenizer's
    own truncation builds every overflowing window of a pair. Measured in a fresh process."""
    import subprocess
    import sys

    code = f"""
import resource
from pathlib import Path
from bertviz_lite.tokenizer import Tokenizer
tok = Tokenizer.from_dir(Path({str(minilm_dir)!r}))
tok.encode("warm up")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
enc = tok.encode("The quick brown fox jumps. " * 1500, "Markets fell on Monday. " * 1700)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert len(enc) == 512 and enc.truncated, len(enc)
print((after - before) / 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
    grown_mb = float(out.stdout.split()[-1])
    assert grown_mb < 100, f"encoding a 100k + 100k character pair took {grown_mb:.0f} MB"

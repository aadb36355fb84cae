"""Every family's tokenizer: readable tokens, words from its own word ids and offsets, its mask
token, segments of a pair; and the predictions built on them (NER spans, masked words)."""

from __future__ import annotations

import pytest
from tiny_families import FAMILIES, family_tokenizer

from bertviz_lite.analysis import content_mask, unit_labels, word_spans
from bertviz_lite.tokenizer import SPACE, Tokenizer

TEXT, PAIR = "Unbelievably, John went to Paris!", "The cat sat."
MASK = {"bert": "[MASK]", "distilbert": "[MASK]", "electra": "[MASK]", "albert": "[MASK]",
        "roberta": "<mask>", "xlm-roberta": "<mask>", "camembert": "<mask>"}  # fmt: skip


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokenizers")
    out = {}
    for family, (_, kind, _) in FAMILIES.items():
        family_tokenizer(kind).save_pretrained(root / family)  # tokenizer.json + its config
        out[family] = Tokenizer.from_dir(root / family, max_length=64)
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_tokens_are_readable_and_raw_ones_kept(tokenizers, family):
    enc = tokenizers[family].encode(TEXT, PAIR)
    shown = enc.display_tokens
    assert len(shown) == len(enc.tokens) and not any("Ġ" in t or "▁" in t for t in shown)
    raw_markers = any("Ġ" in t or "▁" in t for t in enc.tokens)
    assert raw_markers == (family in ("roberta", "xlm-roberta", "camembert", "albert"))
    # inside a word, every piece after the first that shows text carries ##, in every family
    for t in range(1, len(shown)):
        same_word = enc.word_ids[t] is not None and enc.word_ids[t] == enc.word_ids[t - 1]
        if shown[t].startswith("##"):
            assert same_word
        elif same_word and shown[t] != SPACE and shown[t - 1] != SPACE:
            pytest.fail(f"{shown[t]!r} continues {shown[t - 1]!r} without ##")


@pytest.mark.parametrize("family", FAMILIES)
def test_words_merge_from_the_tokenizer(tokenizers, family):
    enc = tokenizers[family].encode(TEXT, PAIR)
    units = word_spans(enc.word_ids, enc.sequence_ids)
    written = unit_labels(enc.display_tokens, units, enc)  # the words as the text writes them
    joined = unit_labels(enc.display_tokens, units)  # the readable pieces joined
    words = [w for w, u in zip(written, units) if enc.word_ids[u[0]] is not None]
    # BERT-like pre-tokenizers split punctuation off; SentencePiece keeps it with the word
    expected = {"wordpiece": ["Unbelievably", ",", "John", "went", "to", "Paris", "!",
                              "The", "cat", "sat", "."],
                "bpe": ["Unbelievably", ",", "John", "went", "to", "Paris", "!",
                        "The", "cat", "sat", "."],
                "unigram": ["Unbelievably,", "John", "went", "to", "Paris!", "The", "cat",
                            "sat."]}  # fmt: skip
    kind = FAMILIES[family][1].split("-")[0]
    assert words == expected[kind]
    for label, readable in zip(written, joined):
        assert label.lower() == readable.lower() or "<unk>" in readable or "[UNK]" in readable
    # specials: a unit each, no word id, hidden by the content mask
    specials = [enc.display_tokens[u[0]] for u in units if enc.word_ids[u[0]] is None]
    assert specials and not any(content_mask([enc.word_ids[u[0]] for u in units if
                                              enc.word_ids[u[0]] is None]))  # fmt: skip


@pytest.mark.parametrize("family", FAMILIES)
def test_pair_segments_and_mask_token(tokenizers, family):
    tok = tokenizers[family]
    assert tok.mask_token == MASK[family] and tok.mask_id is not None
    enc = tok.encode(f"The {tok.mask_token} sat.", PAIR)  # the mask token typed in the text
    assert enc.ids.count(tok.mask_id) == 1
    first_of_b = enc.sequence_ids.index(1)
    assert set(enc.type_ids[:first_of_b]) == {0} and set(enc.type_ids[first_of_b:]) == {1}


def test_byte_level_bpe_from_vocab_and_merges(tokenizers, tmp_path):
    """A RoBERTa checkpoint that ships vocab.json + merges.txt instead of tokenizer.json."""
    import json

    backend = tokenizers["roberta"].backend
    model = json.loads(backend.to_str())["model"]
    (tmp_path / "vocab.json").write_text(json.dumps(model["vocab"]))
    merges = [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tok = Tokenizer.from_dir(tmp_path)
    a, b = tok.encode(TEXT, PAIR), tokenizers["roberta"].encode(TEXT, PAIR)
    assert (a.ids, a.offsets, a.type_ids, a.display_tokens) == (
        b.ids, b.offsets, b.type_ids, b.display_tokens)  # fmt: skip
    assert tok.mask_token == "<mask>"


@pytest.mark.parametrize("family", ["roberta", "xlm-roberta", "albert"])
def test_masked_words_and_entities_per_family(family_model, family):
    mlm = family_model(family, "masked-lm")
    r = mlm.analyze(f"The {mlm.mask_token} sat on the mat.")
    assert r.predictions["task"] == "masked-lm" and len(r.predictions["masks"]) == 1
    position = r.predictions["masks"][0]["position"]
    assert r.encoding.ids[position] == mlm.tokenizer.mask_id
    candidates = [c["token"] for c in r.predictions["masks"][0]["candidates"]]
    assert len(candidates) == 5 and not any("Ġ" in c or "▁" in c for c in candidates)

    ner = family_model(family, "token-classification")
    p = ner.analyze("John went to New York.", pair="Mary ran.").predictions
    sentences = ("John went to New York.", "Mary ran.")
    words = [sentences[w["sequence"]][w["start"] : w["end"]] for w in p["words"]]
    assert words == (["John", "went", "to", "New", "York", ".", "Mary", "ran", "."]
                     if family == "roberta"  # byte-level BPE splits punctuation off
                     else ["John", "went", "to", "New", "York.", "Mary", "ran."])  # fmt: skip
    for span in p["entities"]:  # spans are the text as written, never padded with spaces
        source = sentences[span["sequence"]]
        assert span["text"] == source[span["start"] : span["end"]] == span["text"].strip()

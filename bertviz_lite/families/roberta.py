"""RoBERTa (Liu et al. 2019), and XLM-RoBERTa and CamemBERT, which share its graph.

BERT's encoder under `roberta.`, with three differences: no segment ids (the one token-type row is
added everywhere), positions that start after the padding index (fairseq's make_positions), and
its own heads: the classifier is dense → tanh → out_proj on <s> with no pooler, the masked-LM head
is `lm_head` with GELU whatever the hidden activation. Byte-level BPE (RoBERTa) or SentencePiece
(XLM-R, CamemBERT) tokens, <s> … </s></s> … </s>.
"""

from . import Family

FAMILY = Family(
    name="roberta",
    model_types=("roberta", "xlm-roberta", "camembert"),
    prefix="roberta",
    architectures={
        f"{p}{head}": kind
        for p in ("Roberta", "XLMRoberta", "Camembert")
        for head, kind in (("Model", "base"),
                           ("ForSequenceClassification", "sequence-classification"),
                           ("ForTokenClassification", "token-classification"),
                           ("ForMaskedLM", "masked-lm"))
    },
    token_type_ids=False,
    positions_after_padding=True,
    mlm_activation="gelu",
    renames=(
        (r"^classifier\.dense\.", "bert.pooler.dense."),
        (r"^classifier\.out_proj\.", "classifier."),
        (r"^lm_head\.dense\.", "cls.predictions.transform.dense."),
        (r"^lm_head\.layer_norm\.", "cls.predictions.transform.LayerNorm."),
        (r"^lm_head\.decoder\.", "cls.predictions.decoder."),
        (r"^lm_head\.bias$", "cls.predictions.bias"),
    ),
    special_tokens=dict(cls="<s>", sep="</s>", pad="<pad>", mask="<mask>", unk="<unk>"),
)

"""BERT (Devlin et al. 2019): our model's own names, WordPiece, [CLS] … [SEP] with segment ids."""

from . import Family

FAMILY = Family(
    name="bert",
    model_types=("bert",),
    prefix="bert",
    architectures={
        "BertModel": "base",
        "BertForSequenceClassification": "sequence-classification",
        "BertForTokenClassification": "token-classification",
        "BertForMaskedLM": "masked-lm",
    },
    ignored=r"^cls\.seq_relationship\.",  # next-sentence prediction of pre-training checkpoints
    special_tokens=dict(cls="[CLS]", sep="[SEP]", pad="[PAD]", mask="[MASK]", unk="[UNK]"),
)

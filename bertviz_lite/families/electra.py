"""ELECTRA (Clark et al. 2020), the discriminator family: BERT's encoder under `electra.`.

Embeddings of `embedding_size` projected to the hidden size (`embeddings_project`) when the two
differ; no pooler. The sequence head is dense → GELU → out_proj on [CLS]; the masked-LM head is the
generator's (`generator_predictions` + `generator_lm_head`), as ElectraForMaskedLM names it. A
discriminator checkpoint (ElectraForPreTraining) is read as the bare encoder.
"""

from . import Family

FAMILY = Family(
    name="electra",
    model_types=("electra",),
    prefix="electra",
    architectures={
        "ElectraModel": "base",
        "ElectraForPreTraining": "base",  # the discriminator as published: its encoder
        "ElectraForSequenceClassification": "sequence-classification",
        "ElectraForTokenClassification": "token-classification",
        "ElectraForMaskedLM": "masked-lm",
    },
    project_embeddings="if-different",
    base_pooler=False,
    classifier_activation="gelu",
    mlm_activation="gelu",
    renames=(
        (r"^classifier\.dense\.", "bert.pooler.dense."),
        (r"^classifier\.out_proj\.", "classifier."),
        (r"^generator_predictions\.dense\.", "cls.predictions.transform.dense."),
        (r"^generator_predictions\.LayerNorm\.", "cls.predictions.transform.LayerNorm."),
        (r"^generator_lm_head\.weight$", "cls.predictions.decoder.weight"),
        (r"^generator_lm_head\.bias$", "cls.predictions.bias"),
    ),
    ignored=r"^discriminator_predictions\.",
    special_tokens=dict(cls="[CLS]", sep="[SEP]", pad="[PAD]", mask="[MASK]", unk="[UNK]"),
)

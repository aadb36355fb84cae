"""ALBERT (Lan et al. 2020): factorised embeddings and layers shared across depth.

Embeddings of `embedding_size`, always mapped to the hidden size
(`encoder.embedding_hidden_mapping_in`); `num_hidden_groups` layer modules reused in turn over
`num_hidden_layers` (one inner layer per group, as every published ALBERT has); BERT's pooler as
`albert.pooler`; the masked-LM head is `predictions` (dense → hidden_act → LayerNorm → decoder,
in the embedding size). SentencePiece tokens with [CLS] … [SEP] and segment ids.
"""

from . import Family

FAMILY = Family(
    name="albert",
    model_types=("albert",),
    prefix="albert",
    architectures={
        "AlbertModel": "base",
        "AlbertForSequenceClassification": "sequence-classification",
        "AlbertForTokenClassification": "token-classification",
        "AlbertForMaskedLM": "masked-lm",
    },
    requires={"inner_group_num": 1},
    project_embeddings="always",
    shared_layers=True,
    renames=(
        (r"^bert\.encoder\.embedding_hidden_mapping_in\.", "bert.embeddings_project."),
        (r"^bert\.encoder\.albert_layer_groups\.(\d+)\.albert_layers\.0\.",
         r"bert.encoder.layer.\1."),
        (r"\.attention\.(query|key|value)\.", r".attention.self.\1."),
        (r"\.attention\.dense\.", ".attention.output.dense."),
        (r"\.attention\.LayerNorm\.", ".attention.output.LayerNorm."),
        (r"\.ffn\.", ".intermediate.dense."),
        (r"\.ffn_output\.", ".output.dense."),
        (r"\.full_layer_layer_norm\.", ".output.LayerNorm."),
        (r"^bert\.pooler\.(weight|bias)$", r"bert.pooler.dense.\1"),
        (r"^predictions\.dense\.", "cls.predictions.transform.dense."),
        (r"^predictions\.LayerNorm\.", "cls.predictions.transform.LayerNorm."),
        (r"^predictions\.decoder\.", "cls.predictions.decoder."),
        (r"^predictions\.bias$", "cls.predictions.bias"),
    ),
    ignored=r"^sop_classifier\.",
    special_tokens=dict(cls="[CLS]", sep="[SEP]", pad="<pad>", mask="[MASK]", unk="<unk>"),
)

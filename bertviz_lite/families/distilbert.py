"""DistilBERT (Sanh et al. 2019): BERT's block under other names, no segment ids, no pooler.

config.json names the sizes `dim`, `n_layers`, `n_heads`, `hidden_dim`, `activation`; LayerNorm
eps is fixed at 1e-12 in its code. The sequence head is pre_classifier → ReLU → classifier on
[CLS]; the masked-LM head is vocab_transform → activation → vocab_layer_norm → vocab_projector.
"""

from . import Family

FAMILY = Family(
    name="distilbert",
    model_types=("distilbert",),
    prefix="distilbert",
    architectures={
        "DistilBertModel": "base",
        "DistilBertForSequenceClassification": "sequence-classification",
        "DistilBertForTokenClassification": "token-classification",
        "DistilBertForMaskedLM": "masked-lm",
    },
    config_names={"dim": "hidden_size", "n_layers": "num_hidden_layers",
                  "n_heads": "num_attention_heads", "hidden_dim": "intermediate_size",
                  "activation": "hidden_act", "dropout": "hidden_dropout_prob",
                  "attention_dropout": "attention_probs_dropout_prob"},
    config_defaults={"layer_norm_eps": 1e-12, "type_vocab_size": 0},
    token_type_ids=False,
    type_embeddings=False,
    base_pooler=False,
    classifier_activation="relu",
    renames=(
        (r"^bert\.transformer\.layer\.", "bert.encoder.layer."),
        (r"\.attention\.q_lin\.", ".attention.self.query."),
        (r"\.attention\.k_lin\.", ".attention.self.key."),
        (r"\.attention\.v_lin\.", ".attention.self.value."),
        (r"\.attention\.out_lin\.", ".attention.output.dense."),
        (r"\.sa_layer_norm\.", ".attention.output.LayerNorm."),
        (r"\.ffn\.lin1\.", ".intermediate.dense."),
        (r"\.ffn\.lin2\.", ".output.dense."),
        (r"\.output_layer_norm\.", ".output.LayerNorm."),
        (r"^pre_classifier\.", "bert.pooler.dense."),
        (r"^vocab_transform\.", "cls.predictions.transform.dense."),
        (r"^vocab_layer_norm\.", "cls.predictions.transform.LayerNorm."),
        (r"^vocab_projector\.weight$", "cls.predictions.decoder.weight"),
        (r"^vocab_projector\.bias$", "cls.predictions.bias"),
    ),
    special_tokens=dict(cls="[CLS]", sep="[SEP]", pad="[PAD]", mask="[MASK]", unk="[UNK]"),
)

"""BERT in PyTorch, as in Devlin et al. (2019), with Hugging Face's module names.

Module and parameter names follow `transformers`' modeling_bert, so a BERT state dict loads as it
is; the other families (families/) map their names onto these and differ only by settings the
model reads from `config.family`: which embedding parts exist and how positions count, an
embedding projection (ELECTRA, ALBERT), layers shared across depth (ALBERT), and the activations
of the heads. Attention is written out — matmul, scale by 1/√d, additive mask, softmax, matmul —
rather than through a fused kernel, so that its probabilities can be graph outputs after ONNX
export and `head_mask` can switch single heads off, per item of a batch. Each layer also gives the
norm of every token's transformed value vector per head (Kobayashi et al. 2020) and its queries,
keys and values, for export (`EncoderOutputs.layers`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from . import families
from .config import BertConfig


def gelu(x: Tensor) -> Tensor:
    # The erf form, written as Hugging Face wrote it: onnxruntime's optimizer fuses this pattern.
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_tanh(x: Tensor) -> Tensor:
    # The tanh approximation (ALBERT's gelu_new), as Hugging Face writes it.
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))
    return 0.5 * x * (1.0 + torch.tanh(inner))


ACTIVATIONS = {
    "gelu": gelu,
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "relu": torch.relu,
    "tanh": torch.tanh,
}


class BertEmbeddings(nn.Module):
    """Word + position + segment embeddings, then LayerNorm.

    Positions count from 0, or (RoBERTa) from after the padding index over the real tokens only.
    Without segment ids (RoBERTa: any given are ignored, as its tokenizer gives none) the
    token-type table's first row is added to every token; a
    family without the table (DistilBERT) adds nothing. A task model on an uncased base may add a
    fourth, `case_embeddings`: one vector per letter case of the token's text (tokenizer.CASES),
    so that it sees the capitals its vocabulary lost. It starts at zero, i.e. as the base model.
    """

    def __init__(self, c: BertConfig):
        super().__init__()
        d, self.pad, family = c.embedding_dim, c.pad_token_id, c.family
        self.positions_after_padding = family.positions_after_padding
        self.segments = family.token_type_ids  # else token_type_ids are ignored (RoBERTa's zeros)
        self.word_embeddings = nn.Embedding(c.vocab_size, d, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, d)
        self.token_type_embeddings = (
            nn.Embedding(c.type_vocab_size, d) if family.type_embeddings else None
        )
        self.case_embeddings = None
        if c.case_vocab_size:
            self.case_embeddings = nn.Embedding(c.case_vocab_size, d)
            nn.init.zeros_(self.case_embeddings.weight)
        self.LayerNorm = nn.LayerNorm(d, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(
        self, input_ids: Tensor, token_type_ids: Tensor | None = None, case_ids: Tensor | None = None
    ) -> Tensor:
        if self.positions_after_padding:  # fairseq's make_positions, as transformers' RoBERTa
            real = input_ids.ne(self.pad).long()
            position = self.position_embeddings(torch.cumsum(real, dim=1) * real + self.pad)
        else:
            position = self.position_embeddings(
                torch.arange(input_ids.shape[1], device=input_ids.device)
            )[None]
        # Positions (full shape) and segments first, the words last: then the Add before the
        # LayerNorm has a Gather of a graph input, the pattern onnxruntime fuses into
        # SkipLayerNormalization, in every family.
        x = position.expand(input_ids.shape[0], -1, -1)
        if self.token_type_embeddings is not None:
            types = self.token_type_embeddings
            segments = token_type_ids is not None and self.segments
            x = x + (types(token_type_ids) if segments else types.weight[0])
        x = x + self.word_embeddings(input_ids)
        if self.case_embeddings is not None:
            if case_ids is None:
                raise ValueError("this model reads the letter case of each token: pass case_ids")
            x = x + self.case_embeddings(case_ids)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    """softmax(Q·Kᵀ/√d + mask)·V for every head at once; returns the probabilities (before the
    head mask) and the heads' queries, keys and values [B, H, T, d] too."""

    def __init__(self, c: BertConfig):
        super().__init__()
        self.num_heads, self.head_size = c.num_attention_heads, c.head_size
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout = nn.Dropout(c.attention_probs_dropout_prob)

    def split_heads(self, x: Tensor) -> Tensor:  # [B, T, H·d] → [B, H, T, d]
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_size).transpose(1, 2)

    def forward(
        self, x: Tensor, mask: Tensor, head_mask: Tensor, rows: int | None = None
    ) -> tuple[Tensor, Tensor, tuple]:
        """mask: [B, 1, T, 1], 0 for a real key and -10000 for padding; head_mask: [B, H];
        rows: only the first `rows` tokens ask (None: all), every token still answers."""
        q = self.split_heads(self.query(x[:, :rows]))
        k, v = self.split_heads(self.key(x)), self.split_heads(self.value(x))
        # The additive mask rides in the product as one more dimension, a 1 in every query and
        # the key's mask value in every key: q·k + 1·m, the same numbers as adding m to the
        # [T, T] scores (exactly, where m is 0) without a pass over them. The 1/√d scaling
        # divides it too: padding still gets -10000/√d, a weight of exactly 0.
        q1 = torch.cat([q, torch.ones_like(q[..., :1])], -1)
        km = torch.cat([k, mask.expand(-1, self.num_heads, -1, -1)], -1)
        scores = torch.matmul(q1, km.transpose(-1, -2)) / math.sqrt(self.head_size)
        probs = torch.softmax(scores, dim=-1)
        # head_mask [B, H] scales each head's values rather than its probabilities: the same
        # product, (m·P)·V = P·(m·V), on T·d numbers instead of T·T (a 0 switches the head off).
        kept = v * head_mask[:, :, None, None]
        context = torch.matmul(self.dropout(probs), kept).transpose(1, 2)
        return context.reshape(x[:, :rows].shape), probs, (q, k, v)


class BertSelfOutput(nn.Module):
    """Project, then residual + LayerNorm (used after attention and after the feed-forward)."""

    def __init__(self, c: BertConfig, d_in: int):
        super().__init__()
        self.dense = nn.Linear(d_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c, c.hidden_size)

    def value_norms(self, v: Tensor) -> Tensor:
        """‖f_h(x_j)‖ = ‖(x_j W_V^h + b_V^h) W_O^h‖ for every head and token, [B, H, T].

        W_O^h is the d rows of the output projection that head h's slice of the context feeds.
        Its d×d Gram matrix W_O^h W_O^hᵀ = R_hᵀ R_h (R_h from the QR decomposition of W_O^hᵀ,
        whose Q has orthonormal columns), so ‖v W_O^h‖ = ‖v R_hᵀ‖: T·D·d work per layer instead
        of T·D², and the norm of a d-vector (ONNX ReduceL2), never the root of a difference."""
        heads, d = self.self.num_heads, self.self.head_size
        w = self.output.dense.weight.t().reshape(heads, d, -1)  # [H, d, D]: W_O^h per head
        factor = torch.linalg.qr(w.transpose(1, 2).double())[1].transpose(1, 2)  # R_hᵀ [H, d, d]
        factor = factor.to(v.dtype)
        if torch.jit.is_tracing():  # the export stores the d×d factors, not the recipe
            factor = torch.from_numpy(factor.detach().numpy().copy())
        return torch.linalg.vector_norm(torch.matmul(v, factor), dim=-1)

    def forward(self, x: Tensor, mask: Tensor, head_mask: Tensor, rows: int | None = None):
        context, probs, (q, k, v) = self.self(x, mask, head_mask, rows)
        extras = {"queries": q, "keys": k, "values": v, "value_norms": self.value_norms(v)}
        return self.output(context, x[:, :rows]), probs, extras


class BertIntermediate(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.act = ACTIVATIONS[c.hidden_act]

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.dense(x))


class BertLayer(nn.Module):
    """One encoder block: self-attention, then the position-wise feed-forward."""

    def __init__(self, c: BertConfig):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertSelfOutput(c, c.intermediate_size)

    def forward(self, x: Tensor, mask: Tensor, head_mask: Tensor, rows: int | None = None):
        x, probs, extras = self.attention(x, mask, head_mask, rows)
        return self.output(self.intermediate(x), x), probs, extras


class BertEncoder(nn.Module):
    """The layers with weights of their own: one per layer, or (ALBERT) fewer, used in turn."""

    def __init__(self, c: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(c) for _ in range(c.layer_modules))


class BertPooler(nn.Module):
    """act(W·h[CLS] + b): the sentence vector the classification head reads.

    BERT's and ALBERT's tanh pooler; RoBERTa's classifier.dense (tanh), ELECTRA's (GELU) and
    DistilBERT's pre_classifier (ReLU) are the same function under other names.
    """

    def __init__(self, c: BertConfig):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.act = ACTIVATIONS[c.family.classifier_activation]

    def forward(self, hidden: Tensor) -> Tensor:
        return self.act(self.dense(hidden[:, 0]))


class EncoderOutputs(NamedTuple):
    """What every model here returns. `logits` is None for the bare encoder.

    `layers` holds the per-layer tensors the ONNX graph returns one by one (export.py): name →
    one tensor per layer: "attentions" [B, H, T, T] (before the head mask), "hidden_states"
    [B, T, hidden] (layers + 1 of them), "value_norms" [B, H, T], "queries", "keys", "values"
    [B, H, T, d]. What nothing reads is not traced into the graph."""

    logits: Tensor | None
    attentions: Tensor  # [B, layers, heads, T, T], the head mask applied (0 for a head off)
    hidden_states: Tensor  # [B, layers + 1, T, hidden]: the embeddings, then each layer
    pooled: Tensor | None = None
    layers: dict[str, list[Tensor]] | None = None


def full_head_mask(head_mask: Tensor | None, c: BertConfig, batch: int, device) -> Tensor:
    """[batch, layers, heads]: None is every head on; one [layers, heads] mask serves every item."""
    shape = (c.num_hidden_layers, c.num_attention_heads)
    if head_mask is None:
        return torch.ones(batch, *shape, device=device)
    if head_mask.dim() == 2:
        return head_mask[None].expand(batch, *shape)
    return head_mask


class BertModel(nn.Module):
    """The encoder: embeddings, then N layers; every layer's probabilities and states come back.

    `add_pooling_layer` None: as the family's bare encoder checkpoints have it.
    """

    def __init__(self, c: BertConfig, add_pooling_layer: bool | None = None):
        super().__init__()
        self.config = c
        self.embeddings = BertEmbeddings(c)
        self.embeddings_project = (
            nn.Linear(c.embedding_dim, c.hidden_size) if c.project_embeddings else None
        )
        self.encoder = BertEncoder(c)
        if add_pooling_layer is None:
            add_pooling_layer = c.family.base_pooler
        self.pooler = BertPooler(c) if add_pooling_layer else None

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        case_ids: Tensor | None = None,
        cls_only: bool = False,
    ) -> EncoderOutputs:
        """cls_only: the last layer computes [CLS]'s state alone, all that a pooler reads (the
        logits graph of export.py); only `pooled` comes back."""
        c = self.config
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        head_mask = full_head_mask(head_mask, c, input_ids.shape[0], input_ids.device)
        # Padding keys get -10000 (/√d) before the softmax: zero weight, and finite in fp16.
        mask = (1.0 - attention_mask[:, None, :, None].to(torch.float32)) * -10000.0
        x = self.embeddings(input_ids, token_type_ids, case_ids)
        if self.embeddings_project is not None:
            x = self.embeddings_project(x)
        names = ("attentions", "hidden_states", "value_norms", "queries", "keys", "values")
        per_layer: dict[str, list[Tensor]] = {name: [] for name in names}
        per_layer["hidden_states"].append(x)
        layers, n = self.encoder.layer, c.num_hidden_layers
        for i in range(n):
            layer = layers[int(i / (n / len(layers)))]  # ALBERT's group index; else layer i
            rows = 1 if cls_only and i == n - 1 else None  # [CLS] alone in the last layer
            x, probs, extras = layer(x, mask, head_mask[:, i], rows)
            per_layer["hidden_states"].append(x)
            per_layer["attentions"].append(probs)
            for name, value in extras.items():
                per_layer[name].append(value)
        pooled = self.pooler(x) if self.pooler is not None else None
        if cls_only:
            return EncoderOutputs(None, None, None, pooled)
        # As transformers returns them: a head switched off shows zero attention.
        attentions = torch.stack(per_layer["attentions"], 1) * head_mask[:, :, :, None, None]
        hidden_states = torch.stack(per_layer["hidden_states"], 1)
        return EncoderOutputs(None, attentions, hidden_states, pooled, per_layer)


class BertForSequenceClassification(nn.Module):
    """[CLS] → pooler → linear: one label per text (topic, sentiment)."""

    def __init__(self, c: BertConfig):
        super().__init__()
        self.config = c
        self.bert = BertModel(c, add_pooling_layer=True)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.classifier = nn.Linear(c.hidden_size, len(c.id2label))

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, head_mask=None,
                case_ids=None, cls_only=False):  # fmt: skip
        out = self.bert(input_ids, attention_mask, token_type_ids, head_mask, case_ids, cls_only)
        return out._replace(logits=self.classifier(self.dropout(out.pooled)))


class BertForTokenClassification(nn.Module):
    """Every token's last state → linear: one label per token (named entities)."""

    def __init__(self, c: BertConfig):
        super().__init__()
        self.config = c
        self.bert = BertModel(c, add_pooling_layer=False)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.classifier = nn.Linear(c.hidden_size, len(c.id2label))

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, head_mask=None,
                case_ids=None):  # fmt: skip
        out = self.bert(input_ids, attention_mask, token_type_ids, head_mask, case_ids)
        return out._replace(logits=self.classifier(self.dropout(out.hidden_states[:, -1])))


class BertPredictionHeadTransform(nn.Module):
    """dense → activation → LayerNorm, into the embedding size (smaller for ELECTRA, ALBERT)."""

    def __init__(self, c: BertConfig):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.embedding_dim)
        self.act = ACTIVATIONS[c.family.mlm_activation or c.hidden_act]
        self.LayerNorm = nn.LayerNorm(c.embedding_dim, eps=c.layer_norm_eps)

    def forward(self, x: Tensor) -> Tensor:
        return self.LayerNorm(self.act(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(c)
        self.decoder = nn.Linear(c.embedding_dim, c.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.transform(x)) + self.bias


class BertOnlyMLMHead(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(c)


class BertForMaskedLM(nn.Module):
    """Every token's last state → transform → vocabulary logits (decoder tied to the embeddings)."""

    def __init__(self, c: BertConfig):
        super().__init__()
        self.config = c
        self.bert = BertModel(c, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(c)
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, head_mask=None,
                case_ids=None):  # fmt: skip
        out = self.bert(input_ids, attention_mask, token_type_ids, head_mask, case_ids)
        return out._replace(logits=self.cls.predictions(out.hidden_states[:, -1]))


# The class that builds what each head (families.HEADS) puts on the encoder, and the class that
# reads each architecture a checkpoint's config.json may name, in any family.
HEADS: dict[str, type[nn.Module]] = {
    "base": BertModel,
    "sequence-classification": BertForSequenceClassification,
    "token-classification": BertForTokenClassification,
    "masked-lm": BertForMaskedLM,
}
ARCHITECTURES: dict[str, type[nn.Module]] = {a: HEADS[h] for a, h in families.ARCHITECTURES.items()}


def build(c: BertConfig) -> nn.Module:
    """The model config.json's architecture names, with fresh weights."""
    return HEADS[c.head](c)

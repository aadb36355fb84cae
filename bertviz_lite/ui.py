"""The Gradio app: layout and event wiring only. Models load once, on first use."""

from __future__ import annotations

import argparse
import html
import os
from functools import cache

import gradio as gr

from . import catalog
from .config import CheckpointError
from .explainer import Explainer, load
from .views.head import head_heatmap

EXAMPLES = [
    ["The animal didn't cross the street because it was too tired.", "", "minilm"],
    ["This movie was wonderful, I loved every minute of it.", "", "sentiment"],
    ["Shares in the bank fell sharply after it reported a loss.", "", "topic"],
    ["Angela Merkel met Emmanuel Macron in Paris on Tuesday.", "", "ner"],
    ["A man is playing a guitar.", "Someone is making music.", "minilm"],
]


@cache
def model(name: str) -> Explainer:
    return load(name, progress=False)


def analyze(text: str, pair: str, name: str, layer: int, head: int):
    if name not in catalog.entries():
        raise gr.Error(f"Unknown model {html.escape(str(name))!r}.")
    if not text or not text.strip():
        raise gr.Error("Type a text to analyze.")
    try:
        ex = model(name)
        r = ex.analyze(text, pair=pair.strip() or None)
    except (CheckpointError, ValueError) as e:
        raise gr.Error(html.escape(str(e))) from None
    layer = min(max(int(layer), 1), ex.config.num_hidden_layers) - 1
    head = min(max(int(head), 1), ex.config.num_attention_heads) - 1
    note = ""
    if r.truncated:
        note = f"Input truncated: kept {len(r.tokens)} of {r.encoding.original_length} tokens."
    p = r.predictions or {}
    label = p.get("probabilities") if p.get("task") == "classification" else None
    entities = None
    if p.get("task") == "ner":
        spans = [e for e in p["entities"] if e["sequence"] == 0]
        entities = {"text": text, "entities": [
            {"entity": e["label"], "start": e["start"], "end": e["end"]} for e in spans]}  # fmt: skip
    return head_heatmap(r, layer, head), label, entities, note


def build() -> gr.Blocks:
    names = catalog.names()
    with gr.Blocks(title="bertviz_lite") as demo:
        gr.Markdown("# bertviz_lite\nLook inside BERT: every layer's and every head's attention.")
        with gr.Row():
            with gr.Column(scale=2):
                text = gr.Textbox(label="Text", lines=3)
                pair = gr.Textbox(label="Second sentence (optional)", lines=1)
            with gr.Column(scale=1):
                name = gr.Dropdown(names, value=names[0], label="Model")
                layer = gr.Slider(1, 6, value=1, step=1, label="Layer")
                head = gr.Slider(1, 12, value=1, step=1, label="Head")
                run = gr.Button("Analyze", variant="primary")
        note = gr.Markdown()
        with gr.Row():
            plot = gr.Plot(label="Attention")
            with gr.Column():
                label = gr.Label(label="Prediction")
                entities = gr.HighlightedText(label="Entities")
        inputs, outputs = [text, pair, name, layer, head], [plot, label, entities, note]
        gr.Examples(EXAMPLES, [text, pair, name])
        run.click(analyze, inputs, outputs, api_name="analyze")
        for control in (layer, head):
            control.release(analyze, inputs, outputs, api_name=False)
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="bertviz_lite explorer")
    parser.add_argument("--share", action="store_true", help="also give a public Gradio link")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    args = parser.parse_args(argv)
    build().launch(server_name=args.host, server_port=args.port, share=args.share)

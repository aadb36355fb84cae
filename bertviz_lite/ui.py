"""The Gradio app: layout and event wiring only. events.py computes; views/ draw.

Named API endpoints for gradio_client: /predict and /analyze (JSON), /explore (the whole page).
The URL carries the view's state (urlstate.py), so a shared link reopens the same view, also after
a restart.
"""

from __future__ import annotations

import argparse
import functools
import os

import gradio as gr

from . import catalog, events
from .events import UserError
from .runtime import cpu_count
from .urlstate import SEGMENTS, SOURCES, STYLES, ViewState, parse
from .views.links import ASSETS
from .views.selection import Selection

EXAMPLES = [
    ["The animal didn't cross the street because it was too tired.", "", "minilm"],
    ["A man is playing a guitar on stage.", "Someone is making music.", "minilm"],
    ["This movie was wonderful, I loved every minute of it.", "", "sentiment"],
    [
        "Shares in the bank fell sharply after it reported a loss for the third quarter.",
        "",
        "topic",
    ],
    ["Angela Merkel met Emmanuel Macron in Paris before flying to the United Nations.", "", "ner"],
]
# Every request runs the model and builds pages on the CPU: more than two at once on a 2-core
# machine only makes each slower. The queue holds the rest (and bounds them: past 64, say so).
CONCURRENCY = max(1, min(4, cpu_count()))
QUEUE_SIZE = 64


def _guard(fn):
    """Turn UserError into a message in the page; nothing else reaches the person as a trace."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            raise gr.Error(str(e), print_exception=False) from None

    return wrapped


def _selection(layer, head, source, words, special, segment, threshold) -> Selection:
    return Selection(layer=int(layer) - 1, head=int(head) - 1, source=source, words=bool(words),
                     hide_special=not special, segment=segment, min_weight=float(threshold))  # fmt: skip


@_guard
def refresh(
    text, pair, name, layer, head, source, style, words, special, segment, threshold, emb_layer
):
    r, extra = events.run_inputs(name, text, pair)
    probabilities, spans = events.prediction_outputs(r.predictions, r.encoding.text)
    # Values only, no visibility changes: Gradio 6.31's example cache fails on those ('Label'
    # object has no attribute 'info'), so both boxes stay and the one that does not apply is empty.
    label, entities = probabilities, spans
    sel = _selection(layer, head, source, words, special, segment, threshold)
    fig, html = events.head_view(r, sel, style)
    projection, similarity = events.embeddings(r, emb_layer)
    return (label, entities, events.notes(r, extra), fig, html, events.overview(r),
            projection, similarity)  # fmt: skip


@_guard
def redraw_head(text, pair, name, layer, head, source, style, words, special, segment, threshold):
    r, _ = events.run_inputs(name, text, pair)
    sel = _selection(layer, head, source, words, special, segment, threshold)
    return events.head_view(r, sel, style)


@_guard
def redraw_similarity(text, pair, name, emb_layer):
    return events.similarity(events.run_inputs(name, text, pair)[0], emb_layer)


@_guard
def open_head(text, pair, name, event: gr.SelectData):
    hit = events.overview_click(events.run_inputs(name, text, pair)[0], *event.index)
    if hit is None:
        return gr.update(), gr.update(), gr.update()
    return hit[0], hit[1], gr.Tabs(selected="head")


@_guard
def ablate(text, pair, name, heads_off):
    text, pair, _ = events.clean(text, pair)
    out = events.ablate(name, text, pair, tuple(heads_off or ()))
    (b_label, b_ents), (a_label, a_ents) = (
        events.prediction_outputs(out[k], text) for k in ("before", "after")
    )
    return b_label, a_label, b_ents, a_ents, out["delta"]["summary"]


@_guard
def export(text, pair, name):
    return events.export_files(events.run_inputs(name, text, pair)[0])


def query(text, pair, name, view, layer, head, source, style, words, special, segment, threshold):
    state = ViewState(text=text or "", pair=pair or "", model=name, view=view, layer=int(layer),
                      head=int(head), source=source, style=style, words=bool(words),
                      special=bool(special), segment=segment, threshold=float(threshold))  # fmt: skip
    return "?" + state.query()


def restore(request: gr.Request):
    state, notes = parse(dict(request.query_params), catalog.names(), events.shape)
    note = "\n".join(f"- Link: {n}" for n in notes)
    return (state.text, state.pair, state.model, gr.Tabs(selected=state.view), state.view,
            state.layer, state.head, state.source, state.style, state.words, state.special,
            state.segment, state.threshold, note)  # fmt: skip


# API (gradio_client): plain JSON in and out.
@_guard
def predict_api(text: str, pair: str = "", model: str = "minilm") -> dict:
    """Predictions of a catalog model for a text (and optional second sentence)."""
    r, notes = events.run_inputs(model, text, pair)
    return {"model": model, "tokens": r.tokens, "truncated": r.truncated,
            "notes": notes, "predictions": r.predictions}  # fmt: skip


@_guard
def analyze_api(text: str, pair: str = "", model: str = "minilm") -> dict:
    """Tokens, predictions, and every layer's attention and token vectors as base64 float16.

    Decode: np.frombuffer(base64.b64decode(a["data"]), a["dtype"]).reshape(a["shape"]).
    """
    r, notes = events.run_inputs(model, text, pair)
    return {"model": model, "notes": notes, **events.tensors_json(r)}


# The address bar follows the view, so that the link in it reopens exactly this.
SYNC_URL = """(q) => { const u = location.origin + location.pathname + q;
  history.replaceState(null, "", u); return u; }"""


def build() -> gr.Blocks:
    entries = catalog.entries().values()
    layers, heads = 6, 12  # the catalog's models; sliders are clamped again server-side
    # delete_cache: the images and files of past requests go after 15 minutes, checked every 5.
    with gr.Blocks(title="bertviz_lite — look inside BERT", delete_cache=(300, 900)) as demo:
        gr.Markdown("# bertviz_lite\nEvery layer's and every head's attention, the token vectors "
                    "and the predictions of BERT models, computed by onnxruntime.")  # fmt: skip
        with gr.Row():
            with gr.Column(scale=3):
                text = gr.Textbox(label="Text", lines=3, placeholder="Type or paste a text…")
                pair = gr.Textbox(label="Second sentence (optional: a sentence pair)", lines=1)
                with gr.Row():
                    model = gr.Dropdown(
                        [(e.title, e.name) for e in entries], value="minilm", label="Model"
                    )
                    run = gr.Button("Analyze", variant="primary")
            with gr.Column(scale=2):
                label = gr.Label(label="Prediction", num_top_classes=5, elem_id="prediction")
                entities = gr.HighlightedText(
                    label="Entities", combine_adjacent=False, elem_id="entities"
                )
                note = gr.Markdown(elem_id="notes")
        view = gr.State("head")
        with gr.Tabs(selected="head") as tabs:
            with gr.Tab("One head", id="head") as tab_head:
                with gr.Row():
                    layer = gr.Slider(1, layers, step=1, value=1, label="Layer")
                    head = gr.Slider(1, heads, step=1, value=1, label="Head")
                    source = gr.Radio(list(SOURCES), value="head", label="Show")
                    style = gr.Radio(list(STYLES), value="heatmap", label="As")
                with gr.Row():
                    words = gr.Checkbox(label="Merge sub-words into words")
                    special = gr.Checkbox(value=True, label="Show [CLS] and [SEP]")
                    segment = gr.Radio(
                        list(SEGMENTS), value="all", label="Sentence pair: from → to"
                    )
                    threshold = gr.Slider(0, 0.5, step=0.01, value=0, label="Hide links below")
                plot = gr.Plot(label="Attention", elem_id="head-plot")
                links = gr.HTML(elem_id="head-links")
            with gr.Tab("All heads", id="overview") as tab_overview:
                gr.Markdown("Rows are layers, columns heads; darker is stronger (√weight). "
                            "Click a head to open it.")  # fmt: skip
                grid = gr.Image(label="Every head", interactive=False, format="webp",
                                elem_id="overview", buttons=["download"])  # fmt: skip
            with gr.Tab("Token vectors", id="embeddings") as tab_embeddings:
                projection = gr.Plot(
                    label="PCA per layer (slider below the plot)", elem_id="projection"
                )
                emb_layer = gr.Slider(
                    0, layers, step=1, value=layers, label="Similarity at layer (0 = embeddings)"
                )
                similarity = gr.Plot(label="Cosine similarity", elem_id="similarity")
            with gr.Tab("Switch heads off", id="ablation") as tab_ablation:
                heads_off = gr.Dropdown([f"L{i}H{j}" for i in range(1, layers + 1) for j in range(1, heads + 1)],
                                        multiselect=True, label="Heads to switch off")  # fmt: skip
                compare = gr.Button("Compare predictions")
                with gr.Row():
                    before = gr.Label(label="Every head on")
                    after = gr.Label(label="Those heads off")
                with gr.Row():
                    before_ents = gr.HighlightedText(label="Entities, every head on")
                    after_ents = gr.HighlightedText(label="Entities, those heads off")
                delta = gr.Markdown()
            with gr.Tab("Share & export", id="export") as tab_export:
                link = gr.Textbox(label="Link to this view", buttons=["copy"], elem_id="share-link")
                prepare = gr.Button("Prepare the tensors for download")
                with gr.Row():
                    npz = gr.File(label="Attentions and token vectors (.npz, float16)")
                    js = gr.File(label="Everything (.json, tensors as base64 float16)")
                gr.Markdown("Each plot's camera button saves it as PNG.")
        state_q = gr.Textbox(visible=False)

        form = [text, pair, model]
        head_controls = [layer, head, source, style, words, special, segment, threshold]
        outputs = [label, entities, note, plot, links, grid, projection, similarity]
        url_inputs = [text, pair, model, view, *head_controls]

        def sync(event):
            return event.then(query, url_inputs, state_q, api_visibility="private").then(
                None, state_q, link, js=SYNC_URL
            )

        # The Analyze button's event is public as /explore: the whole page build, for benchmarks.
        for trigger, api in (
            (run.click, "public"),
            (text.submit, "private"),
            (pair.submit, "private"),
        ):
            sync(trigger(refresh, [*form, *head_controls, emb_layer], outputs, api_visibility=api,
                         api_name="explore" if api == "public" else None,
                         concurrency_limit=CONCURRENCY, concurrency_id="model"))  # fmt: skip
        for control in head_controls:
            # .input, not .change: a restored link or an example sets these too, and must not
            # fire eight redraws that race the one the person asked for.
            event = control.release if isinstance(control, gr.Slider) else control.input
            sync(event(redraw_head, [*form, *head_controls], [plot, links], api_visibility="private",
                       trigger_mode="always_last", show_progress="hidden"))  # fmt: skip
        emb_layer.release(
            redraw_similarity, [*form, emb_layer], similarity, api_visibility="private"
        )
        sync(grid.select(open_head, form, [layer, head, tabs], api_visibility="private").then(
            redraw_head, [*form, *head_controls], [plot, links], api_visibility="private"))  # fmt: skip
        compare.click(ablate, [*form, heads_off], [before, after, before_ents, after_ents, delta],
                      api_visibility="private", concurrency_id="model")  # fmt: skip
        for tab, name in ((tab_head, "head"), (tab_overview, "overview"),
                          (tab_embeddings, "embeddings"), (tab_ablation, "ablation"),
                          (tab_export, "export")):  # fmt: skip
            sync(tab.select(lambda n=name: n, None, view, api_visibility="private"))

        # Not Gradio's example cache: in 6.31 it fails on an empty Label or HighlightedText. An
        # example runs on click instead, and events's analysis cache makes a repeat instant.
        gr.Examples(EXAMPLES, form, outputs, fn=_example, cache_examples=False, run_on_click=True,
                    label="Examples: one per model", api_visibility="private")  # fmt: skip
        restored = demo.load(restore, None, [text, pair, model, tabs, view, *head_controls, note],
                             api_visibility="private")  # fmt: skip
        restored.then(_restored_analysis, [*form, *head_controls, emb_layer, note], outputs,
                      api_visibility="private")  # fmt: skip
        prepare.click(export, form, [npz, js], api_visibility="private")
        gr.api(predict_api, api_name="predict", concurrency_id="model")
        gr.api(analyze_api, api_name="analyze", concurrency_id="model")
    return demo


def _example(text, pair, name):
    d = ViewState()
    return refresh(text, pair, name, d.layer, d.head, d.source, d.style, d.words, d.special,
                   d.segment, d.threshold, 6)  # fmt: skip


def _restored_analysis(text, pair, name, *controls_and_note):
    *controls, link_note = controls_and_note
    if not (text or "").strip():  # a plain visit: nothing to show yet
        return [gr.update()] * 8
    out = list(refresh(text, pair, name, *controls))
    out[2] = "\n".join(n for n in (link_note, out[2]) if n)  # keep what the link's state said
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="bertviz_lite events")
    parser.add_argument("--share", action="store_true", help="also give a public Gradio link")
    # Loopback unless told otherwise; Spaces sets GRADIO_SERVER_NAME itself.
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    args = parser.parse_args(argv)
    demo = build()
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share,
                css_paths=[ASSETS / "app.css"], show_error=False)  # fmt: skip

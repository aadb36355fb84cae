"""The Gradio app: layout and wiring only. Views declare their tabs; events.py computes;
handlers.py turns that into each event's answer; page.py carries values by name between the page
and the server; serve.py starts it.

Every handler gets the page's values by name (Gradio's `inputs_kwargs`) as one ViewState and
returns values by name. Named API endpoints for gradio_client: /predict (JSON), /analyze (a JSON
summary and the tensors as an NPZ file) and /explore (what the Analyze button shows). The URL
carries the view's state (urlstate.py), so a shared link reopens the same view after a restart.
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from . import catalog, events, handlers
from .defaults import DEFAULT_VARIANT, DEFAULT_VIEW, PAGE_VARIANTS
from .examples import EXAMPLES, FIRST, example_for
from .page import LIGHT, MODEL, Page, guarded
from .runtime import cpu_count
from .views import CONTROLS, NAMED, REGISTRY, Control, Output

# Every request runs the model and builds pages on the CPU: more than two at once on a 2-core
# machine only makes each slower. The queue holds the rest (and bounds them: past 64, say so).
CONCURRENCY = max(1, min(4, cpu_count()))
QUEUE_SIZE = 64
# Gradio keeps per-session state (and a copy of the page's config once a handler updates a
# component's properties) for this many visitor sessions, dropping the oldest: bounded memory.
SESSIONS = 128
MAX_UPLOAD = "1kb"  # the app takes no upload (serve.NoUploads closes the routes): a second fence

WIDE = 170  # pixels a control keeps before its row wraps (a squeezed checkbox label is unreadable)


def control_widget(c: Control, shape: tuple[int, int]) -> gr.components.Component:
    value = c.initial(shape)
    if c.kind == "slider":
        low, high = c.bounds(shape)
        return gr.Slider(low, high, step=c.step, value=value, label=c.label, min_width=WIDE)
    if c.kind == "radio":
        return gr.Radio(c.options(shape), value=value, label=c.label, min_width=WIDE)
    if c.kind == "checkbox":
        return gr.Checkbox(value=value, label=c.label, min_width=WIDE)
    if c.kind == "multiselect":
        return gr.Dropdown(c.options(shape), value=list(value), multiselect=True, label=c.label)
    if c.kind == "number":
        low, high = c.bounds(shape)
        return gr.Number(value, minimum=low, maximum=high, precision=0, label=c.label)
    raise ValueError(f"unknown control kind {c.kind!r}")


def output_widget(o: Output) -> gr.components.Component:
    options = dict(o.options)
    kinds = {
        "plot": lambda: gr.Plot(label=o.label, **options),
        "html": lambda: gr.HTML(**options),
        "image": lambda: gr.Image(label=o.label, interactive=False, format="webp",
                                  buttons=["download"], **options),
        "label": lambda: gr.Label(label=o.label, **options),
        "entities": lambda: gr.HighlightedText(label=o.label, combine_adjacent=False, **options),
        "text": lambda: gr.Textbox(label=o.label, interactive=False, **options),
        # Words a person clicks (one span each): a list of (text, tag or None).
        "words": lambda: gr.HighlightedText(label=o.label, combine_adjacent=False,
                                            show_legend=False, color_map={"hidden": "#ffb347"},
                                            **options),
        "file": lambda: gr.File(label=o.label, **options),
    }
    return kinds[o.kind]()


def _rows(outputs: tuple[Output, ...]) -> list[list[Output]]:
    rows: dict[int, list[Output]] = {}
    for o in outputs:
        rows.setdefault(o.row, []).append(o)
    return list(rows.values())


def build(extra_examples: list[str] = ()) -> gr.Blocks:
    # The page is built holding the first example, as a plain visit shows it (it held an empty
    # text and another model for the second before the visit's values came).
    text, pair, model = FIRST
    shape = events.shape(model)
    page = Page()
    p, i = page.outputs, page.inputs
    entries = catalog.entries().values()
    # delete_cache: the images and files of past requests go after 15 minutes, checked every 5.
    with gr.Blocks(title="bertviz_lite — look inside BERT", delete_cache=(300, 900)) as demo:
        gr.Markdown("# bertviz_lite\nEvery layer's and every head's attention, the token vectors "
                    "and the predictions of BERT models, computed by onnxruntime.")  # fmt: skip
        with gr.Row():
            with gr.Column(scale=3):
                i["text"] = gr.Textbox(text, label="Text", lines=3,
                                       placeholder="Type or paste a text… (Shift+Enter analyses)")  # fmt: skip
                i["pair"] = gr.Textbox(pair, label="Second sentence (optional: a sentence pair)",
                                       lines=1)  # fmt: skip
                with gr.Row():
                    # Wide enough for the longest model's name beside its arrow (a phone
                    # puts the precision below it).
                    i["model"] = gr.Dropdown([(e.title, e.name) for e in entries],
                                             value=model, label="Model",
                                             min_width=220)  # fmt: skip
                    i["variant"] = gr.Radio([(title, name) for name, title in PAGE_VARIANTS.items()],
                                            value=DEFAULT_VARIANT, label="Precision")  # fmt: skip
                    run = gr.Button("Analyze", variant="primary")
            with gr.Column(scale=2):
                p["prediction"] = gr.Label(label="Prediction", num_top_classes=5,
                                           elem_id="prediction",
                                           visible=shape.task == "classification")  # fmt: skip
                p["entities"] = gr.HighlightedText(label="Entities", combine_adjacent=False,
                                                   elem_id="entities",
                                                   visible=shape.task == "ner")  # fmt: skip
                # Notes quote what a link or a text held: a read-only textbox shows them as text.
                p["notes"] = gr.Textbox(label="Notes", interactive=False, lines=2, max_lines=8,
                                        elem_id="notes", visible=False)  # fmt: skip
        # The open tab, as a hidden textbox rather than gr.State: an API parameter of /explore,
        # and nothing kept per session on the server.
        i["view"] = gr.Textbox(DEFAULT_VIEW, visible=False)
        tabs: dict[str, gr.Tab] = {}
        actions: dict[str, gr.Button] = {}
        stops: dict[str, gr.Button] = {}  # each action's Cancel, shown while it runs
        on_demand: dict[str, gr.Button] = {}
        with gr.Tabs(selected=DEFAULT_VIEW) as p["tabs"]:
            for view in REGISTRY:
                with gr.Tab(view.title, id=view.name) as tabs[view.name]:
                    if view.intro:
                        gr.Markdown(view.intro)
                    if view.controls:
                        with gr.Row():
                            for c in view.controls:
                                i[c.name] = p[c.name] = control_widget(c, shape)
                    if view.action:
                        with gr.Row():
                            actions[view.name] = gr.Button(view.action, scale=4)
                            stops[view.name] = gr.Button("Cancel", variant="stop", visible=False,
                                                         scale=1, min_width=100)  # fmt: skip
                    for row in _rows(view.outputs):
                        with gr.Row():
                            for o in row:
                                with gr.Column():
                                    if o.on_demand:
                                        on_demand[f"{view.name}.{o.name}"] = gr.Button(
                                            o.on_demand, size="sm")  # fmt: skip
                                    p[f"{view.name}.{o.name}"] = output_widget(o)
        # One line of a long link (a 512-token text's is ~3 kB; two lines of a textarea showed
        # half a third): the copy button takes it all.
        p["link"] = gr.Textbox(label="Link to this view", buttons=["copy"], elem_id="share-link",
                               lines=1, max_lines=1)  # fmt: skip
        p["query"] = gr.Textbox(visible=False)
        p["summary"], p["npz"] = gr.JSON(visible=False), gr.File(visible=False)
        p["view"] = i["view"]

        # What an analysis shows besides its view: the prediction, the notes, and the pickers it
        # names the choices of (a text's entities).
        head = ["prediction", "entities", "notes", *(c.name for c in NAMED)]
        view_outs = {v.name: [f"{v.name}.{o.name}" for o in v.outputs] for v in REGISTRY}
        every_view = [n for names in view_outs.values() for n in names]
        # What Analyze may draw: the views that draw when shown (a view behind a button waits for
        # its click), so that the event carries no outputs it can never fill.
        drawn = [n for v in REGISTRY if not v.action for n in view_outs[v.name]]

        analyzed = handlers.analyzer(drawn)
        # The Analyze button's event is public as /explore: what the page shows for an input.
        for trigger, api in ((run.click, "explore"), (i["text"].submit, None),
                             (i["pair"].submit, None)):  # fmt: skip
            page.on(trigger, analyzed, head + drawn, api_name=api,
                    api_visibility="public" if api else "private",
                    concurrency_limit=CONCURRENCY)  # fmt: skip

        for view in REGISTRY:
            outs = view_outs[view.name]
            for c in view.controls:
                if c.redraws == ():
                    continue
                parts = None if c.redraws is None else frozenset(c.redraws)
                widget = i[c.name]
                # .input/.release, not .change: a restored link or an example sets these too,
                # and must not fire redraws that race the one the person asked for. A slider
                # also redraws on .input: its number box's Enter and its arrow keys fire no
                # release (always_last keeps a drag's stream of them to one redraw).
                if isinstance(widget, gr.Slider):
                    trigger = _either(widget.release, widget.input)
                elif isinstance(widget, gr.Number):
                    trigger = _either(widget.input, widget.submit)
                else:
                    trigger = widget.input
                page.on(trigger, handlers.redrawer(view.name, parts), [*outs, "notes"],
                        api_visibility="private", trigger_mode="always_last",
                        show_progress="hidden")  # fmt: skip
            if view.action:
                # The Cancel button shows while the work runs (in the browser: no request);
                # a click stops it on the server too (handlers.cancelled) and the page stops
                # waiting.
                stop = stops[view.name]
                started = actions[view.name].click(None, None, stop, js=_showing(True))
                work = page.on(started.then, handlers.redrawer(view.name, None), outs, long=True,
                               api_visibility="private")  # fmt: skip
                work.then(None, None, stop, js=_showing(False))
                stop.click(handlers.cancelled, None, stop, cancels=[work],
                           api_visibility="private", concurrency_id=LIGHT)  # fmt: skip
            for o in view.outputs:
                if o.on_demand:
                    name = f"{view.name}.{o.name}"
                    page.on(on_demand[name].click,
                            handlers.redrawer(view.name, frozenset({o.name})), [name],
                            api_visibility="private")  # fmt: skip
            # A tab draws when it is opened (views behind a button wait for the click).
            opened = ["view", "notes"] + ([] if view.action else outs)
            page.on(tabs[view.name].select, handlers.opener(view.name), opened,
                    api_visibility="private", show_progress="hidden")  # fmt: skip
            if view.clickable:
                click_outs = [*CONTROLS, "tabs", "view", *every_view]
                page.on(p[f"{view.name}.{view.clickable}"].select, handlers.clicker(view.name),
                        click_outs, api_visibility="private")  # fmt: skip

        # Another model: the controls' ranges and the prediction box follow it, then it analyses
        # the text (as a change of precision does).
        model_outs = [*CONTROLS, "prediction", "entities"]
        ranged = i["model"].input(page.handler(handlers.ranges, model_outs),
                                  inputs_kwargs=page.inputs,
                                  outputs=[p[n] for n in model_outs], api_visibility="private",
                                  preprocess=False, concurrency_id=LIGHT)  # fmt: skip

        page.then(ranged, handlers.analyzer(drawn, if_any=True), head + drawn, url=True)
        form = [i["text"], i["pair"], i["model"]]
        page.on(i["variant"].input, analyzed, head + drawn, api_visibility="private")
        examples = gr.Examples(EXAMPLES + [example_for(n) for n in extra_examples], form,
                               label="Examples: one per model", elem_id="examples",
                               api_visibility="private")  # fmt: skip
        # An example may switch the model: its controls follow it, then it analyses.
        followed = page.then(examples.load_input_event, handlers.ranges, model_outs,
                             concurrency_id=LIGHT)
        # (An example or a link may switch the model: the prediction boxes follow it.)
        page.then(followed, handlers.analyzer(drawn, boxes=True), head + drawn, url=True)
        restored = [*form, i["variant"], p["tabs"], i["view"], *(p[n] for n in CONTROLS),
                    p["notes"]]  # fmt: skip
        loaded = demo.load(handlers.restore, None, restored, api_visibility="private")

        restored_analysis = handlers.analyzer(drawn, boxes=True, if_any=True)
        page.sync(loaded.then(page.handler(restored_analysis, [*head, *drawn, "query"]),
                              inputs_kwargs={**page.inputs, "link_notes": p["notes"]},
                              outputs=[p[n] for n in [*head, *drawn, "query"]],
                              api_visibility="private", concurrency_id=MODEL,
                              preprocess=False))  # fmt: skip
        gr.api(guarded(events.predict_api), api_name="predict", concurrency_id=MODEL)
        # /analyze answers with a file: an event (of a hidden button) can, gr.api cannot.
        gr.Button(visible=False).click(
            guarded(events.analyze_api), inputs_kwargs={"text": i["text"], "pair": i["pair"],
            "model": i["model"]}, outputs=[p["summary"], p["npz"]], api_name="analyze",
            concurrency_id=MODEL)  # fmt: skip
    return demo


def _showing(visible: bool) -> str:
    """A browser-side handler that shows or hides its output (an update, as Gradio sends)."""
    return f"() => ({{__type__: 'update', visible: {str(visible).lower()}}})"


def _either(*triggers) -> Callable:
    """One event for several triggers, wired like a single trigger's listener."""

    def listen(fn, **options):
        return gr.on(list(triggers), fn, **options)

    return listen

"""The Gradio app: layout and wiring only. Views declare their tabs; events.py computes;
page.py carries values by name between the page and the server; serve.py starts it.

Every handler gets the page's values by name (Gradio's `inputs_kwargs`) as one ViewState and
returns values by name. Named API endpoints for gradio_client: /predict (JSON), /analyze (a JSON
summary and the tensors as an NPZ file) and /explore (what the Analyze button shows). The URL
carries the view's state (urlstate.py), so a shared link reopens the same view after a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from . import catalog, events, urlstate
from .defaults import DEFAULT_VARIANT, DEFAULT_VIEW, PAGE_VARIANTS
from .examples import EXAMPLES, FIRST, example_for
from .page import LIGHT, MODEL, Page, cancel_long_work, guarded, state_of
from .runtime import cpu_count
from .views import CONTROLS, REGISTRY, VIEWS, Control, Output, UserError, ViewState
from .views.base import Shape

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
        head = ["prediction", "entities", "notes",
                *(c.name for v in REGISTRY for c in v.controls if c.names)]  # fmt: skip
        view_outs = {v.name: [f"{v.name}.{o.name}" for o in v.outputs] for v in REGISTRY}
        every_view = [n for names in view_outs.values() for n in names]
        # What Analyze may draw: the views that draw when shown (a view behind a button waits for
        # its click), so that the event carries no outputs it can never fill.
        drawn = [n for v in REGISTRY if not v.action for n in view_outs[v.name]]

        analyzed = _analyzer(drawn)
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
                page.on(trigger, _redraw(view.name, parts), [*outs, "notes"],
                        api_visibility="private", trigger_mode="always_last",
                        show_progress="hidden")  # fmt: skip
            if view.action:
                # The Cancel button shows while the work runs (in the browser: no request);
                # a click stops it on the server too (_cancelled) and the page stops waiting.
                stop = stops[view.name]
                started = actions[view.name].click(None, None, stop, js=_showing(True))
                work = page.on(started.then, _redraw(view.name, None), outs, long=True,
                               api_visibility="private")  # fmt: skip
                work.then(None, None, stop, js=_showing(False))
                stop.click(_cancelled, None, stop, cancels=[work], api_visibility="private",
                           concurrency_id=LIGHT)  # fmt: skip
            for o in view.outputs:
                if o.on_demand:
                    name = f"{view.name}.{o.name}"
                    page.on(on_demand[name].click, _redraw(view.name, frozenset({o.name})),
                            [name], api_visibility="private")  # fmt: skip
            # A tab draws when it is opened (views behind a button wait for the click).
            opened = ["view", "notes"] + ([] if view.action else outs)
            page.on(tabs[view.name].select, _opener(view.name), opened, api_visibility="private",
                    show_progress="hidden")  # fmt: skip
            if view.clickable:
                click_outs = [*CONTROLS, "tabs", "view", *every_view]
                page.on(p[f"{view.name}.{view.clickable}"].select, _clicker(view.name),
                        click_outs, api_visibility="private")  # fmt: skip

        # Another model: the controls' ranges and the prediction box follow it, then it analyses
        # the text (as a change of precision does).
        model_outs = [*CONTROLS, "prediction", "entities"]
        ranged = i["model"].input(page.handler(_ranges, model_outs), inputs_kwargs=page.inputs,
                                  outputs=[p[n] for n in model_outs], api_visibility="private",
                                  preprocess=False, concurrency_id=LIGHT)  # fmt: skip

        page.then(ranged, _analyzer(drawn, if_any=True), head + drawn, url=True)
        form = [i["text"], i["pair"], i["model"]]
        page.on(i["variant"].input, analyzed, head + drawn, api_visibility="private")
        examples = gr.Examples(EXAMPLES + [example_for(n) for n in extra_examples], form,
                               label="Examples: one per model", elem_id="examples",
                               api_visibility="private")  # fmt: skip
        # An example may switch the model: its controls follow it, then it analyses.
        followed = page.then(examples.load_input_event, _ranges, model_outs, concurrency_id=LIGHT)
        # (An example or a link may switch the model: the prediction boxes follow it.)
        page.then(followed, _analyzer(drawn, boxes=True), head + drawn, url=True)
        restored = [*form, i["variant"], p["tabs"], i["view"], *(p[n] for n in CONTROLS),
                    p["notes"]]  # fmt: skip
        loaded = demo.load(_restore, None, restored, api_visibility="private")

        restored_analysis = _analyzer(drawn, boxes=True, if_any=True)
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


def _boxes(task: str | None, prediction: Any = None, entities: Any = None) -> dict[str, Any]:
    """Only the prediction box that applies to the model's task is shown."""
    return {"prediction": gr.update(value=prediction, visible=task == "classification"),
            "entities": gr.update(value=entities, visible=task == "ner")}  # fmt: skip


def _analyzer(drawn: list[str], boxes: bool = False, if_any: bool = False) -> Callable[..., dict]:
    """The handler of every "analyse and show" action (the Analyze button and /explore, Enter,
    a precision, a model, an example, a link): the prediction, the notes and the open view.

    The views it did not draw are cleared (they draw from the cached analysis when opened): a
    plain None costs Gradio little, where gr.skip() or any property update makes it rebuild the
    component and its config (~1 ms each). So the prediction boxes change visibility only where
    the model may have changed (`boxes`: an example, a link; the model menu does it itself), and
    the notes only show when there are some. `if_any`: an empty text is left alone (a model
    switched before anything was typed) instead of asked for; a link's own notes (what it asked
    for that was ignored) come first."""

    def analyzed(link_notes: str = "", **values) -> dict[str, Any]:
        if if_any and not (values.get("text") or "").strip():
            return {}
        state = state_of(values)
        shown = events.analyze(state)
        out = {name: None for name in drawn} | shown
        if boxes:
            out |= _boxes(events.shape(state.model).task, shown["prediction"], shown["entities"])
        note = "\n".join(n for n in (link_notes, shown["notes"]) if n)
        out["notes"] = gr.update(value=note, visible=bool(note))
        return out

    return analyzed


# Handlers made per view. Their own parameters must not be named like an input ("view"…): Gradio
# passes every input by name.
def _redraw(name: str, parts: frozenset[str] | None) -> Callable[..., dict[str, Any]]:
    def redraw(**values) -> dict[str, Any]:
        try:
            return events.render(state_of(values), name, parts)
        except UserError as e:
            return _does_not_apply(name, e)

    return redraw


def _showing(visible: bool) -> str:
    """A browser-side handler that shows or hides its output (an update, as Gradio sends)."""
    return f"() => ({{__type__: 'update', visible: {str(visible).lower()}}})"


def _cancelled() -> dict:
    cancel_long_work()
    return gr.update(visible=False)


def _does_not_apply(name: str, e: UserError) -> dict[str, Any]:
    """A view that does not apply to this model (fill the mask, a classifier) says why, as a
    note, not an error toast."""
    return {"notes": gr.update(value=f"{VIEWS[name].title}: {e}", visible=True)}


def _opener(name: str) -> Callable[..., dict[str, Any]]:
    """A tab opened: it draws (unless it waits for its button) and the notes become this view's
    (the last tab's "does not apply" must not stay on the next). A tab that is already the view
    is left alone: the browser selects the first tab as the page mounts, and a link or a click on
    a cell selects its tab, each after (or racing) the event that drew it; redrawing from the
    page's values then could put the first example's figure and notes over a link's."""

    def opened(**values) -> dict[str, Any]:
        if values.get("view") == name:
            return {}
        state = state_of({**values, "view": name})
        if not state.text.strip():
            return {"view": name}
        shown = events.analyze(state)  # the analysis is cached: this draws the view, no more
        drawn = {k: v for k, v in shown.items() if k.startswith(f"{name}.")}
        return {"view": name, **drawn,
                "notes": gr.update(value=shown["notes"], visible=bool(shown["notes"]))}  # fmt: skip

    return opened


def _either(*triggers) -> Callable:
    """One event for several triggers, wired like a single trigger's listener."""

    def listen(fn, **options):
        return gr.on(list(triggers), fn, **options)

    return listen


def _clicker(name: str) -> Callable[..., dict[str, Any]]:
    def clicked(event: gr.SelectData, **values) -> dict[str, Any]:
        state = state_of(values)
        r, _ = events.run_inputs(state.model, state.text, state.pair, state.variant)
        change = VIEWS[name].select(r, state, event.index)
        if not change:
            return {}
        state = state.replace(**change)
        shown = change.get("view", name)
        return {**{k: v for k, v in change.items() if k != "view"}, "view": shown,
                "tabs": gr.Tabs(selected=shown), **events.render(state, shown)}  # fmt: skip

    return clicked


def _follow(shape: Shape, state: ViewState) -> dict[str, Any]:
    """Updates for the controls whose range or choices depend on the model, kept in range."""
    out = {}
    for name, c in CONTROLS.items():
        value = getattr(state, name)
        if c.kind == "slider" and isinstance(c.high, str):
            low, high = c.bounds(shape)
            out[name] = gr.update(maximum=high, value=min(max(value, low), high))
        elif c.kind == "multiselect" and callable(c.choices):
            options = c.options(shape)
            out[name] = gr.update(choices=options, value=[v for v in value if v in options])
        elif c.kind == "radio" and callable(c.choices):
            options = c.options(shape)
            out[name] = gr.update(choices=options,
                                  value=value if value in options else c.initial(shape))  # fmt: skip
    return out


def _ranges(**values) -> dict[str, Any]:
    """Controls whose range depends on the model, and its prediction box, follow the newly
    picked one (the box empty until the next analysis)."""
    shape = events.shape(values.get("model"))
    return _follow(shape, state_of(values)) | _boxes(shape.task)


def _restore(request: gr.Request):
    params = dict(request.query_params)
    state, notes = urlstate.parse(params, catalog.names(), events.shape)
    if not state.text.strip() and "text" not in params:  # a plain visit: show an example at once
        state = state.replace(text=FIRST[0], pair=FIRST[1], model=FIRST[2])
    note = "\n".join(f"Link: {n}" for n in notes)
    follow = _follow(events.shape(state.model), state)
    controls = [follow.get(n, state.settings[n]) for n in CONTROLS]
    return (state.text, state.pair, state.model, state.variant, gr.Tabs(selected=state.view),
            state.view, *controls, gr.update(value=note, visible=bool(note)))  # fmt: skip

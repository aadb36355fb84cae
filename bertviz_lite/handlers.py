"""What the page's events do, each a handler of the page's values by name (page.Page.handler
carries them): analyse and show, redraw a view, open a tab, click a cell, follow a newly picked
model, restore a link, cancel long work. events.py computes; these turn its values into what the
page's components take (visibility, choices, the open tab). ui.py wires them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from . import catalog, events, urlstate
from .examples import FIRST
from .page import cancel_long_work, state_of
from .views import CONTROLS, NAMED, VIEWS, UserError, ViewState
from .views.base import Shape


def prediction_boxes(task: str | None, prediction: Any = None,
                     entities: Any = None) -> dict[str, Any]:  # fmt: skip
    """Only the prediction box that applies to the model's task is shown."""
    return {"prediction": gr.update(value=prediction, visible=task == "classification"),
            "entities": gr.update(value=entities, visible=task == "ner")}  # fmt: skip


def analyzer(drawn: list[str], boxes: bool = False, if_any: bool = False) -> Callable[..., dict]:
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
        out = {name: None for name in drawn} | shown | named(shown)
        if boxes:
            task = events.shape(state.model).task
            out |= prediction_boxes(task, shown["prediction"], shown["entities"])
        note = "\n".join(n for n in (link_notes, shown["notes"]) if n)
        out["notes"] = gr.update(value=note, visible=bool(note))
        return out

    return analyzed


def named(shown: dict[str, Any]) -> dict[str, Any]:
    """The pickers an analysis named the choices of (events.named_choices), as updates."""
    return {c.name: gr.update(**shown[c.name]) for c in NAMED if c.name in shown}


# Handlers made per view. Their own parameters must not be named like an input ("view"…): Gradio
# passes every input by name.
def redrawer(name: str, parts: frozenset[str] | None) -> Callable[..., dict[str, Any]]:
    def redraw(**values) -> dict[str, Any]:
        try:
            return events.render(state_of(values), name, parts)
        except UserError as e:
            return _does_not_apply(name, e)

    return redraw


def cancelled() -> dict:
    cancel_long_work()
    return gr.update(visible=False)


def _does_not_apply(name: str, e: UserError) -> dict[str, Any]:
    """A view that does not apply to this model (fill the mask, a classifier) says why, as a
    note, not an error toast."""
    return {"notes": gr.update(value=f"{VIEWS[name].title}: {e}", visible=True)}


def opener(name: str) -> Callable[..., dict[str, Any]]:
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


def clicker(name: str) -> Callable[..., dict[str, Any]]:
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


def follow(shape: Shape, state: ViewState) -> dict[str, Any]:
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


def ranges(**values) -> dict[str, Any]:
    """Controls whose range depends on the model, and its prediction box, follow the newly
    picked one (the box empty until the next analysis)."""
    shape = events.shape(values.get("model"))
    return follow(shape, state_of(values)) | prediction_boxes(shape.task)


def restore(request: gr.Request):
    params = dict(request.query_params)
    state, notes = urlstate.parse(params, catalog.names(), events.shape)
    if not state.text.strip() and "text" not in params:  # a plain visit: show an example at once
        state = state.replace(text=FIRST[0], pair=FIRST[1], model=FIRST[2])
    note = "\n".join(f"Link: {n}" for n in notes)
    followed = follow(events.shape(state.model), state)
    controls = [followed.get(n, state.settings[n]) for n in CONTROLS]
    return (state.text, state.pair, state.model, state.variant, gr.Tabs(selected=state.view),
            state.view, *controls, gr.update(value=note, visible=bool(note)))  # fmt: skip

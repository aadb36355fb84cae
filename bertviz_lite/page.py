"""How the page talks to the server: every handler takes the page's values by name and returns
values by name; each event joins a concurrency group; long work is admitted per visitor; the
address bar follows the view. ui.py lays the page out and wires it with these.
"""

from __future__ import annotations

import contextlib
import functools
import html
from collections.abc import Callable
from typing import Any

import gradio as gr
from gradio.context import LocalContext

from . import downloads, events, urlstate
from .budget import LONG_WORK
from .views import UserError, ViewState

# Every event that runs the model joins MODEL; long work (a view's own button: attributions, the
# head sweep, downloads) joins LONG instead, unbounded in Gradio's queue because budget.LONG_WORK
# admits it (one per visitor, a few in all, each time-limited) or refuses it at once: long jobs
# never hold the queue's places, nor the slots of ordinary requests.
MODEL, LONG = "model", "long"
LIGHT = "light"  # events that run no model (a model's control ranges)
# The page's inputs reach handlers as they were sent (`preprocess=False`: plain JSON values) and
# the app checks each itself (urlstate.from_values, Control.coerce, events.model): Gradio's own
# checks fail with a generic error for a word sent as a number, and with a false one when a link
# or a switch of model leaves the page's choices or range behind the model's for an event or two
# ("Value 'predicted' is not in the list of choices", "Value 6 is greater than maximum 3").
RAW = {"preprocess": False}


def message(e: Exception) -> gr.Error:
    # Toasts render HTML: the message (which may quote what a visitor typed) is escaped.
    return gr.Error(html.escape(str(e), quote=False), print_exception=False)


def guarded(fn: Callable) -> Callable:
    """Turn UserError into a message in the page; nothing else reaches the person as a trace."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            with downloads.as_visitor(_visitor()):
                return fn(*args, **kwargs)
        except UserError as e:
            raise message(e) from None

    return wrapped


def state_of(values: dict[str, Any]) -> ViewState:
    """The page's values (by name, as Gradio hands them over) as one ViewState."""
    return urlstate.from_values(values, events.shape(values.get("model")))


class Page:
    """The components by name, and handlers that read and write them by name."""

    def __init__(self) -> None:
        self.inputs: dict[str, gr.components.Component] = {}
        self.outputs: dict[str, gr.components.Component] = {}

    def handler(self, compute: Callable[..., dict[str, Any]], outs: list[str],
                long: bool = False) -> Callable:  # fmt: skip
        """A Gradio function: the page's values by name in, `compute`'s dict out in `outs`' order.
        A name it did not return is left as it is: an input is sent back as it came, anything
        else as gr.skip() (which Gradio 6 handles as a property update: ~1 ms a component).
        With "query" among `outs`, the address bar's query of the state it leaves comes along
        (no second request for it). `long`: the work is admitted as one long job of the visitor
        (budget.LONG_WORK), its progress shown in the page (Gradio's progress bar)."""

        @functools.wraps(compute)  # Gradio reads the signature (a click's event data) from it
        def run(*args, report=None, **values):
            visitor = _visitor()
            job = LONG_WORK.job(visitor, report) if long else contextlib.nullcontext()
            try:
                with job, downloads.as_visitor(visitor):  # downloads are this visitor's alone
                    result = compute(*args, **values)
                    if "query" in outs:
                        result = {**_query(_settled(values, result)), **result}
            except UserError as e:
                raise message(e) from None
            kept = {**values, **result}
            out = [kept[name] if name in kept else gr.skip() for name in outs]
            return out[0] if len(out) == 1 else out  # one output takes a bare value

        if not long:
            return run

        def run_long(progress=gr.Progress(), **values):  # noqa: B008 (Gradio's own idiom)
            # Gradio hands a function whose parameter defaults to gr.Progress() the event's bar.
            return run(report=lambda done, line: progress(done, desc=line), **values)

        return run_long

    def on(self, trigger, compute, outs: list[str], long: bool = False, **options):
        """Wire `trigger` to `compute` in the MODEL group (LONG: `long`); the address bar
        follows (one request: the query comes with the outputs). Returns the event (what a
        button's `cancels=` names)."""
        group = {"concurrency_id": LONG, "concurrency_limit": None} if long else {
            "concurrency_id": MODEL}  # fmt: skip
        outs = [*outs, "query"]
        event = trigger(self.handler(compute, outs, long), inputs_kwargs=self.inputs,
                        outputs=[self.outputs[n] for n in outs], **{**RAW, **group, **options})  # fmt: skip
        self.sync(event)
        return event

    def then(self, event, compute, outs: list[str], url: bool = False, **options):
        """Chain `compute` after `event`, by name like `on` (private), in the MODEL group unless
        told otherwise; `url`: the address bar follows, as with `on`."""
        outs = [*outs, "query"] if url else outs
        chained = event.then(self.handler(compute, outs), inputs_kwargs=self.inputs,
                             outputs=[self.outputs[n] for n in outs], api_visibility="private",
                             **{**RAW, "concurrency_id": MODEL, **options})  # fmt: skip
        return self.sync(chained) if url else chained

    def sync(self, event):
        """Write the query the event returned into the address bar and the share box: in the
        browser, no request."""
        return event.then(None, self.outputs["query"], self.outputs["link"], js=SYNC_URL)


def cancel_long_work() -> None:
    """The Cancel button of long work: this visitor's job stops at its next check (the page
    stops waiting for it through the button's `cancels=`)."""
    LONG_WORK.cancel(_visitor())


def _visitor() -> str:
    """The page visit (Gradio's session) making this request; "" outside a request."""
    request = LocalContext.request.get(None)
    return str(getattr(request, "session_hash", None) or "")


def _settled(values: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The page's values once `result` is applied: a new value, or an update's value."""
    settled = dict(values)
    for name, value in result.items():
        if isinstance(value, dict) and value.get("__type__") == "update":
            if "value" in value:
                settled[name] = value["value"]
        elif not isinstance(value, gr.components.Component | gr.blocks.Block):
            settled[name] = value
    return settled


def _query(values: dict[str, Any]) -> dict[str, str]:
    """The page's state as a URL query, for the address bar and the share box. Without a text
    the address bar is left as it is: only an event sent before the page was filled in (a link
    being restored, a first visit's example) has none, and it must not write over the link."""
    if not (values.get("text") or "").strip():
        return {}
    shape = events.shape(values.get("model"))
    return {"query": "?" + urlstate.to_query(urlstate.from_values(values, shape), shape)}


# The address bar follows the view, so that the link in it reopens exactly this.
SYNC_URL = """(q) => { if (!q) return location.href;  // nothing analysed yet: leave it
  const u = location.origin + location.pathname + q;
  history.replaceState(null, "", u); if (window.bertvizRebase) window.bertvizRebase();
  return u; }"""

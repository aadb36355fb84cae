"""The view's state in the URL, and from the page's controls: one ViewState either way.

A link holds the text, the pair, the model, the view and every setting that differs from its
default as query parameters, so it survives a server restart (no server-side store). Everything
read back is checked by the control that owns it: an unknown model or view is ignored, a number
out of range is clamped, a garbled one falls back to the default, and each of these leaves a note
for the person. Only catalog names are accepted as models: a path in a URL is never loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from .defaults import DEFAULT_MODEL, DEFAULT_VARIANT, DEFAULT_VIEW, PAGE_VARIANTS
from .views import CONTROLS, VIEWS, UserError, ViewState
from .views.base import FIELDS, Shape

MAX_URL_TEXT = 4000  # characters of text kept from a link; longer texts are cut with a note
# Bytes of query a link's text and pair may take once percent-encoded: servers refuse longer
# request lines (uvicorn's limit is 16 kB for the line and headers together, proxies often 8 kB),
# and one CJK character takes 9 bytes (4,000 a box made a 72 kB link that never opened). A
# longer text is cut in the link, and the link says so (`cut`).
MAX_LINK_BYTES = 6000


def default_state(shape: Shape, **fields: Any) -> ViewState:
    """Every setting at its default for a model of this shape, and the given fields."""
    shape = Shape(*shape)
    settings = {name: c.initial(shape) for name, c in CONTROLS.items()}
    return ViewState(**{"model": DEFAULT_MODEL, **fields}, settings=settings)


def from_values(values: Mapping[str, Any], shape: Shape) -> ViewState:
    """The state of the page's controls (as Gradio hands them over, by name), each value checked
    by the control that owns it: UserError for one of the wrong kind (an API call can send
    anything), the default for one left out."""
    state = default_state(shape)
    settings = dict(state.settings)
    for name, control in CONTROLS.items():
        if values.get(name) is not None:
            settings[name] = control.coerce(values[name], shape)
    fields = {}
    for key, default in (("text", ""), ("pair", ""), ("model", DEFAULT_MODEL), ("view", DEFAULT_VIEW),
                         ("variant", DEFAULT_VARIANT)):  # fmt: skip
        value = values.get(key)
        if value is not None and not isinstance(value, str):
            raise UserError(f"{key} must be text, not {type(value).__name__}.")
        fields[key] = value or default
    return ViewState(**fields, settings=settings)


def to_query(state: ViewState, shape: Shape) -> str:
    """The URL query for this state: only what differs from the defaults."""
    default = default_state(shape)
    out: dict[str, Any] = {}
    for key in FIELDS:
        if getattr(state, key) != getattr(default, key):
            out[key] = getattr(state, key)
    for name, value in state.settings.items():
        if name in CONTROLS and value != default.settings.get(name):
            if isinstance(value, bool):
                value = int(value)
            elif isinstance(value, (list, tuple)):
                value = ",".join(value)
            out[name] = value
    return _fitted(out)


def _fitted(out: dict[str, Any]) -> str:
    """The query, its text and pair cut (in proportion) to MAX_URL_TEXT characters each and
    MAX_LINK_BYTES encoded; `cut=1` when they were."""
    text, pair = str(out.get("text", "")), str(out.get("pair", ""))

    def encoded(share: float) -> dict[str, Any]:
        kept = {k: v[: min(MAX_URL_TEXT, int(len(v) * share))] for k, v in
                (("text", text), ("pair", pair)) if v}  # fmt: skip
        return {**out, **kept}

    def size(query: dict[str, Any]) -> int:
        return len(urlencode({k: query[k] for k in ("text", "pair") if k in query}))

    if size(encoded(1.0)) <= MAX_LINK_BYTES and max(len(text), len(pair)) <= MAX_URL_TEXT:
        return urlencode(out)
    low, high = 0.0, 1.0  # the largest share of each that fits, to a character
    for _ in range(20):
        middle = (low + high) / 2
        low, high = (middle, high) if size(encoded(middle)) <= MAX_LINK_BYTES else (low, middle)
    return urlencode({**encoded(low), "cut": 1})


def parse(
    params: Mapping[str, str], models: list[str], shape_of: Callable[[str], Shape]
) -> tuple[ViewState, list[str]]:
    """A ViewState from query parameters, and notes on whatever had to be ignored or clamped.

    `shape_of(model)` gives the model's (layers, heads): ranges and defaults follow it.
    """
    notes: list[str] = []
    known = {*FIELDS, "__theme", "cut", *CONTROLS}
    for key in params:
        if key not in known:
            notes.append(f"ignored unknown parameter {key[:40]!r}")
    fields: dict[str, str] = {}
    text = params.get("text", "")
    if len(text) > MAX_URL_TEXT:
        notes.append(f"text from the link cut to {MAX_URL_TEXT} characters")
    fields["text"], fields["pair"] = text[:MAX_URL_TEXT], params.get("pair", "")[:MAX_URL_TEXT]
    if params.get("cut") == "1":  # what the page writes; anything else says nothing
        notes.append("this link holds only the beginning of a longer text (links are kept short "
                     "enough to open anywhere)")  # fmt: skip
    for key, allowed in (("model", models), ("view", list(VIEWS)), ("variant", list(PAGE_VARIANTS))):
        if key in params:
            if params[key] in allowed:
                fields[key] = params[key]
            else:
                notes.append(f"ignored unknown {key} {params[key][:40]!r}")
    model = fields.get("model", DEFAULT_MODEL)
    shape = Shape(*shape_of(model))
    state = default_state(shape, **fields)
    values = {}
    for name in (name for name in CONTROLS if name in params):
        values[name], note = CONTROLS[name].parse(params[name], shape)
        if note:
            notes.append(note)
    return state.replace(**values), notes

"""The view interface: one state for the whole page, and what each view declares.

A view is a tab of the app: it declares its controls (settings a person changes, each kept in the
`ViewState` and the URL under its name) and its outputs (what it draws), and `render`s an
`Analysis` under a state into a value per output. The UI builds widgets from these declarations
and wires them by name; it knows no view in particular. Nothing here imports Gradio, so the views
also draw in a notebook.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from ..analysis import Analysis
from ..defaults import DEFAULT_MODEL, DEFAULT_VARIANT, DEFAULT_VIEW
from ..errors import UserError

if TYPE_CHECKING:
    from ..context import ViewContext


class Shape(NamedTuple):
    """What controls may depend on: the loaded model's size, its labels and task, and its name."""

    layers: int
    heads: int
    labels: tuple[str, ...] = ()
    task: str | None = None  # "classification", "ner", "masked-lm" or None
    model: str = ""  # its name (what its corpora follow)


__all__ = ["Control", "FigureSpec", "Output", "Shape", "UserError", "View", "ViewState"]

@dataclass(frozen=True)
class ViewState:
    """What the page shows: the input, the model, the open view and every view's settings.

    The single source for the URL, the controls and the views. Settings are read as attributes
    (`state.layer`); each is declared by the view that owns it (a `Control`), so a new view adds
    settings without touching this class.
    """

    text: str = ""
    pair: str = ""
    model: str = DEFAULT_MODEL
    view: str = DEFAULT_VIEW
    variant: str = DEFAULT_VARIANT  # the model's own attention; "int8" is faster, approximate
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        settings = self.__dict__.get("settings", {})
        if name in settings:
            return settings[name]
        raise AttributeError(f"ViewState has no setting {name!r}")

    def replace(self, **values: Any) -> ViewState:
        """A copy with some fields or settings changed."""
        base = {k: values.pop(k) for k in FIELDS if k in values}
        current = {k: getattr(self, k) for k in FIELDS}
        return ViewState(**{**current, **base, "settings": {**self.settings, **values}})


FIELDS = ("text", "pair", "model", "view", "variant")  # a ViewState's own fields; the rest: settings


@dataclass(frozen=True)
class Control:
    """One setting of a view, as a widget: "slider", "number", "radio", "checkbox" or
    "multiselect".

    A slider's `high` (and `default`) may be "layers" or "heads": they follow the loaded model;
    a `default` may also be a function of the model's Shape. `choices`
    may be a function of the model's shape; `names`, of an analysis: what the page shows for
    those of them that apply to the analysed input, as (name, choice) pairs (a text's entities
    for "entity 1"…), or None to show them as they are. `redraws` names the outputs a change
    redraws (None: all of the view's; () none: the view's action button redraws instead).
    """

    name: str
    label: str
    kind: str
    default: Any
    low: float = 0
    high: float | str = 1
    step: float = 1
    choices: tuple | Callable[[Shape], list[str]] = ()
    redraws: tuple[str, ...] | None = None
    names: Callable[[Analysis], list[tuple[str, str]] | None] | None = None

    def bounds(self, shape: Shape) -> tuple[float, float]:
        return self.low, _sized(self.high, shape)

    def initial(self, shape: Shape) -> Any:
        """The default value for a model of this shape ("layers" and "heads" resolved)."""
        if self.kind == "multiselect":
            return list(self.default)
        if callable(self.default):
            return self.default(shape)
        return _sized(self.default, shape)

    def options(self, shape: Shape) -> list:
        return list(self.choices(shape) if callable(self.choices) else self.choices)

    def coerce(self, value: Any, shape: Shape) -> Any:
        """A value from the page or the API as this control holds it. A number out of range is
        clamped (the page may still show the last model's range); anything of the wrong kind (a
        word for a number, NaN, an unknown choice) raises UserError saying what is expected."""
        shown = repr(value)[:40]
        if self.kind in ("slider", "number"):
            number = finite_number(value)
            if number is None:
                low, high = self.bounds(shape)
                raise UserError(f"{self.label} ({self.name}) must be a number from {low:g} to "
                                f"{high:g}, not {shown}.")  # fmt: skip
            return self._in_range(number, shape)
        if self.kind == "checkbox":
            if value not in (True, False) or not isinstance(value, (bool, int)):
                raise UserError(f"{self.label} ({self.name}) must be true or false, not {shown}.")
            return bool(value)
        # Choices that follow the model (its labels, its heads) may come from the last model's
        # page or an API call's defaults: an unknown one falls back to this model's default.
        # Fixed choices have no such excuse.
        options, follows = self.options(shape), callable(self.choices)
        if self.kind == "radio":
            if isinstance(value, str) and value in options:
                return value
            if isinstance(value, str) and follows:
                return self.initial(shape)
            raise UserError(f"{self.label} ({self.name}) must be one of "
                            f"{', '.join(map(str, options))}; "
                            f"not {shown}.")  # fmt: skip
        if self.kind == "multiselect":
            picked = list(value) if isinstance(value, (list, tuple)) else None
            if picked is None or any(not isinstance(v, str) for v in picked) or (
                    not follows and any(v not in options for v in picked)):  # fmt: skip
                raise UserError(f"{self.label} ({self.name}) must be a list of choices like "
                                f"{', '.join(map(str, options[:3]))}; not {shown}.")  # fmt: skip
            return [v for v in picked if v in options]
        return value

    def _in_range(self, number: float, shape: Shape) -> float | int:
        """The number clamped to this control's range for the model, whole where it steps so."""
        low, high = self.bounds(shape)
        clamped = min(max(number, low), high)
        return round(clamped) if float(self.step).is_integer() else clamped

    def parse(self, raw: str, shape: Shape) -> tuple[Any, str | None]:
        """The value a URL string stands for, and a note when it had to be changed or ignored."""
        if self.kind == "checkbox":
            return raw.strip().lower() in ("1", "true", "yes", "on"), None
        if self.kind == "radio":
            if raw in self.options(shape):
                return raw, None
            return self.initial(shape), f"ignored unknown {self.name} {raw[:40]!r}"
        if self.kind == "multiselect":
            allowed = set(self.options(shape))
            picked = [v for v in raw.split(",") if v]
            kept = [v for v in picked if v in allowed]
            note = None if kept == picked else f"ignored unknown {self.name} in {raw[:40]!r}"
            return kept, note
        try:
            number = float(raw)
        except ValueError:
            return self.initial(shape), f"ignored {self.name} {raw[:20]!r}: not a number"
        if number != number:  # NaN
            return self.initial(shape), f"ignored {self.name} {raw[:20]!r}: not a number"
        low, high = self.bounds(shape)
        value = self._in_range(number, shape)
        if min(max(number, low), high) != number:
            return value, f"{self.name} {raw[:20]} is out of range: showing {value} ({low:g}–{high:g})"
        return value, None


def finite_number(value: Any) -> float | None:
    """A finite number from a number or its text; None for anything else (NaN, a word, a list)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _sized(value: Any, shape: tuple) -> Any:
    return {"layers": shape[0], "heads": shape[1]}.get(value, value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Output:
    """One thing a view draws: "plot", "html", "image", "label", "entities", "words" (clickable
    spans: a list of (text, tag or None)), "text" or "file".

    Outputs with the same `row` sit side by side. An `on_demand` output is drawn only when its
    button (labelled so) is clicked: `render` gets `parts={name}` then, and leaves it out
    otherwise.
    """

    name: str
    kind: str
    label: str = ""
    row: int = 0
    on_demand: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


class FigureSpec(dict):
    """A Plotly figure as Plotly's own JSON structure, built without Plotly's per-value
    validation (which costs more than the drawing for large figures). gr.Plot reads it through
    `to_json`, like a go.Figure; `plotly.graph_objects.Figure(spec)` opens it in a notebook."""

    def to_json(self) -> str:
        import plotly.io

        return plotly.io.to_json(dict(self), validate=False)


class View:
    """A tab of the app. Subclasses set the class attributes and write `render`."""

    name: ClassVar[str]  # the tab's id and its value in the URL
    title: ClassVar[str]  # the tab's label
    intro: ClassVar[str] = ""  # a line of plain text above the outputs
    controls: ClassVar[tuple[Control, ...]] = ()
    outputs: ClassVar[tuple[Output, ...]] = ()
    action: ClassVar[str] = ""  # a button that renders the view (for work worth a click)
    clickable: ClassVar[str] = ""  # an output whose click `select`s

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        """A value per output (only those in `parts` when given) for `ctx.analysis` under this
        state; anything more (heads off, another model, attributions) comes from `ctx`."""
        raise NotImplementedError

    def select(self, r: Analysis, state: ViewState, index: Any) -> dict[str, Any]:
        """Settings (and possibly "view") to change after a click on `clickable` at `index` (a
        pixel [x, y] of an image, a span's number in a highlighted text)."""
        return {}

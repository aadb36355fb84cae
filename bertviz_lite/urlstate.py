"""The view's state in the URL: what a shared link carries, and reading it back safely.

A link holds the text, the pair, the model, the view and its settings as query parameters, so it
survives a server restart (no server-side store). Everything read back is checked: an unknown
model or view is ignored, a layer or head out of range is clamped, a garbled number falls back
to the default, and each of these leaves a note for the person. Only catalog names are accepted
as models here: a path in a URL is never loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from urllib.parse import urlencode

from .analysis import DIRECTIONS as SEGMENTS
from .views.selection import SOURCES

VIEWS = ("head", "overview", "embeddings", "ablation", "export")
STYLES = ("heatmap", "links")
MAX_URL_TEXT = 4000  # characters of text kept from a link; longer texts are cut with a note


@dataclass(frozen=True)
class ViewState:
    text: str = ""
    pair: str = ""
    model: str = "minilm"
    view: str = "head"
    layer: int = 1  # 1-based, as people count
    head: int = 1
    source: str = "head"
    style: str = "heatmap"
    words: bool = False
    special: bool = True  # show [CLS]/[SEP]
    segment: str = "all"
    threshold: float = 0.0

    def query(self) -> str:
        """The URL query for this state: only what differs from the defaults."""
        default = ViewState()
        changed = {k: v for k, v in asdict(self).items() if v != getattr(default, k)}
        return urlencode({k: int(v) if isinstance(v, bool) else v for k, v in changed.items()})


def parse(
    params: Mapping[str, str], models: list[str], shape: Callable[[str], tuple[int, int]]
) -> tuple[ViewState, list[str]]:
    """A ViewState from query parameters, and notes on whatever had to be ignored or clamped.

    `shape(model)` gives the model's (layers, heads) for clamping.
    """
    notes: list[str] = []
    state = ViewState()
    known = {f.name for f in fields(ViewState)}
    for key in params:
        if key not in known and key != "__theme":
            notes.append(f"ignored unknown parameter {key[:40]!r}")
    values: dict = {}
    text = params.get("text", "")
    if len(text) > MAX_URL_TEXT:
        notes.append(f"text from the link cut to {MAX_URL_TEXT} characters")
    values["text"], values["pair"] = text[:MAX_URL_TEXT], params.get("pair", "")[:MAX_URL_TEXT]
    for key, allowed in (("model", models), ("view", VIEWS), ("source", SOURCES),
                         ("style", STYLES), ("segment", SEGMENTS)):  # fmt: skip
        if key in params:
            if params[key] in allowed:
                values[key] = params[key]
            else:
                notes.append(f"ignored unknown {key} {params[key][:40]!r}")
    for key in ("words", "special"):
        if key in params:
            values[key] = params[key].strip().lower() in ("1", "true", "yes", "on")
    # The model's shape clamps layer and head; looking it up loads the model, so only on need.
    wanted = [key for key in ("layer", "head") if key in params]
    layers, heads = shape(values.get("model", state.model)) if wanted else (0, 0)
    for key, top in (("layer", layers), ("head", heads)):
        if key in wanted:
            try:
                n = int(params[key])
            except ValueError:
                notes.append(f"ignored {key} {params[key][:20]!r}: not a number")
                continue
            values[key] = min(max(n, 1), top)
            if values[key] != n:
                notes.append(f"{key} {n} is out of range: showing {values[key]} (1–{top})")
    if "threshold" in params:
        try:
            t = float(params["threshold"])
            values["threshold"] = min(max(t, 0.0), 1.0) if t == t else 0.0  # t != t: NaN
        except ValueError:
            notes.append(f"ignored threshold {params['threshold'][:20]!r}: not a number")
    return replace(state, **values), notes

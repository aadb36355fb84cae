"""The query–key space of one head (AttentionViz): a corpus's queries and keys projected to 2-D."""

from __future__ import annotations

from typing import Any

from ..context import ViewContext
from .base import UserError, View, ViewState


class QKView(View):
    name = "qk"
    title = "Query–key space"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        raise UserError("not yet")

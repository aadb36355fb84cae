"""Search by context (exBERT): the corpus tokens whose vectors lie nearest to a token of the text."""

from __future__ import annotations

from typing import Any

from ..context import ViewContext
from .base import UserError, View, ViewState


class SearchView(View):
    name = "search"
    title = "Search by context"

    def render(
        self, ctx: ViewContext, state: ViewState, parts: frozenset[str] | None = None
    ) -> dict[str, Any]:
        raise UserError("not yet")

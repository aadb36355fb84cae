"""What the browser tests share about the page: opening a tab that may sit in Gradio's overflow."""

from __future__ import annotations


def open_tab(page, name: str) -> None:
    """Click a tab, through Gradio's "More tabs" menu when the row has no room for it."""
    tab = page.get_by_role("tab", name=name)
    if tab.count() and tab.first.is_visible():
        tab.first.click()
        return
    page.get_by_role("button", name="More tabs").click()
    page.locator(".overflow-dropdown button", has_text=name).click()

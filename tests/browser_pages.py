"""What the browser tests share about the page: opening a tab that may sit in Gradio's overflow."""

from __future__ import annotations


def open_tab(page, name: str) -> None:
    """Click a tab: in the tab row, or among the tabs that did not fit it (Gradio's "More tabs"
    menu; on a phone the app shows them below the row)."""
    tab = page.get_by_role("tab", name=name)
    if tab.count() and tab.first.is_visible():
        tab.first.click()
        return
    overflowed = page.locator(".overflow-dropdown button", has_text=name)
    if not overflowed.is_visible():
        page.get_by_role("button", name="More tabs").click()
    overflowed.click()

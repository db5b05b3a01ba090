"""Driving a type-ahead field (select2 over ``<view>/lookup``, static/js/orderdesk.js) from the keyboard in a
Playwright page, as an agent does."""
from __future__ import annotations


def open_type_ahead(page, field_id: str):
    """Focus the field and open it with Enter; returns its search box."""
    page.locator(f"#{field_id} + .select2 .select2-selection").focus()
    page.keyboard.press("Enter")
    return page.locator(".select2-container--open .select2-search__field")


def type_ahead(page, field_id: str, typed: str, option: str) -> None:
    """Type into the field's search box, wait for *option* among the matches, pick it with the arrow keys."""
    search = open_type_ahead(page, field_id)
    search.press_sequentially(typed, delay=20)
    results = page.locator(".select2-results__option:not(.loading-results)")
    results.filter(has_text=option).first.wait_for()
    texts = [text.strip() for text in results.all_inner_texts()]
    position = next(index for index, text in enumerate(texts) if option in text)
    for _ in range(position):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")

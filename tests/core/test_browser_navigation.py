"""An agent finds their work through the menus in a real browser (headless Chromium)."""
from __future__ import annotations

import re

from app.core.choices import CaseState, LineState, OrderState
from app.core.extensions import db
from tests import factories


def open_menu(page, category: str, item: str) -> None:
    """Click a top-level menu, then one of its items, as a person would."""
    page.click(f".navbar a.dropdown-toggle:has-text('{category}')")
    entry = page.locator(".navbar .dropdown-menu a", has_text=re.compile(rf"^\s*{re.escape(item)}\s*$"))
    entry.wait_for(state="visible")
    entry.click()
    page.wait_for_load_state("networkidle")


def make_demo_cases():
    account = factories.make_account("Initech")
    order = factories.make_order(account, lines=3)
    descriptions = ["Increase quantity on line 2", "Deliver a week earlier", "Wrong colour delivered"]
    cases = []
    for description, state in zip(descriptions, (CaseState.DRAFT, CaseState.NEW, CaseState.WORK_IN_PROGRESS)):
        case = factories.make_case(account, order=order, order_lines=[order.lines[len(cases)]], state=state,
                                   line_state=LineState.DRAFT if state == CaseState.DRAFT else LineState.NEW)
        case.short_description = description
        cases.append(case)
    db.session.commit()
    return [(case.number, case.short_description) for case in cases]


def test_agent_opens_order_cases_through_the_menu(page_as, live_server):
    cases = make_demo_cases()
    page = page_as("agent")
    assert page.url.rstrip("/") == live_server, "the agent lands on the home page after login"
    assert page.locator(".home-queue-label", has_text=re.compile(r"^Open cases$")).is_visible()

    open_menu(page, "Customer Order Management", "Order Cases")

    assert "/login" not in page.url
    assert page.locator("h1, h2, h3, .panel-title").filter(has_text="Order Cases").count() >= 1
    for number, description in cases:
        assert page.get_by_text(number, exact=True).is_visible(), number
        assert page.get_by_text(description).is_visible(), description


def test_agent_opens_a_customer_order_and_sees_its_lines(page_as):
    account = factories.make_account("Umbrella")
    order = factories.make_order(account, lines=2, state=OrderState.IN_PROGRESS)
    line_numbers = [line.number for line in order.lines]
    page = page_as("agent")

    open_menu(page, "Customer Order Management", "Customer Orders")
    assert page.get_by_text(order.number, exact=True).is_visible()
    page.locator(f"a[href*='show/{order.id}']").first.click()
    page.wait_for_load_state("networkidle")

    assert f"show/{order.id}" in page.url or order.number in page.content()
    for number in line_numbers:
        assert page.get_by_text(number, exact=True).first.is_visible(), number


def test_agent_sees_no_administration_menu_but_admin_does(page_as):
    agent = page_as("agent")
    menus = agent.locator(".navbar .dropdown-toggle").all_inner_texts()
    assert [m.strip() for m in menus][:4] == ["Customer Order Management", "Accounts", "Catalog", "Tasks"]
    assert not any("Administration" in m or "Security" in m for m in menus)
    admin = page_as("admin")
    admin_menus = " ".join(admin.locator(".navbar .dropdown-toggle").all_inner_texts())
    assert "Administration" in admin_menus and "Security" in admin_menus

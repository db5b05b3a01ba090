"""Pickers and confirmations as dialogs over the page, on a desktop and on a phone."""
from __future__ import annotations

import pytest

from app.core.choices import CaseState
from app.core.extensions import db
from app.models import OrderCase
from tests import factories
from tests.accessibility import axe_violations, blocking

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
SIZES = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])

def the_case() -> OrderCase:
    db.session.expire_all()
    return db.session.query(OrderCase).one()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.fixture
def services():
    factories.make_service("Sales Order Dispute")
    factories.make_service()


@SIZES
def test_new_case_opens_the_case_type_selector_as_a_dialog(page_as, live_server, services, viewport):
    page = page_as("agent", viewport)
    page.goto(f"{live_server}/ordercaseview/list/")
    page.get_by_role("link", name="New case").click()
    dialog = page.get_by_role("dialog")
    assert dialog.locator(".modal-title").inner_text() == "Select a case type"
    assert dialog.locator(".case-type-name").all_inner_texts() == ["Sales Order Change Request",
                                                                   "Sales Order Dispute"]
    assert page.url.endswith("/ordercaseview/list/") and fits(page)
    assert not blocking(axe_violations(page))
    dialog.get_by_role("link", name="Back").click()
    page.wait_for_selector(".od-dialog", state="detached")
    page.get_by_role("link", name="New case").click()
    with page.expect_navigation():
        page.get_by_role("dialog").get_by_role("button", name="Sales Order Dispute").click()
    assert page.locator(".intake-service").inner_text() == "Sales Order Dispute"


@SIZES
def test_add_opens_the_line_picker_as_a_dialog(page_as, live_server, viewport):
    account = factories.make_account("Picker Co")
    order = factories.make_order(account, lines=3)
    case = factories.make_case(account, order=order, order_lines=order.lines[:1])
    page = page_as("agent", viewport)
    page.goto(f"{live_server}/ordercases/{case.id}")
    page.locator(".line-toolbar").get_by_role("link", name="Add").click()
    dialog = page.get_by_role("dialog")
    assert dialog.locator(".modal-title").inner_text() == "Add order lines to case"
    assert dialog.locator(".picker-number").all_inner_texts() == [order.lines[1].number, order.lines[2].number]
    assert fits(page) and not blocking(axe_violations(page))
    dialog.get_by_label(f"Select {order.lines[2].number}").check()
    with page.expect_navigation():
        dialog.get_by_role("button", name="Add").click()
    assert page.locator("tr.case-line").count() == 2


@SIZES
def test_cancel_case_asks_in_a_dialog_what_will_happen(page_as, live_server, viewport):
    account = factories.make_account("Cancel Co")
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    page = page_as("agent", viewport)
    page.goto(f"{live_server}/ordercases/{case.id}")
    cancel = page.locator(".case-irreversible-actions").get_by_role("link", name="Cancel case…")
    assert "btn-danger" in cancel.get_attribute("class")
    cancel.click()
    dialog = page.get_by_role("dialog")
    assert dialog.locator(".modal-title").inner_text() == f"Cancel case: {case.number}"
    assert f"{case.number} and its 2 open lines will be cancelled" in dialog.locator(".action-confirmation").inner_text()
    assert fits(page) and not blocking(axe_violations(page))
    dialog.get_by_role("link", name="Keep the case").click()
    page.wait_for_selector(".od-dialog", state="detached")
    assert the_case().state == CaseState.DRAFT
    cancel.click()
    with page.expect_navigation():
        page.get_by_role("dialog").get_by_role("button", name="Cancel case").click()
    assert "Cancelled" in page.locator(".case-state").inner_text()
    assert the_case().state == CaseState.CANCELLED


def test_delete_case_confirms_in_a_dialog_first(page_as, live_server):
    account = factories.make_account("Delete Co")
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    page = page_as("agent", DESKTOP)
    page.goto(f"{live_server}/ordercases/{case.id}")
    page.get_by_role("button", name="Delete case").click()
    dialog = page.get_by_role("dialog")
    assert "deleted for good" in dialog.locator(".od-confirm-message").inner_text()
    dialog.get_by_role("button", name="Keep the case").click()
    page.wait_for_selector(".od-dialog", state="detached")
    assert db.session.query(OrderCase).count() == 1
    page.get_by_role("button", name="Delete case").click()
    with page.expect_navigation():
        page.get_by_role("dialog").get_by_role("button", name="Delete case").click()
    db.session.expire_all()
    assert db.session.query(OrderCase).count() == 0

"""Pickers and confirmations as dialogs over the page, on a desktop and on a phone; and the main agent flow
counted in actions and full page loads."""
from __future__ import annotations

import pytest

from app.core.choices import CaseState, RequestType
from app.core.extensions import db
from app.models import OrderCase
from tests import factories
from tests.accessibility import axe_violations, blocking

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
SIZES = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])

# The same flow on main before this work, counted the same way (script in the note): 20 actions
# (one of them choosing the scope the form already had) and 12 full page loads.
ACTIONS_BEFORE, PAGE_LOADS_BEFORE = 20, 12

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


class Flow:
    """Counts what the user does (clicks, typing, choices) and the full page loads it causes."""

    def __init__(self, page):
        self.page, self.actions, self.loads = page, 0, 0
        page.on("load", lambda _page: self._loaded())

    def _loaded(self):
        self.loads += 1

    def do(self, what, locator, *args):
        self.actions += 1
        getattr(locator, what)(*args)
        self.page.wait_for_load_state("load")


def test_the_main_agent_flow_takes_fewer_actions_and_page_loads(page_as, live_server, services):
    account = factories.make_account("Flow Co")
    order = factories.make_order(account, lines=3)
    page = page_as("agent", DESKTOP)
    page.goto(f"{live_server}/ordercaseview/list/")
    flow = Flow(page)
    dialog = page.get_by_role("dialog")
    flow.do("click", page.get_by_role("link", name="New case"))
    flow.do("click", dialog.get_by_role("button", name="Sales Order Change Request"))
    # The account is typed ahead: typing on the field opens its search, then the match is picked.
    flow.do("press_sequentially", page.locator("#account_id + .select2 .select2-selection"), "flow")
    flow.do("click", page.locator(".select2-results__option", has_text="Flow Co"))
    page.locator("#contact_id option", has_text="Pat Buyer").wait_for(state="attached")
    flow.do("fill", page.locator("#order_number"), order.number)
    flow.do("fill", page.locator("#short_description"), "Customer wants 8 instead of 5")
    flow.do("click", page.get_by_role("button", name="Save"))
    flow.do("click", page.locator(".line-toolbar").get_by_role("link", name="Add"))
    flow.do("check", dialog.get_by_label(f"Select {order.lines[0].number}"))
    flow.do("click", dialog.get_by_role("button", name="Add"))
    flow.do("click", page.locator("tr.case-line a.line-edit").first)
    flow.do("select_option", dialog.locator("#request_type"), RequestType.QUANTITY)
    flow.do("fill", dialog.locator("#requested_quantity"), "8")
    flow.do("click", dialog.get_by_role("button", name="Update"))
    flow.do("click", page.locator(".case-actions").get_by_role("button", name="Submit"))
    flow.do("click", page.locator(".case-actions").get_by_role("button", name="Assign to me"))
    flow.do("click", page.locator("tr.case-line").get_by_role("link", name="Accept"))
    flow.do("click", dialog.get_by_role("button", name="Accept"))
    flow.do("click", page.locator(".case-actions").get_by_role("button", name="Close Case"))
    assert the_case().state == CaseState.CLOSED
    print(f"\nmain agent flow: {flow.actions} actions, {flow.loads} full page loads "
          f"(before: {ACTIONS_BEFORE} actions, {PAGE_LOADS_BEFORE} page loads)")
    assert flow.actions < ACTIONS_BEFORE and flow.loads < PAGE_LOADS_BEFORE

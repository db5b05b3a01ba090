"""Cancel order asks in a dialog what will happen before anything changes, on a desktop and on a phone."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.core.choices import OrderLineState, OrderState
from app.core.extensions import db
from app.models import CustomerOrder
from tests import factories
from tests.accessibility import axe_violations, blocking
from tests.cases.test_browser_dialogs import DESKTOP, PHONE, fits

pytestmark = pytest.mark.browser


def state_of(order_id: int) -> str:
    db.session.expire_all()
    return db.session.get(CustomerOrder, order_id).state


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_cancel_order_asks_in_a_dialog_first(page_as, live_server, viewport):
    account = factories.make_account("Cancel Order Co")
    order = factories.make_order(account, lines=2, state=OrderState.IN_PROGRESS, line_state=OrderLineState.NEW)
    page = page_as("agent", viewport)
    page.goto(f"{live_server}/customerorderview/show/{order.id}")
    actions = page.locator("#order-actions")
    actions.get_by_label("Reason for cancelling").fill("Customer found a cheaper supplier")
    actions.get_by_role("button", name="Cancel order").click()
    dialog = page.get_by_role("dialog")
    assert dialog.locator(".modal-title").inner_text() == f"Cancel {order.number}?"
    assert dialog.locator(".od-confirm-message").inner_text() == (
        f"{order.number} will be cancelled with its 2 open lines; the customer is told. This cannot be undone.")
    # The safe choice has the focus.
    expect(dialog.get_by_role("button", name="Keep the order")).to_be_focused()
    assert fits(page) and not blocking(axe_violations(page))
    dialog.get_by_role("button", name="Keep the order").click()
    page.wait_for_selector(".od-dialog", state="detached")
    assert state_of(order.id) == OrderState.IN_PROGRESS

    actions.get_by_role("button", name="Cancel order").click()
    with page.expect_navigation():
        page.get_by_role("dialog").get_by_role("button", name="Cancel order").click()
    assert page.locator("#order-state").inner_text() == "Cancelled"
    assert state_of(order.id) == OrderState.CANCELLED
    assert db.session.get(CustomerOrder, order.id).cancellation_reason == "Customer found a cheaper supplier"

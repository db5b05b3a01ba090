"""Resolving case lines against the order in headless Chromium: a quantity change accepted from 5 to 8
shows on the order line with a ledger entry linking back to the case line; a wrong-item line creates the
replacement order line."""
from __future__ import annotations

import pytest

from app.core.choices import CaseState, LineState, OrderLineState, RequestType
from app.core.extensions import db
from app.models import CustomerOrder
from tests import factories

pytestmark = pytest.mark.browser


def test_accepted_lines_change_the_order_and_link_back(page_as, live_server):
    account = factories.make_account("Ledger Co")
    order = factories.make_order(account, lines=2, quantity=5)
    gadget = factories.make_offering("Gadget", price="25.00")
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    quantity_line, wrong_line = sorted(case.lines, key=lambda l: l.id)
    quantity_line.request_type, quantity_line.requested_quantity = RequestType.QUANTITY, 8
    wrong_line.request_type, wrong_line.requested_quantity = RequestType.WRONG_ITEM, 1
    db.session.commit()
    first_number, second_number = order.lines[0].number, order.lines[1].number
    page = page_as("agent")

    # Accept the quantity change (5 → 8) on the case page.
    page.goto(f"{live_server}/ordercases/{case.id}")
    page.locator(f"tr[data-line-number='{quantity_line.number}'] .line-action", has_text="Accept").click()
    assert page.locator("#approved_quantity").input_value() == "8"
    page.get_by_role("dialog").get_by_role("button", name="Accept").click()
    page.wait_for_selector(f"tr[data-line-number='{quantity_line.number}'] .line-order-changes")
    row = page.locator(f"tr[data-line-number='{quantity_line.number}']")
    assert "Resolved - Accepted" in row.inner_text() and "5 → 8" in row.inner_text()

    # The order shows 8 and its ledger entry links back to the case line.
    page.goto(f"{live_server}/customerorderview/show/{order.id}")
    assert page.locator(f"#lines-table tr[data-line='{first_number}'] td").nth(5).inner_text().strip() == "8"
    entry = page.locator(f"#ledger-table tr.ledger-row[data-line='{first_number}'][data-field='quantity']")
    assert entry.locator("td").nth(3).inner_text() == "5" and entry.locator("td").nth(4).inner_text() == "8"
    entry.locator("a.ledger-case-line").click()
    page.wait_for_url(f"**/ordercases/{case.id}#line-{quantity_line.id}")

    # The order line page has the same ledger entry.
    page.goto(f"{live_server}/customerorderview/show/{order.id}")
    page.locator(f"#lines-table tr[data-line='{first_number}'] a.line-ledger-link").click()
    page.wait_for_selector("#order-line-header")
    assert page.locator("#line-quantity").inner_text() == "8"
    assert page.locator("#ledger-table a.ledger-case-line").inner_text() == quantity_line.number

    # Accept the wrong item with a replacement offering: a new order line replaces the original.
    page.goto(f"{live_server}/ordercases/{case.id}")
    page.locator(f"tr[data-line-number='{wrong_line.number}'] .line-action", has_text="Accept").click()
    page.select_option("#replacement_offering_id", label="Gadget")
    page.get_by_role("dialog").get_by_role("button", name="Accept").click()
    page.wait_for_selector(f"tr[data-line-number='{wrong_line.number}'] .line-order-changes")
    page.goto(f"{live_server}/customerorderview/show/{order.id}")
    db.session.expire_all()
    replacement = db.session.get(CustomerOrder, order.id).lines[-1]
    assert (replacement.offering_id, replacement.replaces_line_id, replacement.state) == (
        gadget.id, order.lines[1].id, OrderLineState.NEW)
    new_row = page.locator(f"#lines-table tr[data-line='{replacement.number}']")
    assert "Gadget" in new_row.inner_text() and f"replaces {second_number}" in new_row.inner_text()
    assert page.locator("#ledger-table tr.ledger-row[data-field='replacement line']").count() == 1

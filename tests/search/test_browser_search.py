"""Finding and working records in headless Chromium: the menu bar's search box (number and words, at
desktop and phone size), the managers' approvals inbox, and the export of a filtered list."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from app.core.choices import CaseState, OrderLineState, OrderState
from app.core.extensions import db
from app.models import CustomerOrder
from tests import factories

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def two_cases():
    account = factories.make_account("Browser Search Co")
    first = factories.make_case(account, state=CaseState.NEW)
    second = factories.make_case(account, state=CaseState.NEW)
    first.short_description = "Courier lost the pallet"
    second.short_description = "Invoice mismatch"
    second.description = "The hovercraft surcharge was billed twice"
    db.session.commit()
    return first, second


def search_from_menu_bar(page, text: str) -> None:
    with page.expect_navigation():
        page.fill("#global-search", text)
        page.press("#global-search", "Enter")


def test_agent_opens_a_case_by_number_and_finds_another_by_a_word(page_as, live_server, two_cases):
    first, second = two_cases
    page = page_as("agent")
    page.goto(f"{live_server}/")
    search_from_menu_bar(page, first.number.lower())
    assert page.url.endswith(f"/ordercases/{first.id}")
    assert first.number in page.content()
    search_from_menu_bar(page, "hovercraft")
    result = page.locator("#search-cases .search-hit a")
    assert result.count() == 1 and second.number in result.inner_text()
    with page.expect_navigation():
        result.click()
    assert page.url.endswith(f"/ordercases/{second.id}")


def test_the_search_box_works_at_phone_size(page_as, live_server, two_cases):
    first, _second = two_cases
    page = page_as("agent", viewport=PHONE)
    page.goto(f"{live_server}/")
    assert not page.locator("#global-search").is_visible()
    page.click(".navbar-toggle")
    page.wait_for_selector("#global-search", state="visible")
    search_from_menu_bar(page, first.number)
    assert page.url.endswith(f"/ordercases/{first.id}")


def test_manager_approves_two_orders_and_rejects_one_from_the_inbox(page_as, live_server):
    account = factories.make_account("Inbox Browser Co")
    orders = []
    for days in (4, 3, 2):
        order = factories.make_order(account, lines=1, state=OrderState.NEW, line_state=OrderLineState.NEW)
        order.order_date = dt.datetime.now() - dt.timedelta(days=days)
        orders.append(order)
    db.session.commit()
    page = page_as("manager")
    page.goto(f"{live_server}/")
    with page.expect_navigation():
        page.click("a.home-queue:has-text('Approvals')")
    assert page.url.endswith("/approvals/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.check(f"#approve-order-{orders[0].id}")
    page.check(f"#approve-order-{orders[1].id}")
    with page.expect_navigation():
        page.click("button[value=approve]")
    assert "Approve: 2 of 2 done." in page.content()
    page.check(f"#approve-order-{orders[2].id}")
    page.fill("#approvals-reason", "Customer on credit hold")
    with page.expect_navigation():
        page.click("button[value=reject]")
    assert "Reject: 1 of 1 done." in page.content()
    assert "Nothing awaits approval." in page.content()
    db.session.expire_all()
    states = [db.session.get(CustomerOrder, order.id).state for order in orders]
    assert states == [OrderState.IN_PROGRESS, OrderState.IN_PROGRESS, OrderState.REJECTED]


def test_an_export_of_a_filtered_list_holds_exactly_its_rows(page_as, live_server, tmp_path):
    account = factories.make_account("Export Browser Co")
    for index in range(6):
        case = factories.make_case(account, state=CaseState.NEW if index % 3 else CaseState.DRAFT)
        case.short_description = f"{'Scratched' if index < 4 else 'Lost'} parcel {index}"
    db.session.commit()
    page = page_as("agent")
    page.goto(f"{live_server}/ordercaseview/list/?_flt_0_state=New")
    with page.expect_navigation():
        page.fill("#quick-search", "scratched")
        page.press("#quick-search", "Enter")
    shown = re.findall(r"ORDCS\d{7}", page.locator("table.table-bordered").inner_text())
    assert 0 < len(shown) < 6
    with page.expect_download() as download:
        page.click(".list-export-csv")
    path = tmp_path / "export.csv"
    download.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0][:4] == ["Number", "Short description", "Account", "State"]
    assert [row[0] for row in rows[1:]] == shown
    assert all(row[3] == "New" and "Scratched" in row[1] for row in rows[1:])

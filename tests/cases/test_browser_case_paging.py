"""The case page's pages of lines in headless Chromium: the page links, a line button of the shared
line-action form and a bulk action on page 2 both work and come back to page 2."""
from __future__ import annotations

import pytest

from app.core.choices import CaseState, LineState
from app.core.extensions import db
from app.models import OrderCaseLine
from tests import factories

pytestmark = pytest.mark.browser


def state_of(line_id: int) -> str:
    db.session.expire_all()
    return db.session.get(OrderCaseLine, line_id).state


def test_line_buttons_on_page_2_act_and_stay_on_page_2(page_as, live_server):
    account = factories.make_account("Paging Co")
    order = factories.make_order(account, lines=70)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.NEW)
    lines = sorted(case.lines, key=lambda line: line.id)
    started, ticked = lines[55], lines[60:62]
    page = page_as("agent")

    page.goto(f"{live_server}/ordercases/{case.id}")
    assert page.locator(".line-range").inner_text() == "Lines 1–50 of 70"
    page.locator(".line-pages").first.get_by_role("link", name="Next page of lines").click()
    page.wait_for_url(f"**/ordercases/{case.id}?lines_page=2#lines")
    assert page.locator(".line-range").inner_text() == "Lines 51–70 of 70"
    assert page.locator("tr.case-line").count() == 20

    page.locator(f"tr[data-line-number='{started.number}']").get_by_role("button", name="Start work").click()
    page.wait_for_selector(f"text=Line {started.number} is in progress.")
    assert page.url.endswith(f"/ordercases/{case.id}?lines_page=2#lines")
    assert page.locator(".line-range").inner_text() == "Lines 51–70 of 70"
    assert state_of(started.id) == LineState.WORK_IN_PROGRESS

    for line in ticked:
        page.get_by_label(f"Select {line.number}").check()
    page.locator(".line-toolbar").get_by_role("button", name="Assign to me").click()
    page.wait_for_selector("text=Assign to me: 2 of 2 line(s) done.")
    assert page.url.endswith(f"/ordercases/{case.id}?lines_page=2#lines")
    db.session.expire_all()
    assert all(db.session.get(OrderCaseLine, line.id).assigned_to_id for line in ticked)

"""The approvals inbox (orders of both types and quotes awaiting a manager, oldest first), its home tile,
and the bulk order actions of the order lists: each record its own operation, each outcome reported."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from app.core.bulk import MAX_RECORDS
from app.core.choices import EnrichmentKind, OrderLineState as L, OrderState as S, OrderType, QuoteState
from app.core.exceptions import InvalidInput, PermissionDenied
from app.core.extensions import db
from app.models import CustomerOrder, EnrichmentIssue, JournalEntry, OrderLineItem, Quote, QuoteLine
from app.orders import approvals, bulk
from tests import factories


def body(response) -> str:
    return response.get_data(as_text=True)


def reload(model, record_id):
    db.session.expire_all()
    return db.session.get(model, record_id)


@pytest.fixture
def awaiting():
    account = factories.make_account("Inbox Co")
    orders = []
    for days in (3, 9, 1):
        order = factories.make_order(account, lines=1, state=S.NEW, line_state=L.NEW)
        order.order_date = dt.datetime.now() - dt.timedelta(days=days)
        orders.append(order)
    service = factories.make_order(account, lines=1, state=S.NEW, line_state=L.NEW, order_type=OrderType.SERVICE)
    service.order_date = dt.datetime.now() - dt.timedelta(days=5)
    db.session.add(EnrichmentIssue(order=service, kind=EnrichmentKind.LOCATION, reference="site-9",
                                   description="Unknown site site-9"))
    quote = Quote(account=account, contact=account.primary_contact, state=QuoteState.IN_REVIEW,
                  total_amount=Decimal("20.00"),
                  lines=[QuoteLine(offering=orders[0].lines[0].offering, quantity=2, unit_price=Decimal("10.00"))])
    db.session.add(quote)
    factories.make_order(account, lines=1, state=S.DRAFT, line_state=L.DRAFT)
    factories.make_order(account, lines=1, state=S.IN_PROGRESS)
    db.session.commit()
    return {"orders": orders, "service": service, "quote": quote}


def inbox_numbers(html: str) -> list[str]:
    return re.findall(r'<tr class="approval-row" data-number="([A-Z]+\d{7})">', html)


def test_the_inbox_lists_everything_awaiting_approval_oldest_first(client_for, awaiting):
    html = body(client_for("manager").get("/approvals/"))
    orders, service = awaiting["orders"], awaiting["service"]
    numbers = inbox_numbers(html)
    assert numbers[:4] == [orders[1].number, service.number, orders[0].number, orders[2].number]
    assert awaiting["quote"].number in numbers and len(numbers) == 5
    assert "Unknown site site-9" in html and "Service order" in html and "9 d" in html
    assert "agent" in html and "50.00 USD" in html


def test_the_home_tile_counts_what_the_inbox_lists_and_links_to_it(client_for, awaiting):
    manager = client_for("manager")
    home = body(manager.get("/"))
    count, href = re.search(r'<a class="home-queue panel panel-default" href="([^"]+)">\s*<div class="panel-body">\s*'
                            r'<span class="home-queue-count badge">(\d+)</span>\s*<h4 class="home-queue-label">'
                            r'Approvals</h4>', home).group(2, 1)
    assert href == "/approvals/"
    assert int(count) == len(inbox_numbers(body(manager.get(href)))) == 5
    assert "Approvals</h4>" not in body(client_for("agent").get("/"))


def test_a_manager_approves_two_and_rejects_one_in_one_go(client_for, awaiting):
    manager = client_for("manager")
    first, second, third = awaiting["orders"]
    done = manager.submit("/approvals/", {"decision": "approve", "ids": [f"order-{first.id}", f"order-{second.id}",
                                                                          f"quote-{awaiting['quote'].id}"]},
                          post_url="/approvals/decide", follow_redirects=True)
    html = body(done)
    assert "Approve: 3 of 3 done." in html
    assert reload(CustomerOrder, first.id).state == S.IN_PROGRESS
    assert reload(CustomerOrder, second.id).state == S.IN_PROGRESS
    assert reload(Quote, awaiting["quote"].id).state == QuoteState.APPROVED
    refused = manager.submit("/approvals/", {"decision": "reject", "ids": [f"order-{third.id}"]},
                             post_url="/approvals/decide", follow_redirects=True)
    assert "Reject needs a reason." in body(refused) and reload(CustomerOrder, third.id).state == S.NEW
    rejected = manager.submit("/approvals/", {"decision": "reject", "ids": [f"order-{third.id}"],
                                              "reason": "Credit hold"}, post_url="/approvals/decide",
                              follow_redirects=True)
    assert "Reject: 1 of 1 done." in body(rejected)
    order = reload(CustomerOrder, third.id)
    assert order.state == S.REJECTED and order.rejection_reason == "Credit hold"
    assert inbox_numbers(body(rejected)) == [awaiting["service"].number]


def test_one_refusal_does_not_hold_the_others_back(client_for, awaiting, users):
    manager = client_for("manager")
    service, first = awaiting["service"], awaiting["orders"][0]
    html = body(manager.submit("/approvals/", {"decision": "approve", "ids": [f"order-{service.id}", f"order-{first.id}"]},
                               post_url="/approvals/decide", follow_redirects=True))
    assert "Approve: 1 of 2 done, 1 refused." in html
    assert f"{service.number}: Approve is not allowed: {service.number} has 1 unresolved enrichment issue" in html
    assert reload(CustomerOrder, service.id).state == S.NEW
    assert reload(CustomerOrder, first.id).state == S.IN_PROGRESS


def test_agents_and_customers_have_no_inbox(client_for, awaiting):
    for role in ("agent", "customer"):
        assert client_for(role).get("/approvals/").status_code == 403
    # An integrator has no page session at all: sent to the login page.
    assert client_for("integrator").get("/approvals/").headers["Location"].startswith("/login/")


def test_bulk_refuses_clearly_and_writes_nothing(users, awaiting):
    from flask_appbuilder.security.sqla.models import User

    manager = db.session.get(User, users["manager"].id)
    agent = db.session.get(User, users["agent"].id)
    ids = [order.id for order in awaiting["orders"]]
    with pytest.raises(PermissionDenied):
        bulk.bulk_approve(agent, ids)
    with pytest.raises(InvalidInput):
        bulk.bulk_reject(manager, ids, "  ")
    with pytest.raises(InvalidInput):
        bulk.bulk_approve(manager, [])
    with pytest.raises(InvalidInput):
        bulk.bulk_approve(manager, ["12", "x"])
    with pytest.raises(InvalidInput):
        bulk.bulk_approve(manager, list(range(1, MAX_RECORDS + 2)))
    with pytest.raises(InvalidInput):
        approvals.decide(manager, ["order-1", "invoice-2"], True)
    assert all(reload(CustomerOrder, order_id).state == S.NEW for order_id in ids)
    outcomes = bulk.bulk_approve(manager, [ids[0], 999999])
    assert [(o.number, o.done) for o in outcomes] == [(awaiting["orders"][0].number, True), ("#999999", False)]


def test_a_quote_sent_back_keeps_the_reason(users, awaiting):
    from flask_appbuilder.security.sqla.models import User

    manager = db.session.get(User, users["manager"].id)
    outcomes = approvals.decide(manager, [f"quote-{awaiting['quote'].id}"], False, "Discount too deep")
    assert outcomes[0].done and outcomes[0].message == "sent back for revision"
    assert reload(Quote, awaiting["quote"].id).state == QuoteState.DRAFT
    note = db.session.query(JournalEntry).filter_by(record_type="quote").one()
    assert note.text == "Revise: Discount too deep"


def test_order_list_actions_approve_and_reject_with_a_reason(client_for, awaiting):
    manager = client_for("manager")
    first, second, third = awaiting["orders"]
    listed = manager.get("/customerorderview/list/")
    assert "approve_selected_menu_item" in body(listed) and "reject_selected_menu_item" in body(listed)
    assert "approve_selected_menu_item" not in body(client_for("agent").get("/customerorderview/list/"))
    approved = manager.submit("/customerorderview/list/", {"action": "approve_selected", "rowid": [first.id, second.id]},
                              post_url="/customerorderview/action_post", follow_redirects=True)
    assert "Approve: 2 of 2 done." in body(approved)
    form = manager.submit("/customerorderview/list/", {"action": "reject_selected", "rowid": [third.id]},
                          post_url="/customerorderview/action_post")
    assert third.number in body(form) and 'name="reason"' in body(form)
    rejected = manager.submit("/customerorderview/list/", {"ids": [third.id], "reason": "Duplicate"},
                              post_url="/customerorderview/bulk/reject", follow_redirects=True)
    assert "Reject: 1 of 1 done." in body(rejected)
    assert reload(CustomerOrder, third.id).state == S.REJECTED


def test_order_line_list_starts_and_completes_lines(client_for):
    account = factories.make_account("Lines Co")
    order = factories.make_order(account, lines=3, state=S.IN_PROGRESS, line_state=L.NEW)
    lines = [line.id for line in order.lines]
    agent = client_for("agent")
    started = agent.submit("/orderlineitemview/list/", {"action": "start_selected", "rowid": lines[:2]},
                           post_url="/orderlineitemview/action_post", follow_redirects=True)
    assert "Start: 2 of 2 done." in body(started)
    completed = agent.submit("/orderlineitemview/list/", {"action": "complete_selected", "rowid": lines},
                             post_url="/orderlineitemview/action_post", follow_redirects=True)
    html = body(completed)
    assert "Complete: 2 of 3 done, 1 refused." in html
    assert [reload(OrderLineItem, i).state for i in lines] == [L.COMPLETED, L.COMPLETED, L.NEW]

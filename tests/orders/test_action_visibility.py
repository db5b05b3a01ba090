"""Orders and quotes offer an action only where its workflow would allow it: the "may I" answers come from
the operations' own guards (app/orders/guards.py, the quote guards) and agree with what the operations do;
irreversible ones (Cancel order, Cancel line, Delete line, Cancel quote, Expire, Remove) ask first."""
from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from flask_appbuilder.security.sqla.models import User

from app.core.choices import OrderLineState, OrderState, QuoteState
from app.core.extensions import db
from app.models import CustomerOrder, EnrichmentIssue, Quote
from app.orders import guards
from app.orders import quotes as qwf
from app.orders import workflows as owf
from tests import factories
from tests.cases.test_action_visibility import outcome as went_through, row_buttons, user
from tests.orders.test_quotes import make_quote

ORDER_STATES = [OrderState.DRAFT, OrderState.NEW, OrderState.IN_PROGRESS, OrderState.COMPLETED,
                OrderState.CANCELLED, OrderState.REJECTED]
LINE_STATE_FOR = {OrderState.DRAFT: OrderLineState.DRAFT, OrderState.NEW: OrderLineState.NEW,
                  OrderState.IN_PROGRESS: OrderLineState.IN_PROGRESS, OrderState.COMPLETED: OrderLineState.COMPLETED,
                  OrderState.CANCELLED: OrderLineState.CANCELLED, OrderState.REJECTED: OrderLineState.CANCELLED}
OPERATIONS = {
    "submit": lambda user, order: owf.submit_order(user, order.id, order.version),
    "approve": lambda user, order: owf.approve_order(user, order.id, order.version),
    "reject": lambda user, order: owf.reject_order(user, order.id, order.version, "Out of stock"),
    "cancel": lambda user, order: owf.cancel_order(user, order.id, order.version),
    "edit": lambda user, order: owf.update_order(user, order.id, order.version, {"description": "Edited"}),
}


def an_order(state) -> CustomerOrder:
    account = factories.make_account()
    return factories.make_order(account, lines=1, state=state, line_state=LINE_STATE_FOR[state])


@pytest.mark.parametrize("role", ["agent", "manager"])
@pytest.mark.parametrize("state", ORDER_STATES)
@pytest.mark.parametrize("action", sorted(OPERATIONS))
def test_the_order_actions_offered_are_the_ones_the_operations_take(users, role, state, action):
    order = an_order(state)
    actor = user(users, role)
    offered = action in guards.order_actions(actor, order)
    assert offered == went_through(lambda: OPERATIONS[action](actor, db.session.get(CustomerOrder, order.id)))


@pytest.mark.parametrize("state", ORDER_STATES)
@pytest.mark.parametrize("action", ["start", "complete", "cancel"])
def test_the_line_actions_offered_are_the_ones_the_operations_take(users, state, action):
    order = an_order(state)
    actor = user(users, "agent")
    line = order.lines[0]
    offered = action in guards.line_actions(actor, order, line)
    operation = {"start": owf.start_line, "complete": owf.complete_line, "cancel": owf.cancel_line}[action]
    assert offered == went_through(lambda: operation(actor, line.id, line.version))


def test_cancel_order_asks_first_saying_what_will_happen(client_for):
    order = an_order(OrderState.IN_PROGRESS)
    page = client_for("agent").get(f"/customerorderview/show/{order.id}").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/customerorderview/cancel/\d+" class="inline-action"([^>]*)>', page)
    assert form, "no Cancel order form"
    attributes = dict(re.findall(r'(data-confirm[\w-]*)="([^"]*)"', unescape(form.group(1))))
    assert attributes == {
        "data-confirm-title": f"Cancel {order.number}?",
        "data-confirm": f"{order.number} will be cancelled with its 1 open line; the customer is told. "
                        "This cannot be undone.",
        "data-confirm-button": "Cancel order", "data-confirm-cancel": "Keep the order"}
    # An approved order's header is no longer editable, and no line can be added: neither is offered.
    assert ">Edit</a>" not in page.split('id="order-header"')[0] and 'id="add-line"' not in page


def test_an_order_with_a_completed_line_offers_no_cancel(client_for):
    order = an_order(OrderState.IN_PROGRESS)
    order.lines[0].state = OrderLineState.COMPLETED
    db.session.commit()
    page = client_for("agent").get(f"/customerorderview/show/{order.id}").get_data(as_text=True)
    assert "/customerorderview/cancel/" not in page


def test_the_orders_list_offers_edit_only_on_orders_whose_header_may_change(client_for):
    draft, approved = an_order(OrderState.DRAFT), an_order(OrderState.IN_PROGRESS)
    page = client_for("agent").get("/customerorderview/list/").get_data(as_text=True)
    assert "Edit" in row_buttons(page, draft.number)
    assert "Edit" not in row_buttons(page, approved.number)


def test_the_quotes_list_and_page_offer_only_what_the_quote_workflow_allows(client_for):
    account = factories.make_account()
    draft, in_review = make_quote(account), make_quote(account, state=QuoteState.IN_REVIEW)
    expired = make_quote(account, state=QuoteState.APPROVED, valid_until=dt.date.today() - dt.timedelta(days=1))
    agent = client_for("agent")
    listing = agent.get("/quoteview/list/").get_data(as_text=True)
    assert "Edit" in row_buttons(listing, draft.number) and "Edit" not in row_buttons(listing, in_review.number)

    page = agent.get(f"/quoteview/show/{draft.id}").get_data(as_text=True)
    assert "Configure</a>" in page and 'id="quote-line-start"' in page
    assert re.search(r'data-confirm-title="Cancel ' + draft.number + r'\?"', page)
    assert 'data-confirm-button="Remove line"' in page

    # An approved quote past its validity can be neither accepted nor converted: neither button shows.
    page = agent.get(f"/quoteview/show/{expired.id}").get_data(as_text=True)
    assert not qwf.may_convert(db.session.get(User, agent.login.id), db.session.get(Quote, expired.id))
    assert 'value="Accept"' not in page and "/quoteview/create_order/" not in page
    assert "Configure</a>" not in page and 'id="quote-line-start"' not in page


def test_create_task_is_offered_only_where_the_task_workflow_allows_it(client_for):
    from app.core.choices import CaseState, LineState
    from app.models import OrderCaseLine

    account = factories.make_account()
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    cancelled = db.session.get(OrderCaseLine, case.lines[1].id)
    cancelled.state = LineState.CANCELLED
    db.session.commit()
    agent = client_for("agent")
    page = agent.get(f"/ordercases/{case.id}").get_data(as_text=True)
    assert f'href="/tasks/new/line/{case.lines[0].id}"' in page
    assert f'href="/tasks/new/line/{cancelled.id}"' not in page and "case-task-create" in page
    case.state = CaseState.CLOSED
    db.session.commit()
    page = agent.get(f"/ordercases/{case.id}").get_data(as_text=True)
    assert "/tasks/new/line/" not in page and "case-task-create" not in page


def an_order_with_issues(state) -> tuple[CustomerOrder, EnrichmentIssue, EnrichmentIssue]:
    """An order of *state* with an open location issue and one already resolved."""
    order = an_order(state)
    open_issue = EnrichmentIssue(order=order, kind="location", reference="Dock 9",
                                 description="Location Dock 9 could not be matched")
    resolved = EnrichmentIssue(order=order, kind="location", reference="Dock 8", resolved=True,
                               description="Location Dock 8 could not be matched")
    db.session.add_all([open_issue, resolved])
    db.session.commit()
    return order, open_issue, resolved


def fix_forms(page: str) -> set[int]:
    return {int(issue) for issue in re.findall(r'action="/customerorderview/issue/\d+/(\d+)"', page)}


@pytest.mark.parametrize("role", ["agent", "manager", "admin"])
@pytest.mark.parametrize("state", ORDER_STATES)
def test_the_fix_form_shows_exactly_where_fixing_the_issue_would_succeed(client_for, users, role, state):
    order, open_issue, resolved = an_order_with_issues(state)
    page = client_for(role).get(f"/customerorderview/show/{order.id}").get_data(as_text=True)
    assert 'id="enrichment"' in page
    location = order.account.shipping_location
    for issue in (open_issue, resolved):
        succeeded = went_through(lambda: owf.resolve_enrichment_issue(
            user(users, role), issue.id, db.session.get(CustomerOrder, order.id).version, location.id))
        assert (issue.id in fix_forms(page)) == succeeded, (role, state, issue.description)
    # Only the open issue of an order still being captured or reviewed can be fixed.
    assert fix_forms(page) == ({open_issue.id} if state in (OrderState.DRAFT, OrderState.NEW) else set())


@pytest.mark.parametrize("state", ORDER_STATES)
def test_the_order_line_items_list_offers_edit_only_where_the_line_may_change(client_for, users, state):
    order = an_order(state)
    line = order.lines[0]
    listing = client_for("agent").get(f"/orderlineitemview/list/?_flt_0_order={order.id}").get_data(as_text=True)
    offered = "Edit" in row_buttons(listing, line.number)
    edited = went_through(lambda: owf.update_line(user(users, "agent"), line.id, line.version,
                                                   {"offering_id": line.offering_id, "quantity": 2}))
    assert offered == edited == (state in (OrderState.DRAFT, OrderState.NEW))
    assert "Delete" not in row_buttons(listing, line.number)  # lines are deleted on their order's page

"""The account page is the agent's 360° view: key figures equal to what the records say, open and recent
cases, orders, quotes, interactions, inventory, contacts and sites, the actions that start from the
account (returning to it), and a statement count that does not grow with the account's history."""
from __future__ import annotations

import datetime as dt
import html
import threading

import pytest
from sqlalchemy import event

from app.core.choices import CaseState, InteractionChannel, OrderState, QuoteState
from app.core.extensions import db
from app.models import Interaction, ProductInventory, Quote
from tests import factories


def page_of(client, account) -> str:
    response = client.get(f"/accountview/show/{account.id}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def add_history(account, orders: int) -> None:
    """*orders* more orders, each with a case, a quote, an interaction and an inventory item."""
    offering = factories.make_offering("Monitor", "100.00")
    for index in range(orders):
        order = factories.make_order(account, lines=1, offering=offering)
        factories.make_case(account, order=order, order_lines=list(order.lines),
                            state=CaseState.CLOSED if index % 2 else CaseState.NEW)
        db.session.add_all([
            Quote(account=account, state=QuoteState.DRAFT, description=f"Quote {index}"),
            Interaction(account=account, channel=InteractionChannel.PHONE, short_description=f"Call {index}"),
            ProductInventory(account=account, name=f"Monitor {index}", quantity=1, state="active"),
        ])
    db.session.commit()


def test_the_page_shows_figures_lists_and_actions(client_for):
    account = factories.make_account("Globex 360")
    this_year = factories.make_order(account, lines=2, state=OrderState.IN_PROGRESS)  # 2 × 5 × 10.00
    factories.make_order(account, lines=1, state=OrderState.COMPLETED)  # 50.00
    factories.make_order(account, lines=1, state=OrderState.CANCELLED)  # not counted
    old = factories.make_order(account, lines=1, state=OrderState.COMPLETED)
    old.order_date = dt.datetime(dt.date.today().year - 1, 6, 1)
    open_case = factories.make_case(account, order=this_year, order_lines=[this_year.lines[0]], state=CaseState.NEW)
    closed_case = factories.make_case(account, order=this_year, order_lines=[this_year.lines[1]],
                                      state=CaseState.CLOSED)
    quote = Quote(account=account, state=QuoteState.APPROVED, description="Screens")
    interaction = Interaction(account=account, channel=InteractionChannel.EMAIL, short_description="Wants screens")
    db.session.add_all([quote, interaction])
    db.session.commit()
    page = page_of(client_for("agent"), account)
    assert '<span class="figure">1</span> open cases' in page
    assert '<span class="figure">1</span> orders in flight' in page
    assert '<span class="figure">150.00</span> ordered this year' in page
    assert '<span class="figure">1</span> open quotes' in page
    for shown in (open_case.number, closed_case.number, this_year.number, old.number, quote.number,
                  interaction.number, "Wants screens", "Pat Buyer", "HQ", "Springfield"):
        assert shown in page, shown
    here = f"/accountview/show/{account.id}"
    for label in ("New order", "New quote", "New case", "New interaction"):
        assert f">{label}</a>" in page, label
    assert f"/customerorderview/add?account_id={account.id}&next=/accountview/show/{account.id}" in page
    assert f"/ordercases/create/?origin=list&for_account={account.id}&next={here}" in page


def test_each_action_started_from_the_account_leads_back_to_it(client_for):
    account = factories.make_account("Return Co")
    agent = client_for("agent")
    here = f"/accountview/show/{account.id}"
    order_form = html.unescape(agent.get(f"/customerorderview/add?account_id={account.id}&next={here}")
                               .get_data(as_text=True))
    assert f'href="{here}">Back</a>' in order_form
    quote_form = html.unescape(agent.get(f"/quoteview/add?account_id={account.id}&next={here}").get_data(as_text=True))
    assert f'href="{here}">Back</a>' in quote_form
    factories.make_service()
    service_id = factories.make_service().id
    intake = html.unescape(agent.get(f"/ordercases/create/intake?origin=list&for_account={account.id}&next={here}"
                                     f"&service_id={service_id}").get_data(as_text=True))
    assert f'href="{here}">Back</a>' in intake
    assert f'<option value="{account.id}" selected>' in intake
    # A foreign or odd "next" is never followed.
    evil = html.unescape(agent.get(f"/customerorderview/add?account_id={account.id}&next=//evil.test/")
                         .get_data(as_text=True))
    assert "evil.test" not in evil
    # An interaction recorded from the account returns to the account page.
    agent.get(here)
    saved = agent.submit(f"/interactionview/add?_flt_0_account={account.id}", {
        "channel": InteractionChannel.PHONE, "short_description": "Asked about delivery", "state": "new"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(here)
    assert db.session.query(Interaction).filter_by(account_id=account.id).one().short_description == \
        "Asked about delivery"


def test_the_page_costs_the_same_statements_however_long_the_history(client_for):
    agent = client_for("agent")
    small, large = factories.make_account("Small history"), factories.make_account("Long history")
    add_history(small, 1)
    add_history(large, 12)
    pages = {"small": f"/accountview/show/{small.id}", "large": f"/accountview/show/{large.id}"}
    counts = []
    for size in ("small", "large", "small"):
        statements = []
        # The request's own statements: the test client serves it in this thread, while the Service
        # Exchange's background sender polls the same engine from its own.
        serving = threading.get_ident()

        def count(conn, cursor, statement, parameters, context, executemany):
            if threading.get_ident() == serving:
                statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert agent.get(pages[size]).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1] == counts[2], counts
    page = page_of(agent, large)
    assert "Monitor 11" in page and "Quote 11" in page and "Call 11" in page


@pytest.mark.parametrize("role, status", [("agent", 200), ("manager", 200), ("customer", 403)])
def test_who_may_open_the_account_page(client_for, role, status):
    account = factories.make_account("Allowed Co")
    assert client_for(role).get(f"/accountview/show/{account.id}").status_code == status

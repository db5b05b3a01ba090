"""Quotes: lines and totals, every state transition from every state, and the one-time order conversion."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from flask_appbuilder.security.sqla.models import User

from app.orders import quotes as qwf
from app.core.choices import LineAction, OrderChannel, OrderLineState, OrderState, QuoteState
from app.core.exceptions import InvalidInput, PermissionDenied, StateConflict, VersionConflict
from app.core.extensions import db
from app.models import CustomerOrder, Quote, QuoteLine
from tests import factories
from tests.conftest import IS_POSTGRES
from tests.orders.test_order_workflows import as_user, refused

Q = QuoteState


@pytest.fixture
def account():
    return factories.make_account("Quote Co")


def make_quote(account, state=Q.DRAFT, lines=2, valid_until=None) -> Quote:
    offering = factories.make_offering("Desk", price="120.00")
    quote = Quote(account=account, contact=account.primary_contact, state=state, description="Office fit-out",
                  valid_until=valid_until or dt.date.today() + dt.timedelta(days=30))
    quote.lines = [QuoteLine(offering=offering, quantity=i + 1, unit_price=offering.unit_price) for i in range(lines)]
    quote.total_amount = sum((line.unit_price * line.quantity for line in quote.lines), Decimal("0"))
    db.session.add(quote)
    db.session.commit()
    return quote


def test_create_quote_and_lines_recompute_total(users, account):
    agent = as_user(users, "agent")
    quote = qwf.create_quote(agent, {"account_id": account.id, "valid_until": "2030-01-31"})
    assert quote.state == Q.DRAFT and quote.contact_id == account.primary_contact_id
    chair = factories.make_offering("Chair", price="45.50")
    line = qwf.add_quote_line(agent, quote.id, quote.version, chair.id, 4)
    db.session.expire_all()
    assert quote.total_amount == Decimal("182.00")
    refused(qwf.add_quote_line, InvalidInput, agent, quote.id, quote.version, chair.id, 0, fragment="at least 1")
    refused(qwf.add_quote_line, InvalidInput, agent, quote.id, quote.version, "", 1, fragment="needs an offering")
    qwf.remove_quote_line(agent, line.id, quote.version)
    db.session.expire_all()
    assert quote.lines == [] and quote.total_amount == Decimal("0")


TRANSITIONS = {
    # action → (allowed from, to, role)
    "Submit for review": ({Q.DRAFT}, Q.IN_REVIEW, "agent"),
    "Approve quote": ({Q.IN_REVIEW}, Q.APPROVED, "manager"),
    "Revise": ({Q.IN_REVIEW, Q.APPROVED}, Q.DRAFT, "agent"),
    "Accept": ({Q.APPROVED}, Q.ACCEPTED, "agent"),
    "Expire": ({Q.DRAFT, Q.IN_REVIEW, Q.APPROVED}, Q.EXPIRED, "agent"),
    "Cancel quote": ({Q.DRAFT, Q.IN_REVIEW, Q.APPROVED}, Q.CANCELLED, "agent"),
}


@pytest.mark.parametrize("state", Q.ALL)
@pytest.mark.parametrize("action", TRANSITIONS)
def test_quote_transition_from_every_state(users, account, action, state):
    allowed, target, role = TRANSITIONS[action]
    quote = make_quote(account, state=state)
    user = as_user(users, role)
    if state in allowed:
        qwf.change_quote_state(user, quote.id, quote.version, action)
        db.session.expire_all()
        assert quote.state == target
    else:
        refused(qwf.change_quote_state, StateConflict, user, quote.id, quote.version, action,
                fragment=f"{quote.number} is {state}")


def test_agent_cannot_approve_a_quote(users, account):
    quote = make_quote(account, state=Q.IN_REVIEW)
    refused(qwf.change_quote_state, PermissionDenied, as_user(users, "agent"), quote.id, quote.version,
            "Approve quote", fragment="needs the manager role")


def test_submit_for_review_needs_a_line(users, account):
    quote = make_quote(account, lines=0)
    refused(qwf.change_quote_state, StateConflict, as_user(users, "agent"), quote.id, quote.version,
            "Submit for review", fragment="has no lines")


def test_expired_quote_cannot_be_accepted(users, account):
    quote = make_quote(account, state=Q.APPROVED, valid_until=dt.date.today() - dt.timedelta(days=1))
    refused(qwf.change_quote_state, StateConflict, as_user(users, "agent"), quote.id, quote.version, "Accept",
            fragment="expired on")


def test_lines_are_frozen_outside_draft(users, account):
    quote = make_quote(account, state=Q.IN_REVIEW)
    refused(qwf.add_quote_line, StateConflict, as_user(users, "agent"), quote.id, quote.version,
            quote.lines[0].offering_id, 1, fragment="is in review")


def test_accepted_quote_converts_once(users, account):
    quote = make_quote(account, state=Q.ACCEPTED)
    agent = as_user(users, "agent")
    order = qwf.create_order_from_quote(agent, quote.id, quote.version)
    db.session.expire_all()
    assert quote.order_id == order.id
    assert order.channel == OrderChannel.QUOTE and order.state == OrderState.DRAFT
    assert order.account_id == account.id and order.contact_id == quote.contact_id
    assert [(line.quantity, line.unit_price, line.action, line.state) for line in order.lines] == [
        (1, Decimal("120.00"), LineAction.ADD, OrderLineState.DRAFT),
        (2, Decimal("120.00"), LineAction.ADD, OrderLineState.DRAFT),
    ]
    assert order.total_amount == quote.total_amount == Decimal("360.00")
    message = refused(qwf.create_order_from_quote, StateConflict, agent, quote.id, quote.version,
                      fragment="already converted")
    assert order.number in message
    assert db.session.query(CustomerOrder).count() == 1


@pytest.mark.parametrize("state", [s for s in Q.ALL if s not in (Q.ACCEPTED, Q.APPROVED)])
def test_only_approved_or_accepted_quotes_convert(users, account, state):
    quote = make_quote(account, state=state)
    refused(qwf.create_order_from_quote, StateConflict, as_user(users, "agent"), quote.id, quote.version,
            fragment="Create order is not allowed")


@pytest.mark.parametrize("role", ["customer", "integrator"])
def test_customer_and_integrator_cannot_convert(users, account, role):
    quote = make_quote(account, state=Q.ACCEPTED)
    refused(qwf.create_order_from_quote, PermissionDenied, as_user(users, role), quote.id, quote.version)


def test_stale_quote_version_is_refused(users, account):
    quote = make_quote(account, state=Q.ACCEPTED)
    refused(qwf.create_order_from_quote, VersionConflict, as_user(users, "agent"), quote.id, quote.version + 1)


# ---------------------------------------------------------------------------------------------
# Through the quote page (HTTP, CSRF on)
# ---------------------------------------------------------------------------------------------

def press(client, quote, path, data, form_url=None):
    return client.submit(form_url or f"/quoteview/show/{quote.id}", data, post_url=f"/quoteview/{path}/{quote.id}",
                         follow_redirects=True)


def test_quote_form_and_lines_over_http(client_for, account):
    from tests.orders.test_order_workflows import dump

    agent = client_for("agent")
    before = dump()
    response = agent.submit("/quoteview/add", {"account_id": "", "currency": "USD"})
    assert response.status_code == 422 and "needs an account" in response.get_data(as_text=True)
    assert dump() == before
    response = agent.submit("/quoteview/add", {"account_id": account.id, "currency": "USD",
                                               "valid_until": "2031-01-01", "description": "Chairs"})
    assert response.status_code == 302
    quote = db.session.query(Quote).one()
    offering = factories.make_offering("Chair", price="40.00")
    page = press(agent, quote, "line", {"version": quote.version, "offering_id": offering.id, "quantity": "0"})
    assert page.status_code == 422 and "Quantity must be at least 1 (got 0)." in page.get_data(as_text=True)
    page = press(agent, quote, "line", {"version": quote.version, "offering_id": offering.id, "quantity": "5"})
    assert "Line saved: 5 × Chair." in page.get_data(as_text=True)
    db.session.expire_all()
    assert quote.total_amount == Decimal("200.00")


def test_quote_buttons_over_http(client_for, account):
    quote = make_quote(account, state=Q.IN_REVIEW)
    agent, manager = client_for("agent"), client_for("manager")
    page = press(agent, quote, "transition", {"version": quote.version, "action": "Approve quote"})
    assert "Approve quote is not allowed: it needs the manager role." in page.get_data(as_text=True)
    page = press(manager, quote, "transition", {"version": quote.version, "action": "Approve quote"})
    assert f"Approve quote: quote {quote.number} is now approved." in page.get_data(as_text=True)
    db.session.expire_all()
    assert quote.state == Q.APPROVED
    # The page says what the approved state means and offers the next step: Create order.
    shown = agent.get(f"/quoteview/show/{quote.id}").get_data(as_text=True)
    assert "Create order records their acceptance and creates the order" in shown
    assert ">Create order</button>" in shown and ">Accept</button>" in shown
    page = press(agent, quote, "create_order", {"version": quote.version})
    db.session.expire_all()
    order = db.session.query(CustomerOrder).one()
    assert f"Order {order.number} created from quote {quote.number}." in page.get_data(as_text=True)
    assert quote.state == Q.ACCEPTED
    # A second press (a stale tab or a double click): the quote page no longer offers the button.
    assert ">Create order</button>" not in agent.get(f"/quoteview/show/{quote.id}").get_data(as_text=True)
    page = press(agent, quote, "create_order", {"version": quote.version}, form_url="/quoteview/add")
    assert f"already converted into order {order.number}" in page.get_data(as_text=True)
    assert db.session.query(CustomerOrder).count() == 1


@pytest.mark.postgres_only
@pytest.mark.skipif(not IS_POSTGRES, reason="concurrent conversion needs PostgreSQL (set TEST_DATABASE_URL)")
def test_concurrent_conversions_create_one_order(app, users, account):
    quote = make_quote(account, state=Q.ACCEPTED)
    quote_id, version, user_id = quote.id, quote.version, users["agent"].id
    threads_count = 4
    start = threading.Barrier(threads_count)
    outcomes: list[str] = []

    def convert():
        with app.app_context():
            try:
                start.wait(timeout=30)
                qwf.create_order_from_quote(db.session.get(User, user_id), quote_id, version)
                outcomes.append("created")
            except (StateConflict, VersionConflict) as refusal:
                outcomes.append(type(refusal).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=convert) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes).count("created") == 1 and len(outcomes) == threads_count
    db.session.expire_all()
    assert db.session.query(CustomerOrder).count() == 1


# ---------------------------------------------------------------------------------------------
# Configured quote lines: validated like order lines, copied onto the order on conversion
# ---------------------------------------------------------------------------------------------

def visit_offering():
    """An installation service whose visit window is required (the example of the issue)."""
    from app.models import CharacteristicDefinition, ProductOffering, ProductSpecification

    spec = ProductSpecification(name="On-site installation", kind="service")
    spec.characteristics = [
        CharacteristicDefinition(name="Visit window", allowed_values="Morning,Afternoon", required=True),
        CharacteristicDefinition(name="Technicians", value_type="number"),
    ]
    offering = ProductOffering(name="Installation visit", specification=spec, unit_price=Decimal("90.00"))
    db.session.add(offering)
    db.session.commit()
    return offering


def test_quote_lines_are_validated_like_order_lines_and_keep_their_configuration(users, account):
    from app.orders import workflows as owf

    agent, manager = as_user(users, "agent"), as_user(users, "manager")
    offering = visit_offering()
    quote = qwf.create_quote(agent, {"account_id": account.id})
    refused(qwf.add_quote_line, InvalidInput, agent, quote.id, quote.version, offering.id, 1, {},
            fragment="Visit window: a value is required")
    with pytest.raises(InvalidInput) as missing:
        qwf.add_quote_line(agent, quote.id, quote.version, offering.id, 1, {"Technicians": "2"})
    assert missing.value.field_errors == {"char:Visit window": "a value is required"}
    refused(qwf.add_quote_line, InvalidInput, agent, quote.id, quote.version, offering.id, 1,
            {"Visit window": "Midnight"}, fragment="not allowed")
    line = qwf.add_quote_line(agent, quote.id, quote.version, offering.id, 2, {"Visit window": "Morning"})
    qwf.update_quote_line(agent, line.id, db.session.get(Quote, quote.id).version, 3,
                          {"Visit window": "Afternoon", "Technicians": "2"})
    db.session.expire_all()
    line = db.session.get(QuoteLine, line.id)
    assert [(c.name, c.value) for c in line.characteristics] == [("Visit window", "Afternoon"), ("Technicians", "2")]
    assert line.quote.total_amount == Decimal("270.00")
    for action, user in (("Submit for review", agent), ("Approve quote", manager)):
        qwf.change_quote_state(user, quote.id, db.session.get(Quote, quote.id).version, action)
    order = qwf.create_order_from_quote(agent, quote.id, db.session.get(Quote, quote.id).version)
    db.session.expire_all()
    order = db.session.get(CustomerOrder, order.id)
    assert [(c.name, c.value) for c in order.lines[0].characteristics] == [
        ("Visit window", "Afternoon"), ("Technicians", "2")]
    assert db.session.get(Quote, quote.id).state == Q.ACCEPTED
    # The converted order is ready to submit as it is: nothing to re-enter.
    owf.submit_order(agent, order.id, order.version)
    assert db.session.get(CustomerOrder, order.id).state == OrderState.NEW


def test_an_expired_approved_quote_cannot_be_ordered(users, account):
    quote = make_quote(account, state=Q.APPROVED, valid_until=dt.date.today() - dt.timedelta(days=1))
    refused(qwf.create_order_from_quote, StateConflict, as_user(users, "agent"), quote.id, quote.version,
            fragment="expired on")
    assert db.session.query(CustomerOrder).count() == 0


def test_the_quote_line_form_asks_for_the_characteristics_over_http(client_for, account):
    agent = client_for("agent")
    offering = visit_offering()
    agent.submit("/quoteview/add", {"account_id": account.id, "currency": "USD"})
    quote = db.session.query(Quote).one()
    form = agent.get(f"/quoteview/line/{quote.id}?offering_id={offering.id}&quantity=2").get_data(as_text=True)
    assert 'name="char:Visit window"' in form and "Morning" in form and "Visit window *" in form
    refused_page = agent.submit(f"/quoteview/line/{quote.id}?offering_id={offering.id}",
                                {"version": quote.version, "offering_id": offering.id, "quantity": "2"})
    assert refused_page.status_code == 422
    assert "Visit window: a value is required" in refused_page.get_data(as_text=True)
    assert db.session.query(QuoteLine).count() == 0
    saved = agent.submit(f"/quoteview/line/{quote.id}?offering_id={offering.id}",
                         {"version": quote.version, "offering_id": offering.id, "quantity": "2",
                          "char:Visit window": "Morning"}, follow_redirects=True)
    page = saved.get_data(as_text=True)
    assert "Line saved: 2 × Installation visit." in page and "Visit window: Morning" in page
    assert "Being prepared: add and configure its lines" in page
    line = db.session.query(QuoteLine).one()
    edit = agent.get(f"/quoteview/line/{quote.id}/edit/{line.id}").get_data(as_text=True)
    assert 'value="Morning" selected' in edit

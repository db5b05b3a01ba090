"""Orders tell the customer what happened to them: submitted, approved, rejected (with the reason),
each line fulfilled, the order completed or cancelled — queued in the outbox in the same transaction
and shown in the portal; the reject form warns that its reason is the customer's to read."""
from __future__ import annotations

import pytest
from flask_appbuilder.security.sqla.models import User

from app.core.choices import OrderLineState, OrderState
from app.core.extensions import db
from app.models import Notification
from app.orders import workflows as wf
from app.sla.notifications import NotificationEvent as E
from tests import factories
from tests.orders.test_order_http import order_page, press, reload, text

S, L = OrderState, OrderLineState


def person(users, role) -> User:
    return db.session.get(User, users[role].id)


def notices(order) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(n.event, n.recipient_email) for n in db.session.query(Notification)
            .filter_by(record_type="customer_order", record_id=order.id).order_by(Notification.id)]


@pytest.fixture
def account():
    return factories.make_account("Initech")


def test_the_customer_hears_of_every_step_from_submission_to_completion(users, account):
    agent, manager = person(users, "agent"), person(users, "manager")
    email = account.primary_contact.email
    order = factories.make_order(account, lines=2, state=S.DRAFT, line_state=L.DRAFT)
    wf.submit_order(agent, order.id, order.version)
    assert notices(order) == [(E.ORDER_SUBMITTED, email)]
    wf.approve_order(manager, order.id, reload(order).version)
    first, second = reload(order).lines
    for line in (first, second):
        wf.start_line(agent, line.id, reload(line).version)
        wf.complete_line(agent, line.id, reload(line).version)
    assert [event for event, _ in notices(order)] == [
        E.ORDER_SUBMITTED, E.ORDER_APPROVED, E.ORDER_LINE_COMPLETED, E.ORDER_LINE_COMPLETED, E.ORDER_COMPLETED]
    completed = db.session.query(Notification).filter_by(event=E.ORDER_LINE_COMPLETED).order_by(Notification.id).first()
    assert first.number in completed.subject and order.number in completed.body
    assert f"/portal/orders/{order.id}/" in completed.body


def test_a_rejection_tells_the_customer_the_reason(users, account):
    order = factories.make_order(account, lines=1, state=S.NEW, line_state=L.NEW)
    wf.reject_order(person(users, "manager"), order.id, order.version, "We no longer sell to this region")
    (notice,) = db.session.query(Notification).filter_by(record_id=order.id, record_type="customer_order").all()
    assert notice.event == E.ORDER_REJECTED
    assert "The reason: We no longer sell to this region" in notice.body


def test_cancelling_the_order_or_its_last_open_line_tells_the_customer(users, account):
    agent = person(users, "agent")
    order = factories.make_order(account, lines=1, state=S.NEW, line_state=L.NEW)
    wf.cancel_order(agent, order.id, order.version, reason="internal: duplicate")
    (notice,) = notices(order)
    assert notice[0] == E.ORDER_CANCELLED
    assert "internal" not in db.session.query(Notification).one().body
    other = factories.make_order(account, lines=1, state=S.NEW, line_state=L.NEW)
    wf.cancel_line(agent, other.lines[0].id, other.lines[0].version)
    assert [event for event, _ in notices(other)] == [E.ORDER_CANCELLED]


def test_a_refused_action_queues_nothing(users, account):
    order = factories.make_order(account, lines=1, state=S.DRAFT, line_state=L.DRAFT)
    with pytest.raises(Exception):
        wf.approve_order(person(users, "manager"), order.id, order.version)
    assert notices(order) == []


# ----------------------------------------------------------------------------------------------------
# Through HTTP: the reject form, the portal


def test_reject_form_says_the_reason_is_shown_and_the_portal_shows_it(client_for, users, account):
    account.primary_contact.user_id = users["customer"].id
    db.session.commit()
    order = factories.make_order(account, lines=1, state=S.NEW, line_state=L.NEW)
    manager = client_for("manager")
    page = text(manager.get(order_page(order)))
    assert "The reason is shown to the customer in the portal and sent to them." in page
    press(manager, order, f"reject/{order.id}", {"version": order.version, "reason": "Credit limit reached"})
    assert reload(order).state == S.REJECTED
    customer = client_for("customer")
    portal_order = text(customer.get(f"/portal/orders/{order.id}/"))
    assert f"Your order {order.number} was rejected" in portal_order
    assert "The reason: Credit limit reached" in portal_order
    home = text(customer.get("/portal/"))
    assert f"Your order {order.number} was rejected" in home


def test_approve_and_complete_buttons_queue_the_notices(client_for, users, account):
    order = factories.make_order(account, lines=1, state=S.NEW, line_state=L.NEW)
    press(client_for("manager"), order, f"approve/{order.id}", {"version": order.version})
    agent = client_for("agent")
    line = reload(order).lines[0]
    press(agent, order, f"line/{order.id}/start/{line.id}", {"version": line.version})
    press(agent, order, f"line/{order.id}/complete/{line.id}", {"version": reload(line).version})
    assert [event for event, _ in notices(order)] == [E.ORDER_APPROVED, E.ORDER_LINE_COMPLETED, E.ORDER_COMPLETED]

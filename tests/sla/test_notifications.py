"""The outbox against a real SMTP server on loopback: every event's message reaches the right address,
and nothing is lost while the server is down (back-off, then delivery once it is back)."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import time

import pytest
from aiosmtpd.controller import Controller

from app.sla import notifications
from app.core.choices import CaseState, NotificationState
from app.core.extensions import db
from app.models import CaseTask, Notification
from app.sla.notifications import NotificationEvent
from tests import factories

NOW = dt.datetime(2026, 5, 4, 9, 0)


class Inbox:
    """An aiosmtpd handler keeping every delivered message."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def to(self, address: str):
        return [message for recipients, message in self.messages if address in recipients]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
        # The port must refuse connections before the test goes on.
        for _ in range(50):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)


@pytest.fixture
def mail_config(app):
    saved = {key: app.config.get(key) for key in ("MAIL_SERVER", "MAIL_PORT", "MAIL_FROM", "MAIL_USE_TLS")}
    yield app.config
    app.config.update(saved)


@pytest.fixture
def smtp(mail_config):
    server = SmtpServer(free_port())
    server.start()
    mail_config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_FROM="desk@orderdesk.test",
                       MAIL_USE_TLS=False)
    yield server
    server.stop()


@pytest.fixture
def case(users):
    account = factories.make_account("Globex")
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.WORK_IN_PROGRESS)
    case.priority = 2
    case.short_description = "Deliver 10 units earlier"
    case.assigned_to_id = users["agent"].id
    case.resolution_code = "Change approved"
    case.resolution_notes = "Both lines now ship on 12 May."
    db.session.commit()
    return case


EVENT_CONTEXT = {
    NotificationEvent.CASE_ASSIGNED: {},
    NotificationEvent.NEEDS_ATTENTION: {"reason": "The customer called twice today."},
    NotificationEvent.INFORMATION_REQUESTED: {"question": "Which warehouse should receive the goods?"},
    NotificationEvent.SOLUTION_PROPOSED: {},
    NotificationEvent.CASE_CLOSED: {},
    NotificationEvent.TASK_ASSIGNED: {},
    NotificationEvent.SLA_AT_RISK: {"sla_name": "Case response 4 h", "elapsed_percent": "80", "due": NOW},
    NotificationEvent.SLA_BREACHED: {"sla_name": "Case response 4 h", "due": NOW, "breached": NOW},
}

# What each event's message must say beyond the case facts every message carries.
EVENT_TEXT = {
    NotificationEvent.CASE_ASSIGNED: ("assigned to you",),
    NotificationEvent.NEEDS_ATTENTION: ("needs attention", "The customer called twice today."),
    NotificationEvent.INFORMATION_REQUESTED: ("Which warehouse should receive the goods?",),
    NotificationEvent.SOLUTION_PROPOSED: ("Change approved", "Both lines now ship on 12 May."),
    NotificationEvent.CASE_CLOSED: ("has been closed",),
    NotificationEvent.TASK_ASSIGNED: ("Check stock in Leeds", "has been assigned to you"),
    NotificationEvent.SLA_AT_RISK: ("Case response 4 h", "80%", "2026-05-04 09:00 UTC"),
    NotificationEvent.SLA_BREACHED: ("Case response 4 h", "was breached at 2026-05-04 09:00 UTC"),
}


# The order notices are about orders, not cases: tests/orders/test_order_notices.py covers them.
CASE_EVENTS = tuple(e for e in NotificationEvent.ALL
                    if e not in (*NotificationEvent.ORDER_EVENTS, NotificationEvent.PORTAL_INVITATION))


def test_every_event_reaches_its_recipient_with_the_case_facts(smtp, case, users):
    task = CaseTask(case=case, subject="Check stock in Leeds", assigned_to_id=users["manager"].id)
    db.session.add(task)
    db.session.commit()
    agent_email = f"{users['agent'].username}@example.test"
    manager_email = f"{users['manager'].username}@example.test"
    contact_email = case.contact.email
    expected_recipient = {
        NotificationEvent.CASE_ASSIGNED: agent_email,
        NotificationEvent.NEEDS_ATTENTION: agent_email,
        NotificationEvent.INFORMATION_REQUESTED: contact_email,
        NotificationEvent.SOLUTION_PROPOSED: contact_email,
        NotificationEvent.CASE_CLOSED: contact_email,
        NotificationEvent.TASK_ASSIGNED: manager_email,
        NotificationEvent.SLA_AT_RISK: agent_email,
        NotificationEvent.SLA_BREACHED: agent_email,
    }
    assert set(expected_recipient) == set(CASE_EVENTS)
    for event in CASE_EVENTS:
        record = task if event == NotificationEvent.TASK_ASSIGNED else case
        queued = notifications.notify(event, record, now=NOW, **EVENT_CONTEXT[event])
        assert [n.recipient_email for n in queued] == [expected_recipient[event]], event
    db.session.commit()

    report = notifications.send_queued(NOW)
    assert report.sent == len(CASE_EVENTS) and report.failed_attempts == 0
    assert len(smtp.inbox.messages) == len(CASE_EVENTS)
    by_event = {message["X-Orderdesk-Event"]: (recipients, message) for recipients, message in smtp.inbox.messages}
    for event in CASE_EVENTS:
        recipients, message = by_event[event]
        assert recipients == [expected_recipient[event]]
        assert message["To"] == expected_recipient[event]
        assert message["From"] == "desk@orderdesk.test"
        body = message.get_content()
        subject = message["Subject"]
        assert case.number in subject or task.number in subject, subject
        for fact in (case.number, "Deliver 10 units earlier", "Work in Progress", "2 - High"):
            assert fact in body, (event, fact)
        for text in EVENT_TEXT[event]:
            assert text in subject + body, (event, text)
        link = f"/casetaskview/show/{task.id}" if event == NotificationEvent.TASK_ASSIGNED \
            else f"/ordercaseview/show/{case.id}"
        assert link in body
    rows = db.session.query(Notification).all()
    assert {row.state for row in rows} == {NotificationState.SENT}
    assert all(row.sent_on == NOW and row.attempts == 1 and row.last_error is None for row in rows)


def test_queue_accepts_a_plain_address_and_skips_a_recipient_without_one(case):
    assert notifications.queue(NotificationEvent.CASE_CLOSED, "buyer@globex.test", case, now=NOW).recipient_email \
        == "buyer@globex.test"
    case.contact.email = None
    assert notifications.queue(NotificationEvent.CASE_CLOSED, case.contact, case, now=NOW) is None
    assert notifications.notify(NotificationEvent.CASE_CLOSED, case, now=NOW) == []


def test_an_unassigned_case_notifies_its_groups_manager(case, users):
    group = factories.make_group("Order desk EMEA", [users["agent"].id])
    group.manager_id = users["manager"].id
    case.assignment_group = group
    case.assigned_to_id = None
    db.session.commit()
    (queued,) = notifications.notify(NotificationEvent.SLA_AT_RISK, case, now=NOW, sla_name="x")
    assert queued.recipient_user_id == users["manager"].id


def test_a_rolled_back_action_leaves_no_message(case):
    notifications.notify(NotificationEvent.CASE_ASSIGNED, case, now=NOW)
    db.session.rollback()
    assert db.session.query(Notification).count() == 0


def test_an_unknown_event_is_refused(case):
    with pytest.raises(ValueError):
        notifications.queue("case exploded", "a@b.test", case)


def test_without_a_mail_server_messages_stay_queued(mail_config, case):
    mail_config["MAIL_SERVER"] = ""
    notifications.notify(NotificationEvent.CASE_ASSIGNED, case, now=NOW)
    db.session.commit()
    report = notifications.send_queued(NOW + dt.timedelta(hours=1))
    assert report.waiting and report.sent == 0
    row = db.session.query(Notification).one()
    assert row.state == NotificationState.QUEUED and row.attempts == 0


def test_a_down_server_backs_off_and_delivers_once_it_is_back(smtp, case):
    smtp.stop()
    notifications.notify(NotificationEvent.CASE_ASSIGNED, case, now=NOW)
    db.session.commit()
    row = db.session.query(Notification).one()

    clock = NOW
    for attempt, delay in enumerate((1, 2, 4), start=1):
        report = notifications.send_queued(clock)
        assert (report.sent, report.failed_attempts) == (0, 1)
        db.session.refresh(row)
        assert row.state == NotificationState.QUEUED and row.attempts == attempt
        assert "unavailable" in row.last_error
        assert row.next_attempt_at == clock + dt.timedelta(minutes=delay)
        # Not due yet: nothing is attempted.
        assert notifications.send_queued(row.next_attempt_at - dt.timedelta(seconds=1)).failed_attempts == 0
        clock = row.next_attempt_at

    smtp.start()
    report = notifications.send_queued(clock)
    assert report.sent == 1
    db.session.refresh(row)
    assert row.state == NotificationState.SENT and row.attempts == 4 and row.last_error is None
    assert [m["Subject"] for m in smtp.inbox.to(row.recipient_email)] == [row.subject]
    # Sent once only.
    assert notifications.send_queued(clock + dt.timedelta(hours=1)).sent == 0
    assert len(smtp.inbox.messages) == 1


def test_after_the_last_attempt_the_message_fails_visibly_and_an_admin_can_retry(smtp, case, mail_config):
    smtp.stop()
    mail_config["MAIL_MAX_ATTEMPTS"] = 3
    try:
        notifications.notify(NotificationEvent.CASE_ASSIGNED, case, now=NOW)
        db.session.commit()
        row = db.session.query(Notification).one()
        for _ in range(3):
            notifications.send_queued(row.next_attempt_at)
            db.session.refresh(row)
        assert row.state == NotificationState.FAILED and row.attempts == 3
        assert notifications.send_queued(NOW + dt.timedelta(days=1)).failed_attempts == 0
    finally:
        mail_config.pop("MAIL_MAX_ATTEMPTS")

    smtp.start()
    notifications.retry(row, NOW + dt.timedelta(days=1))
    db.session.commit()
    assert notifications.send_queued(NOW + dt.timedelta(days=1)).sent == 1
    assert len(smtp.inbox.messages) == 1


def test_back_off_doubles_up_to_an_hour():
    assert [notifications.retry_delay(n).total_seconds() / 60 for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_one_refused_recipient_does_not_hold_back_the_others(smtp, case):
    class Picky(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("nobody@"):
                return "550 No such user here"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    smtp.stop()
    smtp.inbox = Picky()
    smtp.start()
    notifications.queue(NotificationEvent.CASE_CLOSED, "nobody@globex.test", case, now=NOW)
    notifications.queue(NotificationEvent.CASE_CLOSED, "buyer@globex.test", case, now=NOW)
    db.session.commit()
    report = notifications.send_queued(NOW)
    assert (report.sent, report.failed_attempts) == (1, 1)
    states = {n.recipient_email: (n.state, n.attempts) for n in db.session.query(Notification)}
    assert states == {"nobody@globex.test": (NotificationState.QUEUED, 1),
                      "buyer@globex.test": (NotificationState.SENT, 1)}
    assert "550" in db.session.query(Notification).filter_by(recipient_email="nobody@globex.test").one().last_error

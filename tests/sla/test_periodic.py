"""The periodic job: SLA stages move and notify once, queued mail goes out, and Resolved cases the
customer left unanswered are closed after AUTO_CLOSE_RESOLVED_DAYS days (never when 0)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from app.sla import clocks as sla
from app.core.choices import CaseState, JournalKind, LineState, NotificationState, SlaStage
from app.core.extensions import db
from app.models import AuditEvent, JournalEntry, Notification, OrderCase, TaskSla
from app.sla.notifications import NotificationEvent
from app.operations.periodic import ADVISORY_LOCK_KEY, run_periodic_work
from app.sla.periodic import AUTO_CLOSE_ACTION
from tests import factories
from tests.sla.test_notifications import SmtpServer, free_port

T0 = dt.datetime(2026, 6, 1, 8, 0)


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


@pytest.fixture
def smtp(app):
    saved = {key: app.config.get(key) for key in ("MAIL_SERVER", "MAIL_PORT", "AUTO_CLOSE_RESOLVED_DAYS")}
    server = SmtpServer(free_port())
    server.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    yield server
    server.stop()
    app.config.update(saved)


class Report:
    """What the SLA, auto-close and mail tasks of one run did."""

    def __init__(self, outcome):
        self.skipped, self.summary = outcome.skipped, outcome.summary
        assert outcome.skipped or outcome.ok, outcome.summary()
        sla_report = outcome.result("SLA stages and notices")
        self.sla_changes, self.at_risk_notices, self.breach_notices = (
            (sla_report.sla_changes, sla_report.at_risk_notices, sla_report.breach_notices) if sla_report else (0, 0, 0))
        self.auto_closed = outcome.result("Auto-close").closed if not outcome.skipped else []
        self.mail = outcome.result("Mail delivery")


def run(app, now):
    """The job runs in its own application context and session, as from cron."""
    db.session.commit()
    report = Report(run_periodic_work(app, now))
    db.session.expire_all()
    return report


def submitted_case(users, priority=4):
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=list(order.lines))
    case.priority = priority
    case.assigned_to_id = users["agent"].id
    db.session.add(AuditEvent(record_type="order_case", record_id=case.id, case_id=case.id, field="state",
                              old_value="Draft", new_value="New", action="Submit", created_on=T0))
    case.state = CaseState.NEW
    db.session.commit()
    sla.attach_slas(case, T0)
    db.session.commit()
    return case


def test_sla_stages_move_and_each_notice_goes_out_once(app, smtp, users):
    sla.seed_default_sla_definitions()
    case = submitted_case(users)  # priority 4: response 4 h, resolution 3 days
    agent_email = f"{users['agent'].username}@example.test"

    report = run(app, T0 + hours(1))
    assert (report.sla_changes, report.at_risk_notices, report.breach_notices) == (0, 0, 0)

    report = run(app, T0 + hours(3.1))
    assert report.at_risk_notices == 1 and report.mail.sent == 1
    (message,) = smtp.inbox.to(agent_email)
    assert message["X-Orderdesk-Event"] == NotificationEvent.SLA_AT_RISK and case.number in message["Subject"]

    report = run(app, T0 + hours(3.5))
    assert (report.at_risk_notices, report.breach_notices, report.mail.sent) == (0, 0, 0)

    report = run(app, T0 + hours(4.2))
    assert report.sla_changes == 1 and report.breach_notices == 1
    response = db.session.query(TaskSla).join(TaskSla.definition).filter_by(kind="response").one()
    assert response.stage == SlaStage.BREACHED and response.breached_at == T0 + hours(4)
    assert response.at_risk_notified and response.breach_notified

    for later in (5, 6):
        report = run(app, T0 + hours(later))
        assert (report.at_risk_notices, report.breach_notices) == (0, 0)
    events = [m["X-Orderdesk-Event"] for m in smtp.inbox.to(agent_email)]
    assert events == [NotificationEvent.SLA_AT_RISK, NotificationEvent.SLA_BREACHED]


def test_a_clock_found_already_breached_sends_only_the_breach_notice(app, smtp, users):
    sla.seed_default_sla_definitions()
    submitted_case(users, priority=1)  # response 1 h
    report = run(app, T0 + hours(2))
    assert (report.at_risk_notices, report.breach_notices) == (0, 1)
    assert [m["X-Orderdesk-Event"] for _, m in smtp.inbox.messages] == [NotificationEvent.SLA_BREACHED]


def test_queued_mail_goes_out_and_waits_without_a_server(app, smtp, users):
    case = submitted_case(users)
    from app.sla.notifications import notify

    notify(NotificationEvent.CASE_ASSIGNED, case, now=T0)
    db.session.commit()
    app.config["MAIL_SERVER"] = ""
    report = run(app, T0)
    assert report.mail.waiting and db.session.query(Notification).one().state == NotificationState.QUEUED
    app.config["MAIL_SERVER"] = "127.0.0.1"
    report = run(app, T0 + hours(1))
    assert report.mail.sent == 1 and db.session.query(Notification).one().state == NotificationState.SENT
    assert len(smtp.inbox.messages) == 1


def resolved_case(users, resolved_days_ago: float, now: dt.datetime) -> OrderCase:
    account = factories.make_account()
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=list(order.lines),
                               state=CaseState.RESOLVED, line_state=LineState.ACCEPTED)
    case.resolved_at = now - dt.timedelta(days=resolved_days_ago)
    case.resolution_code = "Change approved"
    db.session.commit()
    return case


def test_resolved_cases_close_after_the_configured_days(app, smtp, users):
    now = T0 + dt.timedelta(days=30)
    app.config["AUTO_CLOSE_RESOLVED_DAYS"] = 10
    stale = resolved_case(users, 10.5, now)
    recent = resolved_case(users, 9, now)
    talking = resolved_case(users, 12, now)
    db.session.add(JournalEntry(record_type="order_case", record_id=talking.id, case_id=talking.id,
                                kind=JournalKind.COMMENT, text="Still checking with the warehouse.",
                                created_on=now - dt.timedelta(days=2)))
    db.session.commit()
    stale_version = stale.version

    report = run(app, now)
    assert report.auto_closed == [stale.number]
    stale, recent, talking = (db.session.get(OrderCase, c.id) for c in (stale, recent, talking))
    assert stale.state == CaseState.CLOSED and stale.closed_at == now and stale.version == stale_version + 1
    assert recent.state == talking.state == CaseState.RESOLVED
    (event,) = db.session.query(AuditEvent).filter_by(record_type="order_case", record_id=stale.id).all()
    assert (event.action, event.field, event.old_value, event.new_value) == (
        AUTO_CLOSE_ACTION, "state", CaseState.RESOLVED, CaseState.CLOSED)
    (message,) = smtp.inbox.to(stale.contact.email)
    assert message["X-Orderdesk-Event"] == NotificationEvent.CASE_CLOSED
    assert "automatically, 10 days after" in message.get_content()

    assert run(app, now + hours(1)).auto_closed == []


def test_auto_close_is_off_at_zero_days(app, smtp, users):
    now = T0 + dt.timedelta(days=30)
    app.config["AUTO_CLOSE_RESOLVED_DAYS"] = 0
    case = resolved_case(users, 25, now)
    assert run(app, now).auto_closed == []
    assert db.session.get(OrderCase, case.id).state == CaseState.RESOLVED


def test_a_resolved_case_with_an_open_line_is_left_alone(app, smtp, users):
    now = T0 + dt.timedelta(days=30)
    app.config["AUTO_CLOSE_RESOLVED_DAYS"] = 10
    case = resolved_case(users, 20, now)
    case.lines[0].state = LineState.WORK_IN_PROGRESS
    db.session.commit()
    assert run(app, now).auto_closed == []


def test_the_cli_command_runs_the_job(app, smtp, users):
    now = T0 + dt.timedelta(days=30)
    app.config["AUTO_CLOSE_RESOLVED_DAYS"] = 10
    case = resolved_case(users, 11, now)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["periodic", "--now", now.isoformat()])
    assert result.exit_code == 0, result.output
    assert f"Auto-close: 1 closed ({case.number})" in result.output and "Mail delivery: 1 sent" in result.output
    db.session.expire_all()
    assert db.session.get(OrderCase, case.id).state == CaseState.CLOSED

    result = app.test_cli_runner().invoke(args=["periodic", "--now", "yesterday"])
    assert result.exit_code != 0 and "is not an ISO date and time" in result.output


def test_a_run_started_while_another_holds_the_lock_does_nothing(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; the single-run lock is PostgreSQL's")
    with db.engine.connect() as other_run:
        other_run.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
        try:
            report = run(app, T0)
            assert report.skipped and "in progress" in report.summary()
        finally:
            other_run.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            other_run.commit()
    assert not run(app, T0).skipped

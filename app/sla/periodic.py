"""The periodic job (run from cron every few minutes): SLA stages and their notices, auto-close of
resolved cases the customer did not answer, reading the desk mailbox, and delivery of the outbox.

Safe to run as often as wanted and from several hosts: every step is recomputed from stored state,
each notice is sent once (a flag on the task SLA, set in the same commit that queues the message),
and on PostgreSQL an advisory lock lets only one run proceed at a time.
"""
from __future__ import annotations

import datetime as dt
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field

import click
from sqlalchemy import func, text
from sqlalchemy.orm.exc import StaleDataError

from app.core.choices import CaseState, JournalKind, LineState, SlaStage
from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import JournalEntry, OrderCase, OrderCaseLine, TaskSla
from app.mail.imap import PollReport, poll_mailbox
from app.sla.notifications import NotificationEvent, SendReport, notify, send_queued
from app.sla.clocks import pending_sla_notifications, refresh_task_slas, sync_slas

log = logging.getLogger(__name__)

AUTO_CLOSE_ACTION = "Auto close"
# Arbitrary constant naming this job's PostgreSQL advisory lock.
ADVISORY_LOCK_KEY = 7_420_011


@dataclass
class PeriodicReport:
    skipped: bool = False
    sla_changes: int = 0
    at_risk_notices: int = 0
    breach_notices: int = 0
    auto_closed: list[str] = field(default_factory=list)
    mail: SendReport = field(default_factory=SendReport)
    inbound: PollReport = field(default_factory=PollReport)

    def summary(self) -> str:
        if self.skipped:
            return "Another periodic run is in progress; nothing done."
        mail = "no mail server configured, messages stay queued" if self.mail.waiting else (
            f"{self.mail.sent} sent, {self.mail.failed_attempts} failed attempts, {self.mail.given_up} given up"
        )
        return (
            f"SLA: {self.sla_changes} stage changes, {self.at_risk_notices} at-risk and "
            f"{self.breach_notices} breach notices. Auto-closed: {len(self.auto_closed)}"
            f"{' (' + ', '.join(self.auto_closed) + ')' if self.auto_closed else ''}. Mail: {mail}. "
            f"Desk mailbox: {self.inbound.summary()}."
        )


@contextmanager
def _single_run():
    """Yield True when this process may run; on PostgreSQL only one run holds the lock at a time."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    with db.engine.connect() as connection:
        acquired = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}).scalar()
        try:
            yield bool(acquired)
        finally:
            if acquired:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            connection.commit()


def _sla_record(task_sla: TaskSla):
    if task_sla.case_line_id:
        return db.session.get(OrderCaseLine, task_sla.case_line_id)
    return db.session.get(OrderCase, task_sla.case_id)


def queue_sla_notifications(now: dt.datetime, report: PeriodicReport) -> None:
    """At-risk and breach notices, once each per task SLA; a breach found before any at-risk notice
    went out sends only the breach notice."""
    for task_sla in pending_sla_notifications():
        record = _sla_record(task_sla)
        context = dict(
            sla_name=task_sla.definition.name,
            elapsed_percent=f"{task_sla.elapsed_percent:.0f}",
            due=task_sla.planned_due_at,
            breached=task_sla.breached_at,
        )
        if task_sla.stage == SlaStage.BREACHED and not task_sla.breach_notified:
            notify(NotificationEvent.SLA_BREACHED, record, now=now, **context)
            task_sla.breach_notified = True
            task_sla.at_risk_notified = True
            report.breach_notices += 1
        elif task_sla.at_risk and not task_sla.at_risk_notified:
            notify(NotificationEvent.SLA_AT_RISK, record, now=now, **context)
            task_sla.at_risk_notified = True
            report.at_risk_notices += 1
        db.session.commit()


def cases_due_for_auto_close(now: dt.datetime, days: int) -> list[OrderCase]:
    """Resolved cases with no customer-visible comment for *days* days since they were resolved."""
    cutoff = now - dt.timedelta(days=days)
    last_comment = (
        db.session.query(JournalEntry.case_id, func.max(JournalEntry.created_on).label("at"))
        .filter(JournalEntry.kind == JournalKind.COMMENT, JournalEntry.case_id.isnot(None))
        .group_by(JournalEntry.case_id)
        .subquery()
    )
    resolved_at = func.coalesce(OrderCase.resolved_at, OrderCase.changed_on)
    return (
        db.session.query(OrderCase)
        .outerjoin(last_comment, last_comment.c.case_id == OrderCase.id)
        .filter(
            OrderCase.state == CaseState.RESOLVED,
            resolved_at <= cutoff,
            last_comment.c.at.is_(None) | (last_comment.c.at <= cutoff),
        )
        .order_by(OrderCase.id)
        .all()
    )


def auto_close_resolved_cases(now: dt.datetime, days: int) -> list[str]:
    """Close Resolved cases the customer left unanswered for *days* days; 0 disables. One commit per case."""
    from app.core.workflow_base import transition

    if days <= 0:
        return []
    closed = []
    for case in cases_due_for_auto_close(now, days):
        open_lines = [line.number for line in case.lines if line.state not in LineState.TERMINAL]
        if open_lines:
            log.warning("%s is Resolved but lines %s are still open; not auto-closing", case.number, open_lines)
            continue
        try:
            transition(case, CaseState.CLOSED, AUTO_CLOSE_ACTION, case_id=case.id)
            case.closed_at = now
            sync_slas(case, now)
            notify(NotificationEvent.CASE_CLOSED, case, now=now,
                   closed_how=f" automatically, {days} days after we proposed a solution")
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            log.info("%s changed while auto-closing; left for the next run", case.number)
            continue
        closed.append(case.number)
    return closed


def run_periodic_work(app, now: dt.datetime | None = None) -> PeriodicReport:
    """One pass of everything time-driven, as of *now* (naive UTC; default the current time)."""
    now = now or utcnow()
    with app.app_context():
        report = PeriodicReport()
        with _single_run() as may_run:
            if not may_run:
                report.skipped = True
                return report
            report.sla_changes = len(refresh_task_slas(now))
            queue_sla_notifications(now, report)
            report.auto_closed = auto_close_resolved_cases(now, int(app.config.get("AUTO_CLOSE_RESOLVED_DAYS", 10)))
            report.inbound = poll_mailbox()
            report.mail = send_queued(now)
        log.info(report.summary())
        return report


def register_periodic_cli(app) -> None:
    @app.cli.command("periodic")
    @click.option("--now", "now_text", default=None, metavar="YYYY-MM-DDTHH:MM",
                  help="Run as of this UTC time instead of the current time.")
    def periodic_command(now_text):
        """SLA refresh and notices, auto-close of resolved cases, and outbox delivery (run from cron)."""
        now = None
        if now_text:
            try:
                now = dt.datetime.fromisoformat(now_text)
            except ValueError as exc:
                raise click.BadParameter(f"{now_text!r} is not an ISO date and time") from exc
            if now.tzinfo is not None:
                now = now.astimezone(dt.timezone.utc).replace(tzinfo=None)
        click.echo(run_periodic_work(app, now).summary())

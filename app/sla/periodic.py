"""The SLA side of the periodic job: SLA stages and their notices, and auto-close of resolved cases the
customer did not answer. ``app.operations.periodic`` runs these steps with the others, on a schedule.

Safe to run as often as wanted and from several hosts: every step is recomputed from stored state, and
each notice is sent once (a flag on the task SLA, set in the same commit that queues the message).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func
from sqlalchemy.orm.exc import StaleDataError

from app.core.choices import CaseState, JournalKind, LineState, SlaStage
from app.core.extensions import db
from app.models import JournalEntry, OrderCase, OrderCaseLine, TaskSla
from app.sla.notifications import NotificationEvent, notify
from app.sla.clocks import pending_sla_notifications, refresh_task_slas, sync_slas

log = logging.getLogger(__name__)

AUTO_CLOSE_ACTION = "Auto close"


@dataclass
class SlaReport:
    sla_changes: int = 0
    at_risk_notices: int = 0
    breach_notices: int = 0

    def summary(self) -> str:
        return (f"{self.sla_changes} stage changes, {self.at_risk_notices} at-risk and "
                f"{self.breach_notices} breach notices")


@dataclass
class AutoCloseReport:
    closed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.closed)} closed" + (f" ({', '.join(self.closed)})" if self.closed else "")


def _sla_record(task_sla: TaskSla):
    if task_sla.case_line_id:
        return db.session.get(OrderCaseLine, task_sla.case_line_id)
    return db.session.get(OrderCase, task_sla.case_id)


def queue_sla_notifications(now: dt.datetime, report: SlaReport) -> None:
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


def sla_stages_and_notices(now: dt.datetime) -> SlaReport:
    """Move every open task SLA to its stage as of *now* and queue the notices that became due."""
    report = SlaReport(sla_changes=len(refresh_task_slas(now)))
    queue_sla_notifications(now, report)
    return report


def auto_close(now: dt.datetime) -> AutoCloseReport:
    """Auto-close as configured by AUTO_CLOSE_RESOLVED_DAYS (0 disables)."""
    return AutoCloseReport(auto_close_resolved_cases(now, int(current_app.config.get("AUTO_CLOSE_RESOLVED_DAYS", 10))))

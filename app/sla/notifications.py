"""The notification outbox: messages are written in the business transaction, sent later by SMTP.

Queuing only adds a row to the session, so a notification exists exactly when the action that
caused it was committed. ``send_queued`` (run by the periodic job) delivers due messages; a failed
attempt is retried with exponential back-off and, after ``MAX_ATTEMPTS``, left in state failed for
an administrator to see and retry. Without a configured mail server messages simply wait.
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
import secrets

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from app.core.choices import Choices, NotificationState, Priority
from app.core.display import default_time_zone, user_time_zone, when_in_zone
from app.core.extensions import db
from app.core.model_base import utcnow
from app.attachments.store import content_chunks
from app.models import CaseLineTask, CaseTask, CustomerOrder, Notification, OrderCase, OrderCaseLine

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY_MINUTES = 1
MAX_RETRY_MINUTES = 60
# A sender claims a batch for this long, so a second sender running at the same time skips it.
CLAIM_MINUTES = 10
BATCH_SIZE = 200
SMTP_TIMEOUT_SECONDS = 20
# How many earlier Message-IDs of a case's conversation an e-mail names in References.
THREAD_LENGTH = 10


class NotificationEvent(Choices):
    CASE_ASSIGNED = "case assigned"
    NEEDS_ATTENTION = "needs attention set"
    INFORMATION_REQUESTED = "information requested"
    SOLUTION_PROPOSED = "solution proposed"
    CASE_CLOSED = "case closed"
    TASK_ASSIGNED = "task assigned"
    SLA_AT_RISK = "SLA at risk"
    SLA_BREACHED = "SLA breached"
    ORDER_SUBMITTED = "order submitted"
    ORDER_APPROVED = "order approved"
    ORDER_REJECTED = "order rejected"
    ORDER_LINE_COMPLETED = "order line completed"
    ORDER_COMPLETED = "order completed"
    ORDER_CANCELLED = "order cancelled"
    PORTAL_INVITATION = "portal invitation"
    ORDER_EVENTS = (ORDER_SUBMITTED, ORDER_APPROVED, ORDER_REJECTED, ORDER_LINE_COMPLETED, ORDER_COMPLETED,
                    ORDER_CANCELLED)
    ALL = (CASE_ASSIGNED, NEEDS_ATTENTION, INFORMATION_REQUESTED, SOLUTION_PROPOSED, CASE_CLOSED,
           TASK_ASSIGNED, SLA_AT_RISK, SLA_BREACHED, *ORDER_EVENTS, PORTAL_INVITATION)


_FOOTER = (
    "\n\nCase: {case_number} – {short_description}\n"
    "State: {state}\nPriority: {priority}\n"
    "Open it: {link}\n"
)
_ORDER_FOOTER = (
    "\n\nOrder: {record_number}\n"
    "State: {state}\nTotal: {order_total}\n"
    "Open it: {link}\n"
)

# subject, body; placeholders come from the record (see _context) and the caller's keyword arguments.
TEMPLATES: dict[str, tuple[str, str]] = {
    NotificationEvent.CASE_ASSIGNED: (
        "{case_number} assigned to you: {short_description}",
        "Hello {recipient_name},\n\n{record_number} has been assigned to you.",
    ),
    NotificationEvent.NEEDS_ATTENTION: (
        "{case_number} needs attention: {short_description}",
        "Hello {recipient_name},\n\n{record_number} has been marked as needing attention."
        "{reason_line}",
    ),
    NotificationEvent.INFORMATION_REQUESTED: (
        "Information requested on {case_number}: {short_description}",
        "Hello {recipient_name},\n\nTo continue with your order case we need some information from you:"
        "\n\n{question}\n\nPlease reply with a comment on the case.",
    ),
    NotificationEvent.SOLUTION_PROPOSED: (
        "Solution proposed for {case_number}: {short_description}",
        "Hello {recipient_name},\n\nWe have resolved your order case ({resolution_code})."
        "\n\n{resolution_notes}\n\nPlease accept the solution, or reject it with a reason if it does not"
        " solve your request.",
    ),
    NotificationEvent.CASE_CLOSED: (
        "{case_number} closed: {short_description}",
        "Hello {recipient_name},\n\nYour order case has been closed{closed_how}.",
    ),
    NotificationEvent.TASK_ASSIGNED: (
        "{record_number} assigned to you: {task_subject}",
        "Hello {recipient_name},\n\nTask {record_number} \"{task_subject}\" has been assigned to you."
        "\n\n{task_description}",
    ),
    NotificationEvent.SLA_AT_RISK: (
        "SLA at risk on {record_number}: {sla_name}",
        "Hello {recipient_name},\n\nThe SLA \"{sla_name}\" on {record_number} is at risk: "
        "{elapsed_percent}% of its time has elapsed. It is due {due}.",
    ),
    NotificationEvent.SLA_BREACHED: (
        "SLA breached on {record_number}: {sla_name}",
        "Hello {recipient_name},\n\nThe SLA \"{sla_name}\" on {record_number} was breached at {breached}."
        " It was due {due}.",
    ),
    NotificationEvent.PORTAL_INVITATION: (
        "Your access to the {app_name} customer portal",
        "Hello {recipient_name},\n\n{inviter} invited you to the customer portal of {account_name}: follow your"
        " orders, order cases and products, and order from the catalog.\n\nSet your password here (the link"
        " works once, until {expires}):\n{invitation_link}\n\nThen sign in as {username}.\n",
    ),
    NotificationEvent.ORDER_SUBMITTED: (
        "We received your order {record_number}",
        "Hello {recipient_name},\n\nThank you: we received your order {record_number} on {received}. The order"
        " desk reviews it and tells you when it is approved.",
    ),
    NotificationEvent.ORDER_APPROVED: (
        "Your order {record_number} is approved",
        "Hello {recipient_name},\n\nYour order {record_number} is approved and fulfilment has started.",
    ),
    NotificationEvent.ORDER_REJECTED: (
        "Your order {record_number} was rejected",
        "Hello {recipient_name},\n\nWe could not accept your order {record_number}.\n\nThe reason: {reason}",
    ),
    NotificationEvent.ORDER_LINE_COMPLETED: (
        "{line_number} of your order {record_number} is fulfilled",
        "Hello {recipient_name},\n\n{line_number} of your order {record_number} ({line_product}) is fulfilled.",
    ),
    NotificationEvent.ORDER_COMPLETED: (
        "Your order {record_number} is complete",
        "Hello {recipient_name},\n\nEvery line of your order {record_number} is fulfilled; the order is complete.",
    ),
    NotificationEvent.ORDER_CANCELLED: (
        "Your order {record_number} was cancelled",
        "Hello {recipient_name},\n\nYour order {record_number} was cancelled.{reason_line}",
    ),
}

# An agent's own e-mail from the case page (app/mail/compose.py): written by a person, not from a template here.
CASE_EMAIL = "case email"
CUSTOMER_EVENTS = (
    NotificationEvent.INFORMATION_REQUESTED, NotificationEvent.SOLUTION_PROPOSED, NotificationEvent.CASE_CLOSED,
)


class _Blank(dict):
    """Template values: a placeholder the caller did not supply reads as empty, never a KeyError."""

    def __missing__(self, key):
        return ""


def _case_of(record) -> OrderCase | None:
    if isinstance(record, OrderCase):
        return record
    return getattr(record, "case", None)


def link_path(record) -> str:
    """Where the recipient opens the record (prefixed with PUBLIC_URL when configured)."""
    case = _case_of(record)
    if isinstance(record, CaseTask):
        path = f"/casetaskview/show/{record.id}"
    elif isinstance(record, CaseLineTask):
        path = f"/caselinetaskview/show/{record.id}"
    elif isinstance(record, OrderCaseLine):
        path = f"/ordercaselineview/show/{record.id}"
    elif isinstance(record, CustomerOrder):
        # Order notices go to the customer: the order's page in the portal.
        path = f"/portal/orders/{record.id}/"
    elif case is not None:
        path = f"/ordercaseview/show/{case.id}"
    else:
        path = "/"
    return current_app.config.get("PUBLIC_URL", "").rstrip("/") + path


def _context(record, recipient_name: str, extra: dict, time_zone: str) -> _Blank:
    case = _case_of(record)
    values = _Blank(
        recipient_name=recipient_name or "there",
        record_number=getattr(record, "number", "") or "",
        case_number=case.number if case is not None else getattr(record, "number", ""),
        short_description=(case.short_description if case is not None else "") or "",
        state=(case.state if case is not None else getattr(record, "state", "")) or "",
        priority=Priority.LABELS.get(case.priority, case.priority) if case is not None else "",
        resolution_code=(case.resolution_code if case is not None else "") or "",
        resolution_notes=(case.resolution_notes if case is not None else "") or "",
        task_subject=getattr(record, "subject", "") if isinstance(record, (CaseTask, CaseLineTask)) else "",
        task_description=getattr(record, "description", "") or "",
        link=link_path(record),
    )
    for key, value in extra.items():
        values[key] = when_in_zone(value, time_zone) if isinstance(value, dt.datetime) else (
            "" if value is None else value)
    if values.get("reason"):
        values["reason_line"] = f"\n\n{values['reason']}"
    return values


def case_token(case_number: str) -> str:
    """How a subject names its case, in a form replies keep ("Re: … [ORDCS0000012]")."""
    return f"[{case_number}]"


def with_case_token(subject: str, record) -> str:
    """*subject* ending with its case's token (unless it already carries it), at most 300 characters."""
    case = _case_of(record)
    subject = " ".join(subject.split())
    if case is None or not case.number or case_token(case.number) in subject:
        return subject[:300]
    token = case_token(case.number)
    return f"{subject[:299 - len(token)]} {token}"


def new_message_id(record) -> str:
    """A Message-ID that names the case, so a reply's References lead back to it even from another desk."""
    case = _case_of(record)
    sender = current_app.config.get("MAIL_FROM") or "orderdesk@localhost"
    domain = sender.rpartition("@")[2].strip(" >") or "localhost"
    label = f"orderdesk.{case.number}" if case is not None and case.number else "orderdesk"
    return f"<{label}.{secrets.token_hex(8)}@{domain}>"


def render(event: str, record, recipient_name: str = "", time_zone: str | None = None, **context) -> tuple[str, str]:
    """The subject and body of *event* about *record*, its times in *time_zone* (default: the desk's)."""
    NotificationEvent.validate(event)
    subject, body = TEMPLATES[event]
    values = _context(record, recipient_name, context, time_zone or default_time_zone())
    subject = with_case_token(subject.format_map(values), record)
    if event == NotificationEvent.PORTAL_INVITATION:
        return subject, body.format_map(values)
    if isinstance(record, CustomerOrder):
        values["order_total"] = f"{record.total_amount} {record.currency}"
        return subject, body.format_map(values) + _ORDER_FOOTER.format_map(values)
    return subject, body.format_map(values) + _FOOTER.format_map(values)


def _recipient(recipient) -> tuple[str | None, int | None, str]:
    """(email, user id, name) of a user, a contact (or anything with an email), or an address."""
    if recipient is None:
        return None, None, ""
    if isinstance(recipient, str):
        return recipient.strip() or None, None, ""
    email = (getattr(recipient, "email", None) or "").strip() or None
    # A contact signs in to the portal as its linked user.
    user_id = recipient.id if isinstance(recipient, User) else getattr(recipient, "user_id", None)
    name = getattr(recipient, "first_name", None) or getattr(recipient, "name", None) or ""
    return email, user_id, str(name)


def queue(event: str, recipient, record, now: dt.datetime | None = None, **context) -> Notification | None:
    """Put one message in the outbox (in the caller's transaction; not committed here).

    *recipient* is a User, a Contact or an e-mail address; without an address nothing is queued
    and None is returned. *context* fills event-specific placeholders (question, reason, sla_name…).
    """
    email, user_id, name = _recipient(recipient)
    if not email:
        log.info("No e-mail address for the %s notification on %s; nothing queued", event, record)
        return None
    # Times read in the recipient's own zone (a contact's is its portal user's); only looked up when shown.
    zone = user_time_zone(user_id) if any(isinstance(value, dt.datetime) for value in context.values()) else None
    subject, body = render(event, record, name, zone, **context)
    return queue_message(event, email, subject, body, record, user_id=user_id, now=now)


def case_thread(case: OrderCase | None, email: str) -> str | None:
    """The Message-IDs of the latest e-mails about *case* to *email*, so their mail client shows one conversation.
    The desk's notices about the case to others (assignments, SLA warnings) are not part of it."""
    if case is None or case.id is None:
        return None
    ids = db.session.scalars(select(Notification.message_id).where(
        Notification.record_type == OrderCase.__tablename__, Notification.record_id == case.id,
        func.lower(Notification.recipient_email) == email.lower(), Notification.message_id.isnot(None))
        .order_by(Notification.id.desc()).limit(THREAD_LENGTH)).all()
    return " ".join(reversed(ids)) or None


def queue_message(event: str, email: str, subject: str, body: str, record, *, user_id: int | None = None,
                  cc: str | None = None, attachments=(), now: dt.datetime | None = None) -> Notification:
    """Put one composed message about *record* in the outbox (in the caller's transaction), with its own
    Message-ID and the case token in its subject so a reply finds the case again, threaded under the
    earlier e-mails of a case to the same address."""
    now = now or utcnow()
    references = case_thread(record, email) if isinstance(record, OrderCase) else None
    notification = Notification(
        event=event,
        recipient_email=email,
        recipient_user_id=user_id,
        subject=with_case_token(subject, record),
        body=body,
        record_type=getattr(record, "__tablename__", None),
        record_id=getattr(record, "id", None),
        state=NotificationState.QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_on=now,
        message_id=new_message_id(record),
        cc=cc or None,
        references=references,
        attachments=list(attachments),
    )
    db.session.add(notification)
    return notification


def default_recipients(event: str, record) -> list:
    """Who hears about *event*: the customer contact for customer-facing events, the task's
    assignee for a task, otherwise the record's assignee (or its group's manager when unassigned)."""
    case = _case_of(record)
    if event == NotificationEvent.PORTAL_INVITATION:
        return [record]
    if event in NotificationEvent.ORDER_EVENTS:
        contact = record.contact or (record.account.primary_contact if record.account is not None else None)
        return [contact] if contact is not None else []
    if event in CUSTOMER_EVENTS:
        return [case.contact] if case is not None and case.contact is not None else []
    assignee = getattr(record, "assigned_to", None)
    if event == NotificationEvent.TASK_ASSIGNED:
        return [assignee] if assignee is not None else []
    if assignee is None and case is not None and not isinstance(record, (CaseTask, CaseLineTask)):
        assignee = case.assigned_to
    if assignee is not None:
        return [assignee]
    group = getattr(record, "assignment_group", None) or (case.assignment_group if case is not None else None)
    if group is not None and group.manager is not None:
        return [group.manager]
    return []


def notify(event: str, record, now: dt.datetime | None = None, **context) -> list[Notification]:
    """Queue *event* about *record* for its default recipients (see ``default_recipients``)."""
    queued = [queue(event, recipient, record, now=now, **context) for recipient in default_recipients(event, record)]
    return [notification for notification in queued if notification is not None]


# --------------------------------------------------------------------------- sending


def retry_delay(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd, 4th … failure, capped at an hour."""
    minutes = min(FIRST_RETRY_MINUTES * 2 ** max(attempts - 1, 0), MAX_RETRY_MINUTES)
    return dt.timedelta(minutes=minutes)


def _max_attempts() -> int:
    return int(current_app.config.get("MAIL_MAX_ATTEMPTS", MAX_ATTEMPTS))


def record_failure(notification: Notification, error: str, now: dt.datetime) -> None:
    notification.attempts = (notification.attempts or 0) + 1
    notification.last_error = error[:2000]
    if notification.attempts >= _max_attempts():
        notification.state = NotificationState.FAILED
        notification.next_attempt_at = now
    else:
        notification.state = NotificationState.QUEUED
        notification.next_attempt_at = now + retry_delay(notification.attempts)


@dataclass
class SendReport:
    sent: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    waiting: bool = False  # no mail server configured

    def summary(self) -> str:
        if self.waiting:
            return "no mail server configured, messages stay queued"
        return f"{self.sent} sent, {self.failed_attempts} failed attempts, {self.given_up} given up"


def _email(notification: Notification, sender: str, reply_to: str = "") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = notification.recipient_email
    if notification.cc:
        message["Cc"] = notification.cc
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = notification.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = notification.message_id or make_msgid(domain=sender.rpartition("@")[2] or None)
    if notification.references:
        message["In-Reply-To"] = notification.references.split()[-1]
        message["References"] = notification.references
    # An agent's own e-mail is a personal message; the rest are automatic and must not draw auto-replies.
    if notification.event != CASE_EMAIL:
        message["Auto-Submitted"] = "auto-generated"
    message["X-Orderdesk-Event"] = notification.event
    if notification.record_type and notification.record_id:
        message["X-Orderdesk-Record"] = f"{notification.record_type}/{notification.record_id}"
    message.set_content(notification.body)
    for attachment in notification.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(b"".join(content_chunks(attachment.id, attachment.size)), maintype=maintype,
                               subtype=subtype or "octet-stream", filename=attachment.filename)
    return message


def smtp_connection(config) -> smtplib.SMTP:
    host, port = config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25)
    if config.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS)
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp


def _claim(now: dt.datetime) -> list[int]:
    """Take a batch of due messages: push their next attempt past the claim window and commit, so a
    concurrent sender skips them; a crash mid-batch leaves them to be retried after the window."""
    query = (
        db.session.query(Notification)
        .filter(Notification.state == NotificationState.QUEUED, Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(BATCH_SIZE)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = query.all()
    for notification in claimed:
        notification.next_attempt_at = now + dt.timedelta(minutes=CLAIM_MINUTES)
    ids = [notification.id for notification in claimed]
    db.session.commit()
    return ids


def send_queued(now: dt.datetime | None = None) -> SendReport:
    """Send every due queued message; commits after each so nothing is sent twice or lost."""
    now = now or utcnow()
    config = current_app.config
    report = SendReport()
    if not config.get("MAIL_SERVER"):
        report.waiting = True
        return report
    sender = config.get("MAIL_FROM") or "orderdesk@localhost"
    reply_to = config.get("MAIL_REPLY_TO") or ""
    while True:
        ids = _claim(now)
        if not ids:
            return report
        smtp = None
        try:
            smtp = smtp_connection(config)
        except (OSError, smtplib.SMTPException) as exc:
            error = f"Mail server {config['MAIL_SERVER']}:{config.get('MAIL_PORT')} unavailable: {exc}"
            log.warning(error)
            for notification in db.session.query(Notification).filter(Notification.id.in_(ids)):
                record_failure(notification, error, now)
                report.failed_attempts += 1
                report.given_up += notification.state == NotificationState.FAILED
            db.session.commit()
            return report
        try:
            for notification in db.session.query(Notification).filter(Notification.id.in_(ids)).order_by(Notification.id):
                try:
                    smtp.send_message(_email(notification, sender, reply_to))
                except (OSError, smtplib.SMTPException) as exc:
                    record_failure(notification, f"{type(exc).__name__}: {exc}", now)
                    report.failed_attempts += 1
                    report.given_up += notification.state == NotificationState.FAILED
                    if isinstance(exc, (smtplib.SMTPServerDisconnected, socket.timeout, ConnectionError)):
                        smtp = _reconnect(config, smtp)
                else:
                    notification.state = NotificationState.SENT
                    notification.sent_on = now
                    notification.attempts = (notification.attempts or 0) + 1
                    notification.last_error = None
                    report.sent += 1
                db.session.commit()
        finally:
            _quit(smtp)


def _reconnect(config, smtp):
    _quit(smtp)
    try:
        return smtp_connection(config)
    except (OSError, smtplib.SMTPException):
        return _DeadConnection()


class _DeadConnection:
    """Stands in for a connection that could not be re-established: every send fails the same way."""

    def send_message(self, message):
        raise smtplib.SMTPServerDisconnected("the mail server went away during the batch")

    def quit(self):
        pass


def _quit(smtp) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        pass


def retry(notification: Notification, now: dt.datetime | None = None) -> None:
    """An administrator's retry of a failed message: queue it again with a fresh attempt budget."""
    notification.state = NotificationState.QUEUED
    notification.attempts = 0
    notification.next_attempt_at = now or utcnow()

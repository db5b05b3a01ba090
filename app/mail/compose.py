"""E-mail from the case page: templates with placeholders filled from the case, and the agent's message
to the case contact (copies to others, files of the case attached), queued in the notification outbox
and recorded in the case activity as an e-mail entry."""
from __future__ import annotations

import re
import string
from email.utils import getaddresses

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.attachments.store import MEGABYTE, megabytes
from app.cases.guards import clean_text, id_list, load_case
from app.core.choices import JournalKind, LineState
from app.core.exceptions import InvalidInput
from app.core.extensions import db
from app.core.model_base import utcnow
from app.core.roles import AGENT
from app.core.workflow_base import operation, require_back_office
from app.models import Attachment, EmailTemplate, JournalEntry, Notification, OrderCase, OrderCaseLine
from app.sla.notifications import CASE_EMAIL, link_path, queue_message

SEND_EMAIL = "Send e-mail"
MAX_CC = 10
MAX_BODY = 100_000
# Lines listed in {lines_summary}; a longer case ends with "… and N more lines".
SUMMARY_LINES = 50
PLACEHOLDERS = {
    "case_number": "the case number, e.g. ORDCS0000012",
    "short_description": "the case's short description",
    "contact_name": "the case contact's name",
    "account_name": "the customer account's name",
    "case_state": "the case's state",
    "lines_summary": "one line per case line: what was asked and its outcome",
    "agent_name": "the name of the agent sending the e-mail",
    "link": "the address of the case",
}
EMAIL_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


class _Blank(dict):
    def __missing__(self, key):
        return ""


def template_problems(text: str) -> list[str]:
    """What is wrong with the placeholders of a template's *text* (empty when it can be filled in)."""
    try:
        fields = [name for _literal, name, _spec, _conversion in string.Formatter().parse(text or "") if name is not None]
    except ValueError as error:
        return [f"a brace is not closed or not doubled ({error}); write {{{{ and }}}} for a literal brace"]
    unknown = sorted({name for name in fields if name not in PLACEHOLDERS})
    return [f"unknown placeholder {{{name}}}" for name in unknown] + (
        ["placeholders are written {name}, without a format or index"]
        if any(name == "" for name in fields) else [])


def _person(user) -> str:
    if user is None:
        return ""
    return " ".join(part for part in (getattr(user, "first_name", ""), getattr(user, "last_name", "")) if part) \
        or getattr(user, "username", "")


def _outcome(line: OrderCaseLine) -> str:
    details = []
    if line.state == LineState.ACCEPTED:
        if line.approved_quantity is not None:
            details.append(f"quantity {line.approved_quantity}")
        if line.approved_delivery_date:
            details.append(f"delivery {line.approved_delivery_date}")
        if line.approved_unit_price is not None:
            details.append(f"unit price {line.approved_unit_price}")
        if line.credit_amount:
            details.append(f"credit {line.credit_amount}")
    if line.resolution_notes and line.is_terminal:
        details.append(line.resolution_notes)
    return line.state + (f" ({'; '.join(details)})" if details else "")


def lines_summary(case: OrderCase) -> str:
    lines = db.session.scalars(select(OrderCaseLine).where(OrderCaseLine.case_id == case.id)
                               .order_by(OrderCaseLine.id).limit(SUMMARY_LINES + 1)).all()
    rows = []
    for line in lines[:SUMMARY_LINES]:
        about = line.order_line.number if line.order_line else (line.order.number if line.order else "")
        rows.append(f"- {line.number}{' (' + about + ')' if about else ''}: {line.request_type or 'change'} — "
                    f"{_outcome(line)}")
    if len(lines) > SUMMARY_LINES:
        total = db.session.query(OrderCaseLine).filter(OrderCaseLine.case_id == case.id).count()
        rows.append(f"… and {total - SUMMARY_LINES} more lines")
    return "\n".join(rows) or "(no lines)"


def placeholder_values(case: OrderCase, agent) -> _Blank:
    contact = case.contact
    return _Blank(
        case_number=case.number, short_description=case.short_description or "",
        contact_name=(" ".join(p for p in (contact.first_name, contact.last_name) if p) if contact else "") or "",
        account_name=case.account.name if case.account else "", case_state=case.state,
        lines_summary=lines_summary(case), agent_name=_person(agent), link=link_path(case),
    )


def fill(template: EmailTemplate, case: OrderCase, agent) -> tuple[str, str]:
    """The template's subject and body for *case*; a stored template with broken braces is used as written."""
    values = placeholder_values(case, agent)
    filled = []
    for text in (template.subject, template.body):
        try:
            filled.append(text.format_map(values))
        except (ValueError, IndexError, AttributeError, KeyError):
            filled.append(text)
    return filled[0], filled[1]


def active_templates() -> list[EmailTemplate]:
    return db.session.scalars(select(EmailTemplate).where(EmailTemplate.active.is_(True))
                              .order_by(EmailTemplate.name)).all()


def parse_addresses(text: str | None) -> list[str]:
    """The addresses of a "copy to" field (commas, semicolons or spaces between them); refused when one is not
    an address."""
    addresses, wrong = [], []
    for part in (part.strip() for part in re.split(r"[,;]", text or "")):
        # "Name <address>" is one recipient; otherwise spaces separate plain addresses.
        for piece in ([part] if "<" in part else part.split()) if part else []:
            address = getaddresses([piece])[0][1] if "<" in piece else piece
            (addresses if EMAIL_ADDRESS.match(address or "") else wrong).append(address or piece)
    if wrong:
        raise InvalidInput(f"{SEND_EMAIL}: not an e-mail address: {', '.join(w or '(empty)' for w in wrong)}.",
                           {"cc": "Not an e-mail address"})
    unique = list(dict.fromkeys(address.lower() for address in addresses))
    if len(unique) > MAX_CC:
        raise InvalidInput(f"{SEND_EMAIL}: at most {MAX_CC} copies.", {"cc": f"At most {MAX_CC} addresses"})
    return unique


def case_files(case: OrderCase) -> list[Attachment]:
    return db.session.scalars(select(Attachment).where(Attachment.case_id == case.id)
                              .order_by(Attachment.created_on.desc(), Attachment.id.desc())).all()


def send_case_email(user: User, case_id, *, subject: str, body: str, cc: str | None = None,
                    attachment_ids=()) -> Notification:
    """Queue the agent's e-mail to the case contact and record it in the case activity."""
    with operation(user):
        require_back_office(user, AGENT, SEND_EMAIL)
        case = load_case(case_id)
        to = (case.contact.email or "").strip() if case.contact is not None else ""
        if not to:
            raise InvalidInput(f"{SEND_EMAIL} is not possible: {case.number} has no contact with an e-mail address.",
                               {"to": "The case contact has no e-mail address"})
        errors = {}
        subject, body = clean_text(subject), (body or "").replace("\r\n", "\n").strip()
        if not subject:
            errors["subject"] = "Required"
        elif len(subject) > 250:
            errors["subject"] = "At most 250 characters"
        if not body:
            errors["body"] = "Required"
        elif len(body) > MAX_BODY:
            errors["body"] = f"At most {MAX_BODY} characters"
        if errors:
            raise InvalidInput(f"{SEND_EMAIL} needs a subject and a message.", errors)
        copies = [address for address in parse_addresses(cc) if address != to.lower()]
        wanted = id_list(attachment_ids)
        files = db.session.scalars(select(Attachment).where(Attachment.id.in_(wanted), Attachment.case_id == case.id)
                                   .order_by(Attachment.id)).all() if wanted else []
        if len(files) != len(set(wanted)):
            raise InvalidInput(f"{SEND_EMAIL}: only files of {case.number} can be attached.",
                               {"attachment_ids": "Not a file of this case"})
        limit = int(float(current_app.config.get("MAIL_MAX_ATTACHMENTS_MB", 25)) * MEGABYTE)
        if sum(f.size for f in files) > limit:
            raise InvalidInput(f"{SEND_EMAIL}: the files come to more than {megabytes(limit)}, the most an e-mail "
                               "may carry; attach fewer.", {"attachment_ids": "Too large together"})
        notification = queue_message(CASE_EMAIL, to, subject, body, case, user_id=case.contact.user_id,
                                     cc=", ".join(copies), attachments=files)
        summary = [f"To: {to}"] + ([f"Cc: {', '.join(copies)}"] if copies else []) + [
            f"Subject: {notification.subject}", "", body]
        if files:
            summary += ["", "Attached: " + ", ".join(f.filename for f in files)]
        db.session.add(JournalEntry(record_type=OrderCase.__tablename__, record_id=case.id, case_id=case.id,
                                    kind=JournalKind.EMAIL, text="\n".join(summary), author_id=user.id,
                                    created_on=utcnow()))
    return notification

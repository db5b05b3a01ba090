"""What becomes of one message from the desk mailbox.

A reply naming a case (a Message-ID of ours in In-Reply-To/References, or the case token in the
subject) from the case's contact becomes a customer comment, its files attached and the quoted history
trimmed; an Awaiting Info case resumes as it does for a portal answer. A message naming no case from a
known contact opens a Draft case for the contact's account. Anything else goes to the review list, and
a message that cannot be read is quarantined with the reason. Every message is recorded under its
Message-ID, so reading it again changes nothing.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser

from flask import current_app
from sqlalchemy import func, select

from app import workflows
from app.attachments import store
from app.attachments.models import AttachmentSource
from app.cases.guards import load_case
from app.core.choices import CaseOrigin, CaseState, Scope
from app.core.exceptions import DomainError
from app.core.extensions import db
from app.core.model_base import utcnow
from app.core.workflow_base import audit, operation
from app.mail.models import InboundEmail, InboundOutcome
from app.models import Contact, Notification, OrderCase, ServiceDefinition
from app.sla.clocks import sync_case_slas

log = logging.getLogger(__name__)

CREATE_FROM_EMAIL = "Create case from e-mail"
CASE_NUMBER = re.compile(r"\[(ORDCS\d{7})\]")
OUR_MESSAGE_ID = re.compile(r"orderdesk\.(ORDCS\d{7})\.", re.IGNORECASE)
MESSAGE_ID = re.compile(r"<[^<>\s]{1,900}>")
KEPT_TEXT = 20_000
DEFAULT_MAX_MB = 40


def max_message_bytes() -> int:
    return int(float(current_app.config.get("MAIL_INBOUND_MAX_MB", DEFAULT_MAX_MB)) * store.MEGABYTE)


# ----------------------------------------------------------------------------------------------------
# Reading a message


def _header(message: EmailMessage, name: str) -> str:
    """A header as text; a header too broken to decode reads as empty rather than stopping the message."""
    try:
        value = message.get(name)
        return str(value) if value is not None else ""
    except (ValueError, TypeError, IndexError, AttributeError, LookupError):
        return ""


def message_key(raw: bytes, message_id: str = "") -> str:
    match = MESSAGE_ID.search(message_id or "")
    if match and len(match.group(0)) <= 250:
        return match.group(0).lower()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def sender_of(message: EmailMessage) -> str:
    for _name, address in getaddresses([_header(message, "From")]):
        if address and "@" in address:
            return address.strip().lower()
    return ""


class _HtmlText(HTMLParser):
    """The readable text of an HTML mail: block elements on their own lines, quoted history left out."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}
    SKIPPED = {"script", "style", "head", "title", "blockquote"}
    QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "divrplyfwdmsg")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        marks = " ".join(str(value or "") for name, value in attrs if name in ("class", "id")).lower()
        if self.skipping or tag in self.SKIPPED or any(mark in marks for mark in self.QUOTE_CLASSES):
            if tag not in ("br", "img", "hr", "meta", "link", "input"):
                self.skipping.append(tag)
            return
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if self.skipping:
            if self.skipping[-1] == tag:
                self.skipping.pop()
            return
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def _part_text(part) -> str:
    try:
        text = part.get_content()
    except (LookupError, ValueError, AssertionError, TypeError):
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        text = bytes(text).decode("utf-8", errors="replace")
    return html_to_text(text) if part.get_content_type() == "text/html" else text


def body_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    return _part_text(body) if body is not None else ""


QUOTE_STARTS = (
    re.compile(r"^[ \t]*On [^\n]{0,300}(?:\n[^\n]{0,300})?wrote:[ \t]*$", re.MULTILINE),
    re.compile(r"^[ \t]*Am [^\n]{0,300}(?:\n[^\n]{0,300})?schrieb[^\n]{0,100}:[ \t]*$", re.MULTILINE),
    re.compile(r"^[ \t]*Le [^\n]{0,300}(?:\n[^\n]{0,300})?a écrit ?:[ \t]*$", re.MULTILINE),
    re.compile(r"^[ \t]*-{2,}[ \t]*(Original Message|Forwarded message|Ursprüngliche Nachricht)[ \t]*-{2,}",
               re.MULTILINE | re.IGNORECASE),
    re.compile(r"^[ \t]*_{20,}[ \t]*$", re.MULTILINE),
    re.compile(r"^[ \t]*\*?From:\*? [^\n]+\n(?:[^\n]*\n){0,3}?[ \t]*\*?(Sent|Date):\*? ", re.MULTILINE),
    re.compile(r"^-- $", re.MULTILINE),
)


def trim_quoted(text: str) -> str:
    """The new part of a reply: everything before the quoted history (the "On … wrote:" line, an Outlook
    header block, "> " lines) and the signature."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    cut = min((match.start() for pattern in QUOTE_STARTS if (match := pattern.search(text))), default=len(text))
    lines = [line.rstrip() for line in text[:cut].split("\n") if not line.lstrip().startswith(">")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def files_of(message: EmailMessage) -> list[store.Upload]:
    uploads = []
    for number, part in enumerate(message.iter_attachments(), start=1):
        if part.get_content_maintype() == "multipart":
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            # An attached message (message/rfc822) is kept as the e-mail file it was.
            data = part.as_bytes() if part.get_content_type() == "message/rfc822" else b""
        name = part.get_filename() or f"attachment-{number}" + (".eml" if part.get_content_type() ==
                                                              "message/rfc822" else "")
        uploads.append(store.Upload(store.clean_filename(name), data))
    return uploads


# ----------------------------------------------------------------------------------------------------
# Which case, which contact


def case_named_by(message: EmailMessage) -> OrderCase | None:
    """The case a reply belongs to: by the Message-IDs it answers, else by the token in its subject."""
    ids = MESSAGE_ID.findall(_header(message, "In-Reply-To") + " " + _header(message, "References"))
    if ids:
        row = db.session.execute(
            select(Notification.record_type, Notification.record_id).where(Notification.message_id.in_(ids[-50:]))
            .order_by(Notification.id.desc()).limit(1)).first()
        if row is not None:
            case = _case_of_record(*row)
            if case is not None:
                return case
        for message_id in reversed(ids):
            match = OUR_MESSAGE_ID.search(message_id)
            if match:
                return db.session.scalar(select(OrderCase).where(OrderCase.number == match.group(1).upper()))
    match = CASE_NUMBER.search(_header(message, "Subject"))
    if match:
        return db.session.scalar(select(OrderCase).where(OrderCase.number == match.group(1)))
    return None


def _case_of_record(record_type: str | None, record_id: int | None) -> OrderCase | None:
    if not record_type or not record_id or record_type not in store.OWNER_NAMES:
        return None
    record = db.session.get(store.OWNERS[store.OWNER_NAMES[record_type]], record_id)
    return store.case_of(record) if record is not None else None


def contacts_with(address: str) -> list[Contact]:
    return db.session.scalars(select(Contact).where(func.lower(Contact.email) == address, Contact.active.is_(True))
                              .order_by(Contact.id).limit(5)).all()


# ----------------------------------------------------------------------------------------------------
# Applying a message


@dataclass
class Decision:
    outcome: str
    reason: str = ""
    case: OrderCase | None = None


def _keep_files(case: OrderCase, uploads: list[store.Upload], user_id: int | None) -> list[str]:
    """Attach each acceptable file to the case; the others are named (with why) in the returned notes."""
    notes, kept, kinds, total = [], [], [], store.stored_bytes(case)
    record_limit = store.max_record_bytes()
    for upload in uploads:
        try:
            (kind,) = store.check_uploads(case, [upload])
        except DomainError as refused:
            notes.append(refused.message.removeprefix("Not attached: ").rstrip("."))
            continue
        if total + len(upload.data) > record_limit:
            notes.append(f"{upload.filename} would pass the case's limit of {store.megabytes(record_limit)}")
            continue
        total += len(upload.data)
        kept.append(upload)
        kinds.append(kind)
    store.store(case, kept, kinds, user_id, source=AttachmentSource.EMAIL)
    return notes


def _comment(case: OrderCase, contact: Contact, text: str, uploads: list[store.Upload]) -> None:
    notes = _keep_files(case, uploads, contact.user_id)
    if not text:
        text = "(sent files by e-mail)" if uploads else "(an empty e-mail)"
    if notes:
        text += "\n\nNot kept: " + "; ".join(notes) + "."
    workflows.record_customer_answer(case, text, contact.user)


def _first_service() -> ServiceDefinition | None:
    return db.session.scalars(select(ServiceDefinition).where(ServiceDefinition.active.is_(True))
                              .order_by(ServiceDefinition.sort_order, ServiceDefinition.id).limit(1)).first()


def _open_case(contact: Contact, subject: str, text: str, uploads: list[store.Upload]) -> OrderCase | None:
    """A Draft case for the contact's account from an e-mail that names no case; the desk completes it.
    Built here rather than by the intake form's operation: no one is signed in, and a customer's e-mail is
    not limited to what a portal user may fill in."""
    service = _first_service()
    if service is None:
        return None
    subject = re.sub(r"^\s*((re|fwd?|aw|wg)\s*:\s*)+", "", subject or "", flags=re.IGNORECASE).strip()
    case = OrderCase(
        account_id=contact.account_id, contact=contact, service=service, scope=Scope.MULTIPLE_ORDERS,
        origin=CaseOrigin.EMAIL, short_description=(subject or f"E-mail from {contact}")[:200],
        description=text or None, priority=service.default_priority or 4,
        assignment_group_id=service.default_assignment_group_id, state=CaseState.DRAFT, opened_at=utcnow(),
    )
    db.session.add(case)
    db.session.flush()
    audit(case, "state", None, CaseState.DRAFT, action=CREATE_FROM_EMAIL, case_id=case.id)
    notes = _keep_files(case, uploads, contact.user_id)
    if notes:
        case.description = ((case.description or "") + "\n\nNot kept: " + "; ".join(notes) + ".").strip()
    sync_case_slas(case)
    return case


def decide_and_apply(message: EmailMessage, sender: str) -> Decision:
    """Apply the message (in the caller's transaction) and say what became of it."""
    desk = (current_app.config.get("MAIL_FROM") or "").lower()
    if desk and sender == desk.split("<")[-1].strip(" >"):
        return Decision(InboundOutcome.QUARANTINED, "sent by the order desk itself (a mail loop)")
    automatic = _header(message, "Auto-Submitted").strip().lower()
    if automatic and automatic != "no":
        return Decision(InboundOutcome.REVIEW, f"an automatic message (Auto-Submitted: {automatic[:40]})")
    text = trim_quoted(body_text(message))
    uploads = files_of(message)
    case = case_named_by(message)
    if case is not None:
        contact = case.contact
        if contact is None or (contact.email or "").strip().lower() != sender:
            return Decision(InboundOutcome.REVIEW, f"names {case.number}, but {sender} is not its contact", case)
        if case.state in CaseState.READ_ONLY:
            return Decision(InboundOutcome.REVIEW, f"names {case.number}, which is {case.state}", case)
        case = load_case(case.id)
        _comment(case, contact, text, uploads)
        return Decision(InboundOutcome.COMMENT, f"comment on {case.number}", case)
    contacts = contacts_with(sender)
    if not contacts:
        return Decision(InboundOutcome.REVIEW, f"no contact has the address {sender}")
    if len({contact.account_id for contact in contacts}) > 1:
        return Decision(InboundOutcome.REVIEW, f"contacts of several accounts have the address {sender}")
    case = _open_case(contacts[0], _header(message, "Subject"), text, uploads)
    if case is None:
        return Decision(InboundOutcome.REVIEW, "no active case type to open a case with")
    return Decision(InboundOutcome.NEW_CASE, f"opened {case.number}", case)


def _record(key: str, raw: bytes | None, size: int, decision: Decision, sender: str = "", subject: str = "",
            text: str = "") -> InboundEmail:
    kept_raw = raw if decision.outcome in (InboundOutcome.REVIEW, InboundOutcome.QUARANTINED) else None
    entry = InboundEmail(message_key=key, from_address=sender[:320] or None, subject=subject[:500] or None,
                         size=size, received_on=utcnow(), outcome=decision.outcome, reason=decision.reason[:500],
                         case_id=decision.case.id if decision.case is not None else None,
                         text=text[:KEPT_TEXT] or None, raw=kept_raw)
    db.session.add(entry)
    return entry


def already_read(key: str) -> bool:
    return db.session.scalar(select(InboundEmail.id).where(InboundEmail.message_key == key)) is not None


def quarantine(key: str, size: int, reason: str, raw: bytes | None = None) -> str:
    """Record a message that could not be applied; its bytes are kept when they were read."""
    db.session.rollback()
    if already_read(key):
        return ""
    _record(key, raw, size, Decision(InboundOutcome.QUARANTINED, reason))
    db.session.commit()
    log.warning("Inbound e-mail %s quarantined: %s", key, reason)
    return InboundOutcome.QUARANTINED


def process_message(raw: bytes) -> str:
    """Apply one message read from the mailbox; returns its outcome ("" when it was applied before).
    Never raises for what the message holds: anything unreadable is quarantined with the reason."""
    raw = bytes(raw or b"")
    if len(raw) > max_message_bytes():
        return quarantine(message_key(raw), len(raw), f"larger than {store.megabytes(max_message_bytes())}")
    key = message_key(raw)
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        key = message_key(raw, _header(message, "Message-ID"))
        if already_read(key):
            return ""
        if not raw.strip() or not message.keys():
            return quarantine(key, len(raw), "not an e-mail message (no headers)", raw)
        sender = sender_of(message)
        if not sender:
            return quarantine(key, len(raw), "no readable sender address (From)", raw)
        subject = _header(message, "Subject")
        contact = next(iter(contacts_with(sender)), None)
        with operation(contact.user if contact is not None else None):
            decision = decide_and_apply(message, sender)
            _record(key, raw, len(raw), decision, sender, subject, trim_quoted(body_text(message)))
        return decision.outcome
    # The poll must carry on whatever a message holds: a malformed one can fail anywhere in the standard
    # library's parser or our reading of it, and is kept in quarantine with the reason instead.
    except Exception as error:  # noqa: BLE001
        return quarantine(key, len(raw), f"could not be read: {type(error).__name__}: {str(error)[:300]}", raw)

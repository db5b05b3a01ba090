"""The mail set-up as an administrator checks it: what is configured, a test email sent right away (so a
wrong host or password shows at once, not as a queue that never drains), and the demo mailbox."""
from __future__ import annotations

import email
import email.policy
import mailbox
import re
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parsedate_to_datetime
from pathlib import Path

from flask import current_app

from app.core.exceptions import InvalidInput
from app.sla.notifications import smtp_connection

MAILBOX_LISTED = 50
ADDRESS_HINT = "Enter the address to send the test email to, e.g. you@example.com."


@dataclass
class MailSettings:
    server: str
    port: int
    use_tls: bool
    use_ssl: bool
    username: str
    sender: str
    sink_dir: str  # the demo's local mail sink keeps what it receives here ("" when mail is real)

    @property
    def configured(self) -> bool:
        return bool(self.server)


def mail_settings() -> MailSettings:
    config = current_app.config
    return MailSettings(
        server=config.get("MAIL_SERVER") or "", port=int(config.get("MAIL_PORT") or 25),
        use_tls=bool(config.get("MAIL_USE_TLS")), use_ssl=bool(config.get("MAIL_USE_SSL")),
        username=config.get("MAIL_USERNAME") or "", sender=config.get("MAIL_FROM") or "orderdesk@localhost",
        sink_dir=config.get("MAIL_SINK_DIR") or "",
    )


def send_test_email(recipient: str, requested_by: str) -> str:
    """Send one message through the configured server now; returns where it went, raises InvalidInput
    with the server's own words when it cannot."""
    recipient = (recipient or "").strip()
    if "@" not in recipient or any(ch.isspace() for ch in recipient) or len(recipient) > 200:
        raise InvalidInput(ADDRESS_HINT, {"recipient": ADDRESS_HINT})
    settings = mail_settings()
    if not settings.configured:
        raise InvalidInput("No mail server is configured: set MAIL_SERVER (and MAIL_PORT, MAIL_USERNAME, "
                           "MAIL_PASSWORD, MAIL_USE_TLS, MAIL_FROM as needed) and restart.")
    message = EmailMessage()
    message["From"], message["To"] = settings.sender, recipient
    message["Subject"] = "Order Operations test email"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(f"This test email was sent by {requested_by} from the Operations page.\n\n"
                        f"Mail server: {settings.server}:{settings.port}\nSender: {settings.sender}\n")
    where = f"{settings.server}:{settings.port}"
    try:
        smtp = smtp_connection(current_app.config)
        try:
            smtp.send_message(message)
        finally:
            smtp.quit()
    except (OSError, smtplib.SMTPException) as error:
        raise InvalidInput(f"The test email could not be sent through {where}: {type(error).__name__}: "
                           f"{error}") from error
    return f"{recipient} through {where}"


@dataclass
class MailboxMessage:
    key: str
    sender: str
    recipients: str
    subject: str
    date: str
    body: str


def _read(key: str, raw: bytes) -> MailboxMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    part = parsed.get_body(preferencelist=("plain",)) if parsed.is_multipart() else parsed
    try:
        when = parsedate_to_datetime(parsed["Date"]).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError):
        when = ""
    return MailboxMessage(key=key, sender=str(parsed["From"] or ""), recipients=str(parsed["To"] or ""),
                          subject=str(parsed["Subject"] or "(no subject)"), date=when,
                          body=part.get_content() if part is not None else "")


def _delivered(key: str) -> tuple[int, int, str]:
    """Maildir names start with the delivery time ("<seconds>.M<microseconds>P..."): newest first without
    opening every file."""
    match = re.match(r"(\d+)\.M(\d+)", key)
    return (int(match.group(1)), int(match.group(2)), key) if match else (0, 0, key)


def _mailbox() -> mailbox.Maildir | None:
    directory = mail_settings().sink_dir
    if not directory or not Path(directory, "cur").is_dir():
        return None
    return mailbox.Maildir(directory, create=False)


def demo_mailbox(limit: int = MAILBOX_LISTED) -> list[MailboxMessage] | None:
    """The newest messages the demo mail sink received, or None when there is no sink."""
    box = _mailbox()
    if box is None:
        return None
    keys = sorted(box.keys(), key=_delivered, reverse=True)[:limit]
    return [_read(key, box.get_bytes(key)) for key in keys]


def demo_message(key: str) -> MailboxMessage | None:
    box = _mailbox()
    if box is None or key not in box.keys():
        return None
    return _read(key, box.get_bytes(key))

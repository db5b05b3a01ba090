"""Reading the desk mailbox over IMAP (run by the periodic job).

Messages not yet marked with the ``$OrderdeskRead`` keyword are read (their size first: an oversized one
is quarantined without being downloaded), applied by ``inbound.process_message`` and then marked. The
keyword, not \\Seen, says what the desk has read, so a person reading the mailbox in a mail client takes
nothing away from the desk. A crash between applying and marking reads the message again on the next
poll, where its recorded Message-ID makes it a no-op.
"""
from __future__ import annotations

import imaplib
import logging
import re
import socket
import ssl
from dataclasses import dataclass, field

from flask import current_app

from app.mail import inbound
from app.mail.models import InboundOutcome

log = logging.getLogger(__name__)

READ_KEYWORD = "$OrderdeskRead"
BATCH_SIZE = 200
TIMEOUT_SECONDS = 30
SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


@dataclass
class PollReport:
    waiting: bool = False  # no mailbox configured
    error: str = ""
    outcomes: dict[str, int] = field(default_factory=dict)
    already_read: int = 0

    def count(self, outcome: str) -> None:
        if outcome:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        else:
            self.already_read += 1

    def summary(self) -> str:
        if self.waiting:
            return "no mailbox configured"
        if self.error:
            return f"mailbox unavailable ({self.error})"
        read = ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.outcomes.items()))
        return (read or "no new messages") + (f", {self.already_read} read before" if self.already_read else "")


def _connect(config) -> imaplib.IMAP4:
    host, port = config["IMAP_SERVER"], int(config.get("IMAP_PORT") or 993)
    security = (config.get("IMAP_SECURITY") or "tls").lower()
    if security == "tls":
        client = imaplib.IMAP4_SSL(host, port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT_SECONDS)
    else:
        client = imaplib.IMAP4(host, port, timeout=TIMEOUT_SECONDS)
        if security == "starttls":
            client.starttls(ssl_context=ssl.create_default_context())
    client.login(config.get("IMAP_USERNAME") or "", config.get("IMAP_PASSWORD") or "")
    return client


def _folder(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fetch(client: imaplib.IMAP4, uid: bytes, item: str) -> list:
    status, data = client.uid("FETCH", uid, f"({item})")
    if status != "OK":
        raise imaplib.IMAP4.error(f"FETCH {item} of message {uid.decode()} answered {status}")
    return [part for part in data if part is not None]


def _size(client: imaplib.IMAP4, uid: bytes) -> int:
    for part in _fetch(client, uid, "RFC822.SIZE"):
        match = SIZE.search(part if isinstance(part, bytes) else part[0])
        if match:
            return int(match.group(1))
    return 0


def _content(client: imaplib.IMAP4, uid: bytes, item: str = "BODY.PEEK[]") -> bytes:
    for part in _fetch(client, uid, item):
        if isinstance(part, tuple):
            return part[1]
    return b""


def _read_one(client: imaplib.IMAP4, uid: bytes, limit: int) -> str:
    size = _size(client, uid)
    if size > limit:
        headers = _content(client, uid, "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]")
        match = inbound.MESSAGE_ID.search(headers.decode("ascii", "replace"))
        key = inbound.message_key(headers, match.group(0) if match else "")
        if inbound.already_read(key):
            return ""
        return inbound.quarantine(key, size, f"larger than {inbound.store.megabytes(limit)}; not downloaded")
    return inbound.process_message(_content(client, uid))


def poll_mailbox() -> PollReport:
    """Read the new messages of the configured desk mailbox (one batch) and apply each."""
    config = current_app.config
    report = PollReport()
    if not config.get("IMAP_SERVER"):
        report.waiting = True
        return report
    try:
        client = _connect(config)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as error:
        report.error = f"{config['IMAP_SERVER']}:{config.get('IMAP_PORT')}: {error}"
        log.warning("Desk mailbox unavailable: %s", report.error)
        return report
    try:
        status, _ = client.select(_folder(config.get("IMAP_FOLDER") or "INBOX"))
        if status != "OK":
            raise imaplib.IMAP4.error(f"folder {config.get('IMAP_FOLDER')!r} cannot be opened")
        status, data = client.uid("SEARCH", None, "UNDELETED", "UNKEYWORD", READ_KEYWORD)
        uids = data[0].split()[:BATCH_SIZE] if status == "OK" and data and data[0] else []
        limit = inbound.max_message_bytes()
        for uid in uids:
            try:
                report.count(_read_one(client, uid, limit))
            except imaplib.IMAP4.error as error:
                # One message the server will not hand over does not stop the others; it is tried again next time.
                log.warning("Desk mailbox message %s skipped: %s", uid.decode(), error)
                continue
            client.uid("STORE", uid, "+FLAGS", f"({READ_KEYWORD} \\Seen)")
    except (OSError, imaplib.IMAP4.error, socket.timeout) as error:
        report.error = str(error)
        log.warning("Desk mailbox poll stopped: %s", error)
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    if report.outcomes.get(InboundOutcome.QUARANTINED):
        log.warning("%d inbound message(s) quarantined", report.outcomes[InboundOutcome.QUARANTINED])
    return report

"""The mail servers the e-mail tests talk to: a private Dovecot (IMAP, the desk mailbox) and the aiosmtpd
server of the notification tests (SMTP, what the desk sends); the app is pointed at both."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from app.core.choices import CaseState, LineState
from app.core.extensions import db
from tests import factories
from tests.mail.dovecot import Dovecot, DovecotUnavailable
from tests.sla.test_notifications import SmtpServer, free_port

DESK = "desk@orderdesk.test"
DESK_PASSWORD = "desk-mailbox-secret"
MAIL_KEYS = ("MAIL_SERVER", "MAIL_PORT", "MAIL_FROM", "MAIL_USE_TLS", "MAIL_REPLY_TO", "IMAP_SERVER", "IMAP_PORT",
             "IMAP_SECURITY", "IMAP_USERNAME", "IMAP_PASSWORD", "IMAP_FOLDER", "MAIL_INBOUND_MAX_MB")


@pytest.fixture(scope="session")
def dovecot():
    # Not under pytest's temporary folder: as root it is private to root, and Dovecot's own unprivileged
    # processes must reach their files.
    root = Path(tempfile.mkdtemp(prefix="orderdesk-dovecot-"))
    try:
        server = Dovecot(root, {DESK: DESK_PASSWORD}).start()
    except DovecotUnavailable as missing:
        shutil.rmtree(root, ignore_errors=True)
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER_TESTS"):
            pytest.fail(str(missing))
        pytest.skip(str(missing))
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mail_servers(app, dovecot):
    """SMTP out and IMAP in, both on loopback; the desk mailbox starts empty."""
    saved = {key: app.config.get(key) for key in MAIL_KEYS}
    smtp = SmtpServer(free_port())
    smtp.start()
    dovecot.empty(DESK)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_FROM=DESK, MAIL_USE_TLS=False,
                      MAIL_REPLY_TO=DESK, IMAP_SERVER="127.0.0.1", IMAP_PORT=dovecot.port, IMAP_SECURITY="none",
                      IMAP_USERNAME=DESK, IMAP_PASSWORD=DESK_PASSWORD, IMAP_FOLDER="INBOX")
    yield smtp, dovecot
    smtp.stop()
    app.config.update(saved)


@pytest.fixture
def awaiting_case(users):
    """A case Awaiting Info from its contact (the session's customer), with a line accepted and one open."""
    account = factories.make_account("Umbrella")
    contact = account.primary_contact
    contact.user_id = users["customer"].id
    contact.email = "pat.buyer@umbrella.test"
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.AWAITING_INFO,
                               line_state=LineState.WORK_IN_PROGRESS)
    case.short_description = "Wrong colour delivered"
    case.assigned_to_id = users["agent"].id
    first = case.lines[0]
    first.state, first.request_type, first.approved_quantity = LineState.ACCEPTED, "Quantity change", 3
    first.resolution_notes = "Three units credited"
    db.session.commit()
    return case

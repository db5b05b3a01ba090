"""The desk mailbox, read over IMAP from a real Dovecot: replies become customer comments (files kept,
quoted history trimmed) and resume Awaiting Info cases, new messages from contacts open Draft cases,
unknown senders go to the review list, nothing is applied twice, and a corpus of broken messages is
quarantined without stopping the poll or leaving anything half-stored."""
from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from sqlalchemy import select

from app.core.choices import CaseOrigin, CaseState, JournalKind
from app.core.extensions import db
from app.mail.imap import READ_KEYWORD, poll_mailbox
from app.mail.inbound import trim_quoted
from app.mail.models import InboundOutcome
from app.models import Attachment, AuditEvent, InboundEmail, JournalEntry, OrderCase
from app.sla import notifications
from app.operations.periodic import run_periodic_work
from tests.attachments import files
from tests.mail.conftest import DESK

QUOTED = ("Hello Pat,\n\nTo continue with your order case we need some information from you:\n\n"
          "Which colour did you order?\n")


def desk_question(case, smtp) -> EmailMessage:
    """The desk's Information requested e-mail, as the contact received it."""
    notifications.notify(notifications.NotificationEvent.INFORMATION_REQUESTED, case,
                         question="Which colour did you order?")
    db.session.commit()
    assert notifications.send_queued().sent == 1
    (received,) = smtp.inbox.to(case.contact.email)
    return received


def reply(original: EmailMessage | None, sender: str, text: str, *, subject: str | None = None,
          attachments=(), message_id: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = f"Pat Buyer <{sender}>"
    message["To"] = DESK
    message["Subject"] = subject if subject is not None else f"Re: {original['Subject']}"
    message["Date"] = format_datetime(email.utils.localtime())
    message["Message-ID"] = message_id or make_msgid(domain="umbrella.test")
    if original is not None:
        message["In-Reply-To"] = original["Message-ID"]
        message["References"] = original["Message-ID"]
        quoted = "\n".join("> " + line for line in QUOTED.splitlines())
        text += f"\n\nOn Fri, 4 Dec 2026 at 10:00, Order desk <{DESK}> wrote:\n{quoted}\n"
    message.set_content(text)
    for name, data, maintype, subtype in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def comments(case) -> list[JournalEntry]:
    db.session.expire_all()
    return db.session.scalars(select(JournalEntry).where(JournalEntry.case_id == case.id,
                                                         JournalEntry.kind == JournalKind.COMMENT)).all()


def test_a_reply_from_the_contact_becomes_a_comment_and_resumes_the_case(mail_servers, awaiting_case, users):
    smtp, dovecot = mail_servers
    question = desk_question(awaiting_case, smtp)
    assert f"[{awaiting_case.number}]" in question["Subject"]
    assert question["Message-ID"].startswith(f"<orderdesk.{awaiting_case.number}.")
    assert question["Reply-To"] == DESK
    dovecot.deliver(DESK, reply(question, awaiting_case.contact.email.upper(), "It was blue, size M.",
                                attachments=[("order-photo.png", files.png(), "image", "png"),
                                             ("tool.exe", files.EXE, "application", "octet-stream")]))
    report = poll_mailbox()
    assert report.error == "" and report.outcomes == {InboundOutcome.COMMENT: 1}
    db.session.expire_all()
    case = db.session.get(OrderCase, awaiting_case.id)
    assert case.state == CaseState.WORK_IN_PROGRESS
    (comment,) = comments(case)
    assert comment.text.startswith("It was blue, size M.")
    assert "wrote:" not in comment.text and "Which colour" not in comment.text
    assert "Not kept: tool.exe was refused: .exe files are not accepted." in comment.text
    assert comment.author_id == users["customer"].id
    (photo,) = db.session.scalars(select(Attachment).where(Attachment.case_id == case.id)).all()
    assert (photo.filename, photo.content_type, photo.source) == ("order-photo.png", "image/png", "email")
    resumed = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.field == "state",
                                                          AuditEvent.new_value == CaseState.WORK_IN_PROGRESS)).one()
    assert resumed.action == "Reply"
    # Marked as read by the desk; a second poll, and the same message delivered again, change nothing.
    assert READ_KEYWORD in dovecot.flags(DESK)[0]
    assert poll_mailbox().outcomes == {}
    dovecot.deliver(DESK, reply(question, awaiting_case.contact.email, "It was blue, size M.",
                                message_id=db.session.scalars(select(InboundEmail.message_key)).one()))
    again = poll_mailbox()
    assert again.outcomes == {} and again.already_read == 1
    assert len(comments(case)) == 1


def test_the_subject_token_alone_finds_the_case(mail_servers, awaiting_case):
    _smtp, dovecot = mail_servers
    dovecot.deliver(DESK, reply(None, awaiting_case.contact.email, "Blue, as ordered.",
                                subject=f"About my order [{awaiting_case.number}]"))
    assert poll_mailbox().outcomes == {InboundOutcome.COMMENT: 1}
    assert [c.text for c in comments(awaiting_case)] == ["Blue, as ordered."]


def test_an_email_naming_no_case_opens_a_draft_case_for_the_contact(mail_servers, awaiting_case):
    _smtp, dovecot = mail_servers
    dovecot.deliver(DESK, reply(None, awaiting_case.contact.email, "Please change order 42 to 8 units.",
                                subject="Fwd: Change my order", attachments=[("po.pdf", files.pdf(), "application",
                                                                              "pdf")]))
    assert poll_mailbox().outcomes == {InboundOutcome.NEW_CASE: 1}
    created = db.session.scalars(select(OrderCase).where(OrderCase.origin == CaseOrigin.EMAIL)).one()
    assert (created.state, created.contact_id, created.account_id) == (
        CaseState.DRAFT, awaiting_case.contact_id, awaiting_case.account_id)
    assert created.short_description == "Change my order"
    assert created.description == "Please change order 42 to 8 units."
    assert [a.filename for a in db.session.scalars(select(Attachment).where(Attachment.case_id == created.id))] == [
        "po.pdf"]


def test_senders_matching_no_contact_go_to_the_review_list(mail_servers, awaiting_case, client_for):
    smtp, dovecot = mail_servers
    question = desk_question(awaiting_case, smtp)
    dovecot.deliver(DESK, reply(None, "stranger@elsewhere.test", "Do you sell widgets?", subject="Widgets"))
    dovecot.deliver(DESK, reply(question, "colleague@umbrella.test", "Pat is away; it was blue."))
    report = poll_mailbox()
    assert report.outcomes == {InboundOutcome.REVIEW: 2}
    reviewed = {e.from_address: e for e in db.session.scalars(select(InboundEmail))}
    assert reviewed["stranger@elsewhere.test"].reason == "no contact has the address stranger@elsewhere.test"
    assert reviewed["stranger@elsewhere.test"].raw.startswith(b"From: Pat Buyer <stranger@elsewhere.test>")
    assert reviewed["colleague@umbrella.test"].case_id == awaiting_case.id
    assert comments(awaiting_case) == []
    page = client_for("agent").get("/inboundemailview/list/").get_data(as_text=True)
    assert "stranger@elsewhere.test" in page and "colleague@umbrella.test" in page


def test_the_periodic_job_reads_the_mailbox(app, mail_servers, awaiting_case):
    _smtp, dovecot = mail_servers
    dovecot.deliver(DESK, reply(None, awaiting_case.contact.email, "Blue.", subject=f"Re: [{awaiting_case.number}]"))
    report = run_periodic_work(app)
    assert report.result("Desk mailbox").outcomes == {InboundOutcome.COMMENT: 1}
    assert "Desk mailbox: 1 comment." in report.summary()


def test_an_unreachable_mailbox_is_reported_not_raised(app, mail_servers):
    app.config["IMAP_PORT"] = 1
    report = poll_mailbox()
    assert report.error and "mailbox unavailable" in report.summary()
    app.config["IMAP_PASSWORD"] = "wrong"
    app.config["IMAP_PORT"] = mail_servers[1].port
    assert poll_mailbox().error


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_the_mailbox_is_read_over_tls_only_from_a_trusted_server(app, mail_servers, awaiting_case, monkeypatch,
                                                                 security):
    _smtp, dovecot = mail_servers
    dovecot.deliver(DESK, reply(None, awaiting_case.contact.email, "Blue, sent over TLS.",
                                subject=f"Re: [{awaiting_case.number}]"))
    app.config.update(IMAP_SECURITY=security, IMAP_PORT=dovecot.tls_port if security == "tls" else dovecot.port)
    # The server's certificate is checked: one no trusted authority vouches for is refused before logging in.
    refused = poll_mailbox()
    assert "certificate verify failed" in refused.error and "mailbox unavailable" in refused.summary()
    assert db.session.query(InboundEmail).count() == 0 and comments(awaiting_case) == []
    # Trusted (as a deployment's own CA would be), the same server is read over TLS.
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.certificate))
    report = poll_mailbox()
    assert report.error == "" and report.outcomes == {InboundOutcome.COMMENT: 1}
    assert [c.text for c in comments(awaiting_case)] == ["Blue, sent over TLS."]


def broken_corpus(case_number: str, sender: str) -> dict[str, bytes]:
    """Messages real mailboxes receive that a parser can choke on, by what is wrong with them."""
    token = f"[{case_number}]"
    return {
        "binary garbage": bytes(range(256)) * 20,
        "headers only, no sender": b"Subject: nobody\r\nMessage-ID: <nosender@x.test>\r\n\r\nhello\r\n",
        "unparseable From": b"From: <<<@@@>>>\r\nSubject: x\r\nMessage-ID: <badfrom@x.test>\r\n\r\nbody\r\n",
        "unknown charset": (f"From: {sender}\r\nSubject: {token}\r\nMessage-ID: <charset@x.test>\r\n"
                            "Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n\xe9t\xe9\r\n").encode("latin-1"),
        "broken base64 attachment": (
            f"From: {sender}\r\nSubject: {token}\r\nMessage-ID: <b64@x.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee file\r\n"
            "--XX\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=a.pdf\r\n\r\n!!!not base64***\r\n--XX--\r\n").encode(),
        "unterminated multipart": (
            f"From: {sender}\r\nSubject: {token}\r\nMessage-ID: <multi@x.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"never\"\r\n\r\npreamble only\r\n").encode(),
        "encoded-word chaos": (f"From: =?utf-8?q?broken?= <{sender}>\r\nSubject: =?x-bad?b?!!!?= {token}\r\n"
                               "Message-ID: <words@x.test>\r\n\r\nok\r\n").encode(),
        "NUL bytes in the body": f"From: {sender}\r\nSubject: {token}\r\nMessage-ID: <nul@x.test>\r\n\r\na\x00b\r\n"
        .encode(),
        "endless header line": f"From: {sender}\r\nSubject: {token}{'x' * 20000}\r\nMessage-ID: <long@x.test>\r\n\r\n"
        "long\r\n".encode(),
        "HTML only with quoted history": (
            f"From: {sender}\r\nSubject: {token}\r\nMessage-ID: <html@x.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/html; charset=utf-8\r\n\r\n<div>New answer <b>here</b></div>"
            "<div class=\"gmail_quote\">On Friday the desk wrote:<blockquote>old text</blockquote></div>\r\n").encode(),
        "oversized": f"From: {sender}\r\nSubject: {token}\r\nMessage-ID: <huge@x.test>\r\n\r\n".encode()
        + b"x" * 300_000 + b"\r\n",
        "automatic reply": (f"From: {sender}\r\nSubject: Out of office {token}\r\nMessage-ID: <ooo@x.test>\r\n"
                            "Auto-Submitted: auto-replied\r\n\r\nI am away.\r\n").encode(),
        "a mail loop from the desk": f"From: {DESK}\r\nSubject: {token}\r\nMessage-ID: <loop@x.test>\r\n\r\nx\r\n"
        .encode(),
    }


def test_a_corpus_of_broken_emails_is_quarantined_and_the_poll_carries_on(app, mail_servers, awaiting_case):
    smtp, dovecot = mail_servers
    app.config["MAIL_INBOUND_MAX_MB"] = 0.2
    sender = awaiting_case.contact.email
    corpus = broken_corpus(awaiting_case.number, sender)
    for raw in corpus.values():
        dovecot.deliver(DESK, raw)
    good = reply(desk_question(awaiting_case, smtp), sender, "After all the noise: blue.")
    dovecot.deliver(DESK, good)
    report = poll_mailbox()
    assert report.error == ""
    assert sum(report.outcomes.values()) == len(corpus) + 1
    records = {row.message_key: row for row in db.session.scalars(select(InboundEmail))}
    assert len(records) == len(corpus) + 1
    quarantined = [row for row in records.values() if row.outcome == InboundOutcome.QUARANTINED]
    reasons = " | ".join(row.reason for row in quarantined)
    for expected in ("no readable sender address", "larger than", "a mail loop"):
        assert expected in reasons
    assert records["<ooo@x.test>"].outcome == InboundOutcome.REVIEW
    assert records["<huge@x.test>"].raw is None  # never downloaded
    # Every message is marked read, so the next poll does not try them again.
    assert all(READ_KEYWORD in flags for flags in dovecot.flags(DESK))
    assert poll_mailbox().outcomes == {}
    # The readable ones landed as comments, the rest wrote nothing but their record.
    texts = [c.text for c in comments(awaiting_case)]
    assert "After all the noise: blue." in texts
    assert "New answer here" in texts
    commented = {row.message_key for row in records.values() if row.outcome == InboundOutcome.COMMENT}
    assert len(texts) == len(commented)
    assert db.session.scalars(select(OrderCase).where(OrderCase.origin == CaseOrigin.EMAIL)).all() == []
    stored_files = db.session.scalars(select(Attachment)).all()
    assert [a.filename for a in stored_files] == []


@pytest.mark.parametrize("text, kept", [
    ("Yes.\n\nOn Mon, 1 Dec 2026 at 09:00, Desk <d@x.test> wrote:\n> old", "Yes."),
    ("Yes.\n\nOn Mon, 1 Dec 2026 at 09:00, Order Desk\n<d@x.test> wrote:\n> old", "Yes."),
    ("Ja.\n\nAm 01.12.2026 um 09:00 schrieb Desk <d@x.test>:\n> alt", "Ja."),
    ("Fine\n\n-----Original Message-----\nFrom: Desk\nSent: Monday\n\nold", "Fine"),
    ("Fine\n\nFrom: Desk <d@x.test>\nSent: Monday, 1 December 2026 09:00\nTo: Pat\n\nold", "Fine"),
    ("Inline\n> quoted line\nmore of mine", "Inline\nmore of mine"),
    ("Thanks\n-- \nPat Buyer\nUmbrella", "Thanks"),
])
def test_quoted_history_is_trimmed(text, kept):
    assert trim_quoted(text) == kept


def test_parsing_is_the_standard_library_on_real_bytes():
    # The corpus must be bytes a mailbox could hold; the parser itself is never mocked.
    for raw in broken_corpus("ORDCS0000001", "a@b.test").values():
        assert isinstance(email.message_from_bytes(raw, policy=email.policy.default), EmailMessage)

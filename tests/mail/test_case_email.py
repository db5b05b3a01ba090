"""E-mail from the case page: admin templates with placeholders, the agent's message to the contact with
copies and case files, sent through the outbox with the case token and threading headers, and recorded
in the case activity."""
from __future__ import annotations

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.core.choices import JournalKind
from app.core.extensions import db
from app.models import Attachment, EmailTemplate, JournalEntry, Notification
from app.sla import notifications
from tests.attachments import files
from tests.attachments.conftest import upload

TEMPLATE_BODY = ("Dear {contact_name},\n\nHere is where {case_number} ({short_description}) stands:\n"
                 "{lines_summary}\n\nKind regards,\n{agent_name}")


def make_template() -> EmailTemplate:
    template = EmailTemplate(name="Status update", subject="Your request {case_number}: status",
                             body=TEMPLATE_BODY, active=True)
    db.session.add(template)
    db.session.commit()
    return template


def test_an_agent_emails_the_contact_from_a_template_with_a_case_file(mail_servers, awaiting_case, client_for):
    smtp, _dovecot = mail_servers
    template = make_template()
    agent = client_for("agent")
    page = f"/ordercases/{awaiting_case.id}"
    assert "E-mail contact" in agent.get(page).get_data(as_text=True)
    upload(agent, page, f"/attachments/cases/{awaiting_case.id}", ("credit-note.pdf", files.pdf("Credit 3")))
    attachment = db.session.scalars(select(Attachment)).one()
    compose_page = agent.get(f"/ordercases/{awaiting_case.id}/email?template_id={template.id}").get_data(as_text=True)
    first, second = awaiting_case.lines
    assert f"Your request {awaiting_case.number}: status" in compose_page
    assert "Dear Pat Buyer," in compose_page
    assert f"- {first.number} ({first.order_line.number}): Quantity change — Resolved - Accepted (quantity 3; " \
           "Three units credited)" in compose_page
    assert f"- {second.number} ({second.order_line.number}): {second.request_type} — Work in Progress" in compose_page
    assert "Kind regards,\nAgent Tester" in compose_page
    body = f"Dear Pat Buyer,\n\n{awaiting_case.number} is nearly done."
    response = agent.submit(f"/ordercases/{awaiting_case.id}/email", {
        "subject": f"Your request {awaiting_case.number}: status", "body": body,
        "cc": "buyer.two@umbrella.test; Boss <boss@umbrella.test>", "attachment_id": [str(attachment.id)]})
    assert response.status_code == 302 and response.location.endswith(f"{page}#activity")
    assert notifications.send_queued().sent == 1
    (message,) = smtp.inbox.to(awaiting_case.contact.email)
    recipients = smtp.inbox.messages[0][0]
    assert set(recipients) == {awaiting_case.contact.email, "buyer.two@umbrella.test", "boss@umbrella.test"}
    assert message["Subject"] == f"Your request {awaiting_case.number}: status [{awaiting_case.number}]"
    assert message["Cc"] == "buyer.two@umbrella.test, boss@umbrella.test"
    assert message["Message-ID"].startswith(f"<orderdesk.{awaiting_case.number}.")
    assert message["Auto-Submitted"] is None
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == body
    (attached,) = list(message.iter_attachments())
    assert attached.get_filename() == "credit-note.pdf" and attached.get_content() == files.pdf("Credit 3")
    stored = db.session.scalars(select(Notification)).one()
    assert stored.message_id == message["Message-ID"]
    entry = db.session.scalars(select(JournalEntry).where(JournalEntry.kind == JournalKind.EMAIL)).one()
    assert entry.case_id == awaiting_case.id and "Attached: credit-note.pdf" in entry.text
    case_page = agent.get(page).get_data(as_text=True)
    assert "activity-email" in case_page and "Subject: Your request" in case_page


def test_emails_about_a_case_thread_under_the_earlier_ones_to_the_same_address(mail_servers, awaiting_case,
                                                                                 client_for, users):
    smtp, _dovecot = mail_servers
    # The contact's earlier notice is part of their conversation; the agent's assignment notice is not.
    asked = notifications.queue(notifications.NotificationEvent.INFORMATION_REQUESTED, awaiting_case.contact,
                                awaiting_case, question="Which colour?")
    internal = notifications.queue(notifications.NotificationEvent.CASE_ASSIGNED,
                                   db.session.get(User, users["agent"].id), awaiting_case)
    db.session.commit()
    assert internal is not None and internal.recipient_email != awaiting_case.contact.email
    agent = client_for("agent")
    for number in (1, 2):
        agent.submit(f"/ordercases/{awaiting_case.id}/email", {"subject": f"Note {number}", "body": "Text"})
    first, second = db.session.scalars(select(Notification).where(Notification.event == notifications.CASE_EMAIL)
                                       .order_by(Notification.id)).all()
    assert asked.references is None and internal.references is None
    assert first.references == asked.message_id
    assert second.references == f"{asked.message_id} {first.message_id}"
    # The desk's automatic notices to the contact join the same conversation.
    proposed = notifications.queue(notifications.NotificationEvent.SOLUTION_PROPOSED, awaiting_case.contact,
                                   awaiting_case)
    db.session.commit()
    assert proposed.references == f"{asked.message_id} {first.message_id} {second.message_id}"
    notifications.send_queued()
    (_asked_sent, _first_sent, second_sent, proposed_sent) = smtp.inbox.to(awaiting_case.contact.email)
    assert second_sent["In-Reply-To"] == first.message_id and proposed_sent["In-Reply-To"] == second.message_id
    assert internal.message_id not in second_sent["References"]


def test_bad_compose_input_is_refused_and_nothing_is_queued(mail_servers, awaiting_case, client_for, users):
    agent = client_for("agent")
    url = f"/ordercases/{awaiting_case.id}/email"
    other = upload(agent, f"/ordercases/{awaiting_case.id}", f"/attachments/orders/{awaiting_case.order.id}",
                   ("order.pdf", files.pdf()))
    assert other.status_code == 302
    order_file = db.session.scalars(select(Attachment)).one()
    attempts = [
        ({"subject": "", "body": "x"}, "needs a subject and a message"),
        ({"subject": "x", "body": "  "}, "needs a subject and a message"),
        ({"subject": "x", "body": "y", "cc": "not-an-address, ok@x.test"}, "not an e-mail address: not-an-address"),
        ({"subject": "x", "body": "y", "cc": ",".join(f"a{n}@x.test" for n in range(11))}, "at most 10 copies"),
        ({"subject": "x", "body": "y", "attachment_id": [str(order_file.id)]}, "only files of"),
        ({"subject": "x" * 251, "body": "y"}, "needs a subject and a message"),
    ]
    for data, message in attempts:
        response = agent.submit(url, data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    assert db.session.query(Notification).count() == 0
    assert db.session.query(JournalEntry).count() == 0
    awaiting_case.contact.email = None
    db.session.commit()
    refused = agent.submit(url, {"subject": "x", "body": "y"})
    assert refused.status_code == 422 and "has no contact with an e-mail address" in refused.get_data(as_text=True)
    customer = client_for("customer")
    assert customer.get(url).status_code in (302, 403)


def test_admins_manage_templates_and_unknown_placeholders_are_refused(client_for):
    admin = client_for("admin")
    bad = admin.submit("/emailtemplateview/add", {"name": "Broken", "subject": "Hi {case_numbr}",
                                                  "body": "Text {lines_summary", "active": "y"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "Unknown placeholder {case_numbr}" in html and "brace is not closed" in html
    assert db.session.query(EmailTemplate).count() == 0
    good = admin.submit("/emailtemplateview/add", {"name": "Thanks", "subject": "About {case_number}",
                                                   "body": "Hello {contact_name}, {{literal}}", "active": "y"})
    assert good.status_code == 302
    assert db.session.scalars(select(EmailTemplate.name)).all() == ["Thanks"]
    assert client_for("agent").get("/emailtemplateview/list/").status_code in (302, 403)

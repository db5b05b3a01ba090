"""E-mail on the case in headless Chromium: the agent writes to the contact from a template; the contact's
reply, delivered into the Dovecot desk mailbox, appears on the case as a comment once the periodic job
has run, and the Awaiting Info case is back in Work in Progress."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.choices import CaseState
from app.core.extensions import db
from app.models import EmailTemplate, OrderCase
from app.operations.periodic import run_periodic_work
from tests.mail.conftest import DESK
from tests.mail.test_inbound import reply

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_agent_emails_from_a_template_and_the_reply_comes_back_as_a_comment(app, page_as, live_server, mail_servers,
                                                                             awaiting_case, viewport):
    smtp, dovecot = mail_servers
    db.session.add(EmailTemplate(name="Need details", subject="Details for {case_number}",
                                 body="Dear {contact_name},\n\n{lines_summary}\n\nWhich colour was it?\n{agent_name}",
                                 active=True))
    db.session.commit()
    agent = page_as("agent", viewport=viewport)
    agent.goto(f"{live_server}/ordercases/{awaiting_case.id}")
    with agent.expect_navigation():
        agent.click("text=E-mail contact")
    agent.select_option("#template_id", label="Need details")
    with agent.expect_navigation():
        agent.click("text=Use template")
    assert agent.input_value("#email-subject") == f"Details for {awaiting_case.number}"
    body = agent.input_value("#email-body")
    assert body.startswith("Dear Pat Buyer,") and awaiting_case.lines[0].number in body
    agent.fill("#email-cc", "warehouse@umbrella.test")
    with agent.expect_navigation():
        agent.click("button:has-text('Send')")
    assert "E-mail to pat.buyer@umbrella.test queued for sending." in agent.inner_text("body")
    assert f"Subject: Details for {awaiting_case.number} [{awaiting_case.number}]" in agent.inner_text(".activity-stream")

    run_periodic_work(app)
    (sent,) = smtp.inbox.to("pat.buyer@umbrella.test")
    assert "warehouse@umbrella.test" in smtp.inbox.messages[0][0]

    dovecot.deliver(DESK, reply(sent, "pat.buyer@umbrella.test", "It was the blue one, size M."))
    report = run_periodic_work(app)
    assert report.result("Desk mailbox").outcomes == {"comment": 1}

    agent.reload()
    assert "It was the blue one, size M." in agent.inner_text(".activity-stream")
    assert "wrote:" not in agent.inner_text(".activity-stream")
    assert agent.inner_text(".case-state").strip() == CaseState.WORK_IN_PROGRESS
    db.session.expire_all()
    assert db.session.scalars(select(OrderCase.state)).one() == CaseState.WORK_IN_PROGRESS

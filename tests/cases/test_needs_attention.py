"""Needs attention on the case page (set with a reason, cleared), its notice to the assignee, the
lists that show it, the priority-1 banner, and the administrators' outbox with Retry."""
from __future__ import annotations

import re

from app.core.choices import CaseState, LineState, NotificationState
from app.core.extensions import db
from app.models import JournalEntry, Notification, OrderCase
from app.sla.notifications import NotificationEvent
from tests import factories


def flagged_case(users, assignee_role="agent", priority=3) -> OrderCase:
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=list(order.lines),
                               state=CaseState.WORK_IN_PROGRESS, line_state=LineState.WORK_IN_PROGRESS)
    case.assigned_to_id = users[assignee_role].id
    case.priority = priority
    db.session.commit()
    return case


def test_a_manager_flags_a_case_with_a_reason_the_assignee_is_told_and_the_page_and_lists_show_it(
        users, client_for):
    case = flagged_case(users)
    manager = client_for("manager")
    page_url = f"/ordercases/{case.id}"
    response = manager.submit(page_url, {"needs_attention": "1", "reason": "Escalated by the customer's CFO",
                                         "version": case.version}, post_url=f"/ordercases/{case.id}/attention")
    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.get(OrderCase, case.id)
    assert case.needs_attention and case.attention_reason == "Escalated by the customer's CFO"
    (notice,) = db.session.query(Notification).filter_by(event=NotificationEvent.NEEDS_ATTENTION).all()
    assert notice.recipient_user_id == users["agent"].id and "Escalated by the customer's CFO" in notice.body
    assert db.session.query(JournalEntry).filter(JournalEntry.case_id == case.id,
                                                 JournalEntry.text.contains("CFO")).count() == 1

    agent = client_for("agent")
    html = agent.get(page_url).get_data(as_text=True)
    assert "needs-attention-banner" in html and "Escalated by the customer&#39;s CFO" in html
    listing = agent.get("/myopencasesview/list/").get_data(as_text=True)
    assert case.number in listing and "Needs attention</span>" in listing

    # The assignee clears it; nobody is notified about clearing.
    response = agent.submit(page_url, {"needs_attention": "0", "reason": "", "version": case.version},
                            post_url=f"/ordercases/{case.id}/attention")
    db.session.expire_all()
    assert not db.session.get(OrderCase, case.id).needs_attention
    assert db.session.get(OrderCase, case.id).attention_reason is None
    assert "needs-attention-banner" not in agent.get(page_url).get_data(as_text=True)
    assert db.session.query(Notification).count() == 1


def test_flagging_needs_a_reason_and_the_current_version(users, client_for):
    case = flagged_case(users)
    manager = client_for("manager")
    url = f"/ordercases/{case.id}"
    manager.submit(url, {"needs_attention": "1", "reason": "  ", "version": case.version},
                   post_url=f"{url}/attention")
    manager.submit(url, {"needs_attention": "1", "reason": "Late", "version": case.version - 1},
                   post_url=f"{url}/attention")
    db.session.expire_all()
    assert not db.session.get(OrderCase, case.id).needs_attention
    assert db.session.query(Notification).count() == 0
    page = manager.get(url, follow_redirects=True).get_data(as_text=True)
    assert "needs a reason" in page or "changed" in page.lower()


def test_flagging_your_own_case_notifies_nobody_and_customers_cannot_flag(users, client_for):
    case = flagged_case(users)
    client_for("agent").submit(f"/ordercases/{case.id}", {"needs_attention": "1", "reason": "Tricky one",
                                                           "version": case.version},
                               post_url=f"/ordercases/{case.id}/attention")
    db.session.expire_all()
    assert db.session.get(OrderCase, case.id).needs_attention
    assert db.session.query(Notification).count() == 0
    customer = client_for("customer")
    assert customer.post(f"/ordercases/{case.id}/attention", data={"needs_attention": "0"}).status_code in (302, 400,
                                                                                                            403)
    db.session.expire_all()
    assert db.session.get(OrderCase, case.id).needs_attention


def test_a_priority_1_case_shows_the_special_handling_banner(users, client_for):
    critical, normal = flagged_case(users, priority=1), flagged_case(users, priority=3)
    agent = client_for("agent")
    assert "This case is critical. Follow up immediately." in agent.get(f"/ordercases/{critical.id}").get_data(
        as_text=True)
    assert "This case is critical" not in agent.get(f"/ordercases/{normal.id}").get_data(as_text=True)


def test_the_outbox_is_admin_only_and_retry_requeues_failed_messages(users, client_for):
    failed = Notification(event=NotificationEvent.CASE_CLOSED, recipient_email="a@example.test", subject="Closed",
                          body="b", state=NotificationState.FAILED, attempts=8, last_error="SMTP 550 mailbox full")
    sent = Notification(event=NotificationEvent.CASE_CLOSED, recipient_email="b@example.test", subject="Closed",
                        body="b", state=NotificationState.SENT, attempts=1)
    db.session.add_all([failed, sent])
    db.session.commit()
    assert client_for("manager").get("/notificationview/list/").status_code == 403
    assert client_for("agent").get("/notificationview/list/").status_code == 403
    admin = client_for("admin")
    listing = admin.get("/notificationview/list/").get_data(as_text=True)
    assert "SMTP 550 mailbox full" in listing and "failed" in listing
    response = admin.submit("/notificationview/list/", {"action": "retry", "rowid": [str(failed.id), str(sent.id)]},
                            post_url="/notificationview/action_post")
    assert response.status_code == 302
    db.session.expire_all()
    retried = db.session.get(Notification, failed.id)
    assert (retried.state, retried.attempts) == (NotificationState.QUEUED, 0)
    assert db.session.get(Notification, sent.id).state == NotificationState.SENT
    # A retry by GET (a link) is refused: no state change without a POST and its CSRF token.
    retried.state = NotificationState.FAILED
    db.session.commit()
    admin.get(f"/notificationview/action/retry/{failed.id}")
    db.session.expire_all()
    assert db.session.get(Notification, failed.id).state == NotificationState.FAILED


def test_work_lists_show_the_sla_column_and_at_risk_breached_are_for_managers(users, client_for):
    import datetime as dt

    from app.sla import clocks as sla

    sla.seed_default_sla_definitions()
    case = flagged_case(users)
    case.opened_at = dt.datetime(2026, 1, 1)
    db.session.commit()
    sla.sync_case_slas(case, dt.datetime(2026, 1, 10))
    db.session.commit()
    manager = client_for("manager")
    for url in ("/breachedcasesview/list/", "/opencasesview/list/", "/allcasesview/list/", "/ordercaseview/list/"):
        html = manager.get(url).get_data(as_text=True)
        assert case.number in html, url
        assert re.search(r'sla-badge[^>]*>breached', html), url
    assert case.number not in manager.get("/atriskcasesview/list/").get_data(as_text=True)
    assert case.number not in manager.get("/unassignedcasesview/list/").get_data(as_text=True)
    agent = client_for("agent")
    assert agent.get("/breachedcasesview/list/").status_code == 403
    assert agent.get("/atriskcasesview/list/").status_code == 403
    assert case.number in agent.get("/myopencasesview/list/").get_data(as_text=True)

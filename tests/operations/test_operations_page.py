"""The administrators' Operations page over HTTP (real logins, CSRF on): the last periodic run and what each
task did, both outboxes with Retry, the mail settings with a test email, and the demo mailbox that the
local mail sink of ./scripts/run fills."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from app.core.choices import NotificationState
from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import Notification, PeriodicRun, TmfEvent, TmfHubSubscription
from app.operations import periodic
from app.operations.mail_sink import MailSink
from app.sla.notifications import send_queued
from tests.sla.test_notifications import free_port

PAGE = "/operations/"


@pytest.fixture
def mail_sink(app, tmp_path):
    """The demo's mail sink, configured as ./scripts/run configures it."""
    saved = {key: app.config.get(key) for key in ("MAIL_SERVER", "MAIL_PORT", "MAIL_SINK_DIR", "MAIL_USE_TLS",
                                                  "MAIL_USE_SSL", "MAIL_USERNAME", "MAIL_PASSWORD")}
    sink = MailSink(tmp_path / "mailbox").start()
    app.config.update(sink.config())
    yield sink
    sink.stop()
    app.config.update(saved)


def message(state=NotificationState.FAILED, recipient="buyer@example.test", **extra) -> Notification:
    notification = Notification(event="case assigned", recipient_email=recipient, subject=f"Subject for {recipient}",
                                body="Hello", state=state, attempts=8 if state == NotificationState.FAILED else 0,
                                next_attempt_at=utcnow(), last_error="Connection refused", **extra)
    db.session.add(notification)
    db.session.commit()
    return notification


def tmf_event(state="failed") -> TmfEvent:
    subscription = TmfHubSubscription(api="TMF622", callback="http://127.0.0.1:9/listener")
    event = TmfEvent(subscription=subscription, event_type="ProductOrderStateChangeEvent", payload={"event": {}},
                     state=state, attempts=8, last_error="HTTP 503")
    db.session.add(event)
    db.session.commit()
    return event


def flashes(response) -> str:
    return " ".join(re.sub(r"\s+", " ", text) for text in
                    re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S))


def post(client, path, data=None):
    """Press a button of the Operations page (its CSRF token), as a browser would, and follow to the page."""
    return client.submit(PAGE, data or {}, post_url=path, follow_redirects=True, headers={"Referer": PAGE})


def test_only_administrators_reach_the_page(client_for):
    assert client_for("admin").get(PAGE).status_code == 200
    for role in ("manager", "agent"):
        assert client_for(role).get(PAGE).status_code == 403
    assert client_for(None).get(PAGE).status_code == 302


def test_the_page_says_the_job_never_ran_then_shows_the_last_run_and_each_task(app, client_for):
    admin = client_for("admin")
    assert "has not run yet" in admin.get(PAGE).get_data(as_text=True)

    periodic.run_periodic_work(app)
    html = admin.get(PAGE).get_data(as_text=True)
    assert 'id="last-run"' in html and "(command," in html and ">ok<" in html
    for task in periodic.PERIODIC_TASKS:
        assert f"<th scope=\"row\">{task.name}</th>" in html
    assert "no mail server configured, messages stay queued" in html


def test_run_now_runs_every_task_and_records_it_as_manual(client_for):
    page = post(client_for("admin"), "/operations/run")
    assert "Periodic run done" in flashes(page)
    (run,) = db.session.query(PeriodicRun).all()
    assert (run.trigger, run.outcome) == ("manual", "ok") and run.finished_at >= run.started_at
    assert [task["task"] for task in run.tasks] == [task.name for task in periodic.PERIODIC_TASKS]


def test_a_failing_task_is_recorded_and_the_others_still_run(app, monkeypatch):
    ran = []

    def broken(now):
        raise ConnectionError("IMAP server unreachable")

    monkeypatch.setattr(periodic, "PERIODIC_TASKS", [
        periodic.PeriodicTask("Broken", broken),
        periodic.PeriodicTask("Counting", lambda now: ran.append(now) or "counted"),
    ])
    now = dt.datetime(2026, 6, 1, 8, 0)
    outcome = periodic.run_periodic_work(app, now)
    assert not outcome.ok and ran == [now]
    run = db.session.get(PeriodicRun, outcome.run_id)
    assert run.outcome == "failed"
    assert run.tasks[0]["ok"] is False and "ConnectionError: IMAP server unreachable" in run.tasks[0]["summary"]
    assert run.tasks[1] == {"task": "Counting", "ok": True, "summary": "counted", "duration_ms": run.tasks[1]["duration_ms"]}

    result = app.test_cli_runner().invoke(args=["periodic"])
    assert result.exit_code == 1 and "Broken: failed: ConnectionError" in result.output
    assert "Counting: counted" in result.output


def test_runs_older_than_a_week_are_pruned(app):
    old = PeriodicRun(started_at=utcnow() - dt.timedelta(days=8), trigger="command", host="h:1", outcome="ok")
    recent = PeriodicRun(started_at=utcnow() - dt.timedelta(days=6), trigger="command", host="h:1", outcome="ok")
    db.session.add_all([old, recent])
    db.session.commit()
    old_id, recent_id = old.id, recent.id
    periodic.run_periodic_work(app)
    db.session.expunge_all()
    assert db.session.get(PeriodicRun, old_id) is None and db.session.get(PeriodicRun, recent_id) is not None


def test_the_schedule_of_scripts_run_runs_the_job_in_the_background(app):
    schedule = periodic.PeriodicSchedule(app, interval=0.2, first_after=0).start()
    try:
        for _ in range(100):
            db.session.expire_all()
            if db.session.query(PeriodicRun).filter_by(trigger="schedule", outcome="ok").count() >= 2:
                break
            schedule._stop.wait(0.1)
    finally:
        schedule.stop()
    assert db.session.query(PeriodicRun).filter_by(trigger="schedule", outcome="ok").count() >= 2


def test_outbox_counts_by_state_and_retry_requeues_a_failed_message(client_for):
    failed = message()
    message(state=NotificationState.SENT, recipient="done@example.test")
    admin = client_for("admin")
    html = admin.get(PAGE).get_data(as_text=True)
    assert re.search(r'data-state="failed">1<', html) and re.search(r'data-state="sent">1<', html)
    assert f'data-notification="{failed.id}"' in html and "Connection refused" in html

    page = post(admin, f"/operations/notifications/{failed.id}/retry")
    assert "buyer@example.test is queued again" in flashes(page)
    db.session.expire_all()
    again = db.session.get(Notification, failed.id)
    assert (again.state, again.attempts) == (NotificationState.QUEUED, 0)


def test_retry_refuses_a_sent_message_and_an_unknown_one_without_changing_anything(client_for):
    sent = message(state=NotificationState.SENT)
    admin = client_for("admin")
    assert "already sent" in flashes(post(admin, f"/operations/notifications/{sent.id}/retry"))
    assert "no message 999999" in flashes(post(admin, "/operations/notifications/999999/retry"))
    db.session.expire_all()
    assert db.session.get(Notification, sent.id).state == NotificationState.SENT


def test_retry_all_failed(client_for):
    for address in ("a@example.test", "b@example.test"):
        message(recipient=address)
    page = post(client_for("admin"), "/operations/notifications/retry-failed")
    assert "2 failed message(s) queued again" in flashes(page)
    assert {n.state for n in db.session.query(Notification)} == {NotificationState.QUEUED}


def test_failed_tmf_events_are_listed_and_retried(client_for):
    event = tmf_event()
    delivered = tmf_event(state="delivered")
    admin = client_for("admin")
    html = admin.get(PAGE).get_data(as_text=True)
    assert f'data-tmf-event="{event.id}"' in html and f'data-tmf-event="{delivered.id}"' not in html
    assert re.search(r'data-state="failed">1<', html)

    page = post(admin, f"/operations/tmf-events/{event.id}/retry")
    assert "ProductOrderStateChangeEvent event for http://127.0.0.1:9/listener is being delivered again" in flashes(page)
    db.session.expire_all()
    assert db.session.get(TmfEvent, event.id).attempts in (0, 1)  # the woken sender may have tried already
    assert "only queued or failed" in flashes(post(admin, f"/operations/tmf-events/{delivered.id}/retry"))


def test_without_a_mail_server_the_page_says_how_to_configure_one(client_for):
    admin = client_for("admin")
    assert "No mail server is configured" in admin.get(PAGE).get_data(as_text=True)
    assert "No mail server is configured" in flashes(post(admin, "/operations/test-email",
                                                          {"recipient": "ops@example.test"}))


def test_a_test_email_reaches_the_server_and_the_demo_mailbox_shows_it(client_for, mail_sink):
    admin = client_for("admin")
    html = admin.get(PAGE).get_data(as_text=True)
    assert f"127.0.0.1:{mail_sink.port}" in html and "local mail sink" in html
    assert "No message yet" in html

    page = post(admin, "/operations/test-email", {"recipient": "ops@example.test"})
    assert f"Test email sent to ops@example.test through 127.0.0.1:{mail_sink.port}" in flashes(page)
    html = page.get_data(as_text=True)
    link = re.search(r'href="(/operations/mailbox/[^"]+)">Order Operations test email<', html)
    assert link, "the demo mailbox lists the test email"
    shown = admin.get(link.group(1)).get_data(as_text=True)
    assert "ops@example.test" in shown and f"sent by {admin.login.username} from the Operations page" in shown
    assert admin.get("/operations/mailbox/no-such-message").status_code == 404


def test_notifications_delivered_by_the_job_land_in_the_demo_mailbox(app, client_for, mail_sink):
    message(state=NotificationState.QUEUED, recipient="agent@example.test")
    assert send_queued().sent == 1
    html = client_for("admin").get(PAGE).get_data(as_text=True)
    assert "Subject for agent@example.test" in html


def test_a_test_email_reports_an_unreachable_server_and_a_bad_address(app, client_for, mail_sink):
    admin = client_for("admin")
    assert "Enter the address" in flashes(post(admin, "/operations/test-email", {"recipient": "not an address"}))
    app.config["MAIL_PORT"] = free_port()
    page = post(admin, "/operations/test-email", {"recipient": "ops@example.test"})
    assert page.status_code == 200
    assert "could not be sent through 127.0.0.1" in flashes(page) and "ConnectionRefusedError" in flashes(page)

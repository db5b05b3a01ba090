"""/operations/: the administrators' page for keeping the order desk running."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user

from app.operations import outboxes
from app.operations.mail import demo_mailbox, demo_message, mail_settings, send_test_email
from app.operations.periodic import PERIODIC_TASKS, Trigger, recent_runs, run_periodic_work, schedule_interval

RETRY_LATER = "The periodic job sends it on its next run; Run now sends it at once."


class OperationsView(BaseView):
    route_base = "/operations"
    default_view = "index"
    base_permissions = ["can_show", "can_operate"]
    method_permission_name = {
        "index": "show", "message": "show", "run_now": "operate", "retry_notification": "operate",
        "retry_failed_notifications": "operate", "retry_tmf_event": "operate", "test_email": "operate",
    }

    def _back(self):
        return redirect(url_for("OperationsView.index"))

    @expose("/")
    @has_access
    def index(self):
        runs = recent_runs()
        return self.render_template(
            "operations/index.html", runs=runs, last_run=runs[0] if runs else None, tasks=PERIODIC_TASKS,
            interval=schedule_interval(current_app),
            notifications=outboxes.notification_outbox(), tmf_events=outboxes.tmf_event_outbox(),
            mail=mail_settings(), mailbox=demo_mailbox(), default_recipient=current_user.email or "",
        )

    @expose("/mailbox/<key>")
    @has_access
    def message(self, key):
        found = demo_message(key)
        if found is None:
            abort(404)
        return self.render_template("operations/message.html", message=found)

    @expose("/run", methods=["POST"])
    @has_access
    def run_now(self):
        outcome = run_periodic_work(current_app._get_current_object(), trigger=Trigger.MANUAL)
        if outcome.skipped:
            flash(outcome.summary(), "warning")
        else:
            flash(f"Periodic run {'done' if outcome.ok else 'FAILED'}: {outcome.summary()}",
                  "success" if outcome.ok else "danger")
        return self._back()

    @expose("/notifications/<int:pk>/retry", methods=["POST"])
    @has_access
    def retry_notification(self, pk):
        notification = outboxes.retry_notification(pk)
        flash(f"The message to {notification.recipient_email} is queued again. {RETRY_LATER}", "success")
        return self._back()

    @expose("/notifications/retry-failed", methods=["POST"])
    @has_access
    def retry_failed_notifications(self):
        count = outboxes.retry_failed_notifications()
        flash(f"{count} failed message(s) queued again. {RETRY_LATER}" if count else "No message has failed.",
              "success" if count else "info")
        return self._back()

    @expose("/tmf-events/<int:pk>/retry", methods=["POST"])
    @has_access
    def retry_tmf_event(self, pk):
        tmf_event = outboxes.retry_tmf_event(pk)
        flash(f"The {tmf_event.event_type} event for {tmf_event.subscription.callback} is being delivered again.",
              "success")
        return self._back()

    @expose("/test-email", methods=["POST"])
    @has_access
    def test_email(self):
        where = send_test_email(request.form.get("recipient", ""), current_user.username)
        flash(f"Test email sent to {where}.", "success")
        return self._back()

"""The managers' approvals inbox page (/approvals/): what awaits a decision, oldest first; approve or
reject one or many at once, each record its own operation with its own outcome."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user

from app.core.bulk import run_and_report
from app.orders import approvals


class ApprovalsInboxView(BaseView):
    route_base = "/approvals"
    default_view = "inbox"
    base_permissions = ["can_list"]
    method_permission_name = {"inbox": "list", "decide": "list"}

    @expose("/")
    @has_access
    def inbox(self):
        value = request.args.get("page", "1")
        page = int(value) if value.isdigit() and 0 < len(value) < 6 else 1
        total, rows = approvals.inbox_page(page)
        return self.render_template("orders/approvals.html", total=total, rows=rows, page=page,
                                    pages=max(1, -(-total // approvals.PAGE_SIZE)), title="Approvals")

    @expose("/decide", methods=["POST"])
    @has_access
    def decide(self):
        decision = request.form.get("decision")
        if decision not in ("approve", "reject"):
            flash("Choose Approve or Reject.", "danger")
            return redirect(url_for("ApprovalsInboxView.inbox"))
        run_and_report("Approve" if decision == "approve" else "Reject", lambda: approvals.decide(
            current_user, request.form.getlist("ids"), decision == "approve", request.form.get("reason", "")))
        return redirect(url_for("ApprovalsInboxView.inbox"))

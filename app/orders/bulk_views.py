"""Bulk actions of the order lists: approve or reject (with a reason) ticked orders (managers), start or
complete ticked order lines. Each record is its own operation with its own reported outcome."""
from __future__ import annotations

from flask import redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_login import current_user

from app.core.bulk import run_and_report
from app.orders import bulk

ORDER_BULK_PERMISSIONS = {"approve_selected": "approve", "reject_selected": "approve", "reject_many": "approve"}
LINE_BULK_PERMISSIONS = {"start_selected": "edit", "complete_selected": "edit"}


def _ids(items) -> list[int]:
    return [item.id for item in (items if isinstance(items, list) else [items]) if item is not None]


def _report(view, action_label: str, run):
    run_and_report(action_label, run)
    return redirect(url_for(f"{type(view).__name__}.list"))


class OrderBulkActions:
    """Mixed into the Customer Orders and Service Orders lists."""

    @action("approve_selected", "Approve", "Approve every selected order for fulfilment?", "fa-check",
            single=False)
    def approve_selected(self, items):
        return _report(self, bulk.APPROVE, lambda: bulk.bulk_approve(current_user, _ids(items)))

    @action("reject_selected", "Reject", None, "fa-ban", single=False)
    def reject_selected(self, items):
        orders = [item for item in (items if isinstance(items, list) else [items]) if item is not None]
        return self.render_template("orders/bulk_reject.html", orders=orders, view_name=type(self).__name__)

    @expose("/bulk/reject", methods=["POST"])
    @has_access
    def reject_many(self):
        return _report(self, bulk.REJECT, lambda: bulk.bulk_reject(current_user, request.form.getlist("ids"),
                                                                  request.form.get("reason", "")))


class LineBulkActions:
    """Mixed into the Order Line Items list."""

    @action("start_selected", "Start", "Start every selected line?", "fa-play", single=False)
    def start_selected(self, items):
        return _report(self, bulk.START, lambda: bulk.bulk_start_lines(current_user, _ids(items)))

    @action("complete_selected", "Complete", "Complete every selected line? Completed lines change the "
            "account's inventory.", "fa-check-square", single=False)
    def complete_selected(self, items):
        return _report(self, bulk.COMPLETE, lambda: bulk.bulk_complete_lines(current_user, _ids(items)))

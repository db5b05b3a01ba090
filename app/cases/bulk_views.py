"""Bulk actions of the Order Cases list: tick cases, then Close (resolved cases), or Reassign / Set
priority (managers, on a short form). Each case is its own operation; the outcome of every case is
reported (``app.core.bulk.flash_outcomes``)."""
from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_login import current_user

from app.cases import bulk, queries
from app.core.bulk import run_and_report
from app.core.choices import Priority

# FAB action / bulk endpoint -> the permission it needs on the Order Cases view.
BULK_PERMISSIONS = {"close_selected": "edit", "reassign_selected": "reassign", "priority_selected": "reassign",
                    "bulk": "edit"}


class CaseBulkActions:
    """Mixed into the Order Cases list view."""

    def _bulk_form(self, operation: str, items):
        return self.render_template("cases/bulk_form.html", operation=operation, label=bulk.OPERATIONS[operation],
                                    cases=items, priorities=Priority.LABELS, **queries.routing_choices())

    @action("close_selected", "Close resolved cases", "Close every selected case? Only resolved cases whose lines "
            "all have an outcome close.", "fa-check-circle", single=False)
    def close_selected(self, items):
        return self._run("close", [item.id for item in _listed(items)])

    @action("reassign_selected", "Reassign", None, "fa-user", single=False)
    def reassign_selected(self, items):
        return self._bulk_form("reassign", _listed(items))

    @action("priority_selected", "Set priority", None, "fa-flag", single=False)
    def priority_selected(self, items):
        return self._bulk_form("set-priority", _listed(items))

    @expose("/bulk/<operation>", methods=["POST"])
    @has_access
    def bulk(self, operation):
        if operation not in bulk.OPERATIONS:
            abort(404)
        return self._run(operation, request.form.getlist("ids"))

    def _run(self, operation: str, ids):
        form = request.form
        runs = {
            "reassign": lambda: bulk.bulk_reassign(current_user, ids, form.get("assigned_to_id"),
                                                   form.get("assignment_group_id")),
            "set-priority": lambda: bulk.bulk_set_priority(current_user, ids, form.get("priority")),
            "close": lambda: bulk.bulk_close(current_user, ids),
        }
        run_and_report(bulk.OPERATIONS[operation], runs[operation])
        return redirect(url_for(f"{type(self).__name__}.list"))


def _listed(items) -> list:
    return [item for item in (items if isinstance(items, list) else [items]) if item is not None]

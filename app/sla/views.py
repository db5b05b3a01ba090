"""Work lists of order cases with their SLA (SPEC §8: My open cases, Unassigned, Open, At risk, Breached)
and the administrators' notification outbox.

Every list is a FAB list over the indexed order case table with base filters, the capped count of
``view_support.list_page`` and one extra query per page for the SLA column (``sla.worst_slas``).
"""
from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqualFunction, FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from markupsafe import Markup
from sqlalchemy import exists

from app.sla import notifications
from app.cases.guards import get_record
from app.core.choices import CaseState, NotificationState, Priority, SlaStage
from app.core.extensions import db
from app.models import Notification, OrderCase, TaskSla
from app.core.roles import READ
from app.sla.clocks import SlaStatus, worst_slas
from app.core.view_support import COMMON_LABELS, BackOfficeModelView, current_user_id

SLA_COLUMN = "sla"


def sla_badge(status: SlaStatus | None) -> Markup:
    """The list cell of a case's worst SLA: its stage (or "at risk") and how much of its time is used."""
    if status is None:
        return Markup('<span class="text-muted sla-none">—</span>')
    css = {"breached": "danger", "at risk": "warning", SlaStage.ACHIEVED: "success",
           SlaStage.PAUSED: "default"}.get(status.label, "info")
    return Markup('<span class="label label-{} sla-badge" title="due {}">{} · {:.0f}%</span>').format(
        css, status.planned_due_at.strftime("%Y-%m-%d %H:%M"), status.label, status.elapsed_percent)


class SlaColumnMixin:
    """Adds the SLA column to a FAB list of order cases: the worst SLA of each case on the page,
    its own or one of its lines', read in one query for the whole page."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.label_columns = {**self.label_columns, SLA_COLUMN: "SLA"}

    def _get_list_widget(self, filters, *args, **kwargs):
        widgets = super()._get_list_widget(filters, *args, **kwargs)
        template_args = widgets["list"].template_args
        rows = list(template_args["value_columns"])
        computed = self.computed_columns(template_args["pks"])
        for pk, row in zip(template_args["pks"], rows):
            row.update(computed[pk])
        template_args["value_columns"] = rows
        return widgets

    def computed_columns(self, pks: list) -> dict:
        statuses = worst_slas(pks)
        return {pk: {SLA_COLUMN: sla_badge(statuses.get(pk))} for pk in pks}


def open_states() -> list[str]:
    return list(CaseState.OPEN)


class FilterCaseSla(BaseFilter):
    """Cases with a task SLA (their own or a line's) in the condition named by the value:
    "at risk" (running past its at-risk percentage) or "breached" (running or stopped late)."""

    name = "SLA"
    arg_name = "sla"

    def apply(self, query, value):
        if value == "at risk":
            condition = TaskSla.at_risk.is_(True) & TaskSla.stopped_at.is_(None)
        else:
            condition = TaskSla.stage == SlaStage.BREACHED
        return query.filter(exists().where(TaskSla.case_id == OrderCase.id, condition))


def _priority(value) -> str:
    return Priority.LABELS.get(value, value)


def _attention(value) -> Markup:
    return Markup('<span class="label label-warning needs-attention">Needs attention</span>') if value else Markup("")


class CaseListView(SlaColumnMixin, BackOfficeModelView):
    """A read-only list of order cases with the SLA column; a row opens the case page."""

    datamodel = SQLAInterface(OrderCase)
    base_permissions = list(READ)
    list_columns = ["number", "short_description", "account", "state", "priority", "needs_attention", "assigned_to",
                    "opened_at", SLA_COLUMN]
    search_columns = ["number", "short_description", "account", "state", "priority", "assigned_to", "service",
                      "needs_attention", "opened_at"]
    label_columns = {**COMMON_LABELS, SLA_COLUMN: "SLA", "needs_attention": "Needs attention",
                     "service": "Service"}
    formatters_columns = {"priority": _priority, "needs_attention": _attention}
    base_order = ("number", "desc")

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        case = get_record(OrderCase, pk)
        if case is None:
            abort(404)
        return redirect(url_for("OrderCasePageView.record", pk=case.id))


class MyOpenCasesView(CaseListView):
    list_title = "My open cases"
    base_filters = [["assigned_to_id", FilterEqualFunction, current_user_id],
                    ["state", FilterInFunction, open_states]]


class UnassignedCasesView(CaseListView):
    list_title = "Unassigned cases"
    base_filters = [["assigned_to_id", FilterEqualFunction, lambda: None],
                    ["state", FilterInFunction, open_states]]


class OpenCasesView(CaseListView):
    list_title = "Open cases"
    base_filters = [["state", FilterInFunction, open_states]]


class AllCasesView(CaseListView):
    list_title = "All cases"


class AtRiskCasesView(CaseListView):
    """Managers: open cases with an SLA past its at-risk percentage, the oldest first."""

    list_title = "At risk"
    base_filters = [["state", FilterInFunction, open_states], ["id", FilterCaseSla, "at risk"]]
    base_order = ("opened_at", "asc")


class BreachedCasesView(CaseListView):
    """Managers: open cases with a breached SLA, the oldest first."""

    list_title = "Breached"
    base_filters = [["state", FilterInFunction, open_states], ["id", FilterCaseSla, "breached"]]
    base_order = ("opened_at", "asc")


class NotificationView(BackOfficeModelView):
    """Administrators: the outbox, with what was sent, what waits and why a message failed; Retry."""

    datamodel = SQLAInterface(Notification)
    base_permissions = [*READ, "can_retry"]
    list_title = "Notification outbox"
    show_title = "Notification"
    list_columns = ["created_on", "event", "recipient_email", "subject", "state", "attempts", "next_attempt_at",
                    "last_error"]
    search_columns = ["event", "recipient_email", "subject", "state", "created_on"]
    show_columns = ["created_on", "event", "recipient_email", "recipient_user_id", "subject", "body", "record_type",
                    "record_id", "state", "attempts", "next_attempt_at", "sent_on", "last_error"]
    label_columns = {**COMMON_LABELS, "recipient_email": "Recipient", "next_attempt_at": "Next attempt",
                     "last_error": "Last error", "sent_on": "Sent", "record_type": "Record type",
                     "record_id": "Record id", "recipient_user_id": "Recipient user id"}
    formatters_columns = {"last_error": lambda value: (value or "")[:200]}
    base_order = ("id", "desc")

    @action("retry", "Retry", "Send the selected failed or waiting messages again now?", "fa-repeat")
    def retry(self, items):
        items = items if isinstance(items, list) else [items]
        sent = [item for item in items if item.state == NotificationState.SENT]
        again = [item for item in items if item.state != NotificationState.SENT]
        for notification in again:
            notifications.retry(notification)
        db.session.commit()
        if again:
            flash(f"{len(again)} message(s) queued to be sent again.", "success")
        if sent:
            flash(f"{len(sent)} message(s) were already sent and are left alone.", "warning")
        return redirect(url_for("NotificationView.list"))


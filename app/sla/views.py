"""Work lists of order cases with their SLA (SPEC §8: My open cases, Unassigned, Open, At risk, Breached)
and the administrators' notification outbox.

Every list is a FAB list over the indexed order case table with base filters, the capped count of
``view_support.list_page`` and one extra query per page for the SLA column (``sla.worst_slas``).
"""
from __future__ import annotations

import zoneinfo

import holidays as public_holidays
from flask import abort, flash, redirect, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqualFunction, FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from markupsafe import Markup
from wtforms import SelectField, SelectMultipleField, StringField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget
from sqlalchemy import exists

from app.sla import notifications
from app.cases.guards import get_record
from app.core.choices import (
    CaseState,
    LineState,
    NotificationState,
    Priority,
    SlaKind,
    SlaSchedule,
    SlaStage,
    SlaTarget,
)
from app.core.extensions import db
from app.models import HolidayCalendar, HolidayDate, Notification, OrderCase, SlaDefinition, TaskSla
from app.core.roles import READ
from app.sla.clocks import SlaStatus, worst_slas
from app.core.view_support import COMMON_LABELS, BackOfficeModelView, choice_field, current_user_id
from app.sla.schedules import validate_calendar

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
        statuses = worst_slas(template_args["pks"])
        for pk, row in zip(template_args["pks"], rows):
            row[SLA_COLUMN] = sla_badge(statuses.get(pk))
        template_args["value_columns"] = rows
        return widgets


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



# ----------------------------------------------------------------------------------------------------
# SLA definitions and their holiday calendars (administration)


def _time_zone(form, field):
    try:
        zoneinfo.ZoneInfo(field.data or "")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{field.data!r} is not a known time zone (e.g. Europe/Berlin, UTC).") from None


HOUR = [Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", message="Use a 24-hour time such as 09:00.")]
WEEKDAYS = [(str(day), name) for day, name in enumerate(
    ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), start=1)]
# Lists stored as comma-separated text, picked as check boxes.
PICKED_LISTS = ("priorities", "business_days", "pause_states")


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _at_least_one(label: str):
    def check(form, field):
        if not field.data:
            raise ValidationError(f"Pick at least one {label}.")

    return check


class SlaDefinitionView(BackOfficeModelView):
    datamodel = SQLAInterface(SlaDefinition)
    list_title = "SLA Definitions"
    show_title = "SLA definition"
    add_title = "New SLA definition"
    edit_title = "Edit SLA definition"
    list_columns = ["name", "applies_to", "kind", "priorities", "target_minutes", "schedule", "holiday_calendar",
                    "active"]
    search_columns = ["name", "applies_to", "kind", "schedule", "active"]
    add_columns = ["name", "applies_to", "kind", "priorities", "target_minutes", "schedule", "timezone",
                   "business_day_start", "business_day_end", "business_days", "holiday_calendar", "pause_states",
                   "at_risk_percent", "active"]
    edit_columns = add_columns
    show_columns = [*add_columns, "created_on", "changed_on"]
    label_columns = {**COMMON_LABELS, "holiday_calendar": "Holiday calendar"}
    description_columns = {
        "target_minutes": "How long the response or resolution may take, in minutes.",
        "holiday_calendar": "Days off of a business-hours schedule (public holidays and the desk's own dates): "
                            "the clock pauses on them like at night.",
        "timezone": "The working hours are local time of this zone; daylight-saving changes are followed.",
    }
    add_form_extra_fields = {
        "applies_to": choice_field("Applies to", SlaTarget),
        "kind": choice_field("Kind", SlaKind),
        "schedule": choice_field("Schedule", SlaSchedule),
        "priorities": CheckboxList("Priorities", choices=[(str(p), label) for p, label in Priority.LABELS.items()],
                                   validators=[_at_least_one("priority")]),
        "business_days": CheckboxList("Working days", choices=WEEKDAYS, validators=[_at_least_one("working day")]),
        "pause_states": CheckboxList("Pause the clock in", choices=[
            (state, state) for state in dict.fromkeys(CaseState.ALL + LineState.ALL)]),
        "timezone": SelectField("Time zone", choices=sorted(zoneinfo.available_timezones()),
                                validators=[DataRequired(), _time_zone], default="UTC"),
        "business_day_start": StringField("Working day starts", validators=[DataRequired(), *HOUR],
                                          default="09:00", render_kw={"type": "time"}),
        "business_day_end": StringField("Working day ends", validators=[DataRequired(), *HOUR], default="17:00",
                                        render_kw={"type": "time"}),
    }
    edit_form_extra_fields = add_form_extra_fields
    validators_columns = {
        "name": [DataRequired(), Length(max=100)],
        "target_minutes": [InputRequired(), NumberRange(min=1, message="The target must be at least one minute.")],
        "at_risk_percent": [NumberRange(min=1, max=100)],
    }
    base_order = ("name", "asc")

    def check_form(self, form, item=None):
        start, end = form.business_day_start.data, form.business_day_end.data
        if form.schedule.data == SlaSchedule.BUSINESS_HOURS and start and end and start >= end:
            form.business_day_end.errors.append("The business day must end after it starts.")

    def prefill_form(self, form, pk):
        # The stored comma-separated text becomes the ticked boxes.
        item = self.datamodel.get(pk)
        for name in PICKED_LISTS:
            form[name].data = [value.strip() for value in (getattr(item, name) or "").split(",") if value.strip()]

    def process_form(self, form, is_created):
        for name in PICKED_LISTS:
            if isinstance(form[name].data, (list, tuple)):
                form[name].data = ",".join(form[name].data)


class HolidayDateView(BackOfficeModelView):
    datamodel = SQLAInterface(HolidayDate)
    list_title = "Own days off"
    show_title = "Day off"
    add_title = "New day off"
    edit_title = "Edit day off"
    list_columns = ["day", "name", "calendar"]
    add_columns = ["calendar", "day", "name"]
    edit_columns = add_columns
    show_columns = add_columns
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
    base_order = ("day", "asc")
    validators_columns = {"name": [DataRequired(), Length(max=100)], "day": [DataRequired()]}


class HolidayCalendarView(BackOfficeModelView):
    datamodel = SQLAInterface(HolidayCalendar)
    list_title = "Holiday Calendars"
    show_title = "Holiday calendar"
    add_title = "New holiday calendar"
    edit_title = "Edit holiday calendar"
    list_columns = ["name", "country", "subdivision", "description"]
    add_columns = ["name", "country", "subdivision", "description"]
    edit_columns = add_columns
    show_columns = [*add_columns, "created_on", "changed_on"]
    label_columns = {**COMMON_LABELS, "country": "Country (public holidays)"}
    description_columns = {
        "country": "Whose public holidays are days off (from the holidays package); leave empty for own dates only.",
        "subdivision": "A state or region with holidays of its own, e.g. BY for Bavaria, CA for California.",
    }
    add_form_extra_fields = {
        "country": SelectField("Country (public holidays)", choices=[("", "(none: own dates only)")] + sorted(
            (code, code) for code in public_holidays.list_supported_countries()), default=""),
        "subdivision": StringField("Subdivision", validators=[Optional(), Length(max=10)]),
    }
    edit_form_extra_fields = add_form_extra_fields
    validators_columns = {"name": [DataRequired(), Length(max=100)]}
    related_views = [HolidayDateView]
    base_order = ("name", "asc")

    def check_form(self, form, item=None):
        try:
            validate_calendar(form.country.data or None, (form.subdivision.data or "").strip().upper() or None)
        except ValueError as error:
            message = str(error)
            form.subdivision.errors.append(message[0].upper() + message[1:] + ".")

    def process_form(self, form, is_created):
        form.country.data = form.country.data or None
        form.subdivision.data = (form.subdivision.data or "").strip().upper() or None

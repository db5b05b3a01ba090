"""The managers' dashboard (SPEC §8): open cases by state, assignee and service, lines by request type
and outcome, SLA breaches, ageing and average time to resolve.

Each figure is one aggregate query, so the page costs the same at a thousand and a million cases.
Charts are inline SVG drawn on the server (no script, no CDN: they render offline), and every bar
links to the filtered list it counts.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.filters import (
    FilterEqual,
    FilterGreater,
    FilterIn,
    FilterNotIn,
    FilterRelationOneToManyEqual,
    FilterSmaller,
)
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import case, distinct, func, select

from app.core.choices import CaseState, LineState, RequestType, SlaStage
from app.core.extensions import db
from app.core.model_base import utcnow
from app.home.charts import Bar, Chart, Segment, seconds_between
from app.home.order_dashboard import date_range, order_panels
from app.models import OrderCase, OrderCaseLine, ServiceDefinition, TaskSla

# Outcome of a case line, in the order the stacked bars show them.
OUTCOMES = (
    ("Open", "open", None),
    ("Accepted", "accepted", LineState.ACCEPTED),
    ("Denied", "denied", LineState.DENIED),
    ("Cancelled", "cancelled", LineState.CANCELLED),
)
# Open cases by age: (label, older than, at most) in days.
AGE_BUCKETS = (("< 1 day", 0, 1), ("1–3 days", 1, 3), ("3–7 days", 3, 7), ("> 7 days", 7, None))
RESOLVED_STATES = (CaseState.RESOLVED, CaseState.CLOSED)
ASSIGNEE_LIMIT = 15
NOT_SET = "(not set)"


def _view_url(view_name: str, filters: list[tuple[str, type, list]]) -> str | None:
    """The list URL of *view_name* with FAB URL filters (the filter's index among those the column offers)."""
    from flask import current_app

    appbuilder = current_app.appbuilder
    view = next((v for v in appbuilder.baseviews if type(v).__name__ == view_name), None)
    if view is None or not appbuilder.sm.has_access("can_list", view.class_permission_name):
        return None
    offered = view._filters.get_search_filters()
    args = []
    for column, filter_class, values in filters:
        index = next(i for i, flt in enumerate(offered[column]) if type(flt) is filter_class)
        args.extend((f"_flt_{index}_{column}", value) for value in values)
    base = url_for(f"{view.endpoint}.list")
    return f"{base}?{urlencode(args)}" if args else base


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def open_cases_by_state() -> Chart:
    rows = db.session.execute(
        select(OrderCase.state, func.count()).where(OrderCase.state.in_(CaseState.OPEN)).group_by(OrderCase.state)
    ).all()
    counts = dict(rows)
    bars = [Bar(state, [Segment(state, counts[state], _view_url("OpenCasesView", [("state", FilterEqual, [state])]))])
            for state in CaseState.OPEN if counts.get(state)]
    return Chart("by-state", "Open cases by state", bars)


def open_cases_by_assignee() -> Chart:
    count = func.count(OrderCase.id)
    rows = db.session.execute(
        select(OrderCase.assigned_to_id, User.first_name, User.last_name, count)
        .outerjoin(User, User.id == OrderCase.assigned_to_id)
        .where(OrderCase.state.in_(CaseState.OPEN))
        .group_by(OrderCase.assigned_to_id, User.first_name, User.last_name)
        .order_by(count.desc(), User.first_name).limit(ASSIGNEE_LIMIT)
    ).all()
    bars = []
    for user_id, first, last, value in rows:
        if user_id is None:
            bars.append(Bar("Unassigned", [Segment("Unassigned", value, _view_url("UnassignedCasesView", []))]))
        else:
            name = f"{first or ''} {last or ''}".strip() or f"user {user_id}"
            url = _view_url("OpenCasesView", [("assigned_to", FilterRelationOneToManyEqual, [str(user_id)])])
            bars.append(Bar(name, [Segment(name, value, url)]))
    return Chart("by-assignee", f"Open cases by assignee (top {ASSIGNEE_LIMIT})", bars)


def open_cases_by_service() -> Chart:
    count = func.count(OrderCase.id)
    rows = db.session.execute(
        select(OrderCase.service_id, ServiceDefinition.name, count)
        .outerjoin(ServiceDefinition, ServiceDefinition.id == OrderCase.service_id)
        .where(OrderCase.state.in_(CaseState.OPEN))
        .group_by(OrderCase.service_id, ServiceDefinition.name).order_by(count.desc())
    ).all()
    bars = []
    for service_id, name, value in rows:
        filters = [("state", FilterIn, list(CaseState.OPEN))]
        if service_id is not None:
            filters.append(("service", FilterRelationOneToManyEqual, [str(service_id)]))
        bars.append(Bar(name or NOT_SET, [Segment(name or NOT_SET, value, _view_url("AllCasesView", filters))]))
    return Chart("by-service", "Open cases by service", bars)


def lines_by_request_type() -> Chart:
    rows = db.session.execute(
        select(OrderCaseLine.request_type, OrderCaseLine.state, func.count())
        .group_by(OrderCaseLine.request_type, OrderCaseLine.state)
    ).all()
    counts: dict[str | None, dict[str, int]] = {}
    for request_type, state, value in rows:
        outcome = next((key for _label, key, terminal in OUTCOMES if terminal == state), "open")
        per_type = counts.setdefault(request_type, {})
        per_type[outcome] = per_type.get(outcome, 0) + value
    bars = []
    for request_type in [*RequestType.ALL, None]:
        if request_type not in counts:
            continue
        segments = []
        for label, key, terminal in OUTCOMES:
            filters = [("request_type", FilterEqual, [request_type])] if request_type else []
            filters.append(("state", FilterEqual, [terminal]) if terminal else
                           ("state", FilterNotIn, list(LineState.TERMINAL)))
            segments.append(Segment(label, counts[request_type].get(key, 0),
                                    _view_url("OrderCaseLineView", filters), f"bar-{key}"))
        bars.append(Bar(request_type or NOT_SET, segments))
    legend = [(label, f"bar-{key}") for label, key, _terminal in OUTCOMES]
    return Chart("lines", "Case lines by request type and outcome", bars, legend)


def sla_breaches() -> Chart:
    """Open cases with a breached SLA, and with one at risk (their own or a line's)."""
    breached = TaskSla.stage == SlaStage.BREACHED
    at_risk = TaskSla.at_risk.is_(True) & TaskSla.stopped_at.is_(None)
    breached_cases, at_risk_cases = db.session.execute(
        select(func.count(distinct(case((breached, TaskSla.case_id)))),
               func.count(distinct(case((at_risk, TaskSla.case_id)))))
        .join(OrderCase, OrderCase.id == TaskSla.case_id).where(OrderCase.state.in_(CaseState.OPEN))
    ).one()
    bars = [
        Bar("Breached", [Segment("Breached", breached_cases, _view_url("BreachedCasesView", []), "bar-breached")]),
        Bar("At risk", [Segment("At risk", at_risk_cases, _view_url("AtRiskCasesView", []), "bar-at-risk")]),
    ]
    return Chart("sla", "Open cases by SLA breach", bars)


def ageing(now: dt.datetime) -> Chart:
    columns = []
    for _label, older, at_most in AGE_BUCKETS:
        condition = OrderCase.opened_at <= now - dt.timedelta(days=older)
        if at_most is not None:
            condition &= OrderCase.opened_at > now - dt.timedelta(days=at_most)
        columns.append(func.coalesce(func.sum(case((condition, 1), else_=0)), 0))
    values = db.session.execute(select(*columns).where(OrderCase.state.in_(CaseState.OPEN))).one()
    bars = []
    for (label, older, at_most), value in zip(AGE_BUCKETS, values):
        filters = [("opened_at", FilterSmaller, [_stamp(now - dt.timedelta(days=older))])] if older else []
        if at_most is not None:
            filters.append(("opened_at", FilterGreater, [_stamp(now - dt.timedelta(days=at_most))]))
        bars.append(Bar(label, [Segment(label, int(value), _view_url("OpenCasesView", filters))]))
    return Chart("ageing", "Open cases by age", bars)


def time_to_resolve() -> tuple[Chart, float | None, int]:
    """Average opened → resolved time of resolved and closed cases, by service and overall (in hours)."""
    seconds = seconds_between(OrderCase.opened_at, OrderCase.resolved_at)
    rows = db.session.execute(
        select(OrderCase.service_id, ServiceDefinition.name, func.count(OrderCase.id), func.sum(seconds))
        .outerjoin(ServiceDefinition, ServiceDefinition.id == OrderCase.service_id)
        .where(OrderCase.state.in_(RESOLVED_STATES), OrderCase.resolved_at.isnot(None))
        .group_by(OrderCase.service_id, ServiceDefinition.name).order_by(ServiceDefinition.name)
    ).all()
    bars = []
    for service_id, name, count, total in rows:
        hours = round(float(total or 0) / count / 3600, 1)
        filters = [("state", FilterIn, list(RESOLVED_STATES))]
        if service_id is not None:
            filters.append(("service", FilterRelationOneToManyEqual, [str(service_id)]))
        bars.append(Bar(name or NOT_SET, [Segment(name or NOT_SET, hours, _view_url("AllCasesView", filters))],
                        note=f"{count} case(s)"))
    resolved = sum(count for _s, _n, count, _t in rows)
    overall = round(sum(float(t or 0) for *_rest, t in rows) / resolved / 3600, 1) if resolved else None
    return Chart("resolve", "Average time to resolve (hours) by service", bars, unit=" h"), overall, resolved


def dashboard_figures(now: dt.datetime | None = None) -> dict:
    now = now or utcnow()
    resolve_chart, average_hours, resolved_count = time_to_resolve()
    return {
        "charts": [open_cases_by_state(), open_cases_by_assignee(), open_cases_by_service(), sla_breaches(),
                   ageing(now), lines_by_request_type(), resolve_chart],
        "average_hours": average_hours,
        "resolved_count": resolved_count,
        "now": now,
    }


class DashboardView(BaseView):
    """/dashboard/: managers and administrators."""

    route_base = "/dashboard"
    default_view = "index"
    base_permissions = ["can_show"]
    method_permission_name = {"index": "show"}

    @expose("/")
    @has_access
    def index(self):
        figures = dashboard_figures()
        period, correction = date_range(request.args.get("from"), request.args.get("to"), figures["now"].date())
        return self.render_template("dashboard/index.html", order_charts=order_panels(period), period=period,
                                    range_message=correction, **figures)

"""The managers' dashboard on the demo data: every figure equals an independent SQL count, every bar
links to a list showing exactly the rows it counts, and only managers and admins reach it."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import g
from flask_login import login_user
from sqlalchemy import text

from app.home import dashboard
from app.core.choices import CaseState, LineState, RequestType
from app.core.extensions import db as database
from app.core.model_base import utcnow
from tests.conftest import demo_data_loaded

OPEN = tuple(CaseState.OPEN)
OPEN_SQL = "(" + ", ".join(f"'{state}'" for state in OPEN) + ")"


@pytest.fixture(autouse=True)
def clean_tables(app, db):
    """Overrides the per-test wipe: this module's tests read one loaded demo data set."""
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()


@pytest.fixture(scope="module")
def demo(app, db):
    with demo_data_loaded(app, db) as result:
        yield result


def sql(statement: str, **params):
    return database.session.execute(text(statement), params).all()


@pytest.fixture
def as_manager(app, users):
    """A request context signed in as the manager, as the dashboard view runs."""
    from flask_appbuilder.security.sqla.models import User

    with app.test_request_context("/dashboard/"):
        manager = database.session.get(User, users["manager"].id)
        login_user(manager)
        g.user = manager
        yield


def values(chart) -> dict[str, int]:
    return {bar.label: bar.total for bar in chart.bars}


def test_open_cases_by_state_assignee_and_service_equal_sql_counts(demo, as_manager):
    by_state = dict(sql(f"SELECT state, COUNT(*) FROM order_case WHERE state IN {OPEN_SQL} GROUP BY state"))
    assert values(dashboard.open_cases_by_state()) == by_state
    assert sum(by_state.values()) > 10 and len(by_state) >= 4

    names = {uid: f"{first} {last}".strip() for uid, first, last in sql("SELECT id, first_name, last_name FROM ab_user")}
    by_assignee = {names[uid] if uid else "Unassigned": n for uid, n in sql(
        f"SELECT assigned_to_id, COUNT(*) FROM order_case WHERE state IN {OPEN_SQL} GROUP BY assigned_to_id")}
    assert values(dashboard.open_cases_by_assignee()) == by_assignee
    assert "Unassigned" in by_assignee and len(by_assignee) >= 2

    by_service = dict(sql(f"SELECT s.name, COUNT(*) FROM order_case c JOIN service_definition s "
                          f"ON s.id = c.service_id WHERE c.state IN {OPEN_SQL} GROUP BY s.name"))
    assert values(dashboard.open_cases_by_service()) == by_service
    assert len(by_service) == 2


def test_lines_by_request_type_and_outcome_equal_sql_counts(demo, as_manager):
    expected: dict[tuple[str, str], int] = {}
    outcome = {LineState.ACCEPTED: "Accepted", LineState.DENIED: "Denied", LineState.CANCELLED: "Cancelled"}
    for request_type, state, n in sql("SELECT request_type, state, COUNT(*) FROM order_case_line "
                                      "GROUP BY request_type, state"):
        key = (request_type or dashboard.NOT_SET, outcome.get(state, "Open"))
        expected[key] = expected.get(key, 0) + n
    chart = dashboard.lines_by_request_type()
    shown = {(bar.label, segment.label): segment.value for bar in chart.bars for segment in bar.segments
             if segment.value}
    assert shown == expected
    assert {label for label, _outcome in shown} >= {RequestType.QUANTITY, RequestType.DELIVERY_DATE}
    assert {o for _label, o in shown} == {"Open", "Accepted", "Denied", "Cancelled"}


def test_sla_breaches_ageing_and_time_to_resolve_equal_sql(demo, as_manager):
    breached, at_risk = sql(
        f"SELECT COUNT(DISTINCT CASE WHEN t.stage = 'breached' THEN t.case_id END), "
        f"COUNT(DISTINCT CASE WHEN t.at_risk AND t.stopped_at IS NULL THEN t.case_id END) "
        f"FROM task_sla t JOIN order_case c ON c.id = t.case_id WHERE c.state IN {OPEN_SQL}")[0]
    assert values(dashboard.sla_breaches()) == {"Breached": breached, "At risk": at_risk}
    assert breached >= 1

    now = utcnow()
    buckets = {"< 1 day": 0, "1–3 days": 0, "3–7 days": 0, "> 7 days": 0}
    for (opened,) in sql(f"SELECT opened_at FROM order_case WHERE state IN {OPEN_SQL}"):
        opened = opened if isinstance(opened, dt.datetime) else dt.datetime.fromisoformat(opened)
        age = (now - opened).total_seconds() / 86400
        label = "< 1 day" if age < 1 else "1–3 days" if age < 3 else "3–7 days" if age < 7 else "> 7 days"
        buckets[label] += 1
    assert values(dashboard.ageing(now)) == buckets
    assert sum(1 for n in buckets.values() if n) >= 2

    durations = []
    for opened, resolved in sql("SELECT opened_at, resolved_at FROM order_case WHERE state IN ('Resolved', 'Closed') "
                                "AND resolved_at IS NOT NULL"):
        opened, resolved = (v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(v) for v in (opened, resolved))
        durations.append((resolved - opened).total_seconds())
    chart, average_hours, resolved_count = dashboard.time_to_resolve()
    assert resolved_count == len(durations) > 0
    assert average_hours == pytest.approx(sum(durations) / len(durations) / 3600, abs=0.051)


def listed_numbers(html: str, prefix: str) -> set[str]:
    return set(re.findall(rf">\s*({prefix}\d{{7}})\s*<", html))


def test_every_bar_links_to_the_list_of_exactly_what_it_counts(demo, as_manager, client_for):
    figures = dashboard.dashboard_figures()
    client = client_for("manager")
    checked = 0
    for chart in figures["charts"]:
        if chart.key == "resolve":
            continue
        for bar in chart.bars:
            for segment in bar.segments:
                if not segment.value:
                    continue
                assert segment.url, f"{chart.title} / {bar.label} has no link"
                page = client.get(segment.url)
                assert page.status_code == 200, segment.url
                html = page.get_data(as_text=True)
                prefix = "ORDCSL" if chart.key == "lines" else "ORDCS"
                numbers = {n for n in listed_numbers(html, prefix) if prefix == "ORDCSL" or not n.startswith("ORDCSL")}
                if segment.value <= 20:
                    assert len(numbers) == segment.value, f"{chart.title} / {bar.label} / {segment.label}: {segment.url}"
                    checked += 1
    assert checked >= 15


def test_the_dashboard_page_draws_svg_charts_and_refuses_agents(demo, client_for):
    page = client_for("manager").get("/dashboard/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg class=\"chart-svg\"") == 11  # 7 case charts, 4 order panels
    assert "Open cases by state" in html and "Average time to resolve" in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "the dashboard must not load anything from outside"
    assert client_for("admin").get("/dashboard/").status_code == 200
    assert client_for("agent").get("/dashboard/").status_code == 403
    assert client_for("customer").get("/dashboard/").status_code == 403

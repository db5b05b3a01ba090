"""The order panels of the dashboard over a date range: every figure equals an independent SQL count."""
from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from sqlalchemy import text

from app.core.choices import OrderChannel, OrderState, OrderType
from app.core.extensions import db
from app.home import order_dashboard as od
from tests import factories

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def orders():
    account = factories.make_account("Dash Co")
    plan = [  # (state, channel, type, days ago placed, hours to complete)
        (OrderState.NEW, OrderChannel.AGENT, OrderType.PRODUCT, 1, None),
        (OrderState.NEW, OrderChannel.PORTAL, OrderType.PRODUCT, 3, None),
        (OrderState.NEW, OrderChannel.TMF641, OrderType.SERVICE, 5, None),
        (OrderState.IN_PROGRESS, OrderChannel.QUOTE, OrderType.PRODUCT, 2, None),
        (OrderState.COMPLETED, OrderChannel.AGENT, OrderType.PRODUCT, 10, 30),
        (OrderState.COMPLETED, OrderChannel.TMF622, OrderType.PRODUCT, 12, 50),
        (OrderState.CANCELLED, OrderChannel.AGENT, OrderType.PRODUCT, 4, None),
        (OrderState.NEW, OrderChannel.AGENT, OrderType.PRODUCT, 90, None),  # outside the default range
    ]
    for state, channel, order_type, days, hours in plan:
        order = factories.make_order(account, lines=1, state=state, order_type=order_type)
        order.channel = channel
        order.order_date = dt.datetime.combine(TODAY, dt.time(9)) - dt.timedelta(days=days)
        if hours is not None:
            order.completed_at = order.order_date + dt.timedelta(hours=hours)
    db.session.commit()


def sql(statement: str, **params):
    return db.session.execute(text(statement), params).all()


def test_each_panel_equals_an_independent_sql_count(orders):
    period, message = od.date_range(None, None, TODAY)
    assert message is None and (period.start, period.end) == (TODAY - dt.timedelta(days=29), TODAY)
    bounds = {"since": period.since, "until": period.until}
    backlog = {(bar.label, segment.label): segment.value for bar in od.backlog_by_state_and_channel(period).bars
               for segment in bar.segments}
    expected = dict(((state, channel), count) for state, channel, count in sql(
        "SELECT state, channel, COUNT(*) FROM customer_order WHERE state IN ('New', 'In progress') "
        "AND order_date >= :since AND order_date < :until GROUP BY state, channel", **bounds))
    assert {key: value for key, value in backlog.items() if value} == expected
    assert sum(expected.values()) == 4

    waiting = {bar.label: bar.total for bar in od.approvals_waiting(period).bars}
    expected = dict(sql("SELECT order_type, COUNT(*) FROM customer_order WHERE state = 'New' "
                        "AND order_date >= :since AND order_date < :until GROUP BY order_type", **bounds))
    assert waiting == {"product orders": expected["product"], "service orders": expected["service"]}

    lead = {bar.label: bar.total for bar in od.fulfilment_lead_time(period).bars}
    rows = sql("SELECT order_date, completed_at FROM customer_order WHERE state = 'Completed' "
               "AND completed_at >= :since AND completed_at < :until", **bounds)
    hours = [(_instant(done) - _instant(placed)).total_seconds() / 3600 for placed, done in rows]
    assert lead == {"product orders": round(sum(hours) / len(hours), 1)} == {"product orders": 40.0}

    value = {bar.label: Decimal(str(bar.total)) for bar in od.order_value(period).bars}
    expected = {channel: Decimal(str(total)) for channel, total in sql(
        "SELECT channel, SUM(total_amount) FROM customer_order WHERE state IN ('New', 'In progress', 'Completed') "
        "AND order_date >= :since AND order_date < :until GROUP BY channel", **bounds)}
    assert value == expected


def _instant(value):
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


def test_the_range_narrows_the_panels_and_bad_ranges_are_explained():
    period, _ = od.date_range("2026-06-10", "2026-06-14", TODAY)
    assert (period.since, period.until) == (dt.datetime(2026, 6, 10), dt.datetime(2026, 6, 15))
    assert od.date_range("2026-06-14", "2026-06-10", TODAY)[1].startswith("The range must end")
    assert od.date_range("yesterday", None, TODAY)[1].startswith("The dates must read")


def test_the_dashboard_page_draws_the_order_panels_for_the_range(client_for, orders):
    page = html.unescape(client_for("manager").get("/dashboard/?from=2026-06-01&to=2026-06-15").get_data(as_text=True))
    assert "Orders from 2026-06-01 to 2026-06-15" in page
    for key in ("order-backlog", "order-approvals", "order-lead-time", "order-value"):
        assert f'id="chart-{key}"' in page
    assert "<svg" in page and "cdn" not in page.lower()
    # The figures drawn are the database's, for the range asked for.
    bounds = {"since": dt.datetime(2026, 6, 1), "until": dt.datetime(2026, 6, 16)}
    assert drawn(page, "order-backlog") == {f"{state} — {channel}": str(count) for state, channel, count in sql(
        "SELECT state, channel, COUNT(*) FROM customer_order WHERE state IN ('New', 'In progress') "
        "AND order_date >= :since AND order_date < :until GROUP BY state, channel", **bounds)}
    assert drawn(page, "order-approvals") == {f"{order_type} orders — Waiting": str(count) for order_type, count in sql(
        "SELECT order_type, COUNT(*) FROM customer_order WHERE state = 'New' "
        "AND order_date >= :since AND order_date < :until GROUP BY order_type", **bounds)}
    wrong = html.unescape(client_for("manager").get("/dashboard/?from=2026-06-15&to=2026-06-01").get_data(as_text=True))
    assert "The range must end on or after its start" in wrong
    assert client_for("agent").get("/dashboard/").status_code in (302, 403)


def drawn(page: str, key: str) -> dict[str, str]:
    """The figures a chart of the page draws: {"bar — segment": value}."""
    chart = page.split(f'id="chart-{key}"', 1)[1].split("dashboard-chart", 1)[0]
    return dict(re.findall(r"<title>(.+?): ([^<]+)</title>", chart))

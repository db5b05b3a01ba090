"""The order panels of the managers' dashboard, over a date range: the backlog by state and channel, the
approvals waiting, the fulfilment lead time and the order value.

Each panel is one aggregate query whatever the number of orders; the charts are drawn by the same inline
SVG as the case charts (``dashboard``), so they render offline.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from app.core.choices import OrderChannel, OrderState, OrderType
from app.core.extensions import db
from app.home.charts import Bar, Chart, Segment, seconds_between
from app.models import CustomerOrder

# Placed and not finished: what the desk still has to approve or fulfil.
BACKLOG_STATES = (OrderState.NEW, OrderState.IN_PROGRESS)
# Orders whose value counts: placed and not called off.
VALUED_STATES = (OrderState.NEW, OrderState.IN_PROGRESS, OrderState.COMPLETED)
DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366


@dataclass
class DateRange:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min)

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min)


def date_range(start: str | None, end: str | None, today: dt.date) -> tuple[DateRange, str | None]:
    """The range the form asks for (default: the last 30 days), and a message when it had to be corrected."""
    default = DateRange(today - dt.timedelta(days=DEFAULT_DAYS - 1), today)
    if not start and not end:
        return default, None
    try:
        chosen = DateRange(dt.date.fromisoformat(start) if start else default.start,
                           dt.date.fromisoformat(end) if end else today)
    except ValueError:
        return default, "The dates must read YYYY-MM-DD; showing the last 30 days."
    if chosen.end < chosen.start:
        return default, "The range must end on or after its start; showing the last 30 days."
    if (chosen.end - chosen.start).days > MAX_DAYS:
        return DateRange(chosen.end - dt.timedelta(days=MAX_DAYS), chosen.end), "Ranges are at most three years."
    return chosen, None


def _placed(period: DateRange):
    return (CustomerOrder.order_date >= period.since, CustomerOrder.order_date < period.until)


def backlog_by_state_and_channel(period: DateRange) -> Chart:
    rows = db.session.execute(
        select(CustomerOrder.state, CustomerOrder.channel, func.count())
        .where(CustomerOrder.state.in_(BACKLOG_STATES), *_placed(period))
        .group_by(CustomerOrder.state, CustomerOrder.channel)).all()
    counts = {(state, channel): value for state, channel, value in rows}
    bars = [Bar(state, [Segment(channel, counts.get((state, channel), 0), None, f"bar-channel-{index}")
                        for index, channel in enumerate(OrderChannel.ALL)])
            for state in BACKLOG_STATES]
    legend = [(channel, f"bar-channel-{index}") for index, channel in enumerate(OrderChannel.ALL)]
    return Chart("order-backlog", "Order backlog by state and channel (placed in the range)", bars, legend)


def approvals_waiting(period: DateRange) -> Chart:
    rows = dict(db.session.execute(
        select(CustomerOrder.order_type, func.count())
        .where(CustomerOrder.state == OrderState.NEW, *_placed(period))
        .group_by(CustomerOrder.order_type)).all())
    bars = [Bar(f"{order_type} orders", [Segment("Waiting", rows.get(order_type, 0), None)])
            for order_type in OrderType.ALL]
    return Chart("order-approvals", "Orders waiting for approval", bars)


def fulfilment_lead_time(period: DateRange) -> Chart:
    """Average hours from placing to completing, of the orders completed in the range, by order type."""
    seconds = seconds_between(CustomerOrder.order_date, CustomerOrder.completed_at)
    rows = db.session.execute(
        select(CustomerOrder.order_type, func.count(), func.sum(seconds))
        .where(CustomerOrder.state == OrderState.COMPLETED, CustomerOrder.completed_at >= period.since,
               CustomerOrder.completed_at < period.until)
        .group_by(CustomerOrder.order_type)).all()
    bars = [Bar(f"{order_type} orders", [Segment("Lead time", round(float(total or 0) / count / 3600, 1), None)],
                note=f"{count} order(s)")
            for order_type, count, total in sorted(rows, key=lambda row: row[0])]
    return Chart("order-lead-time", "Fulfilment lead time (hours, orders completed in the range)", bars, unit=" h")


def order_value(period: DateRange) -> Chart:
    rows = dict(db.session.execute(
        select(CustomerOrder.channel, func.coalesce(func.sum(CustomerOrder.total_amount), 0))
        .where(CustomerOrder.state.in_(VALUED_STATES), *_placed(period))
        .group_by(CustomerOrder.channel)).all())
    bars = [Bar(channel, [Segment(channel, float(rows[channel]), None)]) for channel in OrderChannel.ALL
            if channel in rows]
    return Chart("order-value", "Order value by channel (placed in the range, not cancelled or rejected)", bars)


def order_panels(period: DateRange) -> list[Chart]:
    return [backlog_by_state_and_channel(period), approvals_waiting(period), fulfilment_lead_time(period),
            order_value(period)]

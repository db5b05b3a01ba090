"""The portal lists as files: My Order Cases (with its state filter) and My Orders, the columns the pages
show, every row of the customer's own account only, newest first, streamed (``app.exports``)."""
from __future__ import annotations

from sqlalchemy import func, select

from app.exports.rows import Column, export_rows
from app.models import CustomerOrder, OrderCase
from app.portal import pages
from app.portal.scope import AccountScope

# A case's order: its number, or the case's scope when it concerns no single order.
CASE_ORDER = func.coalesce(select(CustomerOrder.number).where(CustomerOrder.id == OrderCase.order_id)
                           .scalar_subquery(), OrderCase.scope)
CASE_COLUMNS = [Column("Number", OrderCase.number), Column("Request", OrderCase.short_description),
                Column("Order", CASE_ORDER), Column("Opened", OrderCase.opened_at), Column("State", OrderCase.state)]
ORDER_COLUMNS = [Column("Number", CustomerOrder.number), Column("Date", CustomerOrder.order_date),
                 Column("Channel", CustomerOrder.channel), Column("Total", CustomerOrder.total_amount),
                 Column("Currency", CustomerOrder.currency), Column("State", CustomerOrder.state)]
CASE_HEADINGS = [column.heading for column in CASE_COLUMNS]
ORDER_HEADINGS = [column.heading for column in ORDER_COLUMNS]


def case_rows(scope: AccountScope, state: str | None):
    return export_rows(pages.case_query(scope, state).order_by(OrderCase.id.desc()), OrderCase, CASE_COLUMNS)


def order_rows(scope: AccountScope):
    return export_rows(scope.orders().order_by(CustomerOrder.id.desc()), CustomerOrder, ORDER_COLUMNS)

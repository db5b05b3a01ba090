"""The portal lists as files: My Order Cases (with its state filter) and My Orders, the columns the pages
show, every row of the customer's own account only, streamed (``app.exports``)."""
from __future__ import annotations

from sqlalchemy.orm import joinedload

from app.core.extensions import db
from app.models import CustomerOrder, OrderCase
from app.portal import pages
from app.portal.scope import AccountScope

BATCH = 1000
CASE_HEADINGS = ["Number", "Request", "Order", "Opened", "State"]
ORDER_HEADINGS = ["Number", "Date", "Channel", "Total", "Currency", "State"]


def _newest_first(query, model, options=()):
    return db.session.scalars(query.options(*options).order_by(model.id.desc())
                              .execution_options(yield_per=BATCH))


def case_rows(scope: AccountScope, state: str | None):
    for case in _newest_first(pages.case_query(scope, state), OrderCase, (joinedload(OrderCase.order),)):
        yield [case.number, case.short_description, case.order.number if case.order else case.scope,
               case.opened_at, case.state]


def order_rows(scope: AccountScope):
    for order in _newest_first(scope.orders(), CustomerOrder):
        yield [order.number, order.order_date, order.channel, order.total_amount, order.currency, order.state]

"""The approvals inbox: everything waiting for a manager's decision, oldest first.

Product and service orders awaiting approval (state New, from any channel) and quotes in review. The
home tile counts ``awaiting_approval()`` and links to the inbox, which lists the same rows.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, literal, select, union_all

from app.core.bulk import Outcome, each_record, record_ids
from app.core.choices import OrderState, OrderType, QuoteState
from app.core.exceptions import InvalidInput
from app.core.extensions import db
from app.core.model_base import utcnow
from app.core.roles import MANAGER
from app.core.workflow_base import require_back_office
from app.models import CustomerOrder, EnrichmentIssue, Quote
from app.orders import bulk, quotes

ORDER, QUOTE = "order", "quote"
APPROVE_QUOTE, SEND_BACK = "Approve quote", "Revise"
PAGE_SIZE = 50


@dataclass
class Awaiting:
    key: str  # "order-12" / "quote-3": what a ticked box sends
    kind: str
    id: int
    number: str
    label: str
    account: str
    channel: str
    value: Decimal
    currency: str
    since: dt.datetime
    issues: list[str]

    @property
    def age(self) -> str:
        seconds = max(0, int((utcnow() - self.since).total_seconds()))
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        return f"{days} d {hours} h" if days else f"{hours} h {rest // 60} min"


def awaiting_approval():
    """Every record awaiting approval as (kind, id, since): the inbox's rows and the home tile's count."""
    orders = select(literal(ORDER).label("kind"), CustomerOrder.id.label("id"),
                    CustomerOrder.order_date.label("since")).where(CustomerOrder.state == OrderState.NEW)
    in_review = select(literal(QUOTE).label("kind"), Quote.id.label("id"),
                       Quote.changed_on.label("since")).where(Quote.state == QuoteState.IN_REVIEW)
    return union_all(orders, in_review)


def inbox_page(page: int = 1) -> tuple[int, list[Awaiting]]:
    """(how many await approval, the rows of *page*), oldest first."""
    everything = awaiting_approval().subquery()
    total = db.session.scalar(select(func.count()).select_from(everything))
    keys = db.session.execute(select(everything.c.kind, everything.c.id)
                              .order_by(everything.c.since, everything.c.kind, everything.c.id)
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    order_ids = [record_id for kind, record_id in keys if kind == ORDER]
    quote_ids = [record_id for kind, record_id in keys if kind == QUOTE]
    orders = {o.id: o for o in db.session.scalars(select(CustomerOrder).where(CustomerOrder.id.in_(order_ids)))}
    found = {o.id: o for o in db.session.scalars(select(Quote).where(Quote.id.in_(quote_ids)))}
    issues: dict[int, list[str]] = {}
    for order_id, description in db.session.execute(
            select(EnrichmentIssue.order_id, EnrichmentIssue.description)
            .where(EnrichmentIssue.order_id.in_(order_ids), EnrichmentIssue.resolved.is_(False))
            .order_by(EnrichmentIssue.id)):
        issues.setdefault(order_id, []).append(description)
    rows = []
    for kind, record_id in keys:
        if kind == ORDER:
            order = orders[record_id]
            label = "Service order" if order.order_type == OrderType.SERVICE else "Customer order"
            rows.append(Awaiting(f"{ORDER}-{order.id}", ORDER, order.id, order.number, label, str(order.account or "—"),
                                 order.channel, order.total_amount, order.currency, order.order_date,
                                 issues.get(order.id, [])))
        else:
            quote = found[record_id]
            rows.append(Awaiting(f"{QUOTE}-{quote.id}", QUOTE, quote.id, quote.number, "Quote", str(quote.account),
                                 "quote", quote.total_amount, quote.currency, quote.changed_on, []))
    return total, rows


def split_keys(keys) -> tuple[list[str], list[str]]:
    """The ticked rows ("order-12", "quote-3") as order ids and quote ids."""
    orders, found_quotes = [], []
    for key in keys or []:
        kind, _, record_id = str(key).partition("-")
        if kind not in (ORDER, QUOTE) or not record_id:
            raise InvalidInput(f"{str(key)[:40]!r} is not a row of the approvals inbox.", {"ids": "Not a row"})
        (orders if kind == ORDER else found_quotes).append(record_id)
    return orders, found_quotes


def decide(user, keys, approve: bool, reason: str = "") -> list[Outcome]:
    """Approve, or reject with *reason*, every ticked row: orders through the order workflow, quotes
    approved or sent back for revision (the reason kept as a work note)."""
    action = "Approve" if approve else "Reject"
    require_back_office(user, MANAGER, action)
    order_ids, quote_ids = split_keys(keys)
    record_ids([*order_ids, *quote_ids], action)
    if not approve and not (reason or "").strip():
        raise InvalidInput("Reject needs a reason.", {"reason": "Required"})
    outcomes: list[Outcome] = []
    if order_ids:
        outcomes += bulk.bulk_approve(user, order_ids) if approve else bulk.bulk_reject(user, order_ids, reason)
    if quote_ids:
        outcomes += each_record(Quote, record_ids(quote_ids, action), lambda quote_id: _quote(user, quote_id, approve,
                                                                                           reason))
    return outcomes


def _quote(user, quote_id: int, approve: bool, reason: str) -> str:
    if approve:
        quotes.change_quote_state(user, quote_id, None, APPROVE_QUOTE)
        return "approved"
    quotes.change_quote_state(user, quote_id, None, SEND_BACK, note=reason)
    return "sent back for revision"

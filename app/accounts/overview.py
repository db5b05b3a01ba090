"""What the account page and the inventory page read: a fixed number of bounded queries per page, so
their cost does not grow with the account's history."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.core.choices import CaseState, OrderLineState, OrderState, QuoteState
from app.core.extensions import db
from app.models import (
    Account,
    AuditEvent,
    Contact,
    CustomerOrder,
    Interaction,
    Location,
    OrderCase,
    OrderCaseLine,
    OrderLineItem,
    ProductInventory,
    ProductOffering,
    ProductSpecification,
    Quote,
)

LIST_LIMIT = 10
REFERENCE_LIMIT = 50
# Orders placed but not yet finished: the desk still owes the customer something.
IN_FLIGHT_STATES = (OrderState.NEW, OrderState.IN_PROGRESS)
# Orders that count towards the account's value: placed and not called off.
VALUED_STATES = (OrderState.NEW, OrderState.IN_PROGRESS, OrderState.COMPLETED)
OPEN_QUOTE_STATES = (QuoteState.DRAFT, QuoteState.IN_REVIEW, QuoteState.APPROVED)


@dataclass
class AccountOverview:
    account: Account
    open_cases: int
    orders_in_flight: int
    value_this_year: Decimal
    open_quotes: int
    cases: list = field(default_factory=list)
    recent_closed_cases: list = field(default_factory=list)
    orders: list = field(default_factory=list)
    quotes: list = field(default_factory=list)
    interactions: list = field(default_factory=list)
    inventory: list = field(default_factory=list)
    inventory_total: int = 0
    contacts: list = field(default_factory=list)
    locations: list = field(default_factory=list)


def _count(statement) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def account_overview(account_id: int, today: dt.date | None = None) -> AccountOverview | None:
    account = db.session.scalars(select(Account).where(Account.id == account_id).options(
        joinedload(Account.primary_contact), joinedload(Account.parent), joinedload(Account.billing_location),
        joinedload(Account.shipping_location))).first()
    if account is None:
        return None
    today = today or dt.date.today()
    year_start = dt.datetime(today.year, 1, 1)
    cases = select(OrderCase).where(OrderCase.account_id == account_id)
    orders = select(CustomerOrder).where(CustomerOrder.account_id == account_id)
    figures = db.session.execute(select(
        select(func.count()).where(OrderCase.account_id == account_id, OrderCase.state.in_(CaseState.OPEN))
        .scalar_subquery(),
        select(func.count()).where(CustomerOrder.account_id == account_id, CustomerOrder.state.in_(IN_FLIGHT_STATES))
        .scalar_subquery(),
        select(func.coalesce(func.sum(CustomerOrder.total_amount), 0)).where(
            CustomerOrder.account_id == account_id, CustomerOrder.state.in_(VALUED_STATES),
            CustomerOrder.order_date >= year_start).scalar_subquery(),
        select(func.count()).where(Quote.account_id == account_id, Quote.state.in_(OPEN_QUOTE_STATES))
        .scalar_subquery(),
        select(func.count()).where(ProductInventory.account_id == account_id).scalar_subquery(),
    )).one()
    overview = AccountOverview(account, figures[0], figures[1], Decimal(figures[2]), figures[3],
                               inventory_total=figures[4])
    case_options = (joinedload(OrderCase.assigned_to), joinedload(OrderCase.contact))
    overview.cases = db.session.scalars(cases.where(OrderCase.state.in_(CaseState.OPEN)).options(*case_options)
                                        .order_by(OrderCase.id.desc()).limit(LIST_LIMIT)).all()
    overview.recent_closed_cases = db.session.scalars(
        cases.where(OrderCase.state.in_(CaseState.READ_ONLY)).options(*case_options)
        .order_by(OrderCase.id.desc()).limit(5)).all()
    overview.orders = db.session.scalars(orders.order_by(CustomerOrder.id.desc()).limit(LIST_LIMIT)).all()
    overview.quotes = db.session.scalars(select(Quote).where(Quote.account_id == account_id).options(
        joinedload(Quote.order)).order_by(Quote.id.desc()).limit(LIST_LIMIT)).all()
    overview.interactions = db.session.scalars(select(Interaction).where(Interaction.account_id == account_id).options(
        joinedload(Interaction.contact), joinedload(Interaction.agent))
        .order_by(Interaction.id.desc()).limit(LIST_LIMIT)).all()
    overview.inventory = db.session.scalars(select(ProductInventory).where(
        ProductInventory.account_id == account_id).options(joinedload(ProductInventory.location))
        .order_by(ProductInventory.id.desc()).limit(LIST_LIMIT * 2)).all()
    overview.contacts = db.session.scalars(select(Contact).where(Contact.account_id == account_id).options(
        joinedload(Contact.user)).order_by(Contact.last_name, Contact.first_name).limit(REFERENCE_LIMIT)).all()
    overview.locations = db.session.scalars(select(Location).where(Location.account_id == account_id)
                                            .order_by(Location.name).limit(REFERENCE_LIMIT)).all()
    return overview


# ----------------------------------------------------------------------------------------------------
# An inventory item's history


@dataclass
class InventoryChange:
    """One order line that acted on the item, with what its completion changed (field, before, after)."""

    line: OrderLineItem
    changes: list = field(default_factory=list)


# How the ids an inventory audit records read to a person.
_NAMED_FIELDS = {"location_id": (Location, "Location"), "offering_id": (ProductOffering, "Offering"),
                 "specification_id": (ProductSpecification, "Specification")}


def inventory_page(item_id: int) -> dict | None:
    item = db.session.scalars(select(ProductInventory).where(ProductInventory.id == item_id).options(
        joinedload(ProductInventory.account), joinedload(ProductInventory.offering),
        joinedload(ProductInventory.specification), joinedload(ProductInventory.location),
        selectinload(ProductInventory.characteristics))).first()
    if item is None:
        return None
    touching = or_(OrderLineItem.inventory_id == item.id, OrderLineItem.id == item.order_line_id)
    lines = db.session.scalars(select(OrderLineItem).where(touching).options(
        joinedload(OrderLineItem.order), joinedload(OrderLineItem.offering))
        .order_by(OrderLineItem.completed_at.is_(None), OrderLineItem.completed_at, OrderLineItem.id)
        .limit(REFERENCE_LIMIT)).all()
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.record_type == ProductInventory.__tablename__, AuditEvent.record_id == item.id)
        .order_by(AuditEvent.created_on, AuditEvent.id).limit(500)).all()
    names = _names(events)
    by_action: dict[str, list] = {}
    for event in events:
        by_action.setdefault(event.action or "", []).append(
            (_label(event.field), _shown(event.field, event.old_value, names), _shown(event.field, event.new_value,
                                                                                      names)))
    history = [InventoryChange(line, by_action.get(f"Complete {line.number}", [])) for line in lines]
    line_ids = [line.id for line in lines]
    order_ids = {line.order_id for line in lines}
    open_cases = db.session.scalars(select(OrderCase).join(OrderCaseLine, OrderCaseLine.case_id == OrderCase.id).where(
        OrderCase.state.in_(CaseState.OPEN),
        or_(OrderCaseLine.order_line_id.in_(line_ids),
            and_(OrderCaseLine.order_line_id.is_(None), OrderCaseLine.order_id.in_(order_ids))))
        .distinct().order_by(OrderCase.id.desc()).limit(REFERENCE_LIMIT)).all() if line_ids else []
    pending = [line for line in lines if line.state not in (OrderLineState.COMPLETED, OrderLineState.CANCELLED)]
    return {"item": item, "history": history, "open_cases": open_cases, "pending": pending,
            "manual_changes": [event for event in events if not (event.action or "").startswith("Complete ")]}


def _label(field_name: str | None) -> str:
    if field_name in _NAMED_FIELDS:
        return _NAMED_FIELDS[field_name][1]
    return (field_name or "").replace("_", " ")


def _names(events) -> dict[tuple[str, str], str]:
    """The names of the records the events' id values point to: one query per kind of record."""
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.field in _NAMED_FIELDS:
            for value in (event.old_value, event.new_value):
                if value and value.isdigit():
                    wanted.setdefault(event.field, set()).add(int(value))
    names = {}
    for field_name, ids in wanted.items():
        model = _NAMED_FIELDS[field_name][0]
        for record_id, name in db.session.execute(select(model.id, model.name).where(model.id.in_(ids))):
            names[(field_name, str(record_id))] = name
    return names


def _shown(field_name, value, names) -> str:
    if value is None:
        return "—"
    return names.get((field_name, value), value)

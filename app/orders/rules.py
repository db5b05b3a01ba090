"""Order rules shared by the order, quote and case workflows: how input is read, which states allow
what, how characteristics are validated, how totals are computed and when an order settles.

Split out of ``order_workflows`` (which builds its operations on them) so that quote, case-change and
API code reuse the same rules without copies.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, Mapping

from app.core.choices import OrderLineState, OrderState, PriceType, SpecKind, ValueType
from app.core.exceptions import InvalidInput, RecordNotFound
from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import (
    Account,
    CustomerOrder,
    EnrichmentIssue,
    Location,
    OrderLineItem,
    ProductOffering,
    ProductSpecification,
)
from app.core.workflow_base import existing_record, lock_for_update, set_fields, transition

ZERO = Decimal("0")
OPEN_LINE_STATES = (OrderLineState.DRAFT, OrderLineState.NEW, OrderLineState.IN_PROGRESS)
EDITABLE_ORDER_STATES = (OrderState.DRAFT, OrderState.NEW)
LIVE_ORDER_STATES = (OrderState.DRAFT, OrderState.NEW, OrderState.IN_PROGRESS)


def _optional_id(value: Any, field: str, label: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{label} is not a valid reference.", {field: "Invalid choice"}) from exc


def _date(value: Any, field: str, label: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(f"{label} must be a date (YYYY-MM-DD).", {field: "Not a valid date"}) from exc


def _quantity(value: Any, field: str = "quantity") -> int:
    try:
        quantity = int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("Quantity must be a whole number of at least 1.", {field: "Not a whole number"}) from exc
    if quantity < 1:
        raise InvalidInput(f"Quantity must be at least 1 (got {quantity}).", {field: "Must be at least 1"})
    return quantity


# Order intake (UI, quotes, TMF) reports a reference that matches nothing as "Not found".
_get = partial(existing_record, detail="Not found")


def _currency(value: Any) -> str:
    currency = (value or "USD").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidInput(f"Currency must be a 3-letter ISO code (got {value!r}).", {"currency": "Invalid code"})
    return currency


def _load_order(order_id: int) -> CustomerOrder:
    order = lock_for_update(CustomerOrder, order_id)
    if order is None:
        raise RecordNotFound(f"Order {order_id} does not exist.")
    return order


def _load_line(line_id: int) -> tuple[CustomerOrder, OrderLineItem]:
    """Lock the line's order before the line, always in that order, so concurrent actions queue."""
    order_id = db.session.query(OrderLineItem.order_id).filter(OrderLineItem.id == line_id).scalar()
    if order_id is None:
        raise RecordNotFound(f"Order line {line_id} does not exist.")
    order = _load_order(order_id)
    return order, lock_for_update(OrderLineItem, line_id)


def _check_location(location: Location | None, account: Account | None, field: str) -> None:
    if location is not None and location.account_id is not None and (
        account is None or location.account_id != account.id
    ):
        raise InvalidInput(
            f"Location {location} belongs to another account.", {field: "Location of another account"}
        )


def _active_account(account_id: Any) -> Account:
    account_id = _optional_id(account_id, "account_id", "Account")
    if account_id is None:
        raise InvalidInput("An order needs an account.", {"account_id": "Required"})
    account = _get(Account, account_id, "Account", "account_id")
    if not account.active:
        raise InvalidInput(f"Account {account.name} is inactive.", {"account_id": "Inactive account"})
    return account


def validate_characteristics(
    spec: ProductSpecification | None, values: Mapping[str, Any], require_all: bool = True
) -> list[tuple[str, str]]:
    """Check name/value pairs against the specification's definitions; return them in definition order.

    Values are typed (number, boolean) and limited to the allowed values when the definition has any.
    """
    definitions = {d.name: d for d in (spec.characteristics if spec is not None else [])}
    errors: dict[str, str] = {}
    chosen: dict[str, str] = {}
    for name, raw in values.items():
        value = "" if raw is None else str(raw).strip()
        definition = definitions.get(name)
        if definition is None:
            errors[name] = f"{spec.name if spec else 'the line'} has no characteristic {name!r}"
            continue
        if not value:
            continue
        if definition.value_type == ValueType.NUMBER:
            try:
                Decimal(value)
            except InvalidOperation:
                errors[name] = f"{value!r} is not a number"
                continue
        elif definition.value_type == ValueType.BOOLEAN:
            if value.lower() not in ("true", "false"):
                errors[name] = f"{value!r} is not true or false"
                continue
            value = value.lower()
        allowed = definition.allowed
        if allowed and value not in allowed:
            errors[name] = f"{value!r} is not allowed (allowed: {', '.join(allowed)})"
            continue
        chosen[name] = value
    if require_all:
        for name, definition in definitions.items():
            if definition.required and name not in chosen and name not in errors:
                errors[name] = "a value is required"
    if errors:
        detail = "; ".join(f"{name}: {message}" for name, message in errors.items())
        raise InvalidInput(
            f"The characteristics are not valid: {detail}.", {f"char:{name}": m for name, m in errors.items()}
        )
    return [(name, chosen[name]) for name in definitions if name in chosen]


def offering_kind(offering: ProductOffering) -> str:
    """Product or service: the kind of the offering's specification (an offering without one is a product)."""
    return offering.specification.kind if offering.specification is not None else SpecKind.PRODUCT


def require_offering_fits(offering: ProductOffering, order_type: str, field: str = "offering_id") -> None:
    """A product order takes product offerings, a service order service offerings."""
    kind = offering_kind(offering)
    if kind != order_type:
        raise InvalidInput(
            f"Offering {offering.name} is a {kind} offering; a {order_type} order takes {order_type} offerings.",
            {field: f"Not a {order_type} offering"},
        )


def order_totals(lines) -> tuple[Decimal, Decimal]:
    """(one-time, recurring) totals of the lines that still count: cancelled lines are not charged."""
    one_time = recurring = ZERO
    for line in lines:
        if line.state == OrderLineState.CANCELLED:
            continue
        if line.price_type == PriceType.RECURRING:
            recurring += line.line_total
        else:
            one_time += line.line_total
    return one_time, recurring


def recompute_totals(order: CustomerOrder, action: str | None = None) -> None:
    """One-time and recurring totals from the lines that are not cancelled; total = their sum."""
    one_time, recurring = order_totals(order.lines)
    set_fields(
        order,
        {"total_one_time": one_time, "total_recurring": recurring, "total_amount": one_time + recurring},
        action=action,
    )


def _settle_order(order: CustomerOrder) -> None:
    """Close a submitted order once all its lines are: Cancelled if none was fulfilled, else Completed."""
    lines = order.lines
    if order.state not in (OrderState.NEW, OrderState.IN_PROGRESS) or not lines:
        return
    if any(line.state not in OrderLineState.CLOSED for line in lines):
        return
    if all(line.state == OrderLineState.CANCELLED for line in lines):
        transition(order, OrderState.CANCELLED, "All lines cancelled")
    elif order.state == OrderState.IN_PROGRESS:
        transition(order, OrderState.COMPLETED, "All lines fulfilled")
        order.completed_at = utcnow()


def open_enrichment_issues(order: CustomerOrder) -> list[EnrichmentIssue]:
    return [issue for issue in order.enrichment_issues if not issue.resolved]

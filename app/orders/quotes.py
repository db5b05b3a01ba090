"""Quotes: a priced proposal to an account, its review states, and its one-time conversion into an order.

States: draft → in review (Submit for review) → approved (Approve quote, manager) → accepted (Accept,
the customer's acceptance, while the quote is valid) → converted once by **Create order**. Create order
on an approved quote records the customer's acceptance and converts in one step. Revise sends an
in-review or approved quote back to draft; any open quote may be expired or cancelled. Lines are
edited only in draft, priced from the catalog and configured like order lines (their characteristics
are validated against the specification and copied onto the order lines); the total is recomputed on
every line change. A quote holds offerings of one kind, products or services, because it becomes one
order and an order takes offerings of its own type only.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from app.core.choices import (
    JournalKind, LineAction, OrderChannel, OrderLineState, OrderState, QuoteState,
)
from app.core.exceptions import InvalidInput, RecordNotFound, StateConflict
from app.core.extensions import db
from app.models import (
    CustomerOrder,
    OrderLineCharacteristic,
    OrderLineItem,
    ProductOffering,
    Quote,
    QuoteLine,
    QuoteLineCharacteristic,
)
from app.orders.rules import (
    ZERO,
    _active_account,
    _date,
    _get,
    _optional_id,
    _quantity,
    offering_kind,
    recompute_totals,
    validate_characteristics,
)
from app.orders.workflows import _header_values
from app.core.roles import AGENT, MANAGER
from app.core.workflow_base import (
    add_journal_entry,
    allowed,
    audit,
    check_version,
    lock_for_update,
    operation,
    require_back_office,
    require_state,
    set_fields,
    transition,
)

OPEN_QUOTE_STATES = (QuoteState.DRAFT, QuoteState.IN_REVIEW, QuoteState.APPROVED)
# Create order converts an accepted quote, or an approved one whose acceptance it records.
CONVERTIBLE_STATES = (QuoteState.APPROVED, QuoteState.ACCEPTED)

# What each state means and what comes next, for the quote page.
QUOTE_STATE_EXPLANATIONS = {
    QuoteState.DRAFT: "Being prepared: add and configure its lines, then Submit for review.",
    QuoteState.IN_REVIEW: "Waiting for a manager to approve the prices (Approve quote), or Revise to change it.",
    QuoteState.APPROVED: "Approved and ready for the customer. When the customer accepts it, Create order records "
                         "their acceptance and creates the order; Accept records the acceptance alone, to order "
                         "later. It can be accepted until its validity date.",
    QuoteState.ACCEPTED: "The customer accepted it: Create order turns it into a Draft order (once).",
    QuoteState.EXPIRED: "Expired: it can no longer be accepted or ordered.",
    QuoteState.CANCELLED: "Cancelled: it can no longer be accepted or ordered.",
}


def _load_quote(quote_id: int) -> Quote:
    quote = lock_for_update(Quote, quote_id)
    if quote is None:
        raise RecordNotFound(f"Quote {quote_id} does not exist.")
    return quote


def _quote_total(quote: Quote) -> None:
    total = sum(((line.unit_price or ZERO) * line.quantity for line in quote.lines), ZERO)
    set_fields(quote, {"total_amount": total}, action="Recompute total")


def quote_kind(quote: Quote) -> str | None:
    """The kind (product or service) of the offerings on *quote*: None while it has no lines, or when lines
    saved before quotes kept to one kind mix them."""
    kinds = {offering_kind(line.offering) for line in quote.lines}
    return kinds.pop() if len(kinds) == 1 else None


def create_quote(user, data: Mapping[str, Any]) -> Quote:
    with operation(user):
        require_back_office(user, AGENT, "Create quote")
        account = _active_account(data.get("account_id"))
        values = _header_values({k: v for k, v in data.items() if k in ("contact_id", "currency")}, account)
        if "contact_id" not in data:
            values["contact_id"] = account.primary_contact_id
        quote = Quote(
            account_id=account.id,
            state=QuoteState.DRAFT,
            valid_until=_date(data.get("valid_until"), "valid_until", "Valid until"),
            description=(data.get("description") or "").strip()[:200] or None,
            **values,
        )
        db.session.add(quote)
        db.session.flush()
        audit(quote, "state", None, QuoteState.DRAFT, action="Create quote")
    return quote


def update_quote(user, quote_id: int, version, data: Mapping[str, Any]) -> Quote:
    """Edit a draft quote's contact, validity and description."""
    with operation(user):
        require_back_office(user, AGENT, "Edit quote")
        quote = _load_quote(quote_id)
        require_quote_editable(user, quote, version)
        values = _header_values({k: v for k, v in data.items() if k == "contact_id"}, quote.account)
        if "valid_until" in data:
            values["valid_until"] = _date(data["valid_until"], "valid_until", "Valid until")
        if "description" in data:
            values["description"] = (data["description"] or "").strip()[:200] or None
        set_fields(quote, values, action="Edit quote")
    return quote


def add_quote_line(user, quote_id: int, version, offering_id, quantity, characteristics=None) -> QuoteLine:
    """Add an offering to a draft quote at its catalog price, configured with its characteristics."""
    with operation(user):
        require_back_office(user, AGENT, "Add quote line")
        quote = _load_quote(quote_id)
        check_version(quote, version)
        require_state(quote, (QuoteState.DRAFT,), "Add quote line")
        offering = _get(ProductOffering, _optional_id(offering_id, "offering_id", "Offering"), "Offering", "offering_id")
        if offering is None:
            raise InvalidInput("A quote line needs an offering.", {"offering_id": "Required"})
        if not offering.active:
            raise InvalidInput(f"Offering {offering.name} is no longer sold.", {"offering_id": "Inactive offering"})
        if offering.currency != quote.currency:
            raise InvalidInput(
                f"Offering {offering.name} is priced in {offering.currency}, the quote in {quote.currency}.",
                {"offering_id": "Currency differs from the quote"},
            )
        kind = quote_kind(quote)
        if kind is not None and offering_kind(offering) != kind:
            raise InvalidInput(
                f"Offering {offering.name} is a {offering_kind(offering)} offering; quote {quote.number} holds "
                f"{kind} offerings and becomes one {kind} order: quote the {offering_kind(offering)}s separately.",
                {"offering_id": f"Not a {kind} offering"},
            )
        chosen = validate_characteristics(offering.specification, characteristics or {})
        line = QuoteLine(offering_id=offering.id, quantity=_quantity(quantity), unit_price=offering.unit_price,
                         characteristics=[QuoteLineCharacteristic(name=name, value=value) for name, value in chosen])
        quote.lines.append(line)
        db.session.flush()
        audit(quote, "line", None, f"{line.quantity} × {offering.name}", action="Add quote line")
        _quote_total(quote)
    return line


def update_quote_line(user, line_id: int, quote_version, quantity, characteristics=None) -> QuoteLine:
    """Change a draft quote line's quantity and configuration (the offering stays; remove the line to change it)."""
    with operation(user):
        require_back_office(user, AGENT, "Edit quote line")
        quote, line = _quote_line(line_id, quote_version, "Edit quote line")
        chosen = validate_characteristics(line.offering.specification, characteristics or {})
        before = _configuration(line)
        line.quantity = _quantity(quantity)
        line.characteristics = [QuoteLineCharacteristic(name=name, value=value) for name, value in chosen]
        after = _configuration(line)
        if before != after:
            audit(quote, "line", before, after, action="Edit quote line")
        _quote_total(quote)
    return line


def _configuration(line: QuoteLine) -> str:
    values = ", ".join(f"{c.name}: {c.value}" for c in line.characteristics)
    return f"{line.quantity} × {line.offering.name}" + (f" ({values})" if values else "")


def _quote_line(line_id, quote_version, action: str) -> tuple[Quote, QuoteLine]:
    quote_id = db.session.query(QuoteLine.quote_id).filter(QuoteLine.id == line_id).scalar()
    if quote_id is None:
        raise RecordNotFound(f"Quote line {line_id} does not exist.")
    quote = _load_quote(quote_id)
    check_version(quote, quote_version)
    require_state(quote, (QuoteState.DRAFT,), action)
    return quote, db.session.get(QuoteLine, line_id)


def remove_quote_line(user, line_id: int, quote_version) -> None:
    with operation(user):
        require_back_office(user, AGENT, "Remove quote line")
        quote, line = _quote_line(line_id, quote_version, "Remove quote line")
        audit(quote, "line", str(line), None, action="Remove quote line")
        db.session.delete(line)
        db.session.flush()
        db.session.expire(quote, ["lines"])
        _quote_total(quote)


# action name → (allowed from, to, minimum role)
QUOTE_TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "Submit for review": ((QuoteState.DRAFT,), QuoteState.IN_REVIEW, AGENT),
    "Approve quote": ((QuoteState.IN_REVIEW,), QuoteState.APPROVED, MANAGER),
    "Revise": ((QuoteState.IN_REVIEW, QuoteState.APPROVED), QuoteState.DRAFT, AGENT),
    "Accept": ((QuoteState.APPROVED,), QuoteState.ACCEPTED, AGENT),
    "Expire": (OPEN_QUOTE_STATES, QuoteState.EXPIRED, AGENT),
    "Cancel quote": (OPEN_QUOTE_STATES, QuoteState.CANCELLED, AGENT),
}


def require_quote_editable(user, quote: Quote, version=None, action: str = "Edit quote") -> None:
    """Edit quote's checks (and the quote lines', under their own *action*) on a quote already loaded."""
    require_back_office(user, AGENT, action)
    check_version(quote, version)
    require_state(quote, (QuoteState.DRAFT,), action)


def require_quote_action(user, quote: Quote, action: str, version=None) -> None:
    """A quote transition's checks on a quote already loaded."""
    sources, _target, role = QUOTE_TRANSITIONS[action]
    require_back_office(user, role, action)
    check_version(quote, version)
    require_state(quote, sources, action)
    if action == "Submit for review" and not quote.lines:
        raise StateConflict(f"Submit for review is not allowed: {quote.number} has no lines.")
    if action == "Accept":
        _require_valid(quote, action)


def require_convertible(user, quote: Quote, version=None) -> None:
    """Create order's checks on a quote already loaded."""
    require_back_office(user, AGENT, "Create order")
    check_version(quote, version)
    if quote.order_id is not None:
        raise StateConflict(
            f"Create order is not allowed: {quote.number} was already converted into order {quote.order.number}."
        )
    require_state(quote, CONVERTIBLE_STATES, "Create order")
    if quote.state == QuoteState.APPROVED:
        _require_valid(quote, "Create order")
    if not quote.lines:
        raise StateConflict(f"Create order is not allowed: {quote.number} has no lines.")
    if quote_kind(quote) is None:
        raise StateConflict(f"Create order is not allowed: {quote.number} mixes products and services, and an "
                            "order takes one kind; Revise it and quote the services separately.")
    if not quote.account.active:
        raise StateConflict(f"Create order is not allowed: account {quote.account.name} is inactive.")


def quote_actions(quote: Quote, user) -> list[str]:
    """The quote transitions this user may take on *quote* now (for the buttons)."""
    return [name for name in QUOTE_TRANSITIONS if allowed(lambda: require_quote_action(user, quote, name))]


def may_edit_quote(user, quote: Quote) -> bool:
    return allowed(lambda: require_quote_editable(user, quote))


def may_convert(user, quote: Quote) -> bool:
    return allowed(lambda: require_convertible(user, quote))


def change_quote_state(user, quote_id: int, version, action: str, note: str | None = None) -> Quote:
    """Run one quote transition: Submit for review, Approve quote (manager), Revise, Accept, Expire,
    Cancel quote. Submitting needs a line; accepting needs the quote to be still valid. A *note* (why a
    manager sent the quote back) is kept as a work note."""
    if action not in QUOTE_TRANSITIONS:
        raise InvalidInput(f"Unknown quote action {action!r}.", {"action": "Invalid choice"})
    sources, target, role = QUOTE_TRANSITIONS[action]
    with operation(user):
        require_back_office(user, role, action)
        quote = _load_quote(quote_id)
        require_quote_action(user, quote, action, version)
        transition(quote, target, action)
        if (note or "").strip():
            add_journal_entry(quote, JournalKind.WORK_NOTE, f"{action}: {note.strip()}", user)
    return quote


def _require_valid(quote: Quote, action: str) -> None:
    if quote.valid_until and quote.valid_until < dt.date.today():
        raise StateConflict(f"{action} is not allowed: {quote.number} expired on {quote.valid_until.isoformat()}.")


def create_order_from_quote(user, quote_id: int, version) -> CustomerOrder:
    """Convert an accepted quote, once, into a Draft order (channel quote) with the quote's lines, prices and
    configuration; an approved quote is accepted first (the customer's acceptance, while it is valid)."""
    with operation(user):
        require_back_office(user, AGENT, "Create order")
        quote = _load_quote(quote_id)
        require_convertible(user, quote, version)
        if quote.state == QuoteState.APPROVED:
            transition(quote, QuoteState.ACCEPTED, "Accept")
        account = quote.account
        order = CustomerOrder(
            account_id=account.id,
            contact_id=quote.contact_id,
            order_type=quote_kind(quote),
            channel=OrderChannel.QUOTE,
            state=OrderState.DRAFT,
            currency=quote.currency,
            description=f"From quote {quote.number}" + (f": {quote.description}" if quote.description else ""),
            shipping_location_id=account.shipping_location_id,
            external_id=quote.number,
        )
        db.session.add(order)
        for quote_line in quote.lines:
            offering = quote_line.offering
            db.session.add(OrderLineItem(
                order=order,
                action=LineAction.ADD,
                offering_id=offering.id,
                specification_id=offering.specification_id,
                quantity=quote_line.quantity,
                unit_price=quote_line.unit_price,
                price_type=offering.price_type,
                state=OrderLineState.DRAFT,
                location_id=account.shipping_location_id,
                characteristics=[OrderLineCharacteristic(name=c.name, value=c.value)
                                 for c in quote_line.characteristics],
            ))
        db.session.flush()
        recompute_totals(order)
        audit(order, "state", None, OrderState.DRAFT, action=f"Create order from {quote.number}")
        set_fields(quote, {"order_id": order.id}, action="Create order")
        quote.order = order
    return order

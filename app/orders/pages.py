"""What the order and quote pages show and offer: loaded in a fixed number of queries whatever the
number of lines, and the actions the order workflows' guards allow this user (``app.orders.guards``)."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.core.choices import CaseState, InventoryState, LineAction
from app.core.extensions import db
from app.models import (
    AuditEvent,
    CustomerOrder,
    JournalEntry,
    Location,
    OrderCase,
    OrderCaseLine,
    OrderChange,
    OrderLineItem,
    ProductInventory,
    ProductOffering,
    ProductSpecification,
    Quote,
    QuoteLine,
)
from app.orders import guards, lookups
from app.core.roles import AGENT, has_back_office_role

HISTORY_LIMIT = 200

# The order page's statements are built once, as the case page's (app.cases.queries): built per request,
# their options and cache keys cost more CPU than running them (about 2 ms of an order page's 13).
_ORDER = (
    select(CustomerOrder)
    .options(
        joinedload(CustomerOrder.account),
        joinedload(CustomerOrder.contact),
        joinedload(CustomerOrder.shipping_location),
        selectinload(CustomerOrder.lines).options(
            joinedload(OrderLineItem.offering),
            joinedload(OrderLineItem.specification),
            joinedload(OrderLineItem.location),
            joinedload(OrderLineItem.inventory),
            selectinload(OrderLineItem.characteristics),
        ),
        # Joined: an order has few issues, mostly none, so no statement of their own.
        joinedload(CustomerOrder.enrichment_issues),
    )
    .where(CustomerOrder.id == bindparam("order_id"))
)
_ORDER_CASE_LINES = (
    select(OrderCaseLine.order_line_id, OrderCase.id, OrderCase.number, OrderCase.state)
    .join(OrderCase, OrderCase.id == OrderCaseLine.case_id)
    .where(OrderCaseLine.order_id == bindparam("order_id"))
)
_ORDER_CASES = (
    select(OrderCase).options(joinedload(OrderCase.assigned_to))
    .where(or_(OrderCase.order_id == bindparam("order_id"), OrderCase.id.in_(bindparam("case_ids", expanding=True))))
    .order_by(OrderCase.number.desc())
)
_ORDER_INVENTORY = (
    select(ProductInventory)
    .options(joinedload(ProductInventory.location), joinedload(ProductInventory.order_line))
    .where(or_(ProductInventory.order_line_id.in_(bindparam("line_ids", expanding=True)),
               ProductInventory.id.in_(bindparam("inventory_ids", expanding=True))))
    .order_by(ProductInventory.number)
)


def _of_order_and_lines(model):
    """The order's and its lines' rows of a history table (audit events, journal entries)."""
    return or_(and_(model.record_type == "customer_order", model.record_id == bindparam("order_id")),
               and_(model.record_type == "order_line_item",
                    model.record_id.in_(bindparam("line_ids", expanding=True))))


_ORDER_HISTORY = (
    select(AuditEvent).options(joinedload(AuditEvent.user)).where(_of_order_and_lines(AuditEvent))
    .order_by(AuditEvent.created_on.desc(), AuditEvent.id.desc()).limit(HISTORY_LIMIT)
)
_ORDER_JOURNAL = (
    select(JournalEntry).options(joinedload(JournalEntry.author)).where(_of_order_and_lines(JournalEntry))
    .order_by(JournalEntry.created_on.desc(), JournalEntry.id.desc()).limit(HISTORY_LIMIT)
)
_ORDER_CHANGES = (
    select(OrderChange)
    .options(joinedload(OrderChange.user), joinedload(OrderChange.case_line), joinedload(OrderChange.order_line))
    .where(OrderChange.order_id == bindparam("order_id"))
    .order_by(OrderChange.created_on.desc(), OrderChange.id.desc()).limit(HISTORY_LIMIT)
)


def load_order(order_id) -> CustomerOrder | None:
    return db.session.execute(_ORDER, {"order_id": order_id}).unique().scalar_one_or_none()


def order_page(order: CustomerOrder, user) -> dict:
    """Everything the order page shows besides the order itself, in one query per section."""
    line_ids = [line.id for line in order.lines]
    case_rows = db.session.execute(_ORDER_CASE_LINES, {"order_id": order.id}).all()
    open_states = set(CaseState.ALL) - set(CaseState.READ_ONLY)
    line_cases: dict[int, list[str]] = {}
    header_cases: list[str] = []
    for order_line_id, _case_id, number, state in case_rows:
        if state not in open_states:
            continue
        target = header_cases if order_line_id is None else line_cases.setdefault(order_line_id, [])
        if number not in target:
            target.append(number)
    # An empty IN list is a statement of its own to compile: -1 names no record.
    lines_or_none = line_ids or [-1]
    cases = db.session.scalars(_ORDER_CASES, {"order_id": order.id,
                                              "case_ids": sorted({row[1] for row in case_rows}) or [-1]}).all()
    inventory_ids = sorted({line.inventory_id for line in order.lines if line.inventory_id}) or [-1]
    inventory = db.session.scalars(_ORDER_INVENTORY, {"line_ids": lines_or_none,
                                                      "inventory_ids": inventory_ids}).all()
    history = db.session.scalars(_ORDER_HISTORY, {"order_id": order.id, "line_ids": lines_or_none}).all()
    journal = db.session.scalars(_ORDER_JOURNAL, {"order_id": order.id, "line_ids": lines_or_none}).all()
    changes = db.session.scalars(_ORDER_CHANGES, {"order_id": order.id}).all()
    return {
        "actions": guards.order_actions(user, order),
        "line_actions": {line.id: guards.line_actions(user, order, line) for line in order.lines},
        "open_line_count": guards.open_line_count(order),
        "line_cases": line_cases,
        "header_cases": header_cases,
        "cases": cases,
        "inventory": inventory,
        "history": history,
        "journal": journal,
        "changes": changes,
        "line_change_counts": _line_change_counts(order.id, changes),
        "open_issues": [issue for issue in order.enrichment_issues if not issue.resolved],
        "fixable_issues": guards.fixable_issues(user, order),
        "line_numbers": {line.id: line.number for line in order.lines},
        "is_agent": has_back_office_role(user, AGENT),
    }


def _line_change_counts(order_id: int, newest_changes: list[OrderChange]) -> dict[int, int]:
    """How many ledger rows each order line has: counted from the page's *newest_changes* when they are
    the whole ledger, else in one grouped query."""
    if len(newest_changes) < HISTORY_LIMIT:
        return dict(Counter(change.order_line_id for change in newest_changes if change.order_line_id is not None))
    return dict(
        db.session.query(OrderChange.order_line_id, func.count())
        .filter(OrderChange.order_id == order_id, OrderChange.order_line_id.is_not(None))
        .group_by(OrderChange.order_line_id).all()
    )


def order_line_page(line_id) -> dict | None:
    """The order line page: the line, its order and its own Order change ledger (links to the case lines)."""
    line = (db.session.query(OrderLineItem)
            .options(joinedload(OrderLineItem.order), joinedload(OrderLineItem.offering),
                     joinedload(OrderLineItem.location), joinedload(OrderLineItem.replaces_line),
                     selectinload(OrderLineItem.characteristics))
            .filter(OrderLineItem.id == line_id).one_or_none())
    if line is None:
        return None
    changes = (db.session.query(OrderChange)
               .options(joinedload(OrderChange.user), joinedload(OrderChange.case_line))
               .filter(OrderChange.order_line_id == line.id)
               .order_by(OrderChange.created_on.desc(), OrderChange.id.desc()).limit(HISTORY_LIMIT).all())
    replacements = db.session.query(OrderLineItem).filter(OrderLineItem.replaces_line_id == line.id).all()
    return {"line": line, "order": line.order, "changes": changes, "replacements": replacements}


def issue_choices(order: CustomerOrder) -> dict[str, list]:
    """Candidate records for fixing each kind of enrichment issue (party is typed as an account number)."""
    if not any(not issue.resolved for issue in order.enrichment_issues):
        return {}
    return {
        "offering": active_offerings(order_type=order.order_type),
        "specification": db.session.query(ProductSpecification).filter(ProductSpecification.active.is_(True))
        .order_by(ProductSpecification.name).all(),
        "location": account_locations(order.account_id),
    }


def active_offerings(currency: str | None = None, order_type: str | None = None) -> list[ProductOffering]:
    """The offerings on sale, in *currency*; for an order (or quote) of *order_type*, only those of that kind."""
    query = lookups.offerings_on_sale(currency, order_type).options(joinedload(ProductOffering.specification))
    return db.session.scalars(query.order_by(ProductOffering.name)).all()


def account_locations(account_id) -> list[Location]:
    if account_id is None:
        return []
    return (
        db.session.query(Location)
        .filter(Location.account_id == account_id)
        .order_by(Location.name, Location.number)
        .all()
    )


def account_inventory(account_id) -> list[ProductInventory]:
    """Items a change, disconnect, suspend or resume line can reference."""
    if account_id is None:
        return []
    return (
        db.session.query(ProductInventory)
        .options(joinedload(ProductInventory.location))
        .filter(ProductInventory.account_id == account_id,
                ProductInventory.state.in_((InventoryState.ACTIVE, InventoryState.SUSPENDED)))
        .order_by(ProductInventory.number)
        .all()
    )


def line_specification(offering_id, inventory_id):
    """The specification whose characteristics a line form asks for."""
    offering = lookups.record(ProductOffering, offering_id)
    if offering is not None and offering.specification is not None:
        return offering.specification
    item = lookups.record(ProductInventory, inventory_id)
    return item.specification if item is not None else None


def inventory_item(inventory_id) -> ProductInventory | None:
    """The inventory item a change line form targets (its current values are shown next to the inputs)."""
    return lookups.record(ProductInventory, inventory_id)


def load_quote(quote_id) -> Quote | None:
    return (
        db.session.query(Quote)
        .options(
            joinedload(Quote.account), joinedload(Quote.contact), joinedload(Quote.order),
            selectinload(Quote.lines).options(joinedload(QuoteLine.offering), selectinload(QuoteLine.characteristics)),
        )
        .filter(Quote.id == quote_id)
        .one_or_none()
    )


def quote_history(quote: Quote) -> list[AuditEvent]:
    return (
        db.session.query(AuditEvent)
        .options(joinedload(AuditEvent.user))
        .filter(AuditEvent.record_type == "quote", AuditEvent.record_id == quote.id)
        .order_by(AuditEvent.created_on.desc(), AuditEvent.id.desc())
        .limit(HISTORY_LIMIT)
        .all()
    )


LINE_ACTION_LABELS = {action: action.title() for action in LineAction.ALL}

"""What the customer portal reads, and the one thing it does beyond the case workflows.

Every read starts from an ``AccountScope`` (the signed-in customer's account), so a record of another
account is simply not found. Writes go through the same workflow functions the back office uses:
``specify_change`` turns the portal's "what should change" form into a case line edit (ordering from
the catalog is ``cart``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app import workflows
from app.cases.guards import optional_id, parse_positive_int
from app.core.choices import CaseState, LineState, OrderState, RequestType, Scope
from app.core.exceptions import InvalidInput
from app.core.extensions import db
from app.models import (
    CaseLineTask,
    CaseTask,
    Contact,
    CustomerOrder,
    JournalEntry,
    Location,
    Notification,
    OrderCase,
    OrderCaseLine,
    OrderChange,
    OrderLineItem,
)
from app.portal.scope import AccountScope

PAGE_SIZE = 20

# What each state means to the customer (SPEC §9: "state explanations").
CASE_STATE_EXPLANATIONS = {
    CaseState.DRAFT: "Not sent yet. Add the orders or order lines you want changed, then review and submit.",
    CaseState.NEW: "We have received your request; an order desk agent will pick it up shortly.",
    CaseState.WORK_IN_PROGRESS: "An agent is working on your request.",
    CaseState.AWAITING_INFO: "We need more information from you: please answer the question below.",
    CaseState.RESOLVED: "We have proposed a solution. Accept it to close the case, or reject it and tell us why.",
    CaseState.CLOSED: "Closed: you accepted the solution.",
    CaseState.CANCELLED: "This request was cancelled.",
}
LINE_OUTCOMES = {
    LineState.DRAFT: "Not sent yet",
    LineState.NEW: "Received",
    LineState.WORK_IN_PROGRESS: "Being worked on",
    LineState.AWAITING_INFO: "Waiting for your answer",
    LineState.ACCEPTED: "Accepted",
    LineState.DENIED: "Declined",
    LineState.CANCELLED: "Cancelled",
}
# The changes a customer may ask for: on a line of one order, or on a whole order (Multiple orders).
LINE_CHANGES = (RequestType.QUANTITY, RequestType.DELIVERY_DATE, RequestType.ADDRESS,
                RequestType.LINE_CANCELLATION, RequestType.INQUIRY)
ORDER_CHANGES = (RequestType.DELIVERY_DATE, RequestType.ADDRESS, RequestType.ORDER_CANCELLATION,
                 RequestType.INQUIRY)
# The field each change needs filled in.
CHANGE_FIELDS = {RequestType.QUANTITY: "requested_quantity", RequestType.DELIVERY_DATE: "requested_delivery_date",
                 RequestType.ADDRESS: "requested_location_id"}


@dataclass
class Page:
    items: list
    page: int
    has_next: bool


def paged(scope_query, model, page: int, options=()) -> Page:
    page = max(1, min(page, 10_000))
    rows = db.session.scalars(scope_query.options(*options).order_by(model.id.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return Page(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)


# ----------------------------------------------------------------------------------------------------
# Home


def home_summary(scope: AccountScope) -> dict:
    open_cases = db.session.scalars(scope.cases().where(OrderCase.state.in_(CaseState.OPEN))
                                    .order_by(OrderCase.id.desc()).limit(5)).all()
    waiting = db.session.scalar(select(func.count()).select_from(
        scope.cases().where(OrderCase.state.in_((CaseState.AWAITING_INFO, CaseState.RESOLVED))).subquery()))
    orders = db.session.scalars(scope.orders().order_by(CustomerOrder.id.desc()).limit(5)).all()
    return {"open_cases": open_cases, "waiting": waiting, "orders": orders}


def recent_notices(contact: Contact, limit: int = 5) -> list[Notification]:
    """The latest messages the desk sent this contact (queued or sent): what they were told, in the portal too."""
    addressed = [Notification.recipient_email == contact.email] if contact.email else []
    if contact.user_id is not None:
        addressed.append(Notification.recipient_user_id == contact.user_id)
    if not addressed:
        return []
    return db.session.scalars(select(Notification).where(or_(*addressed))
                              .order_by(Notification.created_on.desc(), Notification.id.desc()).limit(limit)).all()


def order_notices(order: CustomerOrder) -> list[Notification]:
    """The notices about *order* (an order of the customer's scope), oldest first."""
    return db.session.scalars(select(Notification).where(
        Notification.record_type == CustomerOrder.__tablename__, Notification.record_id == order.id)
        .order_by(Notification.created_on, Notification.id).limit(100)).all()


# ----------------------------------------------------------------------------------------------------
# Cases


def case_query(scope: AccountScope, state: str | None):
    """The account's cases, in *state* when it names one (the My Order Cases list and its export)."""
    query = scope.cases()
    if state in CaseState.ALL:
        query = query.where(OrderCase.state == state)
    return query


def case_list(scope: AccountScope, page: int, state: str | None) -> Page:
    return paged(case_query(scope, state), OrderCase, page, (joinedload(OrderCase.order),))


def find_case(scope: AccountScope, case_pk) -> OrderCase | None:
    case_id = optional_id(case_pk)
    if case_id is None:
        return None
    return db.session.scalars(
        scope.cases().where(OrderCase.id == case_id).options(
            joinedload(OrderCase.order), joinedload(OrderCase.contact), joinedload(OrderCase.service),
            selectinload(OrderCase.lines).options(
                joinedload(OrderCaseLine.order), joinedload(OrderCaseLine.current_location),
                joinedload(OrderCaseLine.requested_location),
                joinedload(OrderCaseLine.order_line).joinedload(OrderLineItem.offering)))
    ).first()


def find_case_line(scope: AccountScope, case: OrderCase, line_pk) -> OrderCaseLine | None:
    line_id = optional_id(line_pk)
    if line_id is None:
        return None
    return db.session.scalars(scope.case_lines().where(OrderCaseLine.id == line_id,
                                                       OrderCaseLine.case_id == case.id)).first()


@dataclass
class Comment:
    when: Any
    who: str
    mine: bool
    text: str
    record: str


def conversation(scope: AccountScope, case: OrderCase, user_id: int) -> list[Comment]:
    """The case's customer-visible comments (case and lines), oldest first; never work notes."""
    numbers = {line.id: line.number for line in case.lines}
    entries = db.session.scalars(scope.comments(case.id).options(joinedload(JournalEntry.author))
                                 .order_by(JournalEntry.created_on, JournalEntry.id).limit(500)).all()
    comments = []
    for entry in entries:
        author = entry.author
        mine = author is not None and author.id == user_id
        who = "You" if mine else ((f"{author.first_name or ''} {author.last_name or ''}".strip() or "Order desk")
                                  if author is not None else "Order desk")
        record = numbers.get(entry.record_id, "") if entry.record_type == OrderCaseLine.__tablename__ else ""
        comments.append(Comment(entry.created_on, who, mine, entry.text, record))
    return comments


def open_question(case: OrderCase, comments: list[Comment]) -> Comment | None:
    """While the case awaits information: the order desk's latest comment is the question."""
    if case.state != CaseState.AWAITING_INFO:
        return None
    return next((comment for comment in reversed(comments) if not comment.mine), None)


def visible_tasks(scope: AccountScope, case: OrderCase) -> list:
    tasks = []
    for model in (CaseTask, CaseLineTask):
        tasks += db.session.scalars(scope.tasks(model).where(model.case_id == case.id).order_by(model.id)).all()
    return tasks


def change_choices(case: OrderCase, line: OrderCaseLine) -> tuple[str, ...]:
    return ORDER_CHANGES if line.is_header_line else LINE_CHANGES


def account_locations(scope: AccountScope) -> list[Location]:
    return db.session.scalars(scope.locations().order_by(Location.name).limit(500)).all()


def specify_change(user, scope: AccountScope, case: OrderCase, line: OrderCaseLine, form) -> OrderCaseLine:
    """The portal's line form → Edit: one requested change, with the value that change needs.

    Only the chosen change's value is kept, so the line asks for exactly one thing.
    """
    action = workflows.EDIT_LINE
    change = (form.get("request_type") or "").strip()
    if change not in change_choices(case, line):
        raise InvalidInput(f"{action}: choose what should change.", {"request_type": "Choose a change"})
    values: dict[str, Any] = {"request_type": change, "requested_quantity": None, "requested_delivery_date": None,
                              "requested_location_id": None,
                              "short_description": (form.get("short_description") or "").strip() or None}
    needed = CHANGE_FIELDS.get(change)
    if needed:
        raw = (form.get(needed) or "").strip()
        if not raw:
            labels = {"requested_quantity": "the new quantity", "requested_delivery_date": "the delivery date",
                      "requested_location_id": "the shipping location"}
            raise InvalidInput(f"{action}: {change} needs {labels[needed]}.", {needed: "Required"})
        if needed == "requested_quantity":
            quantity = parse_positive_int(raw, action, needed, "Requested quantity")
            if line.ordered_quantity is not None and quantity == line.ordered_quantity:
                raise InvalidInput(f"{action}: the requested quantity is what was ordered ({quantity}).",
                                   {needed: "Same as ordered"})
        values[needed] = raw
    return workflows.edit_case_line(line.id, user, form.get("version"), **values)


# ----------------------------------------------------------------------------------------------------
# Orders, inventory and the catalog


def order_list(scope: AccountScope, page: int) -> Page:
    return paged(scope.orders(), CustomerOrder, page)


def find_order(scope: AccountScope, order_pk) -> CustomerOrder | None:
    order_id = optional_id(order_pk)
    if order_id is None:
        return None
    return db.session.scalars(scope.orders().where(CustomerOrder.id == order_id).options(
        joinedload(CustomerOrder.shipping_location), joinedload(CustomerOrder.contact),
        selectinload(CustomerOrder.lines).options(joinedload(OrderLineItem.offering),
                                                  joinedload(OrderLineItem.location),
                                                  selectinload(OrderLineItem.characteristics)))).first()


def order_changes(scope: AccountScope, order: CustomerOrder) -> list[OrderChange]:
    """The order change ledger of the order: what accepted case lines changed on it."""
    return db.session.scalars(scope.order_changes().where(OrderChange.order_id == order.id).options(
        joinedload(OrderChange.order_line), joinedload(OrderChange.case_line))
        .order_by(OrderChange.created_on, OrderChange.id).limit(500)).all()


def order_cases(scope: AccountScope, order: CustomerOrder) -> list[OrderCase]:
    """The account's cases about this order (single-order scope or a line on it)."""
    on_lines = select(OrderCaseLine.case_id).where(OrderCaseLine.order_id == order.id)
    return db.session.scalars(scope.cases().where((OrderCase.order_id == order.id) | OrderCase.id.in_(on_lines))
                              .order_by(OrderCase.id.desc()).limit(50)).all()


def inventory_list(scope: AccountScope, page: int) -> Page:
    from app.models import ProductInventory

    return paged(scope.inventory(), ProductInventory, page,
                 (joinedload(ProductInventory.offering), joinedload(ProductInventory.location),
                  selectinload(ProductInventory.characteristics)))


def orders_with_case_form(scope: AccountScope) -> list[CustomerOrder]:
    """Orders a customer can raise a single-order case about (most recent first)."""
    return db.session.scalars(scope.orders().where(CustomerOrder.state != OrderState.DRAFT)
                              .order_by(CustomerOrder.id.desc()).limit(200)).all()


SCOPES = (Scope.SINGLE_ORDER, Scope.MULTIPLE_ORDERS)

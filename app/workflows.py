"""The order case lifecycle: creating cases and lines, case and line actions, and their synchronisation.

Each public function is one business operation, called by the UI views and the REST API alike. It
checks the role, the record version and the state, changes the records, writes audit events and
commits once (``operation``); a refusal raises a DomainError before anything is written.

Concurrency: every operation on a case or one of its lines first locks the case row, then the line,
so two people acting on the same case are serialised (PostgreSQL) and the second one sees what the
first did. Line synchronisation on many lines uses one UPDATE and one multi-row audit INSERT.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import selectinload

from .choices import (
    CaseOrigin,
    CaseState,
    JournalKind,
    LineState,
    OrderLineState,
    ReasonCode,
    RequestType,
    ResolutionCode,
    Scope,
    TaskState,
)
from .exceptions import InvalidInput, PermissionDenied, RecordNotFound, StateConflict
from .extensions import db
from .model_base import utcnow
from .models import (
    Account,
    AuditEvent,
    CaseLineCharacteristic,
    CaseLineTask,
    CaseTask,
    Contact,
    CustomerOrder,
    Interaction,
    JournalEntry,
    Location,
    Notification,
    OrderCase,
    OrderCaseLine,
    OrderChange,
    OrderLineItem,
    ProductOffering,
    ServiceDefinition,
    TaskSla,
    case_contributor,
)
from .roles import ADMIN, AGENT, MANAGER, has_back_office_role
from .workflow_base import (
    add_journal_entry,
    as_text,
    audit,
    check_version,
    lock_for_update,
    operation,
    require_back_office,
    require_state,
    set_fields,
    transition,
)

# Case action labels: the button words of the spec, also used in messages and audit events.
SUBMIT = "Submit"
ASSIGN_TO_ME = "Assign to me"
REQUEST_INFORMATION = "Request Information"
INFORMATION_RECEIVED = "Information Received"
RESOLVE_CASE = "Resolve Case"
CLOSE_CASE = "Close Case"
CANCEL = "Cancel"
# Line action labels.
START_WORK = "Start work"
ACCEPT = "Accept"
DENY = "Deny"
CANCEL_LINE = "Cancel line"
REOPEN = "Reopen"
# Other operations.
CREATE_CASE = "Create case"
ADD_LINES = "Add"
NEW_LINE = "New"
EDIT_LINE = "Edit"
DELETE = "Delete"
LINE_ASSIGN_TO_ME = "Assign to me"

OUTCOME_ACCEPT = "accept"
OUTCOME_DENY = "deny"
OUTCOMES = (OUTCOME_ACCEPT, OUTCOME_DENY)

# Where each case action may start (the spec's table); the views use this to offer buttons.
CASE_ACTION_SOURCES = {
    SUBMIT: (CaseState.DRAFT,),
    ASSIGN_TO_ME: (CaseState.NEW,),
    REQUEST_INFORMATION: (CaseState.WORK_IN_PROGRESS,),
    INFORMATION_RECEIVED: (CaseState.AWAITING_INFO,),
    RESOLVE_CASE: (CaseState.WORK_IN_PROGRESS,),
    CLOSE_CASE: (CaseState.RESOLVED,),
    CANCEL: (CaseState.DRAFT,),
}
LINE_ACTION_SOURCES = {
    START_WORK: (LineState.NEW,),
    REQUEST_INFORMATION: (LineState.WORK_IN_PROGRESS,),
    INFORMATION_RECEIVED: (LineState.AWAITING_INFO,),
    ACCEPT: (LineState.NEW, LineState.WORK_IN_PROGRESS, LineState.AWAITING_INFO),
    DENY: (LineState.NEW, LineState.WORK_IN_PROGRESS, LineState.AWAITING_INFO),
    CANCEL_LINE: (LineState.DRAFT, LineState.NEW, LineState.WORK_IN_PROGRESS, LineState.AWAITING_INFO),
    REOPEN: LineState.TERMINAL,
}
# The role each action needs at least (agent < manager < admin); customers and integrators have none.
LINE_ACTION_ROLES = {REOPEN: MANAGER}

# Fields an agent may set on a case line (New and Edit), and the request types that use each.
LINE_EDIT_FIELDS = (
    "request_type", "reason_code", "short_description", "priority", "requested_quantity",
    "requested_delivery_date", "requested_location_id", "disputed_unit_price", "replacement_offering_id",
)
LINE_ONLY_FIELDS = ("requested_quantity", "replacement_offering_id")


# ----------------------------------------------------------------------------------------------------
# Loading and guards


def _load_case(case_id) -> OrderCase:
    case = lock_for_update(OrderCase, _as_id(case_id, "case"))
    if case is None:
        raise RecordNotFound("The order case does not exist (it may have been deleted).")
    return case


def _load_line(line_id) -> tuple[OrderCase, OrderCaseLine]:
    """Lock the line's case, then the line: the one lock order every operation uses."""
    line_id = _as_id(line_id, "case line")
    case_id = db.session.execute(select(OrderCaseLine.case_id).where(OrderCaseLine.id == line_id)).scalar()
    if case_id is None:
        raise RecordNotFound("The order case line does not exist (it may have been deleted).")
    case = _load_case(case_id)
    line = lock_for_update(OrderCaseLine, line_id)
    if line is None or line.case_id != case.id:
        raise RecordNotFound("The order case line does not exist (it may have been deleted).")
    return case, line


def _as_id(value, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise RecordNotFound(f"The {what} does not exist.") from exc


def _require_writable(case: OrderCase, action: str) -> None:
    if case.state in CaseState.READ_ONLY:
        raise StateConflict(
            f"{action} is not allowed: {case.number} is {case.state}; closed and cancelled cases are read-only."
        )


def _require_submitted(case: OrderCase, action: str) -> None:
    _require_writable(case, action)
    if case.state == CaseState.DRAFT:
        raise StateConflict(f"{action} is not allowed: {case.number} is Draft; submit the case first.")


def _text(value) -> str:
    return (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()


def _required_text(value, action: str, field: str, label: str) -> str:
    text = _text(value)
    if not text:
        raise InvalidInput(f"{action} needs {label}.", {field: "Required"})
    return text


# ----------------------------------------------------------------------------------------------------
# Bulk line changes (one UPDATE + one multi-row audit INSERT, however many lines)


def _bulk_line_transition(case: OrderCase, line_ids_states: list[tuple[int, str, str]], new_state: str,
                          action: str, user: User, extra: dict[str, Any] | None = None) -> None:
    """Move the given lines (id, number, old state) to *new_state*, bumping version and who/when columns."""
    if not line_ids_states:
        return
    db.session.flush()
    now = utcnow()
    table = OrderCaseLine.__table__
    values = {"state": new_state, "version": table.c.version + 1, "changed_on": now, "changed_by_id": user.id}
    values.update(extra or {})
    ids = [line_id for line_id, _number, _state in line_ids_states]
    for chunk in _chunks(ids):
        db.session.execute(update(table).where(table.c.id.in_(chunk)).values(**values))
    events = [
        _audit_row(OrderCaseLine.__tablename__, line_id, number, case.id, action, "state", old, new_state, user, now)
        for line_id, number, old in line_ids_states
    ]
    for field, value in (extra or {}).items():
        if field in ("resolved_at",):
            continue
        events.extend(
            _audit_row(OrderCaseLine.__tablename__, line_id, number, case.id, action, field, None, value, user, now)
            for line_id, number, _old in line_ids_states
        )
    db.session.execute(insert(AuditEvent), events)
    _expire_loaded_lines(case.id)


def _audit_row(record_type, record_id, number, case_id, action, field, old, new, user, now) -> dict:
    return {
        "record_type": record_type, "record_id": record_id, "record_number": number, "case_id": case_id,
        "action": action, "field": field, "old_value": as_text(old), "new_value": as_text(new),
        "user_id": user.id if user is not None else None, "created_on": now,
    }


def _chunks(ids: list[int], size: int = 900):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _expire_loaded_lines(case_id: int) -> None:
    # Reading obj.case_id would reload an expired line; its loaded __dict__ is enough to decide.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, OrderCaseLine) and obj.__dict__.get("case_id") == case_id:
            db.session.expire(obj)


def _lines_in_states(case: OrderCase, states: Iterable[str]) -> list[tuple[int, str, str]]:
    rows = db.session.execute(
        select(OrderCaseLine.id, OrderCaseLine.number, OrderCaseLine.state)
        .where(OrderCaseLine.case_id == case.id, OrderCaseLine.state.in_(tuple(states)))
        .order_by(OrderCaseLine.id)
    ).all()
    return [tuple(row) for row in rows]


def _line_state_counts(case_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(OrderCaseLine.state, func.count()).where(OrderCaseLine.case_id == case_id).group_by(OrderCaseLine.state)
    ).all()
    return {state: count for state, count in rows}


# ----------------------------------------------------------------------------------------------------
# Synchronisation rules (SPEC §4), run inside the triggering operation's transaction


def _line_entered_work(case: OrderCase, action: str) -> None:
    """Rule 1: a line entering Work in Progress moves a New, Awaiting Info or Resolved case to Work in Progress."""
    if case.state in (CaseState.NEW, CaseState.AWAITING_INFO, CaseState.RESOLVED):
        if case.state == CaseState.RESOLVED:
            set_fields(case, {"resolution_code": None, "resolved_at": None}, action=action, case_id=case.id)
        transition(case, CaseState.WORK_IN_PROGRESS, action, case_id=case.id)


def automatic_resolution_code(counts: dict[str, int]) -> str | None:
    """Rule 2's resolution code for a case whose lines are all terminal, or None when some line is open.

    Cancelled lines do not count against an outcome: a case whose other lines were all accepted is
    "Change approved"; only a case with nothing but cancelled lines is "Cancelled by customer".
    """
    if not counts or any(state not in LineState.TERMINAL for state in counts):
        return None
    accepted = counts.get(LineState.ACCEPTED, 0)
    denied = counts.get(LineState.DENIED, 0)
    if accepted and denied:
        return ResolutionCode.PARTIALLY_APPROVED
    if accepted:
        return ResolutionCode.CHANGE_APPROVED
    if denied:
        return ResolutionCode.CHANGE_DENIED
    return ResolutionCode.CANCELLED_BY_CUSTOMER


def _resolve_when_all_lines_terminal(case: OrderCase, action: str) -> None:
    """Rule 2: when every line is terminal, a New, Work in Progress or Awaiting Info case moves to Resolved."""
    if case.state not in (CaseState.NEW, CaseState.WORK_IN_PROGRESS, CaseState.AWAITING_INFO):
        return
    db.session.flush()
    code = automatic_resolution_code(_line_state_counts(case.id))
    if code is None:
        return
    set_fields(case, {"resolution_code": code, "resolved_at": utcnow()}, action=action, case_id=case.id)
    transition(case, CaseState.RESOLVED, action, case_id=case.id)


# ----------------------------------------------------------------------------------------------------
# Creating cases and lines


def create_case(
    user: User,
    *,
    service_id,
    account_id,
    scope: str,
    origin: str,
    short_description: str,
    order_id=None,
    order_number: str | None = None,
    order_line_ids: Iterable = (),
    interaction_id=None,
    contact_id=None,
    description: str | None = None,
    priority=None,
) -> OrderCase:
    """Save the intake form: the case in Draft and, depending on where it started, its Draft lines."""
    with operation(user):
        require_back_office(user, AGENT, CREATE_CASE)
        errors: dict[str, str] = {}
        service = db.session.get(ServiceDefinition, _optional_id(service_id)) if service_id else None
        if service is None or not service.active:
            errors["service_id"] = "Choose an active case type"
        account = db.session.get(Account, _optional_id(account_id)) if account_id else None
        if account is None:
            errors["account_id"] = "Required"
        short_description = _text(short_description)
        if not short_description:
            errors["short_description"] = "Required"
        if scope not in Scope.ALL:
            errors["scope"] = f"Choose one of: {', '.join(Scope.ALL)}"
        if origin not in CaseOrigin.ALL:
            errors["origin"] = "Unknown origin"
        if errors:
            raise InvalidInput(f"{CREATE_CASE} needs: " + ", ".join(_FIELD_LABELS.get(f, f) for f in errors) + ".",
                               errors)

        order = _find_order(order_id, order_number)
        line_ids = _id_list(order_line_ids)
        if scope == Scope.SINGLE_ORDER:
            if order is None:
                raise InvalidInput(
                    f"{CREATE_CASE} needs an existing order number for the scope \"{Scope.SINGLE_ORDER}\".",
                    {"order_number": "Required"},
                )
        if order is not None and order.account_id != account.id:
            raise InvalidInput(
                f"{CREATE_CASE} is not allowed: order {order.number} belongs to another account than {account.name}.",
                {"order_number": "Not an order of this account"},
            )
        contact = _contact_of(account, contact_id) if contact_id else account.primary_contact
        interaction = None
        if interaction_id:
            interaction = db.session.get(Interaction, _optional_id(interaction_id))
            if interaction is None:
                raise InvalidInput(f"{CREATE_CASE}: the interaction does not exist.", {"interaction_id": "Unknown"})
        priority = _priority(priority, CREATE_CASE) if priority not in (None, "") else service.default_priority or 4

        case = OrderCase(
            account=account,
            contact=contact,
            service=service,
            scope=scope,
            order=order if scope == Scope.SINGLE_ORDER else None,
            origin=origin,
            interaction=interaction,
            short_description=short_description,
            description=_text(description) or None,
            priority=priority,
            assignment_group_id=service.default_assignment_group_id,
            state=CaseState.DRAFT,
            opened_at=utcnow(),
        )
        db.session.add(case)
        db.session.flush()
        audit(case, "state", None, CaseState.DRAFT, action=CREATE_CASE, case_id=case.id)

        if line_ids:
            if scope != Scope.SINGLE_ORDER:
                raise InvalidInput(
                    f"{CREATE_CASE}: selected order lines need the scope \"{Scope.SINGLE_ORDER}\".",
                    {"scope": "Must be single order"},
                )
            _add_lines(case, order_line_ids=line_ids, action=CREATE_CASE, user=user)
        elif origin == CaseOrigin.CUSTOMER_ORDER and order is not None and scope == Scope.MULTIPLE_ORDERS:
            _add_lines(case, order_ids=[order.id], action=CREATE_CASE, user=user)
        elif origin == CaseOrigin.ORDER_LINE_ITEMS:
            raise InvalidInput(f"{CREATE_CASE} from the Order Line Items list needs at least one selected line.",
                               {"order_line_id": "Select at least one line"})
    return case


_FIELD_LABELS = {
    "service_id": "a case type", "account_id": "Account", "short_description": "Short description",
    "scope": "Scope of request", "origin": "origin",
}


def add_case_lines(case_id, user: User, version=None, order_ids: Iterable = (), order_line_ids: Iterable = ()):
    """Add: one header line per picked order (Multiple orders) or one line per picked order line."""
    with operation(user):
        require_back_office(user, AGENT, ADD_LINES)
        case = _load_case(case_id)
        check_version(case, version)
        _require_open_for_new_lines(case, ADD_LINES)
        order_ids, order_line_ids = _id_list(order_ids), _id_list(order_line_ids)
        if not order_ids and not order_line_ids:
            raise InvalidInput(f"{ADD_LINES} needs at least one selected order or order line.",
                               {"selection": "Select at least one row"})
        lines = _add_lines(case, order_ids=order_ids, order_line_ids=order_line_ids, action=ADD_LINES, user=user)
    return lines


def create_case_line(case_id, user: User, version=None, order_id=None, order_line_id=None, **fields):
    """New: one line with its requested change filled in."""
    with operation(user):
        require_back_office(user, AGENT, NEW_LINE)
        case = _load_case(case_id)
        check_version(case, version)
        _require_open_for_new_lines(case, NEW_LINE)
        order_line_id, order_id = _optional_id(order_line_id), _optional_id(order_id)
        if case.scope == Scope.SINGLE_ORDER and not order_line_id:
            raise InvalidInput(f"{NEW_LINE} needs an order line of {case.order.number}.", {"order_line_id": "Required"})
        if case.scope == Scope.MULTIPLE_ORDERS and not order_id:
            raise InvalidInput(f"{NEW_LINE} needs an order of {case.account.name}.", {"order_id": "Required"})
        (line,) = _add_lines(
            case,
            order_ids=[order_id] if case.scope == Scope.MULTIPLE_ORDERS else (),
            order_line_ids=[order_line_id] if case.scope == Scope.SINGLE_ORDER else (),
            action=NEW_LINE,
            user=user,
        )
        _apply_line_fields(case, line, fields, NEW_LINE)
    return line


def _require_open_for_new_lines(case: OrderCase, action: str) -> None:
    _require_writable(case, action)
    if case.state == CaseState.RESOLVED:
        raise StateConflict(
            f"{action} is not allowed: {case.number} is Resolved; reopen a line to work on the case again."
        )


def _add_lines(case: OrderCase, action: str, user: User, order_ids: Iterable[int] = (),
               order_line_ids: Iterable[int] = ()) -> list[OrderCaseLine]:
    """Create lines for orders (header lines) or order lines, with current values copied from the order."""
    order_ids, order_line_ids = list(dict.fromkeys(order_ids)), list(dict.fromkeys(order_line_ids))
    if order_ids and case.scope != Scope.MULTIPLE_ORDERS:
        raise InvalidInput(f"{action} is not allowed: {case.number} is a single-order case; add order lines of "
                           f"{case.order.number if case.order else 'its order'}.")
    if order_line_ids and case.scope != Scope.SINGLE_ORDER:
        raise InvalidInput(f"{action} is not allowed: {case.number} covers multiple orders; add whole orders.")

    orders = db.session.query(CustomerOrder).filter(CustomerOrder.id.in_(order_ids)).all() if order_ids else []
    order_lines = (
        db.session.query(OrderLineItem).options(selectinload(OrderLineItem.characteristics))
        .filter(OrderLineItem.id.in_(order_line_ids)).all() if order_line_ids else []
    )
    if len(orders) != len(order_ids) or len(order_lines) != len(order_line_ids):
        raise InvalidInput(f"{action}: a selected order or order line does not exist.")
    for order in orders:
        if order.account_id != case.account_id:
            raise InvalidInput(f"{action} is not allowed: order {order.number} is not an order of {case.account.name}.")
    for order_line in order_lines:
        if order_line.order_id != case.order_id:
            raise InvalidInput(
                f"{action} is not allowed: order line {order_line.number} is not a line of order "
                f"{case.order.number if case.order else '(none)'}."
            )
    _refuse_duplicates(case, orders, order_lines, action)

    initial_state = LineState.DRAFT if case.state == CaseState.DRAFT else LineState.NEW
    created = []
    for order in sorted(orders, key=lambda o: o.id):
        line = OrderCaseLine(case=case, order=order, state=initial_state, priority=case.priority)
        _fill_current_values(line, order, None)
        created.append(line)
    for order_line in sorted(order_lines, key=lambda ol: ol.id):
        line = OrderCaseLine(case=case, order_id=order_line.order_id, order_line=order_line, state=initial_state,
                             priority=case.priority)
        _fill_current_values(line, order_line.order, order_line)
        line.characteristics = [
            CaseLineCharacteristic(name=c.name, value=c.value) for c in order_line.characteristics
        ]
        created.append(line)
    db.session.add_all(created)
    db.session.flush()
    now = utcnow()
    db.session.execute(insert(AuditEvent), [
        _audit_row(OrderCaseLine.__tablename__, line.id, line.number, case.id, action, "state", None, line.state,
                   user, now)
        for line in created
    ])
    return created


def _fill_current_values(line: OrderCaseLine, order: CustomerOrder, order_line: OrderLineItem | None) -> None:
    if order_line is not None:
        line.ordered_quantity = order_line.quantity
        line.current_delivery_date = order_line.expected_delivery_date
        line.current_location_id = order_line.location_id
        line.current_unit_price = order_line.unit_price
        line.order_line_version = order_line.version
    else:
        line.current_delivery_date = order.expected_delivery_date
        line.current_location_id = order.shipping_location_id


def _refuse_duplicates(case: OrderCase, orders, order_lines, action: str) -> None:
    """Refuse an order or order line already on this case, or on another open case (naming that case)."""
    order_ids = {o.id for o in orders}
    line_ids = {ol.id for ol in order_lines}
    line_order_ids = {ol.order_id for ol in order_lines}
    if not order_ids and not line_ids:
        return
    # A header line overlaps every line of its order; an order line overlaps itself and its order's header line.
    overlap = []
    if order_ids:
        overlap.append(OrderCaseLine.order_id.in_(order_ids))
    if line_ids:
        overlap.append(OrderCaseLine.order_line_id.in_(line_ids))
        overlap.append(and_(OrderCaseLine.order_line_id.is_(None), OrderCaseLine.order_id.in_(line_order_ids)))
    rows = db.session.execute(
        select(OrderCase.id, OrderCase.number, OrderCaseLine.order_id, OrderCaseLine.order_line_id)
        .join(OrderCase, OrderCase.id == OrderCaseLine.case_id)
        .where(or_(*overlap), OrderCase.state.in_(CaseState.OPEN), OrderCaseLine.state != LineState.CANCELLED)
        .order_by(OrderCase.number)
    ).all()
    numbers = {o.id: o.number for o in orders} | {ol.id: ol.number for ol in order_lines}
    for other_case_id, other_number, other_order_id, other_line_id in rows:
        if other_line_id in line_ids:
            what = f"order line {numbers[other_line_id]}"
        elif other_order_id in order_ids:
            what = f"order {numbers[other_order_id]}"
        else:
            what = f"order line of order {other_order_id and _order_number(other_order_id)}"
        if other_case_id == case.id:
            raise InvalidInput(f"{action} is not allowed: {what} is already on this case.")
        raise InvalidInput(f"{action} is not allowed: {what} is already on open case {other_number}.")


def _order_number(order_id: int) -> str:
    return db.session.execute(select(CustomerOrder.number).where(CustomerOrder.id == order_id)).scalar() or "?"


def edit_case_line(line_id, user: User, version=None, **fields) -> OrderCaseLine:
    """Edit: the requested change of one line (header-level changes only on a Multiple-orders case)."""
    with operation(user):
        require_back_office(user, AGENT, EDIT_LINE)
        case, line = _load_line(line_id)
        check_version(line, version)
        _require_writable(case, EDIT_LINE)
        if line.is_terminal:
            raise StateConflict(f"{EDIT_LINE} is not allowed: line {line.number} is {line.state}.")
        _apply_line_fields(case, line, fields, EDIT_LINE)
    return line


def _apply_line_fields(case: OrderCase, line: OrderCaseLine, fields: dict, action: str) -> None:
    unknown = set(fields) - set(LINE_EDIT_FIELDS)
    if unknown:
        raise InvalidInput(f"{action}: unknown field(s) {', '.join(sorted(unknown))}.")
    values = _clean_line_fields(fields, action)
    if line.is_header_line:
        request_type = values.get("request_type", line.request_type)
        if request_type and request_type not in RequestType.HEADER_LEVEL:
            raise InvalidInput(
                f"{action} is not allowed: line {line.number} is a whole order; only header-level changes "
                f"({', '.join(RequestType.HEADER_LEVEL)}) can be requested on a Multiple-orders case.",
                {"request_type": "Not a header-level change"},
            )
        for field in LINE_ONLY_FIELDS:
            if values.get(field) is not None:
                raise InvalidInput(
                    f"{action} is not allowed: line {line.number} is a whole order; "
                    f"{_LINE_FIELD_LABELS[field]} applies to an order line only.",
                    {field: "Only for order lines"},
                )
    if line.order_line is not None:
        # Saving re-reads the order line: Accept later refuses if the order line moved after this save.
        _fill_current_values(line, line.order, line.order_line)
    set_fields(line, values, action=action, case_id=case.id)


_LINE_FIELD_LABELS = {
    "request_type": "Request type", "reason_code": "Reason code", "short_description": "Short description",
    "priority": "Priority", "requested_quantity": "Requested quantity",
    "requested_delivery_date": "Requested delivery date", "requested_location_id": "Requested shipping location",
    "disputed_unit_price": "Disputed unit price", "replacement_offering_id": "Replacement offering",
}


def _clean_line_fields(fields: dict, action: str) -> dict:
    values: dict[str, Any] = {}
    for field, raw in fields.items():
        label = _LINE_FIELD_LABELS[field]
        empty = raw is None or (isinstance(raw, str) and not raw.strip())
        if field == "request_type":
            if not empty and raw not in RequestType.ALL:
                raise InvalidInput(f"{action}: {raw!r} is not a request type.", {field: "Unknown request type"})
            values[field] = None if empty else raw
        elif field == "reason_code":
            if not empty and raw not in ReasonCode.ALL:
                raise InvalidInput(f"{action}: {raw!r} is not a reason code.", {field: "Unknown reason code"})
            values[field] = None if empty else raw
        elif field == "short_description":
            values[field] = None if empty else str(raw).strip()[:200]
        elif field == "priority":
            if not empty:
                values[field] = _priority(raw, action)
        elif field == "requested_quantity":
            values[field] = None if empty else _positive_int(raw, action, field, label)
        elif field == "requested_delivery_date":
            values[field] = None if empty else _date(raw, action, field, label)
        elif field == "disputed_unit_price":
            values[field] = None if empty else _money(raw, action, field, label)
        elif field == "requested_location_id":
            values[field] = None if empty else _existing_id(Location, raw, action, field, label)
        elif field == "replacement_offering_id":
            values[field] = None if empty else _existing_id(ProductOffering, raw, action, field, label)
    return values


def delete_case_lines(case_id, user: User, line_ids: Iterable, versions: dict | None = None) -> int:
    """Delete the selected lines: agents only Draft lines; an admin any line of any case."""
    with operation(user):
        require_back_office(user, AGENT, DELETE)
        case = _load_case(case_id)
        ids = _id_list(line_ids)
        if not ids:
            raise InvalidInput(f"{DELETE} needs at least one selected line.", {"line_id": "Select a line"})
        lines = _locked_lines(case, ids, versions or {})
        is_admin = has_back_office_role(user, ADMIN)
        if not is_admin:
            _require_writable(case, DELETE)
            for line in lines:
                if line.state != LineState.DRAFT:
                    raise PermissionDenied(
                        f"{DELETE} is not allowed: line {line.number} is {line.state}; only an admin deletes a "
                        "submitted line."
                    )
        _refuse_if_order_changed(ids, DELETE)
        for line in lines:
            audit(line, None, line.state, None, action=DELETE, case_id=case.id)
        _delete_lines(ids)
    return len(ids)


def _locked_lines(case: OrderCase, ids: list[int], versions: dict) -> list[OrderCaseLine]:
    query = db.session.query(OrderCaseLine).filter(OrderCaseLine.id.in_(ids)).order_by(OrderCaseLine.id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    lines = query.populate_existing().all()
    if len(lines) != len(ids) or any(line.case_id != case.id for line in lines):
        raise InvalidInput("A selected line is not on this case (it may have been deleted); reload the page.")
    for line in lines:
        check_version(line, versions.get(line.id) if versions else None)
    return lines


def _refuse_if_order_changed(line_ids: list[int], action: str) -> None:
    number = db.session.execute(
        select(OrderCaseLine.number).join(OrderChange, OrderChange.case_line_id == OrderCaseLine.id)
        .where(OrderCaseLine.id.in_(line_ids)).limit(1)
    ).scalar()
    if number:
        raise StateConflict(f"{action} is not allowed: line {number} has changed the order; its history must stay.")


def _delete_lines(ids: list[int]) -> None:
    for chunk in _chunks(ids):
        db.session.execute(delete(CaseLineCharacteristic).where(CaseLineCharacteristic.case_line_id.in_(chunk)))
        db.session.execute(delete(CaseLineTask).where(CaseLineTask.case_line_id.in_(chunk)))
        db.session.execute(delete(TaskSla).where(TaskSla.case_line_id.in_(chunk)))
        db.session.execute(delete(OrderCaseLine).where(OrderCaseLine.id.in_(chunk)))
    deleted = set(ids)
    for key, obj in list(db.session.identity_map.items()):
        if key[0] is OrderCaseLine and key[1][0] in deleted:
            db.session.expunge(obj)


def delete_case(case_id, user: User, version=None) -> str:
    """Delete a case with its lines and tasks: agents only Draft cases; an admin any case."""
    with operation(user):
        require_back_office(user, AGENT, DELETE)
        case = _load_case(case_id)
        check_version(case, version)
        if not has_back_office_role(user, ADMIN) and case.state != CaseState.DRAFT:
            raise PermissionDenied(
                f"{DELETE} is not allowed: {case.number} is {case.state}; only an admin deletes a submitted case."
            )
        line_ids = list(db.session.execute(select(OrderCaseLine.id).where(OrderCaseLine.case_id == case.id)).scalars())
        _refuse_if_order_changed(line_ids, DELETE)
        number = case.number
        _delete_lines(line_ids)
        db.session.execute(delete(CaseTask).where(CaseTask.case_id == case.id))
        db.session.execute(delete(TaskSla).where(TaskSla.case_id == case.id))
        db.session.execute(delete(JournalEntry).where(JournalEntry.case_id == case.id))
        db.session.execute(delete(case_contributor).where(case_contributor.c.case_id == case.id))
        # The audit trail outlives the case: detach it, and record the deletion itself.
        db.session.execute(update(AuditEvent).where(AuditEvent.case_id == case.id).values(case_id=None))
        audit(case, None, case.state, None, action=DELETE, case_id=None)
        db.session.delete(case)
    return number


def assign_lines_to_me(case_id, user: User, line_ids: Iterable, versions: dict | None = None) -> int:
    """Assign to me on the Order Case Line list: the selected open lines get the current user."""
    with operation(user):
        require_back_office(user, AGENT, LINE_ASSIGN_TO_ME)
        case = _load_case(case_id)
        _require_writable(case, LINE_ASSIGN_TO_ME)
        ids = _id_list(line_ids)
        if not ids:
            raise InvalidInput(f"{LINE_ASSIGN_TO_ME} needs at least one selected line.", {"line_id": "Select a line"})
        lines = _locked_lines(case, ids, versions or {})
        for line in lines:
            if line.is_terminal:
                raise StateConflict(f"{LINE_ASSIGN_TO_ME} is not allowed: line {line.number} is {line.state}.")
        for line in lines:
            set_fields(line, {"assigned_to_id": user.id}, action=LINE_ASSIGN_TO_ME, case_id=case.id)
    return len(ids)


def add_case_journal_entry(case_id, user: User, kind: str, text: str, line_id=None) -> JournalEntry:
    """A comment (customer-visible) or work note (internal) on the case or one of its lines."""
    action = "Comment" if kind == JournalKind.COMMENT else "Work note"
    with operation(user):
        require_back_office(user, AGENT, action)
        if kind not in JournalKind.ALL:
            raise InvalidInput(f"{kind!r} is neither a comment nor a work note.", {"kind": "Unknown"})
        if line_id:
            case, record = _load_line(line_id)
            if case.id != _as_id(case_id, "case"):
                raise RecordNotFound("The order case line does not exist on this case.")
        else:
            case = record = _load_case(case_id)
        _require_writable(case, action)
        entry = add_journal_entry(record, kind, text, user, case_id=case.id)
    return entry


# ----------------------------------------------------------------------------------------------------
# Case actions


def submit_case(case_id, user: User, version=None) -> OrderCase:
    """Submit: Draft → New with every Draft line; needs at least one line."""
    with operation(user):
        require_back_office(user, AGENT, SUBMIT)
        case = _load_case(case_id)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[SUBMIT], SUBMIT)
        if not _line_state_counts(case.id):
            raise StateConflict(f"{SUBMIT} is not allowed: {case.number} has no lines; add at least one order or "
                                "order line first.")
        transition(case, CaseState.NEW, SUBMIT, case_id=case.id)
        _bulk_line_transition(case, _lines_in_states(case, (LineState.DRAFT,)), LineState.NEW, SUBMIT, user)
    return case


def assign_case_to_me(case_id, user: User, version=None) -> OrderCase:
    """Assign to me: New → Work in Progress, assigned to the current user; New lines → Work in Progress."""
    with operation(user):
        require_back_office(user, AGENT, ASSIGN_TO_ME)
        case = _load_case(case_id)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[ASSIGN_TO_ME], ASSIGN_TO_ME)
        group = case.assignment_group
        if group is not None and user.id not in {member.id for member in group.members}:
            raise PermissionDenied(
                f"{ASSIGN_TO_ME} is not allowed: you are not a member of the assignment group {group.name}."
            )
        set_fields(case, {"assigned_to_id": user.id}, action=ASSIGN_TO_ME, case_id=case.id)
        transition(case, CaseState.WORK_IN_PROGRESS, ASSIGN_TO_ME, case_id=case.id)
        _bulk_line_transition(case, _lines_in_states(case, (LineState.NEW,)), LineState.WORK_IN_PROGRESS,
                              ASSIGN_TO_ME, user)
    return case


def request_case_information(case_id, user: User, version=None, question: str | None = None) -> OrderCase:
    """Request Information: Work in Progress → Awaiting Info; the question goes to the contact as a comment."""
    with operation(user):
        require_back_office(user, AGENT, REQUEST_INFORMATION)
        case = _load_case(case_id)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[REQUEST_INFORMATION], REQUEST_INFORMATION)
        question = _required_text(question, REQUEST_INFORMATION, "question", "the question for the customer")
        transition(case, CaseState.AWAITING_INFO, REQUEST_INFORMATION, case_id=case.id)
        add_journal_entry(case, JournalKind.COMMENT, question, user, case_id=case.id)
        if case.contact is not None and case.contact.email:
            db.session.add(Notification(
                event="information requested",
                recipient_email=case.contact.email,
                recipient_user_id=case.contact.user_id,
                subject=f"{case.number}: we need more information",
                body=f"About your case {case.number} ({case.short_description}):\n\n{question}",
                record_type=OrderCase.__tablename__,
                record_id=case.id,
            ))
    return case


def case_information_received(case_id, user: User, version=None) -> OrderCase:
    """Information Received: Awaiting Info → Work in Progress."""
    with operation(user):
        require_back_office(user, AGENT, INFORMATION_RECEIVED)
        case = _load_case(case_id)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[INFORMATION_RECEIVED], INFORMATION_RECEIVED)
        transition(case, CaseState.WORK_IN_PROGRESS, INFORMATION_RECEIVED, case_id=case.id)
    return case


def resolve_case(case_id, user: User, version=None, resolution_code: str | None = None,
                 resolution_notes: str | None = None, outcome: str | None = None) -> OrderCase:
    """Resolve Case: Work in Progress → Resolved; every open line gets the chosen outcome (accept/deny all)."""
    with operation(user):
        require_back_office(user, AGENT, RESOLVE_CASE)
        case = _load_case(case_id)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[RESOLVE_CASE], RESOLVE_CASE)
        if resolution_code not in ResolutionCode.ALL:
            raise InvalidInput(f"{RESOLVE_CASE} needs a resolution code.", {"resolution_code": "Required"})
        notes = _required_text(resolution_notes, RESOLVE_CASE, "resolution_notes", "resolution notes")
        open_lines = (
            db.session.query(OrderCaseLine)
            .options(selectinload(OrderCaseLine.order_line), selectinload(OrderCaseLine.order))
            .filter(OrderCaseLine.case_id == case.id, OrderCaseLine.state.in_(LineState.OPEN))
            .order_by(OrderCaseLine.id).all()
        )
        if open_lines:
            if outcome not in OUTCOMES:
                raise InvalidInput(f"{RESOLVE_CASE} needs the outcome for the open lines: accept all or deny all.",
                                   {"outcome": "Required"})
            _refuse_open_tasks(case, [line.id for line in open_lines], RESOLVE_CASE)
            now = utcnow()
            if outcome == OUTCOME_ACCEPT:
                for line in open_lines:
                    apply_accepted_line(line, user, action=RESOLVE_CASE)
                new_state, extra = LineState.ACCEPTED, {"resolved_at": now}
            else:
                new_state, extra = LineState.DENIED, {"resolved_at": now}
                without_notes = [line for line in open_lines if not line.resolution_notes]
                for line in without_notes:
                    set_fields(line, {"resolution_notes": notes}, action=RESOLVE_CASE, case_id=case.id)
            _bulk_line_transition(case, [(line.id, line.number, line.state) for line in open_lines], new_state,
                                  RESOLVE_CASE, user, extra)
        set_fields(case, {"resolution_code": resolution_code, "resolution_notes": notes, "resolved_at": utcnow()},
                   action=RESOLVE_CASE, case_id=case.id)
        transition(case, CaseState.RESOLVED, RESOLVE_CASE, case_id=case.id)
    return case


def close_case(case_id, user: User, version=None) -> OrderCase:
    """Close Case: Resolved → Closed, only when every line is terminal."""
    with operation(user):
        require_back_office(user, AGENT, CLOSE_CASE)
        case = _load_case(case_id)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[CLOSE_CASE], CLOSE_CASE)
        open_line = db.session.execute(
            select(OrderCaseLine.number, OrderCaseLine.state)
            .where(OrderCaseLine.case_id == case.id, OrderCaseLine.state.in_(LineState.OPEN))
            .order_by(OrderCaseLine.id).limit(1)
        ).first()
        if open_line is not None:
            raise StateConflict(f"{CLOSE_CASE} is not allowed: line {open_line.number} is still {open_line.state}.")
        set_fields(case, {"closed_at": utcnow()}, action=CLOSE_CASE, case_id=case.id)
        transition(case, CaseState.CLOSED, CLOSE_CASE, case_id=case.id)
    return case


def cancel_case(case_id, user: User, version=None) -> OrderCase:
    """Cancel: a Draft case and every one of its lines → Cancelled."""
    with operation(user):
        require_back_office(user, AGENT, CANCEL)
        case = _load_case(case_id)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[CANCEL], CANCEL)
        transition(case, CaseState.CANCELLED, CANCEL, case_id=case.id)
        set_fields(case, {"closed_at": utcnow()}, action=CANCEL, case_id=case.id)
        _bulk_line_transition(case, _lines_in_states(case, LineState.OPEN), LineState.CANCELLED, CANCEL, user)
    return case


CASE_ACTIONS = {
    SUBMIT: submit_case,
    ASSIGN_TO_ME: assign_case_to_me,
    REQUEST_INFORMATION: request_case_information,
    INFORMATION_RECEIVED: case_information_received,
    RESOLVE_CASE: resolve_case,
    CLOSE_CASE: close_case,
    CANCEL: cancel_case,
}


# ----------------------------------------------------------------------------------------------------
# Line actions


def _begin_line_action(line_id, user: User, version, action: str) -> tuple[OrderCase, OrderCaseLine]:
    require_back_office(user, LINE_ACTION_ROLES.get(action, AGENT), action)
    case, line = _load_line(line_id)
    check_version(line, version)
    _require_submitted(case, action)
    require_state(line, LINE_ACTION_SOURCES[action], action, label=f"line {line.number}")
    return case, line


def _refuse_open_tasks(case: OrderCase, line_ids: list[int], action: str) -> None:
    number = db.session.execute(
        select(OrderCaseLine.number).join(CaseLineTask, CaseLineTask.case_line_id == OrderCaseLine.id)
        .where(CaseLineTask.case_id == case.id, CaseLineTask.case_line_id.in_(line_ids),
               CaseLineTask.state.in_(TaskState.ACTIVE))
        .order_by(OrderCaseLine.id).limit(1)
    ).scalar()
    if number:
        raise StateConflict(f"{action} is not allowed: line {number} has open tasks; close them first.")


def start_line_work(line_id, user: User, version=None) -> OrderCaseLine:
    """Start work: New → Work in Progress (the case follows to Work in Progress)."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, START_WORK)
        transition(line, LineState.WORK_IN_PROGRESS, START_WORK, case_id=case.id)
        if line.assigned_to_id is None:
            set_fields(line, {"assigned_to_id": user.id}, action=START_WORK, case_id=case.id)
        _line_entered_work(case, START_WORK)
    return line


def request_line_information(line_id, user: User, version=None, question: str | None = None) -> OrderCaseLine:
    """Request Information on a line: Work in Progress → Awaiting Info; the question is posted as a comment."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, REQUEST_INFORMATION)
        question = _required_text(question, REQUEST_INFORMATION, "question", "the question for the customer")
        transition(line, LineState.AWAITING_INFO, REQUEST_INFORMATION, case_id=case.id)
        add_journal_entry(line, JournalKind.COMMENT, question, user, case_id=case.id)
    return line


def line_information_received(line_id, user: User, version=None) -> OrderCaseLine:
    """Information Received on a line: Awaiting Info → Work in Progress (the case follows)."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, INFORMATION_RECEIVED)
        transition(line, LineState.WORK_IN_PROGRESS, INFORMATION_RECEIVED, case_id=case.id)
        _line_entered_work(case, INFORMATION_RECEIVED)
    return line


def accept_line(line_id, user: User, version=None, resolution_notes: str | None = None, **approved) -> OrderCaseLine:
    """Accept: the line's change is approved (Resolved - Accepted); the case resolves when all lines are done."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, ACCEPT)
        _refuse_open_tasks(case, [line.id], ACCEPT)
        apply_accepted_line(line, user, action=ACCEPT, **approved)
        values = {"resolved_at": utcnow()}
        if _text(resolution_notes):
            values["resolution_notes"] = _text(resolution_notes)
        set_fields(line, values, action=ACCEPT, case_id=case.id)
        transition(line, LineState.ACCEPTED, ACCEPT, case_id=case.id)
        _resolve_when_all_lines_terminal(case, ACCEPT)
    return line


def deny_line(line_id, user: User, version=None, resolution_notes: str | None = None) -> OrderCaseLine:
    """Deny: Resolved - Denied, with resolution notes saying why."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, DENY)
        notes = _required_text(resolution_notes, DENY, "resolution_notes", "resolution notes")
        _refuse_open_tasks(case, [line.id], DENY)
        set_fields(line, {"resolution_notes": notes, "resolved_at": utcnow()}, action=DENY, case_id=case.id)
        transition(line, LineState.DENIED, DENY, case_id=case.id)
        _resolve_when_all_lines_terminal(case, DENY)
    return line


def cancel_line(line_id, user: User, version=None, reason: str | None = None) -> OrderCaseLine:
    """Cancel line: any open line → Cancelled, with the reason kept as its resolution notes."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, CANCEL_LINE)
        reason = _required_text(reason, CANCEL_LINE, "reason", "a reason")
        set_fields(line, {"resolution_notes": reason, "resolved_at": utcnow()}, action=CANCEL_LINE, case_id=case.id)
        transition(line, LineState.CANCELLED, CANCEL_LINE, case_id=case.id)
        _resolve_when_all_lines_terminal(case, CANCEL_LINE)
    return line


def reopen_line(line_id, user: User, version=None) -> OrderCaseLine:
    """Reopen (managers): a terminal line → Work in Progress; a Resolved case goes back to Work in Progress."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, REOPEN)
        set_fields(line, {"resolved_at": None}, action=REOPEN, case_id=case.id)
        transition(line, LineState.WORK_IN_PROGRESS, REOPEN, case_id=case.id)
        _line_entered_work(case, REOPEN)
    return line


LINE_ACTIONS = {
    START_WORK: start_line_work,
    REQUEST_INFORMATION: request_line_information,
    INFORMATION_RECEIVED: line_information_received,
    ACCEPT: accept_line,
    DENY: deny_line,
    CANCEL_LINE: cancel_line,
    REOPEN: reopen_line,
}


# ----------------------------------------------------------------------------------------------------
# Accepting a line's change


def apply_accepted_line(line: OrderCaseLine, user: User, action: str = ACCEPT, approved_quantity=None,
                        approved_delivery_date=None, approved_unit_price=None, requested_location_id=None,
                        replacement_offering_id=None) -> dict:
    """Validate and record the approved values of an accepted line, per its request type (SPEC §5).

    Called by Accept and by Resolve Case (accept all). Approved values default to the requested ones.
    Writing the change onto the order (and ``applied_at``) plugs in here.
    """
    where = f"line {line.number}"
    rtype = line.request_type
    order_line = line.order_line
    values: dict[str, Any] = {}
    if rtype in (RequestType.QUANTITY, RequestType.DELIVERY_DATE, RequestType.ADDRESS,
                 RequestType.LINE_CANCELLATION) and order_line is not None \
            and order_line.state in OrderLineState.CLOSED:
        raise StateConflict(f"{action} is not allowed: {where} refers to order line {order_line.number}, "
                            f"which is {order_line.state}.")
    if order_line is not None and line.order_line_version is not None and order_line.version != line.order_line_version:
        raise StateConflict(f"{action} is not allowed: order line {order_line.number} of {where} changed after the "
                            "case line was saved; edit and save the line to review the current values.")
    if rtype == RequestType.QUANTITY:
        quantity = approved_quantity if approved_quantity not in (None, "") else (
            line.approved_quantity or line.requested_quantity)
        if quantity in (None, ""):
            raise InvalidInput(f"{action} is not allowed: {where} needs an approved quantity.",
                               {"approved_quantity": "Required"})
        values["approved_quantity"] = _positive_int(quantity, f"{action} of {where}", "approved_quantity",
                                                    "Approved quantity")
    elif rtype == RequestType.DELIVERY_DATE:
        date = approved_delivery_date if approved_delivery_date not in (None, "") else (
            line.approved_delivery_date or line.requested_delivery_date)
        if date in (None, ""):
            raise InvalidInput(f"{action} is not allowed: {where} needs an approved delivery date.",
                               {"approved_delivery_date": "Required"})
        values["approved_delivery_date"] = _date(date, action, "approved_delivery_date", "Approved delivery date")
    elif rtype == RequestType.ADDRESS:
        location_id = requested_location_id or line.requested_location_id
        if not location_id:
            raise InvalidInput(f"{action} is not allowed: {where} needs the requested shipping location.",
                               {"requested_location_id": "Required"})
        values["requested_location_id"] = _existing_id(Location, location_id, action, "requested_location_id",
                                                       "Requested shipping location")
    elif rtype == RequestType.PRICE:
        price = approved_unit_price if approved_unit_price not in (None, "") else (
            line.approved_unit_price if line.approved_unit_price is not None else line.disputed_unit_price)
        if price in (None, ""):
            raise InvalidInput(f"{action} is not allowed: {where} needs an approved unit price.",
                               {"approved_unit_price": "Required"})
        price = _money(price, action, "approved_unit_price", "Approved unit price")
        values["approved_unit_price"] = price
        if line.current_unit_price is not None:
            values["credit_amount"] = (line.current_unit_price - price) * (line.ordered_quantity or 1)
    elif rtype == RequestType.WRONG_ITEM:
        offering_id = replacement_offering_id or line.replacement_offering_id
        if not offering_id:
            raise InvalidInput(f"{action} is not allowed: {where} needs a replacement offering.",
                               {"replacement_offering_id": "Required"})
        values["replacement_offering_id"] = _existing_id(ProductOffering, offering_id, action,
                                                         "replacement_offering_id", "Replacement offering")
        quantity = approved_quantity if approved_quantity not in (None, "") else (
            line.approved_quantity or line.requested_quantity or line.ordered_quantity)
        values["approved_quantity"] = _positive_int(quantity, action, "approved_quantity", "Approved quantity")
    set_fields(line, values, action=action, case_id=line.case_id)
    return values


# ----------------------------------------------------------------------------------------------------
# Input helpers


def _optional_id(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _id_list(values) -> list[int]:
    if values in (None, ""):
        return []
    if isinstance(values, (str, int)):
        values = [values]
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{value!r} is not a record id.") from exc
    return list(dict.fromkeys(ids))


def _find_order(order_id, order_number) -> CustomerOrder | None:
    if order_id not in (None, ""):
        order = db.session.get(CustomerOrder, _optional_id(order_id)) if _optional_id(order_id) else None
        if order is None:
            raise InvalidInput("The order does not exist.", {"order_number": "Unknown order"})
        return order
    number = _text(order_number)
    if not number:
        return None
    order = db.session.query(CustomerOrder).filter(CustomerOrder.number == number.upper()).one_or_none()
    if order is None:
        raise InvalidInput(f"There is no order {number}.", {"order_number": "Unknown order"})
    return order


def _contact_of(account: Account, contact_id) -> Contact:
    contact = db.session.get(Contact, _optional_id(contact_id)) if _optional_id(contact_id) else None
    if contact is None or contact.account_id != account.id:
        raise InvalidInput(f"The contact is not a contact of {account.name}.", {"contact_id": "Not of this account"})
    return contact


def _priority(value, action: str) -> int:
    try:
        priority = int(value)
    except (TypeError, ValueError):
        priority = None
    if priority not in (1, 2, 3, 4):
        raise InvalidInput(f"{action}: priority must be 1 (Critical) to 4 (Low).", {"priority": "1 to 4"})
    return priority


def _positive_int(value, action: str, field: str, label: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or number < 1:
        raise InvalidInput(f"{action}: {label} must be a whole number of at least 1.", {field: "At least 1"})
    return number


def _date(value, action: str, field: str, label: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise InvalidInput(f"{action}: {label} must be a date (YYYY-MM-DD).", {field: "Not a date"}) from exc


def _money(value, action: str, field: str, label: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"{action}: {label} must be an amount.", {field: "Not an amount"}) from exc
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(f"{action}: {label} must be zero or more.", {field: "Zero or more"})
    return amount.quantize(Decimal("0.01"))


def _existing_id(model, value, action: str, field: str, label: str) -> int:
    record_id = _optional_id(value)
    if record_id is None or db.session.get(model, record_id) is None:
        raise InvalidInput(f"{action}: the {label.lower()} does not exist.", {field: "Unknown"})
    return record_id

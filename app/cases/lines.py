"""Creating order cases and keeping their lines: the intake form, Add, New, Edit, Delete, Assign to me, journal.

Each public function is one business operation (validate, change, audit, commit once); the views and
the REST API call them through ``app.workflows``, which re-exports them.
"""
from __future__ import annotations

from typing import Any, Iterable

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import selectinload

from app.cases.guards import (
    as_id,
    audit_row,
    chunks,
    clean_text,
    contact_of,
    existing_id,
    find_order,
    get_record,
    id_list,
    limited_text,
    load_case,
    load_line,
    optional_id,
    parse_date,
    parse_money,
    parse_positive_int,
    parse_priority,
    require_writable,
    required_text,
)
from app.cases.requests import (
    LINE_FIELD_LABELS,
    REQUESTED_FIELDS,
    TYPE_FIELDS,
    missing_values,
    refuse_unchanged,
)
from app.core.choices import CaseOrigin, CaseState, JournalKind, LineState, ReasonCode, RequestType, Scope
from app.core.exceptions import InvalidInput, PermissionDenied, RecordNotFound, StateConflict
from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import (
    Account,
    AssignmentGroup,
    AuditEvent,
    CaseLineCharacteristic,
    CaseLineTask,
    CaseTask,
    CustomerOrder,
    Interaction,
    JournalEntry,
    Location,
    OrderCase,
    OrderCaseLine,
    OrderChange,
    OrderLineItem,
    ProductOffering,
    ServiceDefinition,
    TaskSla,
    case_contributor,
)
from app.sla.notifications import NotificationEvent, notify
from app.portal.scope import (
    check_customer_line_fields,
    require_case_writer,
    require_own_account,
    require_own_draft,
    require_own_references,
)
from app.core.roles import ADMIN, AGENT, MANAGER, has_back_office_role
from app.sla.clocks import sync_case_slas
from app.core.workflow_base import (
    allowed,
    add_journal_entry,
    audit,
    check_version,
    operation,
    require_back_office,
    set_fields,
)

# Operation labels, used in messages and audit events.
CREATE_CASE = "Create case"
ADD_LINES = "Add"
NEW_LINE = "New"
EDIT_LINE = "Edit"
EDIT_CASE = "Edit case"
DELETE = "Delete"
LINE_ASSIGN_TO_ME = "Assign to me"

# Fields an agent may set on a case line (New and Edit); the last two only on an order line.
LINE_EDIT_FIELDS = (
    "request_type", "reason_code", "short_description", "priority", "requested_quantity",
    "requested_delivery_date", "requested_location_id", "disputed_unit_price", "replacement_offering_id",
)
LINE_ONLY_FIELDS = ("requested_quantity", "replacement_offering_id")



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
        customer = require_case_writer(user, CREATE_CASE)
        if customer is not None:
            # A customer opens cases for their own account, as its contact, from no interaction.
            require_own_account(customer, account_id, CREATE_CASE)
            contact_id, interaction_id = customer.id, None
            require_own_references(customer, CREATE_CASE, order_id=order_id, order_number=order_number,
                                   order_line_ids=id_list(order_line_ids))
        errors: dict[str, str] = {}
        service = get_record(ServiceDefinition, service_id)
        if service is None or not service.active:
            errors["service_id"] = "Choose an active case type"
        account = get_record(Account, account_id)
        if account is None:
            errors["account_id"] = "Required"
        short_description = clean_text(short_description)
        if not short_description:
            errors["short_description"] = "Required"
        else:
            limited_text(short_description, CREATE_CASE, "short_description", "Short description")
        if scope not in Scope.ALL:
            errors["scope"] = f"Choose one of: {', '.join(Scope.ALL)}"
        if origin not in CaseOrigin.ALL:
            errors["origin"] = "Unknown origin"
        if errors:
            raise InvalidInput(f"{CREATE_CASE} needs: " + ", ".join(_FIELD_LABELS.get(f, f) for f in errors) + ".",
                               errors)

        order = find_order(order_id, order_number)
        line_ids = id_list(order_line_ids)
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
        contact = contact_of(account, contact_id) if contact_id else account.primary_contact
        interaction = None
        if interaction_id:
            interaction = get_record(Interaction, interaction_id)
            if interaction is None:
                raise InvalidInput(f"{CREATE_CASE}: the interaction does not exist.", {"interaction_id": "Unknown"})
        priority = parse_priority(priority, CREATE_CASE) if priority not in (None, "") else service.default_priority or 4

        case = OrderCase(
            account=account,
            contact=contact,
            service=service,
            scope=scope,
            order=order if scope == Scope.SINGLE_ORDER else None,
            origin=origin,
            interaction=interaction,
            short_description=short_description,
            description=clean_text(description) or None,
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
        elif order is not None and scope == Scope.MULTIPLE_ORDERS:
            # The order the case started from (or whose number was typed) becomes its first header line.
            _add_lines(case, order_ids=[order.id], action=CREATE_CASE, user=user)
        elif origin == CaseOrigin.ORDER_LINE_ITEMS:
            raise InvalidInput(f"{CREATE_CASE} from the Order Line Items list needs at least one selected line.",
                               {"order_line_id": "Select at least one line"})
        sync_case_slas(case)
    return case


_FIELD_LABELS = {
    "service_id": "a case type", "account_id": "Account", "short_description": "Short description",
    "scope": "Scope of request", "origin": "origin",
}


CASE_EDIT_FIELDS = ("short_description", "description", "priority", "contact_id", "assignment_group_id",
                    "assigned_to_id", "needs_attention")


def require_case_editable(user: User, case: OrderCase) -> None:
    require_back_office(user, AGENT, EDIT_CASE)
    require_writable(case, EDIT_CASE)


def may_edit_case(user: User, case: OrderCase) -> bool:
    return allowed(lambda: require_case_editable(user, case))


def edit_case(case_id, user: User, version=None, **fields) -> OrderCase:
    """Edit case: description, priority, contact, routing and the needs-attention flag of an open case.

    Handing the case to someone else is a manager's reassignment; an agent may only take it or leave
    it as it is. Needs attention and a new assignee are notified.
    """
    with operation(user):
        require_back_office(user, AGENT, EDIT_CASE)
        case = load_case(case_id)
        check_version(case, version)
        require_case_editable(user, case)
        unknown = set(fields) - set(CASE_EDIT_FIELDS)
        if unknown:
            raise InvalidInput(f"{EDIT_CASE}: unknown field(s) {', '.join(sorted(unknown))}.")
        values: dict[str, Any] = {}
        if "short_description" in fields:
            values["short_description"] = limited_text(required_text(
                fields["short_description"], EDIT_CASE, "short_description", "a short description"),
                EDIT_CASE, "short_description", "Short description")
        if "description" in fields:
            values["description"] = clean_text(fields["description"]) or None
        if "priority" in fields:
            values["priority"] = parse_priority(fields["priority"], EDIT_CASE)
        if "needs_attention" in fields:
            values["needs_attention"] = str(fields["needs_attention"]).lower() in ("1", "true", "on", "yes", "y")
        if "contact_id" in fields:
            values["contact_id"] = contact_of(case.account, fields["contact_id"]).id if optional_id(
                fields["contact_id"]) else None
        for field, model, label in (("assignment_group_id", AssignmentGroup, "Assignment group"),
                                    ("assigned_to_id", User, "Assigned to")):
            if field in fields:
                values[field] = existing_id(model, fields[field], EDIT_CASE, field, label) if optional_id(
                    fields[field]) else None
        assignee_id = values.get("assigned_to_id", case.assigned_to_id)
        if assignee_id not in (case.assigned_to_id, user.id, None) and not has_back_office_role(user, MANAGER):
            raise PermissionDenied(f"{EDIT_CASE} is not allowed: handing {case.number} to someone else is a "
                                   "manager's reassignment; you may assign it to yourself.")
        group_id = values.get("assignment_group_id", case.assignment_group_id)
        if group_id and assignee_id:
            group = db.session.get(AssignmentGroup, group_id)
            if assignee_id not in {member.id for member in group.members}:
                raise InvalidInput(f"{EDIT_CASE} is not allowed: the assignee is not a member of {group.name}.",
                                   {"assigned_to_id": "Not a member of the assignment group"})
        changed = set_fields(case, values, action=EDIT_CASE, case_id=case.id)
        if "assigned_to_id" in changed and assignee_id not in (None, user.id):
            notify(NotificationEvent.CASE_ASSIGNED, case)
        if changed.get("needs_attention", (None, False))[1] is True:
            notify(NotificationEvent.NEEDS_ATTENTION, case)
        if "priority" in changed:
            sync_case_slas(case)
    return case


def add_case_lines(case_id, user: User, version=None, order_ids: Iterable = (), order_line_ids: Iterable = ()):
    """Add: one header line per picked order (Multiple orders) or one line per picked order line."""
    with operation(user):
        customer = require_case_writer(user, ADD_LINES)
        case = load_case(case_id)
        require_own_draft(customer, case, ADD_LINES)
        require_own_references(customer, ADD_LINES, order_ids=id_list(order_ids),
                               order_line_ids=id_list(order_line_ids))
        check_version(case, version)
        _require_open_for_new_lines(case, ADD_LINES)
        order_ids, order_line_ids = id_list(order_ids), id_list(order_line_ids)
        if not order_ids and not order_line_ids:
            raise InvalidInput(f"{ADD_LINES} needs at least one selected order or order line.",
                               {"selection": "Select at least one row"})
        lines = _add_lines(case, order_ids=order_ids, order_line_ids=order_line_ids, action=ADD_LINES, user=user)
        sync_case_slas(case)
    return lines


def create_case_line(case_id, user: User, version=None, order_id=None, order_line_id=None, **fields):
    """New: one line with its requested change filled in."""
    with operation(user):
        require_back_office(user, AGENT, NEW_LINE)
        case = load_case(case_id)
        check_version(case, version)
        _require_open_for_new_lines(case, NEW_LINE)
        order_line_id, order_id = optional_id(order_line_id), optional_id(order_id)
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
        sync_case_slas(case)
    return line


def may_add_lines(user: User, case: OrderCase) -> bool:
    """Add and New on a back-office case page."""
    return allowed(lambda: (require_back_office(user, AGENT, ADD_LINES), _require_open_for_new_lines(case, ADD_LINES)))


def _require_open_for_new_lines(case: OrderCase, action: str) -> None:
    require_writable(case, action)
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
        db.session.query(OrderLineItem)
        .options(selectinload(OrderLineItem.characteristics), selectinload(OrderLineItem.order))
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
    with db.session.no_autoflush:
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
        audit_row(OrderCaseLine.__tablename__, line.id, line.number, case.id, action, "state", None, line.state,
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
        # A header price dispute is about the whole order: its "price" is the order total (see order_changes).
        line.current_unit_price = order.total_amount


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


def require_line_editable(case: OrderCase, line: OrderCaseLine) -> None:
    require_writable(case, EDIT_LINE)
    if line.is_terminal:
        raise StateConflict(f"{EDIT_LINE} is not allowed: line {line.number} is {line.state}.")


def may_edit_line(user: User, case: OrderCase, line: OrderCaseLine) -> bool:
    """Edit on a line of a back-office case page."""
    return allowed(lambda: (require_back_office(user, AGENT, EDIT_LINE), require_line_editable(case, line)))


def edit_case_line(line_id, user: User, version=None, **fields) -> OrderCaseLine:
    """Edit: the requested change of one line (header-level changes only on a Multiple-orders case)."""
    with operation(user):
        customer = require_case_writer(user, EDIT_LINE)
        case, line = load_line(line_id)
        require_own_draft(customer, case, EDIT_LINE)
        check_customer_line_fields(customer, case, fields, EDIT_LINE)
        check_version(line, version)
        require_line_editable(case, line)
        _apply_line_fields(case, line, fields, EDIT_LINE)
        sync_case_slas(case)
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
                    f"{LINE_FIELD_LABELS[field]} applies to an order line only.",
                    {field: "Only for order lines"},
                )
    elif values.get("request_type", line.request_type) not in (None, *RequestType.LINE_LEVEL):
        raise InvalidInput(
            f"{action} is not allowed: line {line.number} is one order line; request an order cancellation on "
            "the whole order (a Multiple-orders case), or a line cancellation here.",
            {"request_type": "Not a line-level change"},
        )
    _check_type_fields(line, values, action)
    _refuse_incomplete(line, values, action)
    if line.order_line is not None:
        # Saving re-reads the order line: Accept later refuses if the order line moved after this save.
        _fill_current_values(line, line.order, line.order_line)
    set_fields(line, values, action=action, case_id=case.id)


def _check_type_fields(line: OrderCaseLine, values: dict, action: str) -> None:
    """Refuse a requested value the line's request type does not use, and clear those left from another type.

    A line without a request type yet may carry any requested value (the customer says what they want,
    the agent classifies it).
    """
    request_type = values.get("request_type", line.request_type)
    if request_type is None:
        return
    wanted = TYPE_FIELDS[request_type]
    for field in REQUESTED_FIELDS:
        if field in wanted:
            continue
        if values.get(field) is not None:
            raise InvalidInput(
                f"{action} is not allowed: {LINE_FIELD_LABELS[field]} does not apply to a {request_type} "
                f"(line {line.number}).", {field: f"Not used by {request_type}"},
            )
        if getattr(line, field) is not None:
            values[field] = None
    refuse_unchanged(line, request_type, values, action)


def _refuse_incomplete(line: OrderCaseLine, values: dict, action: str) -> None:
    """A request type must come with the values it needs; only a Draft line may wait for its request type."""
    request_type = values.get("request_type", line.request_type)
    if request_type is None and line.state == LineState.DRAFT:
        return
    missing = missing_values(request_type, {field: values.get(field, getattr(line, field))
                                            for field in REQUESTED_FIELDS})
    if missing:
        labels = ", ".join(LINE_FIELD_LABELS[field].lower() for field in missing)
        what = f"a {request_type}" if request_type else f"submitted line {line.number}"
        raise InvalidInput(f"{action} is not allowed: {what} needs a {labels}.",
                           {field: "Required" for field in missing})


def _clean_line_fields(fields: dict, action: str) -> dict:
    values: dict[str, Any] = {}
    for field, raw in fields.items():
        label = LINE_FIELD_LABELS[field]
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
            values[field] = None if empty else limited_text(str(raw).strip(), action, field, label)
        elif field == "priority":
            if not empty:
                values[field] = parse_priority(raw, action)
        elif field == "requested_quantity":
            values[field] = None if empty else parse_positive_int(raw, action, field, label)
        elif field == "requested_delivery_date":
            values[field] = None if empty else parse_date(raw, action, field, label)
        elif field == "disputed_unit_price":
            values[field] = None if empty else parse_money(raw, action, field, label)
        elif field == "requested_location_id":
            values[field] = None if empty else existing_id(Location, raw, action, field, label)
        elif field == "replacement_offering_id":
            values[field] = None if empty else existing_id(ProductOffering, raw, action, field, label)
    return values


def require_line_deletable(user: User, case: OrderCase, line: OrderCaseLine) -> None:
    """Agents delete only Draft lines of open cases; an admin any line."""
    if has_back_office_role(user, ADMIN):
        return
    require_writable(case, DELETE)
    if line.state != LineState.DRAFT:
        raise PermissionDenied(
            f"{DELETE} is not allowed: line {line.number} is {line.state}; only an admin deletes a submitted line."
        )


def may_delete_line(user: User, case: OrderCase, line: OrderCaseLine) -> bool:
    return allowed(lambda: (require_case_writer(user, DELETE), require_line_deletable(user, case, line)))


def delete_case_lines(case_id, user: User, line_ids: Iterable, versions: dict | None = None) -> int:
    """Delete the selected lines: agents only Draft lines; an admin any line of any case."""
    with operation(user):
        customer = require_case_writer(user, DELETE)
        case = load_case(case_id)
        require_own_draft(customer, case, DELETE)
        ids = id_list(line_ids)
        if not ids:
            raise InvalidInput(f"{DELETE} needs at least one selected line.", {"line_id": "Select a line"})
        lines = _locked_lines(case, ids, versions or {})
        for line in lines:
            require_line_deletable(user, case, line)
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
    for chunk in chunks(ids):
        db.session.execute(delete(CaseLineCharacteristic).where(CaseLineCharacteristic.case_line_id.in_(chunk)))
        db.session.execute(delete(CaseLineTask).where(CaseLineTask.case_line_id.in_(chunk)))
        db.session.execute(delete(TaskSla).where(TaskSla.case_line_id.in_(chunk)))
        db.session.execute(delete(OrderCaseLine).where(OrderCaseLine.id.in_(chunk)))
    deleted = set(ids)
    for key, obj in list(db.session.identity_map.items()):
        if key[0] is OrderCaseLine and key[1][0] in deleted:
            db.session.expunge(obj)


def require_case_deletable(user: User, case: OrderCase) -> None:
    """Agents delete only Draft cases; an admin any case."""
    require_back_office(user, AGENT, DELETE)
    if not has_back_office_role(user, ADMIN) and case.state != CaseState.DRAFT:
        raise PermissionDenied(
            f"{DELETE} is not allowed: {case.number} is {case.state}; only an admin deletes a submitted case."
        )


def may_delete_case(user: User, case: OrderCase) -> bool:
    return allowed(lambda: require_case_deletable(user, case))


def delete_case(case_id, user: User, version=None) -> str:
    """Delete a case with its lines and tasks: agents only Draft cases; an admin any case."""
    with operation(user):
        require_back_office(user, AGENT, DELETE)
        case = load_case(case_id)
        check_version(case, version)
        require_case_deletable(user, case)
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


def require_line_assignable(case: OrderCase, line: OrderCaseLine) -> None:
    require_writable(case, LINE_ASSIGN_TO_ME)
    if line.is_terminal:
        raise StateConflict(f"{LINE_ASSIGN_TO_ME} is not allowed: line {line.number} is {line.state}.")


def may_assign_line(user: User, case: OrderCase, line: OrderCaseLine) -> bool:
    return allowed(lambda: (require_back_office(user, AGENT, LINE_ASSIGN_TO_ME), require_line_assignable(case, line)))


def assign_lines_to_me(case_id, user: User, line_ids: Iterable, versions: dict | None = None) -> int:
    """Assign to me on the Order Case Line list: the selected open lines get the current user."""
    with operation(user):
        require_back_office(user, AGENT, LINE_ASSIGN_TO_ME)
        case = load_case(case_id)
        require_writable(case, LINE_ASSIGN_TO_ME)
        ids = id_list(line_ids)
        if not ids:
            raise InvalidInput(f"{LINE_ASSIGN_TO_ME} needs at least one selected line.", {"line_id": "Select a line"})
        lines = _locked_lines(case, ids, versions or {})
        for line in lines:
            require_line_assignable(case, line)
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
            case, record = load_line(line_id)
            if case.id != as_id(case_id, "case"):
                raise RecordNotFound("The order case line does not exist on this case.")
        else:
            case = record = load_case(case_id)
        require_writable(case, action)
        entry = add_journal_entry(record, kind, text, user, case_id=case.id)
    return entry



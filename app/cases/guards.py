"""What the order case workflows share: locked loading, guards, bulk line transitions, input parsing.

Every operation on a case or one of its lines locks the case row first, then the line: one lock order,
so concurrent operations on the same case queue up instead of deadlocking.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import DateTime, Integer, String, bindparam, func, insert, literal, null, select, true, union_all, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.local import LocalProxy

from app.core.choices import CaseState
from app.core.exceptions import InvalidInput, RecordNotFound, StateConflict
from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import Account, AuditEvent, Contact, CustomerOrder, OrderCase, OrderCaseLine
from app.core.workflow_base import as_text, lock_for_update

# ----------------------------------------------------------------------------------------------------
# Loading and guards


def load_case(case_id) -> OrderCase:
    case = lock_for_update(OrderCase, as_id(case_id, "case"))
    if case is None:
        raise RecordNotFound("The order case does not exist (it may have been deleted).")
    return case


def load_line(line_id) -> tuple[OrderCase, OrderCaseLine]:
    """Lock the line's case, then the line: the one lock order every operation uses."""
    line_id = as_id(line_id, "case line")
    case_id = db.session.execute(select(OrderCaseLine.case_id).where(OrderCaseLine.id == line_id)).scalar()
    if case_id is None:
        raise RecordNotFound("The order case line does not exist (it may have been deleted).")
    case = load_case(case_id)
    line = lock_for_update(OrderCaseLine, line_id)
    if line is None or line.case_id != case.id:
        raise RecordNotFound("The order case line does not exist (it may have been deleted).")
    return case, line


def as_id(value, what: str) -> int:
    record_id = optional_id(value)
    if record_id is None:
        raise RecordNotFound(f"The {what} does not exist.")
    return record_id


def require_writable(case: OrderCase, action: str) -> None:
    if case.state in CaseState.READ_ONLY:
        raise StateConflict(
            f"{action} is not allowed: {case.number} is {case.state}; closed and cancelled cases are read-only."
        )


def require_submitted(case: OrderCase, action: str) -> None:
    require_writable(case, action)
    if case.state == CaseState.DRAFT:
        raise StateConflict(f"{action} is not allowed: {case.number} is Draft; submit the case first.")


def clean_text(value) -> str:
    return (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()


def limited_text(text: str, action: str, field: str, label: str, limit: int = 200) -> str:
    if len(text) > limit:
        raise InvalidInput(f"{action}: {label} is too long (at most {limit} characters).", {field: "Too long"})
    return text


def required_text(value, action: str, field: str, label: str) -> str:
    text = clean_text(value)
    if not text:
        raise InvalidInput(f"{action} needs {label}.", {field: "Required"})
    return text


# ----------------------------------------------------------------------------------------------------
# Bulk line changes (a fixed number of statements, however many lines)


def bulk_line_transition(case: OrderCase, line_ids_states: list[tuple[int, str, str]], new_state: str,
                          action: str, user: User, extra: dict[str, Any] | None = None) -> None:
    """Move the given lines (id, number, old state) to *new_state*, bumping version and who/when columns.

    Each line's audit events are copied from the line rows by the database (one INSERT … SELECT for
    every audited field, before the UPDATE so the old state is still there to read): no row is built in
    Python. The events come out field by field, each in line order.
    """
    if not line_ids_states:
        return
    db.session.flush()
    now = utcnow()
    user = plain_user(user)
    table = OrderCaseLine.__table__
    values = {"state": new_state, "version": table.c.version + 1, "changed_on": now, "changed_by_id": user.id}
    values.update(extra or {})
    # (field, old value, new value) of each audit event; the other fields' old values are not recorded.
    audited = [("state", table.c.state, new_state)] + [
        (field, null(), value) for field, value in (extra or {}).items() if field != "resolved_at"]
    ids = [line_id for line_id, _number, _state in line_ids_states]
    if len(audited) == 1:
        (field, old, new), = audited
        fields, event = None, (literal(field, String), old, literal(as_text(new), String))
    else:
        fields = union_all(*(
            select(literal(position, Integer).label("position"), literal(field, String).label("field"),
                   literal(as_text(new), String).label("new_value"))
            for position, (field, _old, new) in enumerate(audited))).subquery()
        # Only the state (audited[0]) has its old value recorded.
        event = (fields.c.field, sql_case((fields.c.position == 0, table.c.state), else_=null()), fields.c.new_value)
    for chunk in chunks(ids):
        events = select(
            literal(OrderCaseLine.__tablename__), table.c.id, table.c.number, literal(case.id, Integer),
            literal(action), *event, literal(user.id, Integer), literal(now, DateTime),
        ).select_from(table if fields is None else table.join(fields, true())).where(table.c.id.in_(chunk))
        events = events.order_by(table.c.id) if fields is None else events.order_by(fields.c.position, table.c.id)
        db.session.execute(insert(AuditEvent.__table__).from_select(AUDIT_COLUMNS, events))
        db.session.execute(update(table).where(table.c.id.in_(chunk)).values(**values))
    _expire_loaded_lines(case.id)


AUDIT_COLUMNS = ("record_type", "record_id", "record_number", "case_id", "action", "field", "old_value", "new_value",
                 "user_id", "created_on")


def bulk_line_values(case: OrderCase, changes: list[tuple[int, str, dict[str, tuple]]], action: str,
                     user: User) -> None:
    """Write different values to many lines: (id, number, {field: (old, new)}) each.

    One executemany UPDATE per distinct set of fields and one multi-row audit INSERT, however many lines.
    """
    changes = [change for change in changes if change[2]]
    if not changes:
        return
    db.session.flush()
    now = utcnow()
    user = plain_user(user)
    table = OrderCaseLine.__table__
    groups: dict[tuple[str, ...], list] = {}
    for line_id, _number, fields in changes:
        groups.setdefault(tuple(sorted(fields)), []).append((line_id, fields))
    for names, members in groups.items():
        statement = update(table).where(table.c.id == bindparam("target_id")).values(
            version=table.c.version + 1, changed_on=now, changed_by_id=user.id,
            **{name: bindparam(f"new_{name}") for name in names},
        )
        db.session.execute(statement, [
            {"target_id": line_id, **{f"new_{name}": fields[name][1] for name in names}} for line_id, fields in members
        ])
    db.session.execute(insert(AuditEvent.__table__), [
        audit_row(OrderCaseLine.__tablename__, line_id, number, case.id, action, field, old, new, user, now)
        for line_id, number, fields in changes for field, (old, new) in fields.items()
    ])
    _note_written_values(changes, now, user.id)


def _note_written_values(changes: list[tuple[int, str, dict[str, tuple]]], now: dt.datetime, user_id: int) -> None:
    """Give the changed lines the session holds the values just written, rather than expiring them: the
    operation goes on with the line it loaded, and an expired one would be loaded again (with its
    characteristics) at its next read."""
    written = {line_id: fields for line_id, _number, fields in changes}
    for obj in list(db.session.identity_map.values()):
        fields = written.get(obj.__dict__.get("id")) if isinstance(obj, OrderCaseLine) else None
        if fields is None:
            continue
        if "version" not in obj.__dict__:
            db.session.expire(obj)
            continue
        for name, (_old, new) in fields.items():
            set_committed_value(obj, name, new)
        set_committed_value(obj, "version", obj.__dict__["version"] + 1)
        set_committed_value(obj, "changed_on", now)
        set_committed_value(obj, "changed_by_id", user_id)


def plain_user(user):
    """The user behind the request's ``current_user`` proxy: a bulk change reads the user once per audit
    row, and through the proxy that read cost more than building the row."""
    return user._get_current_object() if isinstance(user, LocalProxy) else user


def audit_row(record_type, record_id, number, case_id, action, field, old, new, user, now) -> dict:
    return {
        "record_type": record_type, "record_id": record_id, "record_number": number, "case_id": case_id,
        "action": action, "field": field, "old_value": as_text(old), "new_value": as_text(new),
        "user_id": user.id if user is not None else None, "created_on": now,
    }


def chunks(ids: list[int], size: int = 900):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _expire_loaded_lines(case_id: int) -> None:
    # Reading obj.case_id would reload an expired line; its loaded __dict__ is enough to decide.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, OrderCaseLine) and obj.__dict__.get("case_id") == case_id:
            db.session.expire(obj)


def lines_in_states(case: OrderCase, states: Iterable[str]) -> list[tuple[int, str, str]]:
    # Table columns: a plain Core result, without the ORM's per-row work on a case of many lines.
    table = OrderCaseLine.__table__
    rows = db.session.execute(
        select(table.c.id, table.c.number, table.c.state)
        .where(table.c.case_id == case.id, table.c.state.in_(tuple(states)))
        .order_by(table.c.id)
    ).all()
    return [tuple(row) for row in rows]


def line_state_counts(case_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(OrderCaseLine.state, func.count()).where(OrderCaseLine.case_id == case_id).group_by(OrderCaseLine.state)
    ).all()
    return {state: count for state, count in rows}


# ----------------------------------------------------------------------------------------------------
# Input helpers


# Ids are 32-bit integer columns; anything outside cannot name a record (and must not reach the database).
MAX_ID = 2**31 - 1
# MONEY is Numeric(14, 2).
MAX_AMOUNT = Decimal("999999999999.99")


def optional_id(value) -> int | None:
    """The record id *value* names, or None when it names none (empty, not a number, out of range)."""
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def get_record(model, value):
    """The record of *model* with id *value*, or None (for any id that names nothing)."""
    record_id = optional_id(value)
    return db.session.get(model, record_id) if record_id is not None else None


def id_list(values) -> list[int]:
    if values in (None, ""):
        return []
    if isinstance(values, (str, int)):
        values = [values]
    ids = []
    for value in values:
        record_id = optional_id(value)
        if record_id is None:
            raise InvalidInput(f"{str(value)[:40]!r} is not a record id.")
        ids.append(record_id)
    return list(dict.fromkeys(ids))


def find_order(order_id, order_number) -> CustomerOrder | None:
    if order_id not in (None, ""):
        order = get_record(CustomerOrder, order_id)
        if order is None:
            raise InvalidInput("The order does not exist.", {"order_number": "Unknown order"})
        return order
    number = clean_text(order_number)
    if not number:
        return None
    order = db.session.query(CustomerOrder).filter(CustomerOrder.number == number.upper()).one_or_none()
    if order is None:
        raise InvalidInput(f"There is no order {number}.", {"order_number": "Unknown order"})
    return order


def contact_of(account: Account, contact_id) -> Contact:
    contact = get_record(Contact, contact_id)
    if contact is None or contact.account_id != account.id:
        raise InvalidInput(f"The contact is not a contact of {account.name}.", {"contact_id": "Not of this account"})
    return contact


def parse_priority(value, action: str) -> int:
    try:
        priority = int(value)
    except (TypeError, ValueError):
        priority = None
    if priority not in (1, 2, 3, 4):
        raise InvalidInput(f"{action}: priority must be 1 (Critical) to 4 (Low).", {"priority": "1 to 4"})
    return priority


def parse_positive_int(value, action: str, field: str, label: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or number < 1:
        raise InvalidInput(f"{action}: {label} must be a whole number of at least 1.", {field: "At least 1"})
    if number > MAX_ID:
        raise InvalidInput(f"{action}: {label} is too large.", {field: "Too large"})
    return number


def parse_date(value, action: str, field: str, label: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise InvalidInput(f"{action}: {label} must be a date (YYYY-MM-DD).", {field: "Not a date"}) from exc


def parse_money(value, action: str, field: str, label: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"{action}: {label} must be an amount.", {field: "Not an amount"}) from exc
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(f"{action}: {label} must be zero or more.", {field: "Zero or more"})
    if amount > MAX_AMOUNT:
        raise InvalidInput(f"{action}: {label} is too large.", {field: "Too large"})
    return amount.quantize(Decimal("0.01"))


def existing_id(model, value, action: str, field: str, label: str) -> int:
    record_id = optional_id(value)
    if record_id is None or db.session.get(model, record_id) is None:
        raise InvalidInput(f"{action}: the {label.lower()} does not exist.", {field: "Unknown"})
    return record_id

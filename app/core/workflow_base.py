"""The rules every workflow operation shares: who may act, on which version, and what is recorded.

A workflow operation (see ``workflows`` and ``order_workflows``) validates everything first, then
changes records, writes audit events and commits once. Any refusal raises a DomainError before the
commit, and ``operation`` rolls the session back so nothing half-written survives.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Any, Callable, Iterable

from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm.exc import StaleDataError

from app.core.exceptions import DomainError, InvalidInput, PermissionDenied, StateConflict, VersionConflict
from app.core.extensions import db
from app.core.model_base import acting_user_id, utcnow
from app.models import AuditEvent, JournalEntry
from app.core.roles import has_back_office_role, role_names

AUDIT_IGNORED_FIELDS = {"version", "changed_on", "changed_by_id", "created_on", "created_by_id"}


def as_text(value: Any) -> str | None:
    """How a value reads in an audit event or the order change ledger."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)[:500]


STALE_RECORD = "Someone else changed this record at the same moment; nothing was saved. Reload and try again."
# Set while several operations run as one business operation (``one_transaction``).
_in_transaction: ContextVar[bool] = ContextVar("in_one_transaction", default=False)


@contextmanager
def operation(user: User):
    """Run one workflow operation as *user*: commit once on success, roll back on any error.

    Inside ``one_transaction`` it only flushes, and the enclosing transaction commits or rolls back.
    """
    token = acting_user_id.set(user.id if user is not None else None)
    enclosed = _in_transaction.get()
    try:
        yield
        if enclosed:
            db.session.flush()
        else:
            db.session.commit()
    except StaleDataError as exc:
        if not enclosed:
            db.session.rollback()
        raise VersionConflict(STALE_RECORD) from exc
    except BaseException:
        if not enclosed:
            db.session.rollback()
        raise
    finally:
        acting_user_id.reset(token)


@contextmanager
def one_transaction():
    """Several workflow operations as one business operation, committed together or not at all (a case
    opened, its lines filled in and submitted by a machine must not survive half-made)."""
    if _in_transaction.get():
        yield
        return
    token = _in_transaction.set(True)
    try:
        yield
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        raise VersionConflict(STALE_RECORD) from exc
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _in_transaction.reset(token)


def allowed(check: Callable[[], None]) -> bool:
    """The "may I" answer of a guard: the pages show an action only where its workflow would not refuse
    it, by running the workflow's own checks on the records they already hold."""
    try:
        check()
    except DomainError:
        return False
    return True


def require_back_office(user: User, minimum: str, action: str) -> None:
    if not has_back_office_role(user, minimum):
        raise PermissionDenied(f"{action} is not allowed: it needs the {minimum} role.")


def require_any_role(user: User, roles: Iterable[str], action: str) -> None:
    allowed = set(roles)
    if not role_names(user) & allowed:
        raise PermissionDenied(f"{action} is not allowed for your role.")


def check_version(record, submitted_version: int | str | None) -> None:
    """Refuse when the record moved since the user loaded it; say who changed it and when."""
    if submitted_version in (None, ""):
        return
    try:
        submitted = int(submitted_version)
    except (TypeError, ValueError) as exc:
        raise DomainError("The form carried an invalid record version; reload the page.") from exc
    if submitted != record.version:
        who = record.changed_by.username if getattr(record, "changed_by", None) else "someone"
        when = record.changed_on.strftime("%Y-%m-%d %H:%M:%S UTC") if record.changed_on else "recently"
        raise VersionConflict(
            f"{record.number if hasattr(record, 'number') else 'This record'} was changed by {who} at {when} "
            "after you opened it; nothing was saved. Reload to see the current values."
        )


def require_state(record, allowed: Iterable[str], action: str, label: str | None = None) -> None:
    """Refuse *action* unless the record is in one of *allowed* states."""
    allowed = tuple(allowed)
    if record.state not in allowed:
        name = label or getattr(record, "number", "the record")
        raise StateConflict(
            f"{action} is not allowed: {name} is {record.state} (allowed from {', '.join(allowed)})."
        )


def audit(record, field: str | None, old: Any, new: Any, action: str | None = None, case_id: int | None = None):
    """Add one audit event (a field change and/or a named transition) to the session."""
    event = AuditEvent(
        record_type=record.__tablename__,
        record_id=record.id,
        record_number=getattr(record, "number", None),
        case_id=case_id,
        action=action,
        field=field,
        old_value=as_text(old),
        new_value=as_text(new),
        user_id=acting_user_id.get(),
        created_on=utcnow(),
    )
    db.session.add(event)
    return event


def set_fields(record, values: dict[str, Any], action: str | None = None, case_id: int | None = None) -> dict:
    """Assign *values* to *record*, auditing each field that really changes; returns {field: (old, new)}."""
    changed = {}
    for field, new in values.items():
        old = getattr(record, field)
        if old == new:
            continue
        setattr(record, field, new)
        changed[field] = (old, new)
        if field not in AUDIT_IGNORED_FIELDS:
            audit(record, field, old, new, action=action, case_id=case_id)
    return changed


def transition(record, new_state: str, action: str, case_id: int | None = None) -> None:
    """Move *record* to *new_state*, recording the action in the audit trail."""
    old_state = record.state
    record.state = new_state
    audit(record, "state", old_state, new_state, action=action, case_id=case_id)


def add_journal_entry(record, kind: str, text: str, user: User, case_id: int | None = None) -> JournalEntry:
    """A comment (customer-visible) or work note (internal) on any record."""
    from app.core.choices import JournalKind

    JournalKind.validate(kind)
    text = (text or "").strip()
    if not text:
        raise DomainError("A comment or work note needs some text.", {"text": "Required"})
    entry = JournalEntry(
        record_type=record.__tablename__,
        record_id=record.id,
        case_id=case_id,
        kind=kind,
        text=text,
        author_id=user.id if user is not None else None,
        created_on=utcnow(),
    )
    db.session.add(entry)
    return entry


def existing_record(model, record_id, label: str, field: str, detail: str = "Unknown"):
    """The record a submitted reference points at (None when no reference was given); an unknown one
    is the submitter's error on *field*."""
    if record_id is None:
        return None
    record = db.session.get(model, record_id)
    if record is None:
        raise InvalidInput(f"{label} {record_id} does not exist.", {field: detail})
    return record


def lock_for_update(model, record_id: int):
    """Load a record with a row lock on PostgreSQL (no-op on SQLite, whose writers are serialised)."""
    # populate_existing: a row already in the session must be refreshed with what the lock returned,
    # or a check made after waiting for the lock would read the stale copy.
    query = db.session.query(model).filter(model.id == record_id).populate_existing()
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return query.one_or_none()

"""What the order case pages read: the case, one page of its lines, its activity stream, and the Add picker rows.

Each function issues a fixed number of queries however many lines, events or orders there are
(eager loading, one indexed query per stream table); the record page shows its lines a page at a time,
so its cost does not grow with the case either.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import and_, bindparam, func, or_, select, true
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.util import identity_key as orm_identity_key

from app.core.display import field_label
from app.cases.guards import optional_id
from app.core.choices import CaseState, LineState, Scope
from app.core.extensions import db
from app.models import (
    AuditEvent,
    CaseLineTask,
    CaseTask,
    CustomerOrder,
    JournalEntry,
    OrderCase,
    OrderCaseLine,
    OrderLineItem,
    ServiceDefinition,
    TaskSla,
)

ACTIVITY_LIMIT = 300


def active_services() -> list[ServiceDefinition]:
    """The case type selector: active service definitions in their configured order."""
    return (
        db.session.query(ServiceDefinition).filter(ServiceDefinition.active.is_(True))
        .order_by(ServiceDefinition.sort_order, ServiceDefinition.name).all()
    )


def routing_choices() -> dict:
    """Who a case can be routed to: the assignment groups and the active back-office users."""
    from flask_appbuilder.security.sqla.models import Role

    from app.models import AssignmentGroup
    from app.core.roles import BACK_OFFICE_RANK

    users = (
        db.session.query(User).join(User.roles)
        .filter(User.active.is_(True), Role.name.in_(tuple(BACK_OFFICE_RANK)))
        .order_by(User.first_name, User.last_name).distinct().all()
    )
    return {"groups": db.session.query(AssignmentGroup).order_by(AssignmentGroup.name).all(), "users": users}


def case_form_choices(case: OrderCase) -> dict:
    """Options of the Edit case form: the account's contacts, the groups and the back-office users."""
    from app.models import Contact

    return {
        "contacts": db.session.query(Contact).filter(Contact.account_id == case.account_id)
        .order_by(Contact.last_name, Contact.first_name).all(),
        **routing_choices(),
    }


# The record page's statements are built once, here, with their values as bound parameters: built per
# request, their construction and cache keys cost more CPU than running them on a small case, and a
# subquery built per request leaves a reference cycle for the collector (tests/core/test_garbage_collection.py).
_CASE_PAGE_OPTIONS = (
    joinedload(OrderCase.account), joinedload(OrderCase.contact), joinedload(OrderCase.service),
    joinedload(OrderCase.order), joinedload(OrderCase.interaction), joinedload(OrderCase.assigned_to),
    joinedload(OrderCase.assignment_group), joinedload(OrderCase.changed_by),
)


def load_case_page(case_id: int) -> OrderCase | None:
    """The case with everything its header shows, loaded up front; its lines come a page at a time."""
    if optional_id(case_id) is None:
        return None
    return db.session.query(OrderCase).options(*_CASE_PAGE_OPTIONS).filter(OrderCase.id == case_id).one_or_none()


_LINE_COUNTS = (select(*[func.count().filter(OrderCaseLine.state == state).label(f"lines_{index}")
                         for index, state in enumerate(LineState.ALL)])
                .where(OrderCaseLine.case_id == bindparam("line_counts_case_id")).subquery("line_counts"))
_CASE_RECORD = (
    select(OrderCase, *_LINE_COUNTS.c)
    .options(*_CASE_PAGE_OPTIONS, joinedload(OrderCase.tasks).joinedload(CaseTask.assigned_to))
    .join(_LINE_COUNTS, true()).where(OrderCase.id == bindparam("case_id"))
)


def load_case_record(case_id: int) -> tuple[OrderCase | None, dict[str, int]]:
    """The record page's case as load_case_page reads it, with its own tasks and how many of its lines are in
    each state ({state: count}, states without lines left out), in one query: the counts are one aggregate
    over the (case_id, state) index, joined to the case's row."""
    if optional_id(case_id) is None:
        return None, {}
    rows = db.session.execute(_CASE_RECORD, {"case_id": case_id, "line_counts_case_id": case_id}).unique().all()
    if not rows:
        return None, {}
    case, *state_counts = rows[0]
    return case, {state: count for state, count in zip(LineState.ALL, state_counts) if count}


LINES_PER_PAGE = 50
_LINE_PAGE = (
    select(OrderCaseLine)
    .options(
        joinedload(OrderCaseLine.order), joinedload(OrderCaseLine.assigned_to),
        joinedload(OrderCaseLine.current_location), joinedload(OrderCaseLine.requested_location),
        joinedload(OrderCaseLine.replacement_offering),
        joinedload(OrderCaseLine.order_line).joinedload(OrderLineItem.offering),
        joinedload(OrderCaseLine.characteristics),
    )
    .where(OrderCaseLine.case_id == bindparam("case_id")).order_by(OrderCaseLine.id)
    .offset(bindparam("offset")).limit(LINES_PER_PAGE)
)


@dataclass
class LinePage:
    """One page of a case's lines (by line id), with the counts that concern all of its lines."""

    lines: list[OrderCaseLine]
    number: int
    page_count: int
    total: int
    state_counts: list[tuple[str, int]]  # every line of the case, in the order of LineState.ALL

    @property
    def holds_every_line(self) -> bool:
        return len(self.lines) == self.total

    @property
    def first(self) -> int:
        return (self.number - 1) * LINES_PER_PAGE + 1 if self.lines else 0

    @property
    def last(self) -> int:
        return self.first + len(self.lines) - 1 if self.lines else 0

    def links(self, around: int = 2) -> list[int | None]:
        """The page numbers to link: the first, the last and those around this one; None marks a gap."""
        wanted = {1, self.page_count, *range(self.number - around, self.number + around + 1)}
        shown: list[int | None] = []
        for number in sorted(n for n in wanted if 1 <= n <= self.page_count):
            if shown and number - shown[-1] > 1:
                shown.append(None)
            shown.append(number)
        return shown


def case_line_page(case_id: int, page, counts: dict[str, int] | None = None) -> LinePage:
    """Page *page* of the case's lines (a page out of range shows the nearest one), with their
    characteristics in the same query.

    The lines per state (*counts*, as load_case_record reads them, else one GROUP BY over the
    (case_id, state) index) keep the totals right for the whole case without loading its other lines.
    """
    if counts is None:
        counts = dict(db.session.execute(
            select(OrderCaseLine.state, func.count()).where(OrderCaseLine.case_id == case_id)
            .group_by(OrderCaseLine.state)).all())
    total = sum(counts.values())
    page_count = max(1, -(-total // LINES_PER_PAGE))
    number = min(optional_id(page) or 1, page_count)
    lines = db.session.scalars(
        _LINE_PAGE, {"case_id": case_id, "offset": (number - 1) * LINES_PER_PAGE}).unique().all() if total else []
    return LinePage(lines=lines, number=number, page_count=page_count, total=total,
                    state_counts=[(state, counts[state]) for state in LineState.ALL if state in counts])


def line_page_number(line: OrderCaseLine) -> int:
    """The page of its case's record page that shows *line* (one count over the case_id index)."""
    before = db.session.execute(
        select(func.count()).select_from(OrderCaseLine)
        .where(OrderCaseLine.case_id == line.case_id, OrderCaseLine.id < line.id)).scalar_one()
    return before // LINES_PER_PAGE + 1


def open_line_count(case_id: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(OrderCaseLine)
        .where(OrderCaseLine.case_id == case_id, OrderCaseLine.state.in_(LineState.OPEN))).scalar_one()


def load_line(line_id: int) -> OrderCaseLine | None:
    if optional_id(line_id) is None:
        return None
    return (
        db.session.query(OrderCaseLine)
        .options(joinedload(OrderCaseLine.case).joinedload(OrderCase.account),
                 joinedload(OrderCaseLine.order_line).joinedload(OrderLineItem.offering),
                 joinedload(OrderCaseLine.order), selectinload(OrderCaseLine.characteristics))
        .filter(OrderCaseLine.id == line_id)
        .one_or_none()
    )


_LINE_TASKS = (select(CaseLineTask)
               .options(joinedload(CaseLineTask.assigned_to), joinedload(CaseLineTask.case_line))
               .where(CaseLineTask.case_id == bindparam("case_id")).order_by(CaseLineTask.id))


def case_tasks(case: OrderCase) -> list:
    """The case's tasks (load_case_record brought them with the case) and its lines' tasks (one query)."""
    return list(case.tasks) + db.session.scalars(_LINE_TASKS, {"case_id": case.id}).all()


def tasks_by_line(tasks: list) -> dict[int, list]:
    """The line-level tasks of case_tasks() by line id, for the line rows."""
    grouped: dict[int, list] = {}
    for task in tasks:
        if getattr(task, "case_line_id", None) is not None:
            grouped.setdefault(task.case_line_id, []).append(task)
    return grouped


@dataclass
class SlaRow:
    name: str
    record: str
    stage: str
    due: object
    time_left: str
    # The case's own clocks carry the terms they are measured by, for the side panel.
    terms: object = None


_CASE_SLAS = (select(TaskSla).options(joinedload(TaskSla.definition))
              .where(TaskSla.case_id == bindparam("case_id"),
                     or_(TaskSla.case_line_id.is_(None),
                         TaskSla.case_line_id.in_(bindparam("line_ids", expanding=True))))
              .order_by(TaskSla.case_line_id.is_not(None), TaskSla.id))


def case_slas(case_id: int, lines: list[OrderCaseLine]) -> list[SlaRow]:
    """The SLA clocks of the case and of *lines* (the page shown) with their time left (one query)."""
    from app.sla.clocks import describe_time_left
    from app.sla.terms import terms_of

    numbers = {line.id: line.number for line in lines}
    task_slas = db.session.scalars(_CASE_SLAS, {"case_id": case_id, "line_ids": list(numbers)}).all()
    return [SlaRow(name=t.definition.name, record=numbers.get(t.case_line_id, "case"), stage=t.stage,
                   due=t.planned_due_at, time_left=describe_time_left(t),
                   terms=terms_of(t.definition) if t.case_line_id is None else None) for t in task_slas]


@dataclass
class Activity:
    """One entry of the activity stream: a journal entry, or the audit events of one change."""

    when: object
    who: str
    record: str
    kind: str  # "comment", "work note" or "change"
    action: str | None = None
    text: str | None = None
    changes: list[tuple[str, str | None, str | None]] = field(default_factory=list)


_CASE_AUDIT_EVENTS = (
    select(AuditEvent.created_on, AuditEvent.user_id, AuditEvent.record_number, AuditEvent.record_type,
           AuditEvent.action, AuditEvent.field, AuditEvent.old_value, AuditEvent.new_value,
           User.first_name, User.last_name, User.username)
    .outerjoin(User, User.id == AuditEvent.user_id)
    .where(AuditEvent.case_id == bindparam("case_id"))
    .order_by(AuditEvent.created_on.desc(), AuditEvent.id.desc()).limit(bindparam("limit"))
)
_CASE_JOURNAL = (
    select(JournalEntry.created_on, JournalEntry.record_type, JournalEntry.kind, JournalEntry.text,
           JournalEntry.author_id, User.first_name, User.last_name, User.username)
    .outerjoin(User, User.id == JournalEntry.author_id)
    .where(JournalEntry.case_id == bindparam("case_id"))
    .order_by(JournalEntry.created_on.desc(), JournalEntry.id.desc()).limit(bindparam("limit"))
)


def activity_stream(case_id: int, limit: int = ACTIVITY_LIMIT) -> list[Activity]:
    """The journal and audit events of the case and its lines (newest first), one query per table.

    Read as plain rows with their people's names joined in: hundreds of events as ORM objects cost the
    case page more CPU than anything but its template, and nothing here changes them.
    """
    events = db.session.execute(_CASE_AUDIT_EVENTS, {"case_id": case_id, "limit": limit}).all()
    entries = db.session.execute(_CASE_JOURNAL, {"case_id": case_id, "limit": limit}).all()
    stream = [
        Activity(when=entry.created_on, who=_row_name(entry, entry.author_id), record=_record_label(entry.record_type),
                 kind=entry.kind, text=entry.text)
        for entry in entries
    ]
    # One operation's audit events on one record (same second, user and action) read as one change.
    groups: dict[tuple, list] = {}
    for audit_event in events:
        when = audit_event.created_on.replace(microsecond=0)
        groups.setdefault((when, audit_event.user_id, audit_event.record_number, audit_event.action), []).append(
            audit_event)
    actors = {event.user_id: event for event in events if event.username is not None}
    names = _referenced_names(events, actors)
    for (when, user_id, number, action), group in groups.items():
        stream.append(Activity(
            when=group[0].created_on, who=_row_name(group[0], user_id),
            record=number or _record_label(group[0].record_type), kind="change", action=action,
            changes=[(_field_label(e.field), names.get((e.field, e.old_value), e.old_value),
                      names.get((e.field, e.new_value), e.new_value)) for e in reversed(group) if e.field],
        ))
    stream.sort(key=lambda a: a.when, reverse=True)
    return stream[:limit]


def _row_name(row, user_id) -> str:
    """The name shown for the user of a row carrying its user's first_name, last_name and username (None: no user)."""
    if user_id is None or row.username is None:
        return "system"
    full = f"{row.first_name or ''} {row.last_name or ''}".strip()
    return full or row.username


# Audit events store ids of related records; the stream shows their names (one query per kind).
_REFERENCES = {
    "assigned_to_id": ("User", "assigned to"),
    "contact_id": ("Contact", "contact"),
    "assignment_group_id": ("AssignmentGroup", "assignment group"),
    "requested_location_id": ("Location", "requested shipping location"),
    "current_location_id": ("Location", "current shipping location"),
    "replacement_offering_id": ("ProductOffering", "replacement offering"),
}


def _field_label(field: str) -> str:
    return _REFERENCES[field][1] if field in _REFERENCES else field_label(field)


def _referenced_names(events, actors: dict) -> dict[tuple[str, str], str]:
    """{(field, id as text): name} of the records the audit *events* refer to by id. People who acted
    in the stream (*actors*: {user id: a row with their names}) and records this request already loaded
    are not read again."""
    from app import models

    wanted: dict[str, set[int]] = {}
    for audit_event in events:
        if audit_event.field in _REFERENCES:
            for value in (audit_event.old_value, audit_event.new_value):
                if value and value.isdigit():
                    wanted.setdefault(audit_event.field, set()).add(int(value))
    names = {}
    for referring_field, ids in wanted.items():
        model_name = _REFERENCES[referring_field][0]
        model = User if model_name == "User" else getattr(models, model_name)
        if model is User:
            for user_id in ids & actors.keys():
                names[(referring_field, str(user_id))] = _user_label(actors[user_id])
            ids = ids - actors.keys()
        held = [record for record in (_loaded(model, record_id) for record_id in ids) if record is not None]
        missing = ids - {record.id for record in held}
        records = held + (db.session.query(model).filter(model.id.in_(missing)).all() if missing else [])
        for record in records:
            names[(referring_field, str(record.id))] = _user_label(record) if model is User else str(record)
    return names


def _user_label(user) -> str:
    """How the stream names a person an event refers to (a User, or a row with its names)."""
    return f"{user.first_name} {user.last_name}".strip()


def _loaded(model, record_id: int):
    """The record if this session already holds it with its attributes loaded; None otherwise (no query)."""
    record = db.session.identity_map.get(orm_identity_key(model, record_id))
    if record is None or sa_inspect(record).expired_attributes:
        return None
    return record


def _record_label(record_type: str) -> str:
    return {"order_case": "case", "order_case_line": "line"}.get(record_type, record_type.replace("_", " "))


@dataclass
class PickerRow:
    id: int
    number: str
    description: str
    state: str
    on_case: str | None  # the other open case that already holds it


def picker_rows(case: OrderCase) -> tuple[str, str, list[PickerRow]]:
    """Add: (title, field name, rows) — the account's orders, or the case order's lines, not yet on the case."""
    taken_orders = select(OrderCaseLine.order_id).where(OrderCaseLine.case_id == case.id)
    other_open = (
        select(OrderCaseLine.order_id, OrderCaseLine.order_line_id, OrderCase.number)
        .join(OrderCase, OrderCase.id == OrderCaseLine.case_id)
        .where(OrderCase.id != case.id, OrderCase.state.in_(CaseState.OPEN),
               OrderCaseLine.state != LineState.CANCELLED)
    )
    if case.scope == Scope.MULTIPLE_ORDERS:
        orders = db.session.execute(
            select(CustomerOrder).where(CustomerOrder.account_id == case.account_id,
                                        CustomerOrder.id.not_in(taken_orders.where(OrderCaseLine.order_line_id.is_(None))))
            .order_by(CustomerOrder.number.desc()).limit(500)
        ).scalars().all()
        busy = {}
        for order_id, _line_id, number in db.session.execute(
                other_open.where(OrderCaseLine.order_id.in_([o.id for o in orders]))):
            busy.setdefault(order_id, number)
        rows = [PickerRow(o.id, o.number, f"{o.order_type} order, {o.order_date:%Y-%m-%d}, total {o.total_amount} "
                          f"{o.currency}", o.state, busy.get(o.id)) for o in orders]
        return "Add orders to case", "order_id", rows
    taken_lines = select(OrderCaseLine.order_line_id).where(OrderCaseLine.case_id == case.id,
                                                           OrderCaseLine.order_line_id.is_not(None))
    lines = db.session.execute(
        select(OrderLineItem).options(joinedload(OrderLineItem.offering))
        .where(OrderLineItem.order_id == case.order_id, OrderLineItem.id.not_in(taken_lines))
        .order_by(OrderLineItem.id)
    ).scalars().all()
    busy = {}
    for order_id, line_id, number in db.session.execute(other_open.where(
            and_(OrderCaseLine.order_id == case.order_id))):
        if line_id is None:
            for line in lines:
                busy.setdefault(line.id, number)
        else:
            busy.setdefault(line_id, number)
    rows = [PickerRow(l.id, l.number, f"{l.offering or '—'} × {l.quantity} ({l.action})", l.state, busy.get(l.id))
            for l in lines]
    return "Add order lines to case", "order_line_id", rows

"""SLA clocks: the clock computed from a record's state history on a working-time schedule, and task SLAs.

A clock is never ticked forward and stored: every figure (start, due time, paused time, elapsed
percentage, stage, breach time) is recomputed from the record's recorded state changes (audit events
with field "state") and the definition, as of a given instant. Recomputing after the fact, or after a
restart, therefore gives the same answer, and a late cron run cannot lose or invent paused time.

Clock rules:
- Start: when the record left Draft (submit); a record created past Draft starts when it was opened.
- Pause: while the record is in one of the definition's pause states (default Awaiting Info), and,
  on a business-hours schedule, outside working hours in the definition's time zone.
- Response SLAs stop at the first entry into Work in Progress (or straight into an outcome).
- Resolution SLAs stop at Resolved (cases) or a terminal state (lines). A record that is reopened
  resumes its clock; the time it spent resolved counts as paused.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from types import SimpleNamespace
from typing import Iterable, NamedTuple, Sequence

from sqlalchemy import (
    and_, bindparam, case as case_when, delete, insert, literal_column, or_, select, tuple_, update,
)
from sqlalchemy.orm import aliased

from app.sla.schedules import schedule_for
from app.core.choices import CaseState, LineState, SlaKind, SlaSchedule, SlaStage, SlaTarget
from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import AuditEvent, OrderCase, OrderCaseLine, SlaDefinition, TaskSla

# --------------------------------------------------------------------------- the clock (pure)


class StateChange(NamedTuple):
    """A recorded state change (a tuple, so a whole history can key the clock cache of a sync)."""

    at: dt.datetime
    old: str | None
    new: str


@dataclass(frozen=True)
class SlaRules:
    """What a definition says, independent of the database."""

    kind: str
    applies_to: str
    target_seconds: int
    pause_states: frozenset[str]
    at_risk_percent: int = 75

    @classmethod
    def of(cls, definition: SlaDefinition) -> "SlaRules":
        return cls(
            kind=definition.kind,
            applies_to=definition.applies_to,
            target_seconds=int(definition.target_minutes) * 60,
            pause_states=frozenset(s.strip() for s in (definition.pause_states or "").split(",") if s.strip()),
            at_risk_percent=definition.at_risk_percent if definition.at_risk_percent is not None else 75,
        )

    @property
    def outcome_states(self) -> frozenset[str]:
        """States in which the record has its outcome: the resolution clock stops there."""
        if self.applies_to == SlaTarget.CASE_LINE:
            return frozenset(LineState.TERMINAL)
        return frozenset((CaseState.RESOLVED, CaseState.CLOSED, CaseState.CANCELLED))

    @property
    def stop_states(self) -> frozenset[str]:
        if self.kind == SlaKind.RESPONSE:
            return self.outcome_states | {CaseState.WORK_IN_PROGRESS}
        return self.outcome_states


@dataclass(frozen=True)
class SlaResult:
    started_at: dt.datetime
    planned_due_at: dt.datetime
    elapsed_seconds: float
    paused_seconds: float
    elapsed_percent: float
    stage: str
    at_risk: bool
    stopped_at: dt.datetime | None
    breached_at: dt.datetime | None


def clock_start(history: Sequence[StateChange], opened_at: dt.datetime) -> dt.datetime:
    """When the record left Draft; a record that never was Draft starts when it was opened."""
    for change in history:
        if change.old == CaseState.DRAFT and change.new != CaseState.DRAFT:
            return change.at
    return opened_at


def compute_sla(rules: SlaRules, schedule, history: Sequence[StateChange], start: dt.datetime,
                now: dt.datetime, current_state: str) -> SlaResult:
    """The clock as of *now*, from the state changes of the record (in time order)."""
    state = history[0].old if history else current_state
    segments: list[tuple[dt.datetime, str]] = []
    for change in history:
        if change.at <= start:
            state = change.new
        elif change.at <= now:
            segments.append((change.at, change.new))
    boundaries = [(start, state)] + segments
    target = float(rules.target_seconds)

    elapsed = paused = 0.0
    breached_at: dt.datetime | None = None
    stopped_at: dt.datetime | None = None
    for index, (seg_start, seg_state) in enumerate(boundaries):
        seg_end = boundaries[index + 1][0] if index + 1 < len(boundaries) else max(now, seg_start)
        is_last = index + 1 == len(boundaries)
        if seg_state in rules.stop_states:
            if rules.kind == SlaKind.RESPONSE or is_last:
                stopped_at = seg_start
                break
            # Reopened later: the clock did not run while the record stood resolved.
            paused += schedule.working_seconds(seg_start, seg_end)
        elif seg_state in rules.pause_states:
            paused += schedule.working_seconds(seg_start, seg_end)
        else:
            worked = schedule.working_seconds(seg_start, seg_end)
            if breached_at is None and elapsed + worked >= target:
                breached_at = schedule.add_working_seconds(seg_start, target - elapsed)
            elapsed += worked
        state = seg_state

    # Reaching the target at the very instant the clock stops still meets it.
    if breached_at is not None and stopped_at is not None and breached_at >= stopped_at:
        breached_at = None
    if breached_at is not None:
        due = breached_at
    else:
        due = schedule.add_working_seconds(stopped_at or max(now, start), target - elapsed)

    percent = round(100.0 * elapsed / target, 2) if target else 100.0
    if stopped_at is not None:
        stage = SlaStage.BREACHED if breached_at else SlaStage.ACHIEVED
    elif breached_at is not None:
        stage = SlaStage.BREACHED
    elif state in rules.pause_states:
        stage = SlaStage.PAUSED
    else:
        stage = SlaStage.IN_PROGRESS
    at_risk = stage in (SlaStage.IN_PROGRESS, SlaStage.PAUSED) and percent >= rules.at_risk_percent
    return SlaResult(start, due, elapsed, paused, percent, stage, at_risk, stopped_at, breached_at)


# --------------------------------------------------------------------------- records and history


def record_type_of(record) -> str:
    return record.__tablename__


class Subject(NamedTuple):
    """What the clocks read of a case or case line: plain values, so a sync over a case's many lines
    needs no ORM object per line."""

    record_type: str
    id: int
    case_id: int
    target: str
    state: str
    priority: int
    opened_at: dt.datetime

    @property
    def key(self) -> tuple[str, int]:
        return self.record_type, self.id


def _line_subject(line_id: int, case_id: int, state: str, priority: int, created_on: dt.datetime | None) -> Subject:
    return Subject(OrderCaseLine.__tablename__, line_id, case_id, SlaTarget.CASE_LINE, state, priority,
                   created_on or utcnow())


def subject_of(record) -> Subject:
    if isinstance(record, OrderCaseLine):
        return _line_subject(record.id, record.case_id, record.state, record.priority, record.created_on)
    return Subject(OrderCase.__tablename__, record.id, record.id, SlaTarget.CASE, record.state, record.priority,
                   record.opened_at or record.created_on or utcnow())


_AUDIT = AuditEvent.__table__
# Table columns: a plain Core result, without the ORM's per-row work on the history of many lines.
_STATE_CHANGES = (
    select(_AUDIT.c.record_type, _AUDIT.c.record_id, _AUDIT.c.created_on, _AUDIT.c.old_value, _AUDIT.c.new_value)
    .where(_AUDIT.c.field == "state").order_by(_AUDIT.c.created_on, _AUDIT.c.id)
)


def load_histories(keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], list[StateChange]]:
    """State changes of many records in one query: {(record_type, record_id): [changes in time order]}."""
    keys = list(set(keys))
    histories: dict[tuple[str, int], list[StateChange]] = {key: [] for key in keys}
    for chunk_start in range(0, len(keys), 500):
        chunk = keys[chunk_start:chunk_start + 500]
        rows = db.session.execute(
            _STATE_CHANGES.where(tuple_(_AUDIT.c.record_type, _AUDIT.c.record_id).in_(chunk)))
        for record_type, record_id, at, old, new in rows:
            histories[(record_type, record_id)].append(StateChange(at, old, new))
    return histories


def state_history(record) -> list[StateChange]:
    return load_histories([(record_type_of(record), record.id)])[(record_type_of(record), record.id)]


def _active_definitions() -> list[SlaDefinition]:
    return db.session.query(SlaDefinition).filter(SlaDefinition.active.is_(True)).order_by(SlaDefinition.id).all()


@lru_cache(maxsize=256)
def _priority_set(priorities: str) -> frozenset[str]:
    return frozenset(p.strip() for p in priorities.split(","))


def _matches(definition: SlaDefinition, subject: Subject) -> bool:
    return definition.applies_to == subject.target and str(subject.priority) in _priority_set(
        definition.priorities or "")


def definitions_for(*wanted: tuple[str, Iterable[int]]) -> list[SlaDefinition]:
    """Active definitions that a record of each (target, priorities) asked gets ("case" or "case line",
    at any of the priorities), target after target in the order asked, read in one query."""
    definitions = _active_definitions()
    found = []
    for target, priorities in wanted:
        priority_texts = {str(priority) for priority in priorities}
        found += [definition for definition in definitions
                  if definition.applies_to == target and priority_texts & _priority_set(definition.priorities or "")]
    return found


def matching_definitions(record) -> list[SlaDefinition]:
    """Active definitions for this kind of record whose priority filter includes its priority."""
    subject = subject_of(record)
    return [definition for definition in _active_definitions() if _matches(definition, subject)]


def _figures(result: SlaResult) -> dict:
    """The stored columns of a computed clock."""
    return {
        "started_at": result.started_at,
        "planned_due_at": result.planned_due_at,
        "paused_seconds": int(round(result.paused_seconds)),
        "elapsed_percent": result.elapsed_percent,
        "stage": result.stage,
        "at_risk": result.at_risk,
        "stopped_at": result.stopped_at,
        "breached_at": result.breached_at,
    }


class _Clocks:
    """The clocks of one sync, all as of *now*, each distinct (definition, state, start, history)
    computed once: the lines one bulk action moved share the same history, so the 1,000 clocks of a
    500-line case take a handful of computations. Figures are returned as shared dicts: read, never change."""

    def __init__(self, now: dt.datetime):
        self.now = now
        self._plans: dict[int, tuple[SlaRules, object]] = {}
        self._figures: dict[tuple, dict] = {}

    def figures(self, definition: SlaDefinition, subject: Subject, history: list[StateChange]) -> dict:
        start = clock_start(history, subject.opened_at)
        key = (definition.id, subject.state, start, tuple(history))
        figures = self._figures.get(key)
        if figures is None:
            plan = self._plans.get(definition.id)
            if plan is None:
                plan = self._plans[definition.id] = (SlaRules.of(definition), schedule_for(definition))
            figures = self._figures[key] = _figures(compute_sla(*plan, history, start, self.now, subject.state))
        return figures


def _apply(task_sla: TaskSla, figures: dict, now: dt.datetime) -> None:
    for name, value in figures.items():
        setattr(task_sla, name, value)
    task_sla.computed_at = now


def _new_slas(subject: Subject, definitions: Sequence[SlaDefinition], existing: set[int],
              history: list[StateChange], clocks: _Clocks) -> list[dict]:
    """The rows of the task SLAs the record lacks, computed as of the clocks' instant."""
    if subject.state in (CaseState.DRAFT, CaseState.CANCELLED):
        return []
    line_id = subject.id if subject.target == SlaTarget.CASE_LINE else None
    return [
        {"definition_id": definition.id, "case_id": subject.case_id, "case_line_id": line_id,
         "at_risk_notified": False, "breach_notified": False, "computed_at": clocks.now,
         **clocks.figures(definition, subject, history)}
        for definition in definitions if definition.id not in existing and _matches(definition, subject)
    ]


def _attach(record, definitions: Sequence[SlaDefinition], existing: set[int], history: list[StateChange],
            now: dt.datetime) -> list[TaskSla]:
    by_id = {definition.id: definition for definition in definitions}
    attached = [TaskSla(**row, definition=by_id[row["definition_id"]])
                for row in _new_slas(subject_of(record), definitions, existing, history, _Clocks(now))]
    db.session.add_all(attached)
    return attached


def attach_slas(record, now: dt.datetime | None = None) -> list[TaskSla]:
    """Attach the matching task SLAs to a case or case line that has started (left Draft).

    Idempotent: a definition already running on the record is not attached twice. Adds to the
    session without committing, so it joins the calling workflow's single commit.
    """
    now = now or utcnow()
    if record.state in (CaseState.DRAFT, CaseState.CANCELLED):
        return []
    db.session.flush()
    existing = {task_sla.definition_id for task_sla in slas_of(record)}
    return _attach(record, _active_definitions(), existing, state_history(record), now)


def slas_of(record) -> list[TaskSla]:
    if isinstance(record, OrderCaseLine):
        query = db.session.query(TaskSla).filter(TaskSla.case_line_id == record.id)
    else:
        query = db.session.query(TaskSla).filter(TaskSla.case_id == record.id, TaskSla.case_line_id.is_(None))
    return query.order_by(TaskSla.id).all()


def _replaced_by_priority(definition: SlaDefinition, subject: Subject | None, stopped_at) -> bool:
    """A record whose priority changed keeps no running SLA of its old priority: the new priority's
    definitions replace it (measured from the same start). Stopped SLAs stay as the record of what was met."""
    return subject is not None and stopped_at is None and not _matches(definition, subject)


def sync_slas(record, now: dt.datetime | None = None) -> list[TaskSla]:
    """Call after every state or priority change of a case or case line, inside the workflow's operation.

    Attaches the SLAs when the record starts and recomputes the ones it has (including stopped
    ones, so a reopened record's resolution clock runs again). Returns the record's task SLAs.
    """
    now = now or utcnow()
    db.session.flush()
    subject = subject_of(record)
    for task_sla in slas_of(record):
        if _replaced_by_priority(task_sla.definition, subject, task_sla.stopped_at):
            db.session.delete(task_sla)
    attach_slas(record, now)
    db.session.flush()
    history = state_history(record)
    task_slas = slas_of(record)
    clocks = _Clocks(now)
    for task_sla in task_slas:
        _apply(task_sla, clocks.figures(task_sla.definition, subject, history), now)
    return task_slas


class SyncedSla(SimpleNamespace):
    """A task SLA as ``sync_case_slas`` left it: its stored columns and its ``definition``.

    Plain values rather than session objects: loading a case's 1,000 clocks as ORM objects was most
    of the cost of an action on a 500-line case.
    """


_TASK_SLA = TaskSla.__table__
# What a recomputation writes (the notified flags belong to the periodic job).
_RECOMPUTED = ("started_at", "planned_due_at", "paused_seconds", "elapsed_percent", "stage", "at_risk",
               "stopped_at", "breached_at", "computed_at")


def sync_case_slas(case: OrderCase, now: dt.datetime | None = None) -> list[SyncedSla]:
    """``sync_slas`` for a case and every one of its lines at once, in a fixed number of queries.

    The hook for case workflows: call it once at the end of any case or line operation that changes
    a state, adds a line or changes a priority, before the operation commits. Lines and task SLAs are
    read as plain rows (lines moved by bulk UPDATEs included); clocks whose figures changed are
    written grouped by their new figures (``_write_case_slas``), missing ones with one INSERT, replaced
    ones with one DELETE.
    Returns every task SLA of the case.
    """
    now = now or utcnow()
    db.session.flush()
    subjects = {(OrderCase.__tablename__, case.id): subject_of(case)}
    lines = OrderCaseLine.__table__
    line_rows = db.session.execute(
        select(lines.c.id, lines.c.state, lines.c.priority, lines.c.created_on)
        .where(lines.c.case_id == case.id).order_by(lines.c.id))
    for line_id, state, priority, created_on in line_rows:
        subjects[(OrderCaseLine.__tablename__, line_id)] = _line_subject(line_id, case.id, state, priority, created_on)
    histories = _case_histories(case.id, subjects)
    # All of them: a task SLA may run on a definition deactivated since it was attached.
    definitions = {d.id: d for d in db.session.query(SlaDefinition).order_by(SlaDefinition.id)}
    clocks = _Clocks(now)
    existing: dict[tuple[str, int], set[int]] = {key: set() for key in subjects}
    # Changed clocks by the (shared) figures they now hold: the lines one bulk action moved get the same.
    dropped, changed, kept = [], {}, []
    rows = db.session.execute(select(_TASK_SLA).where(_TASK_SLA.c.case_id == case.id).order_by(_TASK_SLA.c.id))
    names = tuple(rows.keys())
    for row in rows:
        values = dict(zip(names, row))
        key = _key_of(values["case_id"], values["case_line_id"])
        subject, definition = subjects.get(key), definitions[values["definition_id"]]
        if _replaced_by_priority(definition, subject, values["stopped_at"]):
            dropped.append(values["id"])
            continue
        existing.setdefault(key, set()).add(definition.id)
        if subject is not None:
            figures = clocks.figures(definition, subject, histories[key])
            if any(values[name] != value for name, value in figures.items()):
                values.update(figures, computed_at=now)
                changed.setdefault(id(figures), (figures, []))[1].append(values)
        kept.append(values)
    # The active definitions per kind of record and priority, matched once rather than once per line.
    matching: dict[tuple[str, int], list[SlaDefinition]] = {}
    new_rows = []
    for key, subject in subjects.items():
        candidates = matching.get((subject.target, subject.priority))
        if candidates is None:
            candidates = matching[(subject.target, subject.priority)] = [
                definition for definition in definitions.values()
                if definition.active and _matches(definition, subject)]
        new_rows.extend(_new_slas(subject, candidates, existing[key], histories[key], clocks))
    inserted = _write_case_slas(dropped, list(changed.values()), new_rows, now)
    _forget_loaded(case.id, set(dropped), {values["id"] for _, group in changed.values() for values in group})
    return [SyncedSla(definition=definitions[values["definition_id"]], **values)
            for values in sorted(kept + inserted, key=lambda values: values["id"])]


# The largest groups of clocks given the same figures (the lines one bulk action moved), up to this many,
# are written with one UPDATE … WHERE id IN each; the rest go in one executemany UPDATE.
_SET_UPDATES = 3


def _write_case_slas(dropped: list[int], changed: list[tuple[dict, list[dict]]], new_rows: list[dict],
                     now: dt.datetime) -> list[dict]:
    """One DELETE, an UPDATE for each of the few largest groups of changed clocks holding the same figures
    (one executemany for the others) and one INSERT … RETURNING; returns the inserted rows.

    Without ``sort_by_parameter_order`` on the INSERT: asking for it makes SQLite insert one row per
    statement (the caller sorts by id).
    """
    for start in range(0, len(dropped), 900):
        db.session.execute(delete(_TASK_SLA).where(_TASK_SLA.c.id.in_(dropped[start:start + 900])))
    groups = sorted(changed, key=lambda pair: -len(pair[1]))
    singles = [values for _figures, group in groups[_SET_UPDATES:] for values in group]
    for figures, group in groups[:_SET_UPDATES]:
        if len(group) == 1:
            singles.extend(group)
            continue
        ids = [values["id"] for values in group]
        for start in range(0, len(ids), 900):
            db.session.execute(update(_TASK_SLA).where(_TASK_SLA.c.id.in_(ids[start:start + 900]))
                               .values({**figures, "computed_at": now}))
    if singles:
        db.session.execute(
            update(_TASK_SLA).where(_TASK_SLA.c.id == bindparam("target_id"))
            .values({name: bindparam(f"new_{name}") for name in _RECOMPUTED}),
            [{"target_id": values["id"], **{f"new_{name}": values[name] for name in _RECOMPUTED}}
             for values in singles])
    if not new_rows:
        return []
    rows = db.session.execute(insert(_TASK_SLA).returning(*_TASK_SLA.c), new_rows)
    names = tuple(rows.keys())
    return [dict(zip(names, row)) for row in rows]


def _forget_loaded(case_id: int, dropped: set[int], changed: set[int]) -> None:
    """Task SLAs of the case already loaded in the session must not show what the rows held before."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, TaskSla) and obj.__dict__.get("case_id") == case_id:
            task_sla_id = obj.__dict__.get("id")
            if task_sla_id in dropped:
                db.session.expunge(obj)
            elif task_sla_id in changed:
                db.session.expire(obj)


def _case_histories(case_id: int, subjects) -> dict[tuple[str, int], list[StateChange]]:
    """``load_histories`` for a case and all its lines, in one query whatever the number of lines."""
    histories: dict[tuple[str, int], list[StateChange]] = {key: [] for key in subjects}
    lines = OrderCaseLine.__table__
    line_ids = select(lines.c.id).where(lines.c.case_id == case_id)
    rows = db.session.execute(_STATE_CHANGES.where(or_(
        and_(_AUDIT.c.record_type == OrderCase.__tablename__, _AUDIT.c.record_id == case_id),
        and_(_AUDIT.c.record_type == OrderCaseLine.__tablename__, _AUDIT.c.record_id.in_(line_ids)),
    )))
    for record_type, record_id, at, old, new in rows:
        history = histories.get((record_type, record_id))
        if history is not None:
            history.append(StateChange(at, old, new))
    return histories


# --------------------------------------------------------------------------- periodic refresh


@dataclass
class SlaChange:
    task_sla: TaskSla
    old_stage: str
    new_stage: str
    became_at_risk: bool = False

    @property
    def became_breached(self) -> bool:
        return self.new_stage == SlaStage.BREACHED and self.old_stage != SlaStage.BREACHED


def _load_records(task_slas: Sequence[TaskSla]) -> dict[tuple[str, int], object]:
    records: dict[tuple[str, int], object] = {}
    line_ids = {t.case_line_id for t in task_slas if t.case_line_id}
    case_ids = {t.case_id for t in task_slas if not t.case_line_id}
    if line_ids:
        for line in db.session.query(OrderCaseLine).filter(OrderCaseLine.id.in_(line_ids)):
            records[(OrderCaseLine.__tablename__, line.id)] = line
    if case_ids:
        for case in db.session.query(OrderCase).filter(OrderCase.id.in_(case_ids)):
            records[(OrderCase.__tablename__, case.id)] = case
    return records


def _key(task_sla: TaskSla) -> tuple[str, int]:
    return _key_of(task_sla.case_id, task_sla.case_line_id)


def _key_of(case_id: int, case_line_id: int | None) -> tuple[str, int]:
    """The (record type, id) a task SLA runs on."""
    if case_line_id:
        return OrderCaseLine.__tablename__, case_line_id
    return OrderCase.__tablename__, case_id


def recompute(task_slas: Sequence[TaskSla], now: dt.datetime) -> list[SlaChange]:
    """Recompute a batch of task SLAs with two queries for their records and histories."""
    records = _load_records(task_slas)
    histories = load_histories(_key(t) for t in task_slas)
    clocks = _Clocks(now)
    changes = []
    for task_sla in task_slas:
        record = records.get(_key(task_sla))
        if record is None:
            continue
        old_stage, was_at_risk = task_sla.stage, task_sla.at_risk
        _apply(task_sla, clocks.figures(task_sla.definition, subject_of(record), histories[_key(task_sla)]), now)
        if task_sla.stage != old_stage or (task_sla.at_risk and not was_at_risk):
            changes.append(SlaChange(task_sla, old_stage, task_sla.stage, task_sla.at_risk and not was_at_risk))
    return changes


def refresh_task_slas(now: dt.datetime | None = None, batch_size: int = 500) -> list[SlaChange]:
    """Recompute every running task SLA (not stopped) as of *now*; returns the ones whose stage or
    at-risk flag changed. Commits per batch so a large backlog never holds one long transaction."""
    now = now or utcnow()
    changes: list[SlaChange] = []
    last_id = 0
    while True:
        batch = (
            db.session.query(TaskSla)
            .filter(TaskSla.stopped_at.is_(None), TaskSla.id > last_id)
            .order_by(TaskSla.id)
            .limit(batch_size)
            .all()
        )
        if not batch:
            break
        last_id = batch[-1].id
        changes.extend(recompute(batch, now))
        db.session.commit()
    return changes


def pending_sla_notifications() -> list[TaskSla]:
    """Task SLAs whose at-risk or breach notice has not been queued yet."""
    return (
        db.session.query(TaskSla)
        .filter(or_(
            TaskSla.at_risk.is_(True) & TaskSla.at_risk_notified.is_(False),
            (TaskSla.stage == SlaStage.BREACHED) & TaskSla.breach_notified.is_(False),
        ))
        .order_by(TaskSla.id)
        .all()
    )


# --------------------------------------------------------------------------- roll-up and display

# Worst first: what a manager must look at before anything else.
_SEVERITY = {SlaStage.BREACHED: 0, "at risk": 1, SlaStage.IN_PROGRESS: 2, SlaStage.PAUSED: 3, SlaStage.ACHIEVED: 4}


@dataclass(frozen=True)
class SlaStatus:
    """The worst SLA of a case, its own or one of its lines'."""

    stage: str
    at_risk: bool
    elapsed_percent: float
    planned_due_at: dt.datetime
    task_sla_id: int
    case_line_id: int | None = None
    label: str = field(default="")


def _severity():
    """``_SEVERITY`` as SQL, at risk counting as its own stage. Numbers and stages are written inline,
    not as bound parameters: an index on this expression serves only a query spelling it the same way."""
    def inline(value):
        return literal_column(f"'{value}'" if isinstance(value, str) else str(value))

    return case_when(
        (TaskSla.at_risk.is_(True), inline(_SEVERITY["at risk"])),
        *((TaskSla.stage == inline(stage), inline(severity)) for stage, severity in _SEVERITY.items()
          if stage != "at risk"),
        else_=inline(len(_SEVERITY)),
    )


def _badness():
    """Worst first: by ``_SEVERITY``, the most time used, the earliest due; the id breaks ties so the
    answer is stable. (elapsed_percent is NOT NULL, so it is ordered as it is, which an index can follow.)"""
    return _severity(), TaskSla.elapsed_percent.desc(), TaskSla.planned_due_at, TaskSla.id


@lru_cache(maxsize=2)
def worst_sla_query(lines_only: bool = False):
    """One row per case of the ``case_ids`` parameter: its worst task SLA, picked per case by a
    correlated ``ORDER BY … LIMIT 1``. Built once per process: putting the statement together took
    a tenth of a list page's CPU; the database and SQLAlchemy's compiled cache take it from there.

    Each case keeps only its best candidate instead of the page's SLAs being sorted together (a page of
    500-line cases ranked 20,000 rows). With an index on (case_id, ``_severity()``, elapsed_percent DESC,
    planned_due_at, id), the probe of a case reads one index entry, whatever its number of lines.
    """
    probe = select(TaskSla.id).where(TaskSla.case_id == OrderCase.id)
    if lines_only:
        probe = probe.where(TaskSla.case_line_id.isnot(None))
    probe = probe.order_by(*_badness()).limit(1).correlate(OrderCase).scalar_subquery()
    # Materialized: the probes run once per case of the page, then their rows are read by primary key
    # (joined directly on the probe, PostgreSQL hashed the whole table and ran every probe twice).
    worst_ids = (select(probe.label("id")).where(OrderCase.id.in_(bindparam("case_ids", expanding=True)))
                 .cte("worst_ids").prefix_with("MATERIALIZED"))
    worst = aliased(TaskSla)
    return (
        select(worst.id, worst.case_id, worst.case_line_id, worst.stage, worst.at_risk, worst.elapsed_percent,
               worst.planned_due_at)
        .join(worst_ids, worst_ids.c.id == worst.id)
    )


def worst_slas(case_ids: Iterable[int], lines_only: bool = False) -> dict[int, SlaStatus]:
    """{case id: worst SLA status} for a page of cases, in one query (the lists' SLA column).

    Per-line SLAs roll up to the case as its worst line; unless *lines_only*, the case's own SLAs
    compete too. The database ranks the SLAs, so a page of cases with thousands of lines still
    returns one row per case.
    """
    case_ids = sorted(set(case_ids))
    if not case_ids:
        return {}
    statuses = {}
    for row in db.session.execute(worst_sla_query(lines_only), {"case_ids": case_ids}):
        label = "at risk" if row.at_risk else row.stage
        statuses[row.case_id] = SlaStatus(row.stage, bool(row.at_risk), row.elapsed_percent, row.planned_due_at,
                                          row.id, row.case_line_id, label)
    return statuses


def worst_sla(case, lines_only: bool = False) -> SlaStatus | None:
    """The case's worst SLA status, or None when it has no SLA."""
    case_id = case if isinstance(case, int) else case.id
    return worst_slas([case_id], lines_only).get(case_id)


def time_left_seconds(task_sla: TaskSla, now: dt.datetime | None = None) -> float | None:
    """Working seconds until the due time (negative when overdue); None once the clock stopped."""
    if task_sla.stopped_at is not None:
        return None
    now = now or utcnow()
    schedule = schedule_for(task_sla.definition)
    if now <= task_sla.planned_due_at:
        return schedule.working_seconds(now, task_sla.planned_due_at)
    return -schedule.working_seconds(task_sla.planned_due_at, now)


def format_duration(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def describe_time_left(task_sla: TaskSla, now: dt.datetime | None = None) -> str:
    """'2 h 15 min left', 'overdue by 1 d 3 h', 'paused, 40 min left', or the final stage."""
    seconds = time_left_seconds(task_sla, now)
    if seconds is None:
        return task_sla.stage.capitalize()
    if seconds < 0:
        return f"overdue by {format_duration(seconds)}"
    text = f"{format_duration(seconds)} left"
    return f"paused, {text}" if task_sla.stage == SlaStage.PAUSED else text


# --------------------------------------------------------------------------- seeding

DEFAULT_DEFINITIONS = (
    # (priorities, kind, target minutes, label)
    ("1,2", SlaKind.RESPONSE, 60, "1 h"),
    ("1,2", SlaKind.RESOLUTION, 24 * 60, "1 day"),
    ("3,4", SlaKind.RESPONSE, 4 * 60, "4 h"),
    ("3,4", SlaKind.RESOLUTION, 3 * 24 * 60, "3 days"),
)


def seed_default_sla_definitions() -> list[SlaDefinition]:
    """The spec's default SLAs, for cases and for case lines (24×7, paused while Awaiting Info).

    Idempotent by name: existing definitions (possibly edited by an admin) are left alone. Commits.
    """
    existing = {name for (name,) in db.session.query(SlaDefinition.name)}
    created = []
    for applies_to, record_label in ((SlaTarget.CASE, "Case"), (SlaTarget.CASE_LINE, "Case line")):
        for priorities, kind, minutes, target_label in DEFAULT_DEFINITIONS:
            name = f"{record_label} {kind} {target_label} (priority {priorities.replace(',', '–')})"
            if name in existing:
                continue
            definition = SlaDefinition(
                name=name, applies_to=applies_to, kind=kind, priorities=priorities, target_minutes=minutes,
                schedule=SlaSchedule.ALWAYS, timezone="UTC", pause_states=CaseState.AWAITING_INFO,
                at_risk_percent=75, active=True,
            )
            db.session.add(definition)
            created.append(definition)
    db.session.commit()
    return created

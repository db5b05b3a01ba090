"""Tasks on an order case or on one of its lines (SPEC §5): Create task, the task actions and its journal.

A task's assignee must belong to the task's assignment group (when one is set) and becomes a
contributor of the case (``OrderCase.contributors``): the case is shared with them for reading. Open
line tasks keep their line from being accepted or denied (``workflows._refuse_open_tasks``). Tasks of
Closed and Cancelled cases are read-only. Each function is one operation: it locks the case first (the
lock order of every case operation), validates, changes, audits and commits once.
"""
from __future__ import annotations

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import insert, select

from app.cases.guards import (
    as_id,
    clean_text,
    get_record,
    limited_text,
    load_case,
    load_line,
    optional_id,
    parse_priority,
    require_writable,
)
from app.core.choices import JournalKind, LineState, TaskState
from app.core.exceptions import InvalidInput, RecordNotFound, StateConflict
from app.core.extensions import db
from app.core.model_base import acting_user_id, utcnow
from app.models import AssignmentGroup, CaseLineTask, CaseTask, OrderCase, case_contributor
from app.sla.notifications import NotificationEvent, notify
from app.core.roles import AGENT
from app.core.workflow_base import (
    allowed,
    add_journal_entry,
    audit,
    check_version,
    lock_for_update,
    operation,
    require_back_office,
    require_state,
    set_fields,
    transition,
)

CREATE_TASK = "Create task"
START_TASK = "Start work"
CLOSE_COMPLETE = "Close Complete"
CLOSE_INCOMPLETE = "Close Incomplete"
REOPEN_TASK = "Reopen task"
TASK_ACTION_SOURCES = {
    START_TASK: (TaskState.OPEN,),
    CLOSE_COMPLETE: TaskState.ACTIVE,
    CLOSE_INCOMPLETE: TaskState.ACTIVE,
    REOPEN_TASK: (TaskState.CLOSED_COMPLETE, TaskState.CLOSED_INCOMPLETE),
}
TASK_ACTION_TARGETS = {
    START_TASK: TaskState.WORK_IN_PROGRESS,
    CLOSE_COMPLETE: TaskState.CLOSED_COMPLETE,
    CLOSE_INCOMPLETE: TaskState.CLOSED_INCOMPLETE,
    REOPEN_TASK: TaskState.OPEN,
}
TASK_KINDS = {"case": CaseTask, "line": CaseLineTask}


def require_task_creatable(user: User, case: OrderCase, line=None) -> None:
    """Create task's own checks on records already loaded: a back-office user, a case that is not
    read-only, and a line (when given) that is not Cancelled."""
    require_back_office(user, AGENT, CREATE_TASK)
    if line is not None and line.state == LineState.CANCELLED:
        raise StateConflict(f"{CREATE_TASK} is not allowed: line {line.number} is Cancelled.")
    require_writable(case, CREATE_TASK)


def may_create_task(user: User, case: OrderCase, line=None) -> bool:
    return allowed(lambda: require_task_creatable(user, case, line))


def create_task(user: User, *, case_id=None, line_id=None, subject: str | None = None, description: str | None = None,
                assignment_group_id=None, assigned_to_id=None, priority=None,
                visible_to_customer: bool = False) -> CaseTask | CaseLineTask:
    """Create task on a case (case_id) or on one of its lines (line_id), Open."""
    with operation(user):
        require_back_office(user, AGENT, CREATE_TASK)
        if optional_id(line_id) is not None:
            case, line = load_line(line_id)
        else:
            case, line = load_case(case_id), None
        require_task_creatable(user, case, line)
        subject = limited_text(clean_text(subject), CREATE_TASK, "subject", "Subject")
        if not subject:
            raise InvalidInput(f"{CREATE_TASK} needs a subject.", {"subject": "Required"})
        group_id, assignee_id = _routing(assignment_group_id, assigned_to_id, CREATE_TASK)
        fields = dict(subject=subject, description=clean_text(description) or None, state=TaskState.OPEN,
                      priority=parse_priority(priority, CREATE_TASK) if priority not in (None, "") else case.priority,
                      assignment_group_id=group_id, assigned_to_id=assignee_id,
                      visible_to_customer=bool(visible_to_customer))
        task = CaseLineTask(case_line_id=line.id, case_id=case.id, **fields) if line is not None else CaseTask(
            case_id=case.id, **fields)
        db.session.add(task)
        db.session.flush()
        audit(task, "state", None, TaskState.OPEN, action=CREATE_TASK, case_id=case.id)
        _assigned(case, task, assignee_id)
    return task


def _routing(group_id, assignee_id, action: str) -> tuple[int | None, int | None]:
    group = get_record(AssignmentGroup, group_id) if optional_id(group_id) else None
    if optional_id(group_id) and group is None:
        raise InvalidInput(f"{action}: the assignment group does not exist.", {"assignment_group_id": "Unknown"})
    assignee = get_record(User, assignee_id) if optional_id(assignee_id) else None
    if optional_id(assignee_id) and assignee is None:
        raise InvalidInput(f"{action}: the assignee does not exist.", {"assigned_to_id": "Unknown"})
    if group is not None and assignee is not None and assignee.id not in {m.id for m in group.members}:
        raise InvalidInput(f"{action} is not allowed: {assignee.username} is not a member of {group.name}.",
                           {"assigned_to_id": "Not a member of the assignment group"})
    return (group.id if group else None), (assignee.id if assignee else None)


def _assigned(case: OrderCase, task, assignee_id: int | None) -> None:
    """The assignee becomes a contributor of the case and is told about the task."""
    if assignee_id is None:
        return
    already = db.session.execute(select(case_contributor.c.user_id).where(
        case_contributor.c.case_id == case.id, case_contributor.c.user_id == assignee_id)).first()
    if already is None:
        db.session.execute(insert(case_contributor).values(case_id=case.id, user_id=assignee_id))
        audit(case, "contributor", None, assignee_id, action=f"{CREATE_TASK} {task.number}", case_id=case.id)
    if assignee_id != acting_user_id.get():
        notify(NotificationEvent.TASK_ASSIGNED, task)


def _load_task(kind: str, task_id) -> tuple[OrderCase, CaseTask | CaseLineTask]:
    model = TASK_KINDS.get(kind)
    if model is None:
        raise RecordNotFound("The task does not exist.")
    task_id = as_id(task_id, "task")
    case_id = db.session.execute(select(model.case_id).where(model.id == task_id)).scalar()
    if case_id is None:
        raise RecordNotFound("The task does not exist (it may have been deleted).")
    case = load_case(case_id)
    return case, lock_for_update(model, task_id)


def task_action(kind: str, task_id, user: User, action: str, version=None, note: str | None = None):
    """Start work, Close Complete, Close Incomplete (needs a note saying why) or Reopen task."""
    with operation(user):
        require_back_office(user, AGENT, action)
        if action not in TASK_ACTION_SOURCES:
            raise InvalidInput(f"{action!r} is not a task action.")
        case, task = _load_task(kind, task_id)
        check_version(task, version)
        require_writable(case, action)
        require_state(task, TASK_ACTION_SOURCES[action], action)
        if action == CLOSE_INCOMPLETE and not clean_text(note):
            raise InvalidInput(f"{CLOSE_INCOMPLETE} needs a note saying why.", {"note": "Required"})
        target = TASK_ACTION_TARGETS[action]
        transition(task, target, action, case_id=case.id)
        set_fields(task, {"closed_at": utcnow() if target not in TaskState.ACTIVE else None}, action=action,
                   case_id=case.id)
        if clean_text(note):
            add_journal_entry(task, JournalKind.WORK_NOTE, clean_text(note), user, case_id=case.id)
    return task


def reassign_task(kind: str, task_id, user: User, version=None, assignment_group_id=None, assigned_to_id=None):
    """Hand the task to another group or person (a member of the group); the new assignee may read the case."""
    with operation(user):
        require_back_office(user, AGENT, "Assign task")
        case, task = _load_task(kind, task_id)
        check_version(task, version)
        require_writable(case, "Assign task")
        group_id, assignee_id = _routing(assignment_group_id, assigned_to_id, "Assign task")
        changed = set_fields(task, {"assignment_group_id": group_id, "assigned_to_id": assignee_id},
                             action="Assign task", case_id=case.id)
        if "assigned_to_id" in changed:
            _assigned(case, task, assignee_id)
    return task


def add_task_journal_entry(kind: str, task_id, user: User, journal_kind: str, text: str):
    """A comment or work note on a task (tasks of Closed and Cancelled cases are read-only)."""
    action = "Comment" if journal_kind == JournalKind.COMMENT else "Work note"
    with operation(user):
        require_back_office(user, AGENT, action)
        case, task = _load_task(kind, task_id)
        require_writable(case, action)
        if journal_kind not in JournalKind.ALL:
            raise InvalidInput(f"{journal_kind!r} is neither a comment nor a work note.", {"kind": "Unknown"})
        entry = add_journal_entry(task, journal_kind, text, user, case_id=case.id)
    return entry


def my_tasks(user_id: int, limit: int = 200) -> list:
    """The user's active case tasks and case line tasks, newest first (one query each)."""
    from sqlalchemy.orm import joinedload

    case_level = (db.session.query(CaseTask).options(joinedload(CaseTask.case))
                  .filter(CaseTask.assigned_to_id == user_id, CaseTask.state.in_(TaskState.ACTIVE))
                  .order_by(CaseTask.id.desc()).limit(limit).all())
    line_level = (db.session.query(CaseLineTask)
                  .options(joinedload(CaseLineTask.case), joinedload(CaseLineTask.case_line))
                  .filter(CaseLineTask.assigned_to_id == user_id, CaseLineTask.state.in_(TaskState.ACTIVE))
                  .order_by(CaseLineTask.id.desc()).limit(limit).all())
    return sorted(case_level + line_level, key=lambda task: task.changed_on, reverse=True)[:limit]

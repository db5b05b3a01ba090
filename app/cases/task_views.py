"""The task pages (SPEC §5): Create task on a case or on a line, the task page with its actions, routing
and journal, and the rows of My Tasks (case tasks and case line tasks in one list).

The pages are thin: every change is one call into ``app.cases.tasks``; a refusal becomes a flash message
and nothing is written. Action and assignment forms carry the task version. FAB's generic add and edit
forms of tasks bypass those workflows, so ``TaskRecordRedirects`` sends them here instead.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.sqla.models import Role, User
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.cases import queries as case_queries
from app.cases import tasks as case_tasks
from app.cases.guards import get_record, optional_id
from app.cases.views import case_url, line_url
from app.cases.tasks import CLOSE_COMPLETE, CLOSE_INCOMPLETE, REOPEN_TASK, START_TASK
from app.core.choices import CaseState, JournalKind, Priority
from app.core.exceptions import DomainError, RecordNotFound
from app.core.extensions import db
from app.models import AssignmentGroup, AuditEvent, CaseLineTask, JournalEntry, OrderCase, OrderCaseLine
from app.core.roles import AGENT, BACK_OFFICE_RANK, has_back_office_role

# URL slug → task action label (the button says the label).
ACTION_SLUGS = {
    "start-work": START_TASK,
    "close-complete": CLOSE_COMPLETE,
    "close-incomplete": CLOSE_INCOMPLETE,
    "reopen": REOPEN_TASK,
}
DONE = {START_TASK: "is in progress", CLOSE_COMPLETE: "closed complete", CLOSE_INCOMPLETE: "closed incomplete",
        REOPEN_TASK: "reopened"}
KIND_LABELS = {"case": "Case task", "line": "Case line task"}
# Assignee choices stay a bounded list however many users an installation has.
ASSIGNEE_CHOICES_CAP = 500
GROUP_CHOICES_CAP = 200


def task_kind(task) -> str:
    return "line" if isinstance(task, CaseLineTask) else "case"


def task_url(kind: str, task_id: int, anchor: str = "") -> str:
    url = (url_for("TaskPageView.line_task", line_task_id=task_id) if kind == "line"
           else url_for("TaskPageView.case_task", task_id=task_id))
    return url + (f"#{anchor}" if anchor else "")


def my_task_rows(user_id: int) -> list[tuple[str, object, str]]:
    """My Tasks: (kind, task, task page URL) for the user's open case and case line tasks."""
    return [(task_kind(task), task, task_url(task_kind(task), task.id)) for task in case_tasks.my_tasks(user_id)]


def routing_choices(*selected_ids) -> tuple[list[AssignmentGroup], list[User], dict[int, list[int]]]:
    """Groups, possible assignees (back-office users and every group member) and each user's group ids."""
    groups = (db.session.query(AssignmentGroup).options(selectinload(AssignmentGroup.members))
              .order_by(AssignmentGroup.name).limit(GROUP_CHOICES_CAP).all())
    back_office = db.session.execute(
        select(User).join(User.roles).where(Role.name.in_(tuple(BACK_OFFICE_RANK)), User.active.is_(True))
        .order_by(User.first_name, User.last_name, User.id).limit(ASSIGNEE_CHOICES_CAP)
    ).unique().scalars().all()
    users = {user.id: user for user in back_office}
    groups_of: dict[int, list[int]] = {}
    for group in groups:
        for member in group.members:
            users.setdefault(member.id, member)
            groups_of.setdefault(member.id, []).append(group.id)
    missing = [i for i in (optional_id(s) for s in selected_ids) if i and i not in users]
    for user in db.session.query(User).filter(User.id.in_(missing)) if missing else ():
        users[user.id] = user
    ordered = sorted(users.values(), key=lambda u: (f"{u.first_name} {u.last_name}".lower(), u.id))
    return groups, ordered, groups_of


def _load_task(kind: str, task_id: int):
    """The task with everything its page shows, or None."""
    model = case_tasks.TASK_KINDS[kind]
    options = [joinedload(model.case), joinedload(model.assignment_group), joinedload(model.assigned_to),
               joinedload(model.created_by), joinedload(model.changed_by)]
    if model is CaseLineTask:
        options.append(joinedload(CaseLineTask.case_line))
    return db.session.query(model).options(*options).filter(model.id == task_id).one_or_none()


def _journal(task) -> list[JournalEntry]:
    return (db.session.query(JournalEntry).options(joinedload(JournalEntry.author))
            .filter(JournalEntry.record_type == task.__tablename__, JournalEntry.record_id == task.id)
            .order_by(JournalEntry.created_on.desc(), JournalEntry.id.desc()).limit(200).all())


def _history(task) -> list[AuditEvent]:
    return (db.session.query(AuditEvent).options(joinedload(AuditEvent.user))
            .filter(AuditEvent.record_type == task.__tablename__, AuditEvent.record_id == task.id)
            .order_by(AuditEvent.created_on.desc(), AuditEvent.id.desc()).limit(200).all())


def _references(history: list[AuditEvent]) -> dict[tuple[str, str], str]:
    """Names for the user and group ids the history records (one query per kind)."""
    ids = {"assigned_to_id": set(), "assignment_group_id": set()}
    for event in history:
        if event.field in ids:
            ids[event.field].update(v for v in (event.old_value, event.new_value) if v and v.isdigit())
    names = {}
    if ids["assigned_to_id"]:
        for user in db.session.query(User).filter(User.id.in_([int(i) for i in ids["assigned_to_id"]])):
            names[("assigned_to_id", str(user.id))] = f"{user.first_name} {user.last_name}"
    if ids["assignment_group_id"]:
        for group in db.session.query(AssignmentGroup).filter(
                AssignmentGroup.id.in_([int(i) for i in ids["assignment_group_id"]])):
            names[("assignment_group_id", str(group.id))] = group.name
    return names


def _back_to(case: OrderCase, line: OrderCaseLine | None) -> str:
    """Where Create task returns: the line on the page of lines that shows it, or the case's tasks."""
    return line_url(line, f"line-{line.id}") if line else case_url(case.id, "tasks")


class TaskPageView(BaseView):
    """/tasks/…: Create task on a case or line, the task page, its actions, routing and journal.

    Guarded by the TaskPageView permissions (show / add / edit); the workflows in ``case_tasks`` check
    the finer rules (role, state, version, read-only cases, group membership).
    """

    route_base = "/tasks"
    base_permissions = ["can_show", "can_add", "can_edit"]
    method_permission_name = {
        "case_task": "show", "line_task": "show", "create_case_task": "add", "create_line_task": "add",
        "action": "edit", "assign": "edit", "journal": "edit",
    }
    default_view = "create_case_task"

    # -- Create task -------------------------------------------------------------------------------

    @expose("/new/case/<int:case_id>", methods=["GET", "POST"])
    @has_access
    def create_case_task(self, case_id):
        case = get_record(OrderCase, case_id)
        if case is None:
            abort(404)
        return self._create(case, None)

    @expose("/new/line/<int:case_line_id>", methods=["GET", "POST"])
    @has_access
    def create_line_task(self, case_line_id):
        line = case_queries.load_line(case_line_id)
        if line is None:
            abort(404)
        return self._create(line.case, line)

    def _create(self, case: OrderCase, line: OrderCaseLine | None):
        back = _back_to(case, line)
        try:
            case_tasks.require_task_creatable(current_user, case, line)
        except DomainError as error:
            flash(error.message, "danger")
            return redirect(back)
        if request.method == "GET":
            values = {"priority": case.priority, "assignment_group_id": case.assignment_group_id or ""}
            return self._render_create(case, line, values, {})
        values = {name: request.form.get(name, "") for name in
                  ("subject", "description", "assignment_group_id", "assigned_to_id", "priority")}
        values["visible_to_customer"] = request.form.get("visible_to_customer") in ("1", "on", "y", "true")
        try:
            task = case_tasks.create_task(current_user, case_id=case.id, line_id=line.id if line else None,
                                          **values)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
            case = get_record(OrderCase, case.id)
            line = case_queries.load_line(line.id) if line else None
            return self._render_create(case, line, values, error.field_errors), error.status_code
        flash(f"Task {task.number} created{' on line ' + line.number if line else ''}.", "success")
        return redirect(back)

    def _render_create(self, case, line, values, errors):
        groups, users, groups_of = routing_choices(values.get("assigned_to_id"))
        return self.render_template("tasks/create.html", case=case, line=line, values=values, errors=errors,
                                    groups=groups, users=users, groups_of=groups_of, priorities=Priority.LABELS,
                                    back=_back_to(case, line))

    # -- the task page -----------------------------------------------------------------------------

    @expose("/case/<int:task_id>/", methods=["GET"])
    @has_access
    def case_task(self, task_id):
        return self._show("case", task_id)

    @expose("/line/<int:line_task_id>/", methods=["GET"])
    @has_access
    def line_task(self, line_task_id):
        return self._show("line", line_task_id)

    def _show(self, kind: str, task_id: int):
        task = _load_task(kind, task_id)
        if task is None:
            abort(404)
        writable = task.case.state not in CaseState.READ_ONLY
        may_act = writable and has_back_office_role(current_user, AGENT)
        actions = [(label, slug) for slug, label in ACTION_SLUGS.items()
                   if may_act and task.state in case_tasks.TASK_ACTION_SOURCES[label]]
        history = _history(task)
        groups, users, groups_of = routing_choices(task.assigned_to_id) if may_act else ([], [], {})
        return self.render_template(
            "tasks/task.html", task=task, kind=kind, kind_label=KIND_LABELS[kind], writable=writable,
            may_act=may_act, actions=actions, journal=_journal(task), history=history,
            names=_references(history), groups=groups, users=users, groups_of=groups_of,
            priorities=Priority.LABELS, case_link=case_url(task.case_id, "tasks"),
            line_link=line_url(task.case_line, f"line-{task.case_line_id}") if kind == "line" else None,
        )

    # -- changes -----------------------------------------------------------------------------------

    @expose("/<kind>/<int:task_id>/action/<name>", methods=["POST"])
    @has_access
    def action(self, kind, task_id, name):
        label = ACTION_SLUGS.get(name)
        if label is None or kind not in case_tasks.TASK_KINDS:
            abort(404)
        task = self._change(kind, task_id, lambda: case_tasks.task_action(
            kind, task_id, current_user, label, version=request.form.get("version"), note=request.form.get("note")))
        if task is not None:
            flash(f"{task.number} {DONE[label]}.", "success")
        return redirect(task_url(kind, task_id))

    @expose("/<kind>/<int:task_id>/assign", methods=["POST"])
    @has_access
    def assign(self, kind, task_id):
        if kind not in case_tasks.TASK_KINDS:
            abort(404)
        task = self._change(kind, task_id, lambda: case_tasks.reassign_task(
            kind, task_id, current_user, version=request.form.get("version"),
            assignment_group_id=request.form.get("assignment_group_id"),
            assigned_to_id=request.form.get("assigned_to_id")))
        if task is not None:
            flash(f"{task.number} assigned to {task.assigned_to or 'nobody'}"
                  f"{' in ' + task.assignment_group.name if task.assignment_group else ''}.", "success")
        return redirect(task_url(kind, task_id))

    @expose("/<kind>/<int:task_id>/journal", methods=["POST"])
    @has_access
    def journal(self, kind, task_id):
        if kind not in case_tasks.TASK_KINDS:
            abort(404)
        journal_kind = request.form.get("kind", JournalKind.WORK_NOTE)
        entry = self._change(kind, task_id, lambda: case_tasks.add_task_journal_entry(
            kind, task_id, current_user, journal_kind, request.form.get("text", "")))
        if entry is not None:
            flash("Comment posted." if journal_kind == JournalKind.COMMENT else "Work note added.", "success")
        return redirect(task_url(kind, task_id, "journal"))

    @staticmethod
    def _change(kind: str, task_id: int, change):
        """Run one task operation; a refusal is flashed (nothing was written) and gives None."""
        try:
            return change()
        except RecordNotFound:
            db.session.rollback()
            abort(404)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return None


class TaskRecordRedirects:
    """FAB's add, edit and show of a task model view go to the task pages, so no form bypasses the workflows.

    Lists stay FAB's; ``task_kind_slug`` names which task pages the view's records open on.
    """

    task_kind_slug = "case"

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        flash("Tasks are created on their order case's page: use Create task on the case or on a line.", "info")
        if self.task_kind_slug == "line" and optional_id(request.args.get("_flt_0_case_line")):
            return redirect(url_for("TaskPageView.create_line_task",
                                    case_line_id=optional_id(request.args.get("_flt_0_case_line"))))
        if self.task_kind_slug == "case" and optional_id(request.args.get("_flt_0_case")):
            return redirect(url_for("TaskPageView.create_case_task",
                                    case_id=optional_id(request.args.get("_flt_0_case"))))
        return redirect(url_for("OrderCaseView.list"))

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        return self._to_task_page(pk)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        return self._to_task_page(pk)

    def _to_task_page(self, pk):
        task = get_record(case_tasks.TASK_KINDS[self.task_kind_slug], pk)
        if task is None:
            abort(404)
        return redirect(task_url(self.task_kind_slug, task.id))

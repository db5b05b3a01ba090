"""REST endpoints for case tasks, case line tasks and interactions. Tasks are created through the task
workflow (``case_tasks``); task edits and interactions, which have no workflow function yet, are here.

Those edits follow the workflow rules (``workflow_base``): one operation per request that checks the
role, the version and the state, audits every changed field and commits once. They enforce what the
back-office forms enforce: an assignee must belong to the chosen group, a contact to the account,
and closed or cancelled cases are read-only.
"""
from __future__ import annotations


from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.cases import tasks as case_tasks
from app.cases.guards import load_case, require_writable
from app.core.choices import InteractionChannel, InteractionState, LineState, TaskState
from app.core.exceptions import InvalidInput, RecordNotFound, StateConflict
from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import (
    Account,
    AssignmentGroup,
    CaseLineTask,
    CaseTask,
    Contact,
    Interaction,
    OrderCase,
    OrderCaseLine,
    case_contributor,
)
from app.api.framework import (
    ASSIGNED_TO_FILTER,
    BACK_OFFICE,
    Caller,
    assigned_to_clause,
    enum_filter,
    id_filter,
    one,
    page_params,
    paged,
    version_schema,
)
from app.api.schemas import CASE_LINE_TASK, CASE_TASK, ID_INPUT, INTERACTION, LONG_TEXT, PRIORITY, nullable, text
from app.core.roles import AGENT
from app.core.workflow_base import (
    audit, check_version, existing_record, lock_for_update, operation, require_back_office, set_fields,
)

EDIT_TASK = "Edit task"
EDIT_INTERACTION = "Edit interaction"
CREATE_INTERACTION = "Create interaction"


# ----------------------------------------------------------------------------------------------------
# Operations


def _check_assignee(values: dict, current_group_id: int | None, current_assignee_id: int | None) -> None:
    """The assignee must exist and, when a group is set, be one of its members."""
    group_id = values.get("assignment_group_id", current_group_id)
    assignee_id = values.get("assigned_to_id", current_assignee_id)
    group = existing_record(AssignmentGroup, group_id, "Assignment group", "assignment_group_id")
    assignee = existing_record(User, assignee_id, "User", "assigned_to_id")
    if group is not None and assignee is not None and assignee.id not in {m.id for m in group.members}:
        raise InvalidInput(f"{assignee.username} is not a member of {group.name}.",
                           {"assigned_to_id": "Not a member of the assignment group"})


def _task_values(fields: dict, task, case: OrderCase) -> dict:
    values = {k: v for k, v in fields.items() if k in (
        "subject", "description", "state", "priority", "visible_to_customer", "assignment_group_id",
        "assigned_to_id")}
    if "subject" in values:
        values["subject"] = values["subject"].strip()
    if "description" in values:
        values["description"] = (values["description"] or "").strip() or None
    _check_assignee(values, getattr(task, "assignment_group_id", None), getattr(task, "assigned_to_id", None))
    state = values.get("state", getattr(task, "state", TaskState.OPEN))
    if state in TaskState.ACTIVE:
        values["closed_at"] = None
    elif getattr(task, "closed_at", None) is None:
        values["closed_at"] = utcnow()
    assignee = values.get("assigned_to_id")
    if assignee and assignee not in {u.id for u in case.contributors}:
        # Whoever works a task may read its case (SPEC §5).
        db.session.execute(case_contributor.insert().values(case_id=case.id, user_id=assignee))
    return values


def update_task(user: User, model, task_id, version=None, **fields):
    with operation(user):
        require_back_office(user, AGENT, EDIT_TASK)
        case_id = db.session.scalar(select(model.case_id).where(model.id == task_id))
        if case_id is None:
            raise RecordNotFound("The task does not exist.")
        case = load_case(case_id)
        task = lock_for_update(model, task_id)
        check_version(task, version)
        require_writable(case, EDIT_TASK)
        if model is CaseLineTask and task.case_line.state == LineState.CANCELLED:
            raise StateConflict(f"{EDIT_TASK} is not allowed: line {task.case_line.number} is Cancelled.")
        set_fields(task, _task_values(fields, task, case), action=EDIT_TASK, case_id=case.id)
    return task


def _interaction_values(fields: dict, interaction: Interaction | None) -> dict:
    values = {k: v for k, v in fields.items() if k in (
        "channel", "account_id", "contact_id", "short_description", "state", "agent_id")}
    if "short_description" in values:
        values["short_description"] = values["short_description"].strip()
    account_id = values.get("account_id", getattr(interaction, "account_id", None))
    existing_record(Account, account_id, "Account", "account_id")
    contact = existing_record(Contact, values.get("contact_id", getattr(interaction, "contact_id", None)),
                              "Contact", "contact_id")
    if contact is not None and account_id is not None and contact.account_id != account_id:
        raise InvalidInput("The contact belongs to another account.", {"contact_id": "Not of this account"})
    existing_record(User, values.get("agent_id"), "User", "agent_id")
    return values


def create_interaction(user: User, **fields) -> Interaction:
    with operation(user):
        require_back_office(user, AGENT, CREATE_INTERACTION)
        values = _interaction_values({"state": InteractionState.NEW, "agent_id": user.id, **fields}, None)
        interaction = Interaction(opened_at=utcnow(), **values)
        db.session.add(interaction)
        db.session.flush()
        audit(interaction, "state", None, interaction.state, action=CREATE_INTERACTION)
    return interaction


def update_interaction(user: User, interaction_id, version=None, **fields) -> Interaction:
    with operation(user):
        require_back_office(user, AGENT, EDIT_INTERACTION)
        interaction = lock_for_update(Interaction, interaction_id)
        if interaction is None:
            raise RecordNotFound("The interaction does not exist.")
        check_version(interaction, version)
        set_fields(interaction, _interaction_values(fields, interaction), action=EDIT_INTERACTION)
    return interaction


# ----------------------------------------------------------------------------------------------------
# What a caller may see: customers only their account's cases' tasks marked visible to customers


def visible_tasks(caller: Caller, model):
    return caller.scope.tasks(model) if caller.is_customer else select(model)


TASK_FIELDS = {
    "subject": text(200, required=True),
    "description": nullable(text(LONG_TEXT)),
    "state": {"type": "string", "enum": list(TaskState.ALL)},
    "priority": PRIORITY,
    "visible_to_customer": {"type": "boolean"},
    "assignment_group_id": nullable(ID_INPUT),
    "assigned_to_id": {**nullable(ID_INPUT), "description": "Becomes a contributor who may read the case"},
}

# Every task starts Open (the task workflow), so creation takes no state.
TASK_CREATE_FIELDS = {name: schema for name, schema in TASK_FIELDS.items() if name != "state"}

INTERACTION_FIELDS = {
    "channel": {"type": "string", "enum": list(InteractionChannel.ALL)},
    "account_id": nullable(ID_INPUT),
    "contact_id": nullable(ID_INPUT),
    "short_description": text(200, required=True),
    "state": {"type": "string", "enum": list(InteractionState.ALL)},
}


def register_record_routes(api) -> None:
    for path, model, resource, parent, label in (
        ("/case-tasks", CaseTask, CASE_TASK, "case_id", "case task"),
        ("/case-line-tasks", CaseLineTask, CASE_LINE_TASK, "case_line_id", "case line task"),
    ):
        _task_routes(api, path, model, resource, parent, label)
    _interaction_routes(api)


def _task_routes(api, path, model, resource, parent, label) -> None:
    filters = [id_filter("case_id", "Only tasks of this case")]
    if model is CaseLineTask:
        filters.append(id_filter("case_line_id", "Only tasks of this case line"))

    @api.route("GET", path, summary=f"List {label}s", tag="Tasks", response=f"{resource.name}Page", query=[
        *filters, enum_filter("state", TaskState, "Only tasks in this state"), ASSIGNED_TO_FILTER, *page_params(),
    ], errors=(), description="Customers see only tasks marked visible to customers, of their own account.")
    def list_tasks(caller, params, body):
        query = visible_tasks(caller, model)
        for name in ("case_id", "case_line_id", "state"):
            if name in params:
                query = query.where(getattr(model, name) == params[name])
        if "assigned_to" in params:
            query = query.where(assigned_to_clause(model.assigned_to_id, params["assigned_to"], caller))
        return paged(query, model, resource, params)

    @api.route("POST", path, summary=f"Create task ({label})", tag="Tasks", response=resource.name, status=201,
               body={"type": "object", "properties": {parent: ID_INPUT, **TASK_CREATE_FIELDS},
                     "required": [parent, "subject"], "additionalProperties": False}, errors=(404, 409, 422),
               description="A task starts Open; its assignee becomes a contributor of the case and is notified.")
    def create(caller, params, body):
        values = dict(body)
        parent_id = values.pop(parent)
        if model is CaseLineTask:
            if db.session.get(OrderCaseLine, parent_id) is None:
                raise InvalidInput(f"Case line {parent_id} does not exist.", {"case_line_id": "Unknown"})
            return resource.render(case_tasks.create_task(caller.user, line_id=parent_id, **values))
        if db.session.get(OrderCase, parent_id) is None:
            raise InvalidInput("The order case does not exist.", {"case_id": "Unknown"})
        return resource.render(case_tasks.create_task(caller.user, case_id=parent_id, **values))

    @api.route("GET", f"{path}/{{task_id}}", summary=f"Read a {label}", tag="Tasks", response=resource.name,
               errors=(404,))
    def read(caller, params, body, task_id):
        return resource.render(one(visible_tasks(caller, model).where(model.id == task_id), label))

    @api.route("PATCH", f"{path}/{{task_id}}", summary=f"Edit a {label}", tag="Tasks", response=resource.name,
               body=version_schema(TASK_FIELDS), errors=(404, 409, 422))
    def patch(caller, params, body, task_id):
        one(visible_tasks(caller, model).where(model.id == task_id), label)
        values = dict(body)
        version = values.pop("version")
        return resource.render(update_task(caller.user, model, task_id, version, **values))


def _interaction_routes(api) -> None:
    @api.route("GET", "/interactions", summary="List interactions", tag="Interactions", roles=BACK_OFFICE,
               response="InteractionPage", query=[
                   enum_filter("state", InteractionState, "Only interactions in this state"),
                   enum_filter("channel", InteractionChannel, "Only interactions through this channel"),
                   id_filter("account_id", "Only interactions with this account"),
                   id_filter("agent_id", "Only interactions handled by this user"),
                   *page_params(),
               ], errors=())
    def list_interactions(caller, params, body):
        query = select(Interaction)
        for name in ("state", "channel", "account_id", "agent_id"):
            if name in params:
                query = query.where(getattr(Interaction, name) == params[name])
        return paged(query, Interaction, INTERACTION, params)

    @api.route("POST", "/interactions", summary="Record an interaction", tag="Interactions", roles=BACK_OFFICE,
               response="Interaction", status=201, errors=(422,), body={
                   "type": "object", "properties": {**INTERACTION_FIELDS, "agent_id": nullable(ID_INPUT)},
                   "required": ["channel", "short_description"], "additionalProperties": False,
               })
    def create(caller, params, body):
        return INTERACTION.render(create_interaction(caller.user, **body))

    @api.route("GET", "/interactions/{interaction_id}", summary="Read an interaction", tag="Interactions",
               roles=BACK_OFFICE, response="Interaction", errors=(404,))
    def read(caller, params, body, interaction_id):
        return INTERACTION.render(one(select(Interaction).where(Interaction.id == interaction_id), "interaction"))

    @api.route("PATCH", "/interactions/{interaction_id}", summary="Edit an interaction", tag="Interactions",
               roles=BACK_OFFICE, response="Interaction", errors=(404, 409, 422),
               body=version_schema({**INTERACTION_FIELDS, "agent_id": nullable(ID_INPUT)}))
    def patch(caller, params, body, interaction_id):
        one(select(Interaction).where(Interaction.id == interaction_id), "interaction")
        values = dict(body)
        version = values.pop("version")
        return INTERACTION.render(update_interaction(caller.user, interaction_id, version, **values))

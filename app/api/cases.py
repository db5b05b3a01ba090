"""REST endpoints for order cases and case lines: lists, records, and every case and line action.

The actions and header edits call ``app.workflows`` exactly as the UI's buttons and forms do.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import workflows
from app.core.choices import CaseOrigin, CaseState, JournalKind, LineState, ReasonCode, RequestType, ResolutionCode, Scope
from app.core.extensions import db
from app.models import JournalEntry, OrderCase, OrderCaseLine
from app.api.framework import (
    ASSIGNED_TO_FILTER,
    CASE_READERS,
    MAX_DB_INTEGER,
    ApiError,
    Caller,
    assigned_to_clause,
    enum_filter,
    id_filter,
    one,
    page_params,
    paged,
    version_schema,
)
from app.api.records import register_record_routes
from app.api.schemas import (
    CASE,
    CASE_LINE,
    DATE_INPUT,
    ID_INPUT,
    ID_LIST,
    LONG_TEXT,
    MONEY_INPUT,
    POSITIVE_INT,
    PRIORITY,
    nullable,
    render_journal_entry,
    text,
)

# ----------------------------------------------------------------------------------------------------
# What a caller may see


def visible_cases(caller: Caller):
    return caller.scope.cases() if caller.is_customer else select(OrderCase)


def visible_case_lines(caller: Caller):
    return caller.scope.case_lines() if caller.is_customer else select(OrderCaseLine)


def find_case(caller: Caller, case_id: int) -> OrderCase:
    return one(visible_cases(caller).where(OrderCase.id == case_id), "order case")


def find_case_line(caller: Caller, line_id: int) -> OrderCaseLine:
    return one(visible_case_lines(caller).where(OrderCaseLine.id == line_id), "order case line")


LINE_OPTIONS = (selectinload(OrderCaseLine.characteristics),)

# ----------------------------------------------------------------------------------------------------
# Request bodies

CASE_CREATE = {
    "type": "object",
    "properties": {
        "service_id": {**ID_INPUT, "description": "The case type (an active service definition)"},
        "account_id": ID_INPUT,
        "scope": {"type": "string", "enum": list(Scope.ALL)},
        "short_description": text(200, required=True),
        "origin": {"type": "string", "enum": list(CaseOrigin.ALL), "default": CaseOrigin.API},
        "order_id": nullable(ID_INPUT),
        "order_number": nullable(text(20)),
        "order_line_ids": {**ID_LIST, "description": "Order lines to open the case for (single-order scope)"},
        "interaction_id": nullable(ID_INPUT),
        "contact_id": nullable(ID_INPUT),
        "description": nullable(text(LONG_TEXT)),
        "priority": nullable(PRIORITY),
    },
    "required": ["service_id", "account_id", "scope", "short_description"],
    "additionalProperties": False,
}

LINE_FIELDS = {
    "request_type": nullable({"type": "string", "enum": list(RequestType.ALL)}),
    "reason_code": nullable({"type": "string", "enum": list(ReasonCode.ALL)}),
    "short_description": nullable(text(200)),
    "priority": PRIORITY,
    "requested_quantity": nullable(POSITIVE_INT),
    "requested_delivery_date": nullable(DATE_INPUT),
    "requested_location_id": nullable(ID_INPUT),
    "disputed_unit_price": nullable(MONEY_INPUT),
    "replacement_offering_id": nullable(ID_INPUT),
}

LINE_CREATE = {
    "type": "object",
    "properties": {
        "case_id": ID_INPUT,
        "case_version": {"type": "integer", "minimum": 1, "maximum": MAX_DB_INTEGER,
                         "description": "The case's version as last read"},
        "order_id": {**nullable(ID_INPUT), "description": "The order (Multiple-orders case)"},
        "order_line_id": {**nullable(ID_INPUT), "description": "The order line (single-order case)"},
        **LINE_FIELDS,
    },
    "required": ["case_id", "case_version"],
    "additionalProperties": False,
}

APPROVED_VALUES = {
    "approved_quantity": nullable(POSITIVE_INT),
    "approved_delivery_date": nullable(DATE_INPUT),
    "approved_unit_price": nullable(MONEY_INPUT),
    "requested_location_id": nullable(ID_INPUT),
    "replacement_offering_id": nullable(ID_INPUT),
}

VERSION_QUERY = [{"name": "version", "required": True,
                  "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DB_INTEGER},
                  "description": "The record's version as last read"}]


def _require_version_param(params: dict) -> int:
    if "version" not in params:
        raise ApiError(422, "Deleting needs the record's version as last read.", {"version": "Required"})
    return params["version"]


# (path segment, workflow function, label, body properties, required inputs)
CASE_ACTIONS = [
    ("submit", workflows.submit_case, workflows.SUBMIT, {}, ()),
    ("assign-to-me", workflows.assign_case_to_me, workflows.ASSIGN_TO_ME, {}, ()),
    ("request-information", workflows.request_case_information, workflows.REQUEST_INFORMATION,
     {"question": text(LONG_TEXT)}, ("question",)),
    ("information-received", workflows.case_information_received, workflows.INFORMATION_RECEIVED, {}, ()),
    ("resolve", workflows.resolve_case, workflows.RESOLVE_CASE, {
        "resolution_code": {"type": "string", "enum": list(ResolutionCode.ALL)},
        "resolution_notes": text(LONG_TEXT),
        "outcome": {"type": "string", "enum": list(workflows.OUTCOMES),
                    "description": "What every open line gets: accept all or deny all"},
    }, ("resolution_code", "resolution_notes")),
    ("close", workflows.close_case, workflows.CLOSE_CASE, {}, ()),
    ("cancel", workflows.cancel_case, workflows.CANCEL, {}, ()),
]

LINE_ACTIONS = [
    ("start-work", workflows.start_line_work, workflows.START_WORK, {}, ()),
    ("request-information", workflows.request_line_information, workflows.REQUEST_INFORMATION,
     {"question": text(LONG_TEXT)}, ("question",)),
    ("information-received", workflows.line_information_received, workflows.INFORMATION_RECEIVED, {}, ()),
    ("accept", workflows.accept_line, workflows.ACCEPT,
     {"resolution_notes": nullable(text(LONG_TEXT)), **APPROVED_VALUES}, ()),
    ("deny", workflows.deny_line, workflows.DENY, {"resolution_notes": text(LONG_TEXT)}, ("resolution_notes",)),
    ("cancel", workflows.cancel_line, workflows.CANCEL_LINE, {"reason": text(LONG_TEXT)}, ("reason",)),
    ("reopen", workflows.reopen_line, workflows.REOPEN, {}, ()),
]


def _action_description(label: str, sources) -> str:
    return f"The **{label}** button: allowed from {', '.join(sources)}."


def register_case_routes(api) -> None:
    _register_cases(api)
    _register_case_lines(api)
    register_record_routes(api)


def _register_cases(api) -> None:
    @api.route("GET", "/cases", summary="List order cases", tag="Cases", response="CasePage", query=[
        enum_filter("state", CaseState, "Only cases in this state"),
        ASSIGNED_TO_FILTER,
        id_filter("account_id", "Only cases of this account"),
        id_filter("order_id", "Only single-order cases of this order"),
        id_filter("service_id", "Only cases of this case type"),
        {"name": "priority", "schema": PRIORITY, "description": "Only cases of this priority"},
        {"name": "number", "schema": text(20), "description": "The case with this number"},
        *page_params(),
    ], errors=())
    def list_cases(caller, params, body):
        query = visible_cases(caller)
        for name, column in (("state", OrderCase.state), ("account_id", OrderCase.account_id),
                             ("order_id", OrderCase.order_id), ("service_id", OrderCase.service_id),
                             ("priority", OrderCase.priority)):
            if name in params:
                query = query.where(column == params[name])
        if "number" in params:
            query = query.where(OrderCase.number == params["number"].strip().upper())
        if "assigned_to" in params:
            query = query.where(assigned_to_clause(OrderCase.assigned_to_id, params["assigned_to"], caller))
        return paged(query, OrderCase, CASE, params)

    @api.route("POST", "/cases", summary="Create an order case (Draft)", tag="Cases", body=CASE_CREATE,
               response="Case", status=201, errors=(403, 422),
               description="The intake form: creates the case in Draft, with one line per order line given.")
    def create_case(caller, params, body):
        values = dict(body)
        caller.refuse_foreign_references(values)
        values.setdefault("origin", CaseOrigin.API)
        case = workflows.create_case(caller.user, **values)
        return CASE.render(case)

    @api.route("GET", "/cases/{case_id}", summary="Read an order case", tag="Cases", response="Case", errors=(404,))
    def read_case(caller, params, body, case_id):
        return CASE.render(find_case(caller, case_id))

    @api.route("PATCH", "/cases/{case_id}", summary="Edit an order case's header", tag="Cases", response="Case",
               roles=CASE_READERS, body=version_schema({
                   "short_description": text(200, required=True),
                   "description": nullable(text(LONG_TEXT)),
                   "priority": PRIORITY,
                   "contact_id": nullable(ID_INPUT),
                   "assignment_group_id": nullable(ID_INPUT),
                   "assigned_to_id": {**nullable(ID_INPUT), "description": "Must be a member of the group"},
                   "needs_attention": {"type": "boolean"},
               }), errors=(404, 409, 422))
    def patch_case(caller, params, body, case_id):
        find_case(caller, case_id)
        caller.refuse_foreign_references(body)
        version = body.pop("version")
        return CASE.render(workflows.edit_case(case_id, caller.user, version, **body))

    @api.route("DELETE", "/cases/{case_id}", summary="Delete an order case", tag="Cases", query=VERSION_QUERY,
               status=204, errors=(404, 409, 422),
               description="Agents delete Draft cases; an admin any case whose lines changed no order.")
    def delete_case(caller, params, body, case_id):
        find_case(caller, case_id)
        workflows.delete_case(case_id, caller.user, _require_version_param(params))

    for segment, function, label, properties, required in CASE_ACTIONS:
        _case_action(api, segment, function, label, properties, required)

    @api.route("POST", "/cases/{case_id}/actions/add-lines", summary="Add: lines for orders or order lines",
               tag="Cases", response="CaseLinePage", body=version_schema({
                   "order_ids": {**ID_LIST, "description": "Whole orders (Multiple-orders case)"},
                   "order_line_ids": {**ID_LIST, "description": "Order lines (single-order case)"},
               }), status=201, errors=(404, 409, 422),
               description="The **Add** button of the case's line list; answers the lines created.")
    def add_lines(caller, params, body, case_id):
        find_case(caller, case_id)
        lines = workflows.add_case_lines(case_id, caller.user, body["version"], body.get("order_ids") or (),
                                         body.get("order_line_ids") or ())
        items = [CASE_LINE.render(line) for line in lines]
        return {"count": len(items), "count_capped": False, "page": 1, "page_size": max(len(items), 1),
                "items": items}

    @api.route("POST", "/cases/{case_id}/journal", summary="Comment or work note on the case or one of its lines",
               tag="Cases", response="JournalEntry", status=201, body={
                   "type": "object",
                   "properties": {"kind": {"type": "string", "enum": list(JournalKind.ALL)},
                                  "text": text(LONG_TEXT, required=True), "line_id": nullable(ID_INPUT)},
                   "required": ["kind", "text"], "additionalProperties": False,
               }, errors=(404, 409, 422))
    def add_journal(caller, params, body, case_id):
        find_case(caller, case_id)
        if caller.is_customer:
            return render_journal_entry(_customer_comment(caller, case_id, body))
        entry = workflows.add_case_journal_entry(case_id, caller.user, body["kind"], body["text"],
                                                 line_id=body.get("line_id"))
        return render_journal_entry(entry)


    @api.route("POST", "/cases/{case_id}/actions/accept-solution", summary="Accept solution (customer)",
               tag="Cases", response="Case", body=version_schema(), errors=(403, 404, 409, 422),
               description="The customer's **Accept solution**: the Resolved case closes.")
    def accept_solution(caller, params, body, case_id):
        find_case(caller, case_id)
        return CASE.render(workflows.accept_solution(case_id, caller.user, body["version"]))

    @api.route("POST", "/cases/{case_id}/actions/reject-solution", summary="Reject solution (customer)",
               tag="Cases", response="Case", body=version_schema({"reason": text(LONG_TEXT, required=True)}, ("reason",)),
               errors=(403, 404, 409, 422),
               description="The customer's **Reject solution**: the Resolved case goes back to Work in Progress "
                           "and the reason becomes a comment.")
    def reject_solution(caller, params, body, case_id):
        find_case(caller, case_id)
        return CASE.render(workflows.reject_solution(case_id, caller.user, body["version"], reason=body["reason"]))


def _customer_comment(caller: Caller, case_id: int, body: dict) -> JournalEntry:
    """A customer's comment on the case (their answer while it awaits information); never a work note."""
    if body["kind"] != JournalKind.COMMENT or body.get("line_id"):
        raise ApiError(403, "Customers add comments to the case itself; work notes are the order desk's.")
    workflows.customer_reply(case_id, caller.user, body["text"])
    return db.session.scalars(select(JournalEntry).where(
        JournalEntry.case_id == case_id, JournalEntry.author_id == caller.user.id,
        JournalEntry.kind == JournalKind.COMMENT).order_by(JournalEntry.id.desc()).limit(1)).one()


def _case_action(api, segment, function, label, properties, required) -> None:
    @api.route("POST", f"/cases/{{case_id}}/actions/{segment}", summary=f"{label} (case action)", tag="Cases",
               response="Case", body=version_schema(properties, required), errors=(404, 409, 422),
               description=_action_description(label, workflows.CASE_ACTION_SOURCES[label]))
    def case_action(caller, params, body, case_id):
        find_case(caller, case_id)
        inputs = dict(body)
        version = inputs.pop("version")
        return CASE.render(function(case_id, caller.user, version, **inputs))


def _register_case_lines(api) -> None:
    @api.route("GET", "/case-lines", summary="List order case lines", tag="Case lines", response="CaseLinePage",
               query=[
                   id_filter("case_id", "Only lines of this case"),
                   enum_filter("state", LineState, "Only lines in this state"),
                   id_filter("order_id", "Only lines about this order"),
                   id_filter("order_line_id", "Only lines about this order line"),
                   enum_filter("request_type", RequestType, "Only lines of this request type"),
                   ASSIGNED_TO_FILTER,
                   *page_params(),
               ], errors=())
    def list_case_lines(caller, params, body):
        query = visible_case_lines(caller)
        for name, column in (("case_id", OrderCaseLine.case_id), ("state", OrderCaseLine.state),
                             ("order_id", OrderCaseLine.order_id), ("order_line_id", OrderCaseLine.order_line_id),
                             ("request_type", OrderCaseLine.request_type)):
            if name in params:
                query = query.where(column == params[name])
        if "assigned_to" in params:
            query = query.where(assigned_to_clause(OrderCaseLine.assigned_to_id, params["assigned_to"], caller))
        return paged(query, OrderCaseLine, CASE_LINE, params, LINE_OPTIONS)

    @api.route("POST", "/case-lines", summary="New: one case line with its requested change", tag="Case lines",
               response="CaseLine", status=201, body=LINE_CREATE, errors=(404, 409, 422))
    def create_case_line(caller, params, body):
        values = dict(body)
        case_id = values.pop("case_id")
        find_case(caller, case_id)
        version = values.pop("case_version")
        return CASE_LINE.render(workflows.create_case_line(case_id, caller.user, version, **values))

    @api.route("GET", "/case-lines/{line_id}", summary="Read an order case line", tag="Case lines",
               response="CaseLine", errors=(404,))
    def read_case_line(caller, params, body, line_id):
        return CASE_LINE.render(find_case_line(caller, line_id))

    @api.route("PATCH", "/case-lines/{line_id}", summary="Edit a case line's requested change", tag="Case lines",
               response="CaseLine", body=version_schema(LINE_FIELDS), errors=(404, 409, 422))
    def patch_case_line(caller, params, body, line_id):
        find_case_line(caller, line_id)
        values = dict(body)
        version = values.pop("version")
        return CASE_LINE.render(workflows.edit_case_line(line_id, caller.user, version, **values))

    @api.route("DELETE", "/case-lines/{line_id}", summary="Delete a case line", tag="Case lines",
               query=VERSION_QUERY, status=204, errors=(404, 409, 422),
               description="Agents delete Draft lines; an admin any line that changed no order.")
    def delete_case_line(caller, params, body, line_id):
        line = find_case_line(caller, line_id)
        version = _require_version_param(params)
        workflows.delete_case_lines(line.case_id, caller.user, [line_id], {line_id: version})

    for segment, function, label, properties, required in LINE_ACTIONS:
        _line_action(api, segment, function, label, properties, required)


def _line_action(api, segment, function, label, properties, required) -> None:
    @api.route("POST", f"/case-lines/{{line_id}}/actions/{segment}", summary=f"{label} (line action)",
               tag="Case lines", response="CaseLine", body=version_schema(properties, required),
               errors=(404, 409, 422),
               description=_action_description(label, workflows.LINE_ACTION_SOURCES[label]))
    def line_action(caller, params, body, line_id):
        find_case_line(caller, line_id)
        inputs = dict(body)
        version = inputs.pop("version")
        return CASE_LINE.render(function(line_id, caller.user, version, **inputs))


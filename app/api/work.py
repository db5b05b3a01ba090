"""REST endpoints for finding and working in bulk: global search, exports of the lists (CSV / XLSX,
streamed, the list endpoints' own filters), bulk case, order and order line operations, and the
approvals inbox. The same functions as the pages; every record of a bulk call has its own outcome."""
from __future__ import annotations

import json
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import inspect

from app.api.cases import CASE_FILTERS, CASE_LINE_FILTERS, case_line_query, case_query
from app.api.framework import BACK_OFFICE, CASE_READERS, ORDER_READERS, ApiError, Caller
from app.api.orders import ORDER_FILTERS, ORDER_LINE_FILTERS, order_line_query, order_query
from app.api.schemas import CASE, CASE_LINE, ID, ID_LIST, ORDER, ORDER_LINE, text
from app.cases import bulk as case_bulk
from app.core.bulk import summary
from app.core.roles import ADMIN, MANAGER
from app.exports.rows import Column, children, export_rows
from app.exports.views import FORMATS, download
from app.models import CustomerOrder, OrderCase, OrderCaseLine, OrderLineItem
from app.orders import approvals
from app.orders import bulk as order_bulk
from app.portal.scope import AccountScope
from app.search.records import BackOffice, Portal
from app.search.service import TEXT_GROUPS, search

MANAGERS = (MANAGER, ADMIN)
FILE_TYPES = tuple(mimetype.split(";")[0] for mimetype, _writer in FORMATS.values())
FORMAT = {"name": "format", "schema": {"type": "string", "enum": ["csv", "xlsx"], "default": "csv"},
          "description": "File format"}
OUTCOMES = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "outcomes": {"type": "array", "items": {
            "type": "object",
            "properties": {"id": ID, "number": {"type": "string"}, "done": {"type": "boolean"},
                           "message": {"type": "string"}},
            "required": ["id", "number", "done", "message"], "additionalProperties": False}},
    },
    "required": ["summary", "outcomes"],
    "additionalProperties": False,
}
HIT = {"type": "object", "properties": {
    "number": {"type": "string"}, "title": {"type": "string"}, "detail": {"type": "string"},
    "url": {"type": "string", "description": "Where the record opens in the application"},
    "when": {"type": ["string", "null"], "format": "date-time"}}, "additionalProperties": False}
SEARCH_RESULT = {
    "type": "object",
    "properties": {
        "query": {"type": "string"},
        "record_url": {"type": ["string", "null"], "description": "Set when the query is a record number or "
                       "external id the caller may open"},
        "message": {"type": ["string", "null"]},
        "groups": {"type": "array", "items": {"type": "object", "properties": {
            "key": {"type": "string"}, "label": {"type": "string"}, "page": {"type": "integer"},
            "more": {"type": "boolean"}, "items": {"type": "array", "items": HIT}}}},
    },
    "required": ["query", "record_url", "message", "groups"],
}
INBOX = {"type": "object", "properties": {
    "count": {"type": "integer"}, "page": {"type": "integer"},
    "items": {"type": "array", "items": {"type": "object", "properties": {
        "key": {"type": "string", "description": "order-<id> or quote-<id>, what POST /approvals/decide takes"},
        "kind": {"type": "string", "enum": [approvals.ORDER, approvals.QUOTE]}, "id": ID,
        "number": {"type": "string"}, "label": {"type": "string"}, "account": {"type": "string"},
        "channel": {"type": "string"}, "value": {"type": "string"}, "currency": {"type": "string"},
        "waiting_since": {"type": "string", "format": "date-time"}, "age": {"type": "string"},
        "enrichment_issues": {"type": "array", "items": {"type": "string"}}}}}}}


def work_schemas() -> dict:
    return {"BulkOutcomes": OUTCOMES, "SearchResult": SEARCH_RESULT, "ApprovalsInbox": INBOX}


def _ids_body(extra: dict | None = None, required: tuple = ()) -> dict:
    return {"type": "object", "properties": {"ids": {**ID_LIST, "minItems": 1}, **(extra or {})},
            "required": ["ids", *required], "additionalProperties": False}


def _outcomes(action: str, outcomes) -> dict:
    return {"summary": summary(action, outcomes), "outcomes": [outcome.as_dict() for outcome in outcomes]}


class _ApiBackOffice(BackOffice):
    """What a back-office API caller may open: their roles' grants (an API call has no login session)."""

    def __init__(self, caller: Caller):
        self.role_ids = [role.id for role in caller.user.roles]

    def may_open(self, kind, record=None) -> bool:
        view = kind.back_office_view(record) if record is not None else kind.view
        return current_app.appbuilder.sm.exist_permission_on_roles(view, "can_show", self.role_ids)


def register_work_routes(api) -> None:
    _register_search(api)
    _register_exports(api)
    _register_bulk(api)
    _register_approvals(api)


def _register_search(api) -> None:
    @api.route("GET", "/search", summary="Search: a record number or external id, or words", tag="Search",
               roles=CASE_READERS, response="SearchResult", query=[
                   {"name": "q", "schema": text(200), "description": "A number (ORDCS…, ORD…, ACC…), an external "
                    "id, or words of case descriptions, journal entries, account and contact names"},
                   {"name": "group", "schema": {"type": "string", "enum": list(TEXT_GROUPS)},
                    "description": "Page through one record type"},
                   {"name": "page", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 1}},
               ], errors=(),
               description="Customers search their own account's cases and orders (and the comments on their "
                           "cases); back-office users every record their role may open.")
    def search_records(caller, params, body):
        audience = Portal(AccountScope(caller.account_id)) if caller.is_customer else _ApiBackOffice(caller)
        result = search(params.get("q", ""), audience, params.get("group"), params.get("page", 1))
        return {"query": result.query, "record_url": result.jump_url, "message": result.message, "groups": [
            {"key": group.key, "label": group.label, "page": group.page, "more": group.more, "items": [
                {"number": hit.number, "title": hit.title, "detail": hit.detail, "url": hit.url,
                 "when": _when(hit.when)} for hit in group.hits]}
            for group in result.groups]}


EXPORTS = [
    # path, tag, roles, filters, query builder, resource, model
    ("/cases/export", "Cases", CASE_READERS, CASE_FILTERS, case_query, CASE, OrderCase),
    ("/case-lines/export", "Case lines", CASE_READERS, CASE_LINE_FILTERS, case_line_query, CASE_LINE, OrderCaseLine),
    ("/orders/export", "Orders", ORDER_READERS, ORDER_FILTERS, order_query, ORDER, CustomerOrder),
    ("/order-lines/export", "Order lines", ORDER_READERS, ORDER_LINE_FILTERS, order_line_query, ORDER_LINE,
     OrderLineItem),
]


def _register_exports(api) -> None:
    for path, tag, roles, filters, build, resource, model in EXPORTS:
        _export_route(api, path, tag, roles, filters, build, resource, model)


def resource_columns(resource, model) -> list[Column]:
    """A resource's fields as export columns: its own columns selected (a getter of a column reads it from
    the row), a getter of a collection (characteristics, enrichment issues) fed once per batch."""
    relationships = inspect(model).relationships
    columns = []
    for field, _schema, getter, _nullable in resource.fields:
        if field in relationships:
            columns.append(Column(field, per_batch=children(model, field, getter), convert=_cell))
        elif getter is not None:
            column = getattr(model, field)
            columns.append(Column(field, column, convert=lambda value, getter=getter, field=field:
                                  getter(SimpleNamespace(**{field: value}))))
        else:
            columns.append(Column(field, getattr(model, field)))
    return columns


def _export_route(api, path, tag, roles, filters, build, resource, model) -> None:
    columns = resource_columns(resource, model)

    @api.route("GET", path, summary=f"Export the {tag.lower()} list (CSV or XLSX, streamed)", tag=tag, roles=roles,
               query=[*filters, FORMAT], errors=(), files=FILE_TYPES,
               description="Every record the list filters select (not one page), newest first, one column per "
                           "field of the list's items; dates in ISO 8601, numbers as numbers. The download "
                           "starts at once and is written as the rows are read.")
    def export(caller, params, body):
        rows = export_rows(build(caller, params).order_by(model.id.desc()), model, columns)
        return download(tag, params.get("format", "csv"), [column.heading for column in columns], rows)


def _when(value) -> str | None:
    """A naive UTC timestamp as the API writes every date-time (ISO 8601, Z)."""
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


def _cell(value):
    return json.dumps(value, default=str) if isinstance(value, (list, dict)) else value


def _register_bulk(api) -> None:
    @api.route("POST", "/cases/bulk/reassign", summary="Reassign many cases (manager)", tag="Cases",
               roles=BACK_OFFICE, response="BulkOutcomes", body=_ids_body(
                   {"assigned_to_id": ID, "assignment_group_id": {**ID, "type": ["integer", "null"]}},
                   ("assigned_to_id",)), errors=(403, 422))
    def reassign(caller, params, body):
        return _outcomes(case_bulk.REASSIGN, case_bulk.bulk_reassign(
            caller.user, body["ids"], body["assigned_to_id"], body.get("assignment_group_id")))

    @api.route("POST", "/cases/bulk/set-priority", summary="Set the priority of many cases (manager)", tag="Cases",
               roles=BACK_OFFICE, response="BulkOutcomes",
               body=_ids_body({"priority": {"type": "integer", "minimum": 1, "maximum": 4}}, ("priority",)),
               errors=(403, 422))
    def set_priority(caller, params, body):
        return _outcomes(case_bulk.SET_PRIORITY, case_bulk.bulk_set_priority(caller.user, body["ids"],
                                                                             body["priority"]))

    @api.route("POST", "/cases/bulk/close", summary="Close many resolved cases", tag="Cases", roles=BACK_OFFICE,
               response="BulkOutcomes", body=_ids_body(), errors=(403, 422))
    def close(caller, params, body):
        return _outcomes(case_bulk.CLOSE, case_bulk.bulk_close(caller.user, body["ids"]))

    @api.route("POST", "/orders/bulk/approve", summary="Approve many orders (manager)", tag="Orders",
               roles=BACK_OFFICE, response="BulkOutcomes", body=_ids_body(), errors=(403, 422))
    def approve(caller, params, body):
        return _outcomes(order_bulk.APPROVE, order_bulk.bulk_approve(caller.user, body["ids"]))

    @api.route("POST", "/orders/bulk/reject", summary="Reject many orders with one reason (manager)", tag="Orders",
               roles=BACK_OFFICE, response="BulkOutcomes", body=_ids_body({"reason": text(1000, required=True)},
                                                                          ("reason",)), errors=(403, 422))
    def reject(caller, params, body):
        return _outcomes(order_bulk.REJECT, order_bulk.bulk_reject(caller.user, body["ids"], body["reason"]))

    @api.route("POST", "/order-lines/bulk/start", summary="Start many order lines", tag="Order lines",
               roles=BACK_OFFICE, response="BulkOutcomes", body=_ids_body(), errors=(403, 422))
    def start(caller, params, body):
        return _outcomes(order_bulk.START, order_bulk.bulk_start_lines(caller.user, body["ids"]))

    @api.route("POST", "/order-lines/bulk/complete", summary="Complete many order lines", tag="Order lines",
               roles=BACK_OFFICE, response="BulkOutcomes", body=_ids_body(), errors=(403, 422))
    def complete(caller, params, body):
        return _outcomes(order_bulk.COMPLETE, order_bulk.bulk_complete_lines(caller.user, body["ids"]))


def _register_approvals(api) -> None:
    @api.route("GET", "/approvals", summary="The approvals inbox: orders and quotes awaiting a manager, oldest "
               "first", tag="Approvals", roles=MANAGERS, response="ApprovalsInbox", query=[
                   {"name": "page", "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}}],
               errors=())
    def inbox(caller, params, body):
        page = params.get("page", 1)
        total, rows = approvals.inbox_page(page)
        return {"count": total, "page": page, "items": [
            {"key": row.key, "kind": row.kind, "id": row.id, "number": row.number, "label": row.label,
             "account": row.account, "channel": row.channel, "value": str(row.value), "currency": row.currency,
             "waiting_since": _when(row.since), "age": row.age,
             "enrichment_issues": row.issues} for row in rows]}

    @api.route("POST", "/approvals/decide", summary="Approve, or reject with a reason, inbox rows", tag="Approvals",
               roles=MANAGERS, response="BulkOutcomes", body={
                   "type": "object", "properties": {
                       "ids": {"type": "array", "minItems": 1, "maxItems": 500,
                               "items": {"type": "string", "pattern": "^(order|quote)-[0-9]{1,10}$"}},
                       "decision": {"type": "string", "enum": ["approve", "reject"]},
                       "reason": text(1000)},
                   "required": ["ids", "decision"], "additionalProperties": False}, errors=(403, 422))
    def decide(caller, params, body):
        approve = body["decision"] == "approve"
        outcomes = approvals.decide(caller.user, body["ids"], approve, body.get("reason", ""))
        if not outcomes:
            raise ApiError(422, "Nothing was selected.")
        return _outcomes("Approve" if approve else "Reject", outcomes)

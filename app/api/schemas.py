"""The REST API's resource shapes: one declaration per resource gives both the JSON a record is
rendered as and the JSON Schema the OpenAPI document publishes, so the two cannot drift apart."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Callable

from app.core.input_guard import MAX_TEXT
from app.core.choices import (
    CaseOrigin,
    CaseState,
    InteractionChannel,
    InteractionState,
    LineAction,
    LineState,
    OrderChannel,
    OrderLineState,
    OrderState,
    OrderType,
    PriceType,
    ReasonCode,
    RequestType,
    ResolutionCode,
    Scope,
    TaskState,
)

# Amounts travel as decimal strings so no client loses cents to binary floating point.
MONEY_PATTERN = r"^-?\d{1,12}\.\d{2}$"


def nullable(schema: dict) -> dict:
    """The same schema, also accepting null (JSON Schema 2020-12, as OpenAPI 3.1 uses it)."""
    schema = dict(schema)
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    return schema


INTEGER = {"type": "integer"}
ID = {"type": "integer", "minimum": 1}
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
MONEY = {"type": "string", "pattern": MONEY_PATTERN}
PRIORITY = {"type": "integer", "enum": [1, 2, 3, 4], "description": "1 Critical, 2 High, 3 Moderate, 4 Low"}
NUMBER = {"type": "string", "description": "Human record number (prefix + 7 digits)"}
ORDER_PRIORITY = {"type": "integer", "minimum": 0, "maximum": 4,
                  "description": "0 (highest, set by TMF clients) to 4 (lowest, the default)"}


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


def enum(vocabulary) -> dict:
    return {"type": "string", "enum": list(vocabulary.ALL)}


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    return value


class Resource:
    """Fields of one resource: name → (schema, how to read it from the record, may it be null)."""

    def __init__(self, name: str, description: str, fields: list[tuple]):
        self.name = name
        self.description = description
        self.fields: list[tuple[str, dict, Callable | None, bool]] = []
        for spec in fields:
            field, schema, *rest = spec
            is_nullable = rest[0] if rest else True
            getter = rest[1] if len(rest) > 1 else None
            self.fields.append((field, schema, getter, is_nullable))

    def render(self, record) -> dict:
        return {
            field: _json_value(getter(record) if getter else getattr(record, field))
            for field, _schema, getter, _nullable in self.fields
        }

    def schema(self) -> dict:
        return {
            "type": "object",
            "description": self.description,
            "properties": {field: nullable(schema) if is_nullable else schema
                           for field, schema, _getter, is_nullable in self.fields},
            "required": [field for field, *_rest in self.fields],
            "additionalProperties": False,
        }


AUDITED = [
    ("version", {"type": "integer", "minimum": 1, "description": "Send it back with every write (optimistic lock)"},
     False),
    ("created_on", DATETIME, False),
    ("changed_on", DATETIME, False),
    ("created_by_id", ID),
    ("changed_by_id", ID),
]

CASE = Resource("Case", "An order case: a customer's request about one or more orders.", [
    ("id", ID, False), ("number", NUMBER, False), ("state", enum(CaseState), False),
    ("account_id", ID, False), ("contact_id", ID), ("service_id", ID), ("scope", enum(Scope), False),
    ("order_id", ID), ("origin", enum(CaseOrigin), False), ("interaction_id", ID),
    ("short_description", STRING, False), ("description", STRING), ("priority", PRIORITY, False),
    ("assignment_group_id", ID), ("assigned_to_id", ID), ("needs_attention", BOOLEAN, False),
    ("resolution_code", enum(ResolutionCode)), ("resolution_notes", STRING),
    ("opened_at", DATETIME, False), ("resolved_at", DATETIME), ("closed_at", DATETIME), *AUDITED,
])

CASE_LINE = Resource("CaseLine", "One requested change on a case: a whole order (header line) or one order line.", [
    ("id", ID, False), ("number", NUMBER, False), ("case_id", ID, False), ("order_id", ID),
    ("order_line_id", ID), ("request_type", enum(RequestType)), ("reason_code", enum(ReasonCode)),
    ("short_description", STRING), ("state", enum(LineState), False), ("priority", PRIORITY, False),
    ("assigned_to_id", ID), ("ordered_quantity", INTEGER), ("requested_quantity", INTEGER),
    ("approved_quantity", INTEGER), ("current_delivery_date", DATE), ("requested_delivery_date", DATE),
    ("approved_delivery_date", DATE), ("current_location_id", ID), ("requested_location_id", ID),
    ("current_unit_price", MONEY), ("disputed_unit_price", MONEY), ("approved_unit_price", MONEY),
    ("credit_amount", MONEY), ("replacement_offering_id", ID), ("resolution_notes", STRING),
    ("applied_at", DATETIME), ("resolved_at", DATETIME),
    ("characteristics", {"type": "object", "additionalProperties": {"type": ["string", "null"]},
                         "description": "Characteristics copied from the order line (name → value)"}, False,
     lambda line: {c.name: c.value for c in line.characteristics}),
    *AUDITED,
])

TASK_FIELDS = [
    ("subject", STRING, False), ("description", STRING), ("state", enum(TaskState), False),
    ("priority", PRIORITY, False), ("visible_to_customer", BOOLEAN, False), ("assignment_group_id", ID),
    ("assigned_to_id", ID), ("closed_at", DATETIME), *AUDITED,
]
CASE_TASK = Resource("CaseTask", "Work on a case handed to someone.", [
    ("id", ID, False), ("number", NUMBER, False), ("case_id", ID, False), *TASK_FIELDS,
])
CASE_LINE_TASK = Resource("CaseLineTask", "Work on one case line; while open the line can be neither accepted "
                          "nor denied.", [
    ("id", ID, False), ("number", NUMBER, False), ("case_line_id", ID, False), ("case_id", ID, False), *TASK_FIELDS,
])

ENRICHMENT_ISSUE = {
    "type": "object",
    "properties": {
        "id": ID, "order_line_id": nullable(ID), "kind": STRING, "reference": nullable(STRING),
        "description": STRING, "resolved": BOOLEAN,
    },
    "required": ["id", "order_line_id", "kind", "reference", "description", "resolved"],
    "additionalProperties": False,
}

ORDER = Resource("Order", "A customer order (order type product) or service order (order type service).", [
    ("id", ID, False), ("number", NUMBER, False), ("tmf_id", STRING), ("state", enum(OrderState), False),
    ("account_id", ID), ("contact_id", ID), ("order_type", enum(OrderType), False),
    ("channel", enum(OrderChannel), False), ("external_id", STRING), ("priority", ORDER_PRIORITY, False),
    ("category", STRING), ("description", STRING), ("currency", {"type": "string", "pattern": "^[A-Z]{3}$"}, False),
    ("order_date", DATETIME, False),
    # Stored as instants (TMF clients ask for a time of day); this API reads and writes their day.
    ("requested_start_date", DATE, True, lambda order: _day(order.requested_start_date)),
    ("requested_completion_date", DATE, True, lambda order: _day(order.requested_completion_date)),
    ("expected_delivery_date", DATE), ("shipping_location_id", ID), ("total_one_time", MONEY, False),
    ("total_recurring", MONEY, False), ("total_amount", MONEY, False), ("rejection_reason", STRING),
    ("completed_at", DATETIME), ("cancelled_at", DATETIME), ("cancellation_reason", STRING),
    ("enrichment_issues", {"type": "array", "items": ENRICHMENT_ISSUE,
                           "description": "References an API order carried that could not be matched"}, False,
     lambda order: [
         {"id": i.id, "order_line_id": i.order_line_id, "kind": i.kind, "reference": i.reference,
          "description": i.description, "resolved": bool(i.resolved)} for i in order.enrichment_issues
     ]),
    *AUDITED,
])

ORDER_LINE = Resource("OrderLine", "One product or service on an order.", [
    ("id", ID, False), ("number", NUMBER, False), ("order_id", ID, False), ("offering_id", ID),
    ("specification_id", ID), ("action", enum(LineAction), False), ("quantity", INTEGER, False),
    ("unit_price", MONEY, False), ("price_type", enum(PriceType), False), ("state", enum(OrderLineState), False),
    ("expected_delivery_date", DATE), ("location_id", ID), ("inventory_id", ID), ("parent_line_id", ID),
    ("replaces_line_id", ID), ("description", STRING), ("completed_at", DATETIME),
    ("characteristics", {"type": "object", "additionalProperties": {"type": ["string", "null"]},
                         "description": "Chosen characteristic values (name → value)"}, False,
     lambda line: {c.name: c.value for c in line.characteristics}),
    *AUDITED,
])

INTERACTION = Resource("Interaction", "A contact with a customer (call, chat, email, visit).", [
    ("id", ID, False), ("number", NUMBER, False), ("channel", enum(InteractionChannel), False),
    ("account_id", ID), ("contact_id", ID), ("short_description", STRING, False),
    ("state", enum(InteractionState), False), ("agent_id", ID), ("opened_at", DATETIME, False), *AUDITED,
])

ATTACHMENT = Resource("Attachment", "A file attached to a case, case line, task or order; its bytes are at "
                      "`content_url`.", [
    ("id", ID, False), ("record_type", STRING, False), ("record_id", ID, False), ("case_id", ID),
    ("filename", STRING, False), ("content_type", {**STRING, "description": "Read from the file's bytes"}, False),
    ("size", {**INTEGER, "description": "Bytes"}, False), ("sha256", STRING, False),
    ("source", {"type": "string", "enum": ["upload", "email"]}, False), ("created_by_id", ID),
    ("created_on", DATETIME, False),
    ("content_url", STRING, False, lambda attachment: f"/api/v1/attachments/{attachment.id}/content"),
])

RESOURCES = (CASE, CASE_LINE, CASE_TASK, CASE_LINE_TASK, ORDER, ORDER_LINE, INTERACTION, ATTACHMENT)

ERROR = {
    "type": "object",
    "description": "A refusal: what was refused and why; field errors name the input at fault.",
    "properties": {
        "message": STRING,
        "errors": {"type": "object", "additionalProperties": STRING},
    },
    "required": ["message"],
    "additionalProperties": False,
}

TOKEN = {
    "type": "object",
    "properties": {
        "access_token": STRING,
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer", "description": "Seconds until the token expires"},
    },
    "required": ["access_token", "token_type", "expires_in"],
    "additionalProperties": False,
}

CALLER = {
    "type": "object",
    "properties": {
        "id": ID, "username": STRING, "roles": {"type": "array", "items": STRING},
        "account_id": nullable(ID),
    },
    "required": ["id", "username", "roles", "account_id"],
    "additionalProperties": False,
}

JOURNAL_ENTRY = {
    "type": "object",
    "properties": {
        "id": ID, "record_type": STRING, "record_id": ID, "kind": {"type": "string", "enum": ["comment", "work note"]},
        "text": STRING, "author_id": nullable(ID), "created_on": DATETIME,
    },
    "required": ["id", "record_type", "record_id", "kind", "text", "author_id", "created_on"],
    "additionalProperties": False,
}


def render_journal_entry(entry) -> dict:
    return {
        "id": entry.id, "record_type": entry.record_type, "record_id": entry.record_id, "kind": entry.kind,
        "text": entry.text, "author_id": entry.author_id, "created_on": _json_value(entry.created_on),
    }


def page_schema(resource: Resource) -> dict:
    return {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 0,
                      "description": "Matching records, counted up to a cap (see count_capped)"},
            "count_capped": {"type": "boolean", "description": "True when there are more than count matches"},
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1, "maximum": 100},
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{resource.name}"}},
        },
        "required": ["count", "count_capped", "page", "page_size", "items"],
        "additionalProperties": False,
    }


def component_schemas() -> dict:
    schemas = {resource.name: resource.schema() for resource in RESOURCES}
    schemas.update({f"{resource.name}Page": page_schema(resource) for resource in RESOURCES})
    schemas.update({"Error": ERROR, "Token": TOKEN, "Caller": CALLER, "JournalEntry": JOURNAL_ENTRY})
    return schemas


# ----------------------------------------------------------------------------------------------------
# Input shapes: bounded so that nothing a database column cannot hold ever reaches a workflow

MAX_DB_INTEGER = 2_147_483_647
ID_INPUT = {"type": "integer", "minimum": 1, "maximum": MAX_DB_INTEGER}
ID_LIST = {"type": "array", "items": ID_INPUT, "maxItems": 500}
POSITIVE_INT = {"type": "integer", "minimum": 1, "maximum": MAX_DB_INTEGER}
DATE_INPUT = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
MONEY_INPUT = {
    "type": ["string", "number"],
    "pattern": r"^\d{1,12}(\.\d{1,2})?$",
    "minimum": 0,
    "maximum": 999_999_999_999,
    "description": "An amount of at most 12 digits before the point and 2 after",
}
# Text: no NUL (PostgreSQL cannot store it) or other control character, at most LONG_TEXT characters for
# free text; the web forms are held to the same rule and limit (app/core/input_guard.py).
LONG_TEXT = MAX_TEXT
CONTROL = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f"
NO_CONTROL = rf"^[^{CONTROL}]*$"


def text(max_length: int, required: bool = False) -> dict:
    schema = {"type": "string", "maxLength": max_length, "pattern": NO_CONTROL}
    if required:
        # A control character is not whitespace, so the one visible character must exclude them too.
        schema["pattern"] = rf"^[^{CONTROL}]*[^\s{CONTROL}][^{CONTROL}]*$"
        schema["description"] = "Must not be blank"
    return schema

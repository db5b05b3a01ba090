"""REST endpoints for customer and service orders and their lines, over ``app.orders.workflows``.

Back office sees every order; a customer only their account's; an integrator every order, as in the
TMF APIs. The workflows decide who may capture, submit, approve or fulfil.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.orders import workflows as flows
from app.core.choices import LineAction, OrderChannel, OrderLineState, OrderState, OrderType
from app.models import CustomerOrder, OrderLineItem
from app.api.framework import (
    MAX_DB_INTEGER,
    ORDER_READERS,
    ApiError,
    Caller,
    enum_filter,
    id_filter,
    one,
    page_params,
    paged,
    version_schema,
)
from app.api.schemas import (
    DATE_INPUT,
    ID_INPUT,
    LONG_TEXT,
    ORDER,
    ORDER_LINE,
    POSITIVE_INT,
    nullable,
    text,
)
from app.core.roles import INTEGRATOR

ORDER_OPTIONS = (selectinload(CustomerOrder.enrichment_issues),)
LINE_OPTIONS = (selectinload(OrderLineItem.characteristics),)


def visible_orders(caller: Caller):
    return caller.scope.orders() if caller.is_customer else select(CustomerOrder)


def visible_order_lines(caller: Caller):
    return caller.scope.order_lines() if caller.is_customer else select(OrderLineItem)


def find_order(caller: Caller, order_id: int) -> CustomerOrder:
    return one(visible_orders(caller).where(CustomerOrder.id == order_id), "order")


def find_order_line(caller: Caller, line_id: int) -> OrderLineItem:
    return one(visible_order_lines(caller).where(OrderLineItem.id == line_id), "order line")


def default_channel(caller: Caller, order_type: str) -> str:
    """The channel an order arrives through when the caller does not say: who they are decides."""
    if caller.back_office:
        return OrderChannel.AGENT
    if caller.is_customer:
        return OrderChannel.PORTAL
    if INTEGRATOR in caller.roles:
        return OrderChannel.TMF641 if order_type == OrderType.SERVICE else OrderChannel.TMF622
    return OrderChannel.AGENT


HEADER_FIELDS = {
    "contact_id": nullable(ID_INPUT),
    "shipping_location_id": nullable(ID_INPUT),
    "requested_start_date": nullable(DATE_INPUT),
    "requested_completion_date": nullable(DATE_INPUT),
    "expected_delivery_date": nullable(DATE_INPUT),
    "description": nullable(text(500)),
    "currency": nullable({"type": "string", "pattern": "^[A-Za-z]{3}$"}),
    "external_id": nullable(text(100)),
}

ORDER_CREATE = {
    "type": "object",
    "properties": {
        "account_id": ID_INPUT,
        "order_type": {"type": "string", "enum": list(OrderType.ALL), "default": OrderType.PRODUCT},
        "channel": {"type": "string", "enum": list(OrderChannel.ALL),
                    "description": "Default: agent for the back office, portal for customers, TMF622/TMF641 for "
                                   "integrators"},
        **HEADER_FIELDS,
    },
    "required": ["account_id"],
    "additionalProperties": False,
}

CHARACTERISTICS = {
    "type": "object",
    "maxProperties": 100,
    "propertyNames": {"maxLength": 100, "pattern": "^[^\u0000]*$"},
    "additionalProperties": nullable(text(500)),
    "description": "Characteristic values by name, checked against the offering's specification",
}

LINE_FIELDS = {
    "offering_id": nullable(ID_INPUT),
    "inventory_id": {**nullable(ID_INPUT), "description": "The inventory item a change, disconnect, suspend or "
                                                          "resume line acts on"},
    "quantity": POSITIVE_INT,
    "expected_delivery_date": nullable(DATE_INPUT),
    "location_id": nullable(ID_INPUT),
    "description": nullable(text(300)),
    "characteristics": CHARACTERISTICS,
}

LINE_CREATE = {
    "type": "object",
    "properties": {
        "order_id": ID_INPUT,
        "order_version": {"type": "integer", "minimum": 1, "maximum": MAX_DB_INTEGER,
                          "description": "The order's version as last read"},
        "action": {"type": "string", "enum": list(LineAction.ALL), "default": LineAction.ADD},
        **LINE_FIELDS,
    },
    "required": ["order_id", "order_version"],
    "additionalProperties": False,
}

VERSION_QUERY = [{"name": "version", "required": True,
                  "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DB_INTEGER},
                  "description": "The record's version as last read"}]

# (path segment, workflow function, label, body properties, required inputs, description)
ORDER_ACTIONS = [
    ("submit", flows.submit_order, "Submit", {}, (), "Draft → New; needs at least one line."),
    ("approve", flows.approve_order, "Approve", {}, (),
     "New → In progress (managers); refused while enrichment issues remain."),
    ("reject", flows.reject_order, "Reject", {"reason": text(LONG_TEXT, required=True)}, ("reason",),
     "New → Rejected (managers), with a reason; open lines are cancelled."),
    ("cancel", flows.cancel_order, "Cancel order", {"reason": nullable(text(LONG_TEXT))}, (),
     "Draft, New or In progress → Cancelled while no line is completed."),
]
LINE_ACTIONS = [
    ("start", flows.start_line, "Start", {}, (), "New → In progress on an approved order."),
    ("complete", flows.complete_line, "Complete", {}, (),
     "In progress → Completed, applying the line to the account's inventory."),
    ("cancel", flows.cancel_line, "Cancel line", {"reason": nullable(text(LONG_TEXT))}, (),
     "New or In progress → Cancelled on a submitted order."),
]


def register_order_routes(api) -> None:
    _register_orders(api)
    _register_order_lines(api)


def _register_orders(api) -> None:
    @api.route("GET", "/orders", summary="List orders", tag="Orders", roles=ORDER_READERS, response="OrderPage",
               query=[
                   enum_filter("state", OrderState, "Only orders in this state"),
                   id_filter("account_id", "Only orders of this account"),
                   enum_filter("order_type", OrderType, "Customer (product) or service orders"),
                   enum_filter("channel", OrderChannel, "Only orders that arrived through this channel"),
                   {"name": "number", "schema": text(20), "description": "The order with this number"},
                   {"name": "external_id", "schema": text(100), "description": "Orders with this external id"},
                   *page_params(),
               ], errors=())
    def list_orders(caller, params, body):
        query = visible_orders(caller)
        for name in ("state", "account_id", "order_type", "channel", "external_id"):
            if name in params:
                query = query.where(getattr(CustomerOrder, name) == params[name])
        if "number" in params:
            query = query.where(CustomerOrder.number == params["number"].strip().upper())
        return paged(query, CustomerOrder, ORDER, params, ORDER_OPTIONS)

    @api.route("POST", "/orders", summary="Create an order (Draft)", tag="Orders", roles=ORDER_READERS,
               response="Order", status=201, body=ORDER_CREATE, errors=(403, 422))
    def create_order(caller, params, body):
        data = dict(body)
        caller.refuse_foreign_references(data)
        data.setdefault("channel", default_channel(caller, data.get("order_type") or OrderType.PRODUCT))
        return ORDER.render(flows.create_order(caller.user, data))

    @api.route("GET", "/orders/{order_id}", summary="Read an order", tag="Orders", roles=ORDER_READERS,
               response="Order", errors=(404,))
    def read_order(caller, params, body, order_id):
        return ORDER.render(find_order(caller, order_id))

    @api.route("PATCH", "/orders/{order_id}", summary="Edit a Draft or New order's header", tag="Orders",
               roles=ORDER_READERS, response="Order", errors=(404, 409, 422),
               body=version_schema({"account_id": ID_INPUT, **HEADER_FIELDS}))
    def patch_order(caller, params, body, order_id):
        find_order(caller, order_id)
        data = dict(body)
        version = data.pop("version")
        return ORDER.render(flows.update_order(caller.user, order_id, version, data))

    for segment, function, label, properties, required, description in ORDER_ACTIONS:
        _order_action(api, segment, function, label, properties, required, description)


def _order_action(api, segment, function, label, properties, required, description) -> None:
    @api.route("POST", f"/orders/{{order_id}}/actions/{segment}", summary=f"{label} (order action)",
               tag="Orders", roles=ORDER_READERS, response="Order", body=version_schema(properties, required),
               errors=(404, 409, 422), description=description)
    def order_action(caller, params, body, order_id):
        find_order(caller, order_id)
        inputs = dict(body)
        version = inputs.pop("version")
        return ORDER.render(function(caller.user, order_id, version, **inputs))


def _register_order_lines(api) -> None:
    @api.route("GET", "/order-lines", summary="List order lines", tag="Order lines", roles=ORDER_READERS,
               response="OrderLinePage", query=[
                   id_filter("order_id", "Only lines of this order"),
                   enum_filter("state", OrderLineState, "Only lines in this state"),
                   enum_filter("action", LineAction, "Only lines with this action"),
                   *page_params(),
               ], errors=())
    def list_order_lines(caller, params, body):
        query = visible_order_lines(caller)
        for name in ("order_id", "state", "action"):
            if name in params:
                query = query.where(getattr(OrderLineItem, name) == params[name])
        return paged(query, OrderLineItem, ORDER_LINE, params, LINE_OPTIONS)

    @api.route("POST", "/order-lines", summary="Add a line to a Draft or New order", tag="Order lines",
               roles=ORDER_READERS, response="OrderLine", status=201, body=LINE_CREATE, errors=(404, 409, 422))
    def create_order_line(caller, params, body):
        data = dict(body)
        order_id = data.pop("order_id")
        find_order(caller, order_id)
        caller.refuse_foreign_references(data)
        version = data.pop("order_version")
        return ORDER_LINE.render(flows.add_line(caller.user, order_id, version, data))

    @api.route("GET", "/order-lines/{line_id}", summary="Read an order line", tag="Order lines",
               roles=ORDER_READERS, response="OrderLine", errors=(404,))
    def read_order_line(caller, params, body, line_id):
        return ORDER_LINE.render(find_order_line(caller, line_id))

    @api.route("PATCH", "/order-lines/{line_id}", summary="Edit a Draft or New line", tag="Order lines",
               roles=ORDER_READERS, response="OrderLine", body=version_schema(LINE_FIELDS), errors=(404, 409, 422))
    def patch_order_line(caller, params, body, line_id):
        find_order_line(caller, line_id)
        data = dict(body)
        version = data.pop("version")
        return ORDER_LINE.render(flows.update_line(caller.user, line_id, version, data))

    @api.route("DELETE", "/order-lines/{line_id}", summary="Remove a line from a Draft or New order",
               tag="Order lines", roles=ORDER_READERS, query=VERSION_QUERY, status=204, errors=(404, 409, 422))
    def delete_order_line(caller, params, body, line_id):
        find_order_line(caller, line_id)
        if "version" not in params:
            raise ApiError(422, "Deleting needs the record's version as last read.", {"version": "Required"})
        flows.delete_line(caller.user, line_id, params["version"])

    for segment, function, label, properties, required, description in LINE_ACTIONS:
        _line_action(api, segment, function, label, properties, required, description)


def _line_action(api, segment, function, label, properties, required, description) -> None:
    @api.route("POST", f"/order-lines/{{line_id}}/actions/{segment}", summary=f"{label} (order line action)",
               tag="Order lines", roles=ORDER_READERS, response="OrderLine",
               body=version_schema(properties, required), errors=(404, 409, 422), description=description)
    def line_action(caller, params, body, line_id):
        find_order_line(caller, line_id)
        inputs = dict(body)
        version = inputs.pop("version")
        return ORDER_LINE.render(function(caller.user, line_id, version, **inputs))

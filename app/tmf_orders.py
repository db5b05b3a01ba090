"""TMF622 product orders and TMF641 service orders over the ordinary order tables.

One implementation serves both APIs through an ``OrderApi`` profile. Orders created here are ordinary
customer orders (channel TMF622/TMF641, state New, awaiting approval); references that match nothing
in our data are kept on the order as enrichment issues instead of being refused.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import request
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from .choices import (
    EnrichmentKind,
    InventoryState,
    LineAction,
    OrderChannel,
    OrderLineState,
    OrderState,
    OrderType,
)
from .extensions import db
from .models import (
    Account,
    Contact,
    CustomerOrder,
    EnrichmentIssue,
    Location,
    OrderLineCharacteristic,
    OrderLineItem,
    ProductInventory,
    ProductOffering,
    ProductSpecification,
)
from .order_workflows import recompute_totals
from .tmf_common import TmfError, parse_datetime, tmf_datetime
from .workflow_base import audit


@dataclass(frozen=True)
class OrderApi:
    key: str
    base_path: str
    resource: str
    resource_type: str
    item_key: str
    item_type: str
    value_key: str  # "product" or "service": the item's described entity
    characteristic_key: str
    specification_key: str
    order_type: str
    cancel_resource: str
    cancel_type: str
    cancel_accepted_state: str
    create_only_fields: tuple[str, ...]

    def href(self, tmf_id: str) -> str:
        return f"{request.host_url.rstrip('/')}{self.base_path}/{self.resource}/{tmf_id}"

    def cancel_href(self, tmf_id: str) -> str:
        return f"{request.host_url.rstrip('/')}{self.base_path}/{self.cancel_resource}/{tmf_id}"


PRODUCT_ORDERING = OrderApi(
    key=OrderChannel.TMF622,
    base_path="/tmf-api/productOrderingManagement/v4",
    resource="productOrder",
    resource_type="ProductOrder",
    item_key="productOrderItem",
    item_type="ProductOrderItem",
    value_key="product",
    characteristic_key="productCharacteristic",
    specification_key="productSpecification",
    order_type=OrderType.PRODUCT,
    cancel_resource="cancelProductOrder",
    cancel_type="CancelProductOrder",
    cancel_accepted_state="acknowledged",
    create_only_fields=("id", "href", "orderDate", "state", "completionDate", "expectedCompletionDate"),
)

SERVICE_ORDERING = OrderApi(
    key=OrderChannel.TMF641,
    base_path="/tmf-api/serviceOrdering/v4",
    resource="serviceOrder",
    resource_type="ServiceOrder",
    item_key="serviceOrderItem",
    item_type="ServiceOrderItem",
    value_key="service",
    characteristic_key="serviceCharacteristic",
    specification_key="serviceSpecification",
    order_type=OrderType.SERVICE,
    cancel_resource="cancelServiceOrder",
    cancel_type="CancelServiceOrder",
    cancel_accepted_state="accepted",
    create_only_fields=("id", "href", "orderDate", "state", "completionDate", "expectedCompletionDate", "startDate"),
)

ORDER_STATE_TO_TMF = {
    OrderState.DRAFT: "acknowledged",
    OrderState.NEW: "acknowledged",
    OrderState.IN_PROGRESS: "inProgress",
    OrderState.COMPLETED: "completed",
    OrderState.CANCELLED: "cancelled",
    OrderState.REJECTED: "rejected",
}
LINE_STATE_TO_TMF = {
    OrderLineState.DRAFT: "acknowledged",
    OrderLineState.NEW: "acknowledged",
    OrderLineState.IN_PROGRESS: "inProgress",
    OrderLineState.COMPLETED: "completed",
    OrderLineState.CANCELLED: "cancelled",
}
_ONE_MILLISECOND = dt.timedelta(milliseconds=1)
TMF_ORDER_STATES = (
    "acknowledged", "rejected", "pending", "held", "inProgress", "cancelled", "completed", "failed", "partial",
    "assessingCancellation", "pendingCancellation",
)
ACTION_FROM_TMF = {
    "add": LineAction.ADD,
    "modify": LineAction.CHANGE,
    "delete": LineAction.DISCONNECT,
    "noChange": LineAction.NO_CHANGE,
}
ACTION_TO_TMF = {
    LineAction.ADD: "add",
    LineAction.CHANGE: "modify",
    LineAction.SUSPEND: "modify",
    LineAction.RESUME: "modify",
    LineAction.DISCONNECT: "delete",
    LineAction.NO_CHANGE: "noChange",
}
ORGANISATION_PARTY_TYPES = {"organization", "organisation", "customer", "account", "businesspartner", "party"}
# Attributes held in columns; everything else the client sent is kept in ``extra`` and echoed back.
MODELED_ORDER_FIELDS = {
    "externalId", "description", "category", "priority", "requestedStartDate", "requestedCompletionDate",
}
MODELED_ITEM_FIELDS = {"id", "action", "quantity", "state", "@type"}


# ---------------------------------------------------------------- representation

def order_query(api: OrderApi):
    return (
        select(CustomerOrder)
        .where(CustomerOrder.order_type == api.order_type)
        .options(
            selectinload(CustomerOrder.lines).selectinload(OrderLineItem.offering),
            selectinload(CustomerOrder.lines).selectinload(OrderLineItem.specification),
            selectinload(CustomerOrder.lines).selectinload(OrderLineItem.characteristics),
            selectinload(CustomerOrder.lines).selectinload(OrderLineItem.location),
            selectinload(CustomerOrder.lines).selectinload(OrderLineItem.inventory),
            selectinload(CustomerOrder.account),
            selectinload(CustomerOrder.contact),
        )
    )


def render_item(api: OrderApi, line: OrderLineItem) -> dict:
    item = dict(line.extra or {})
    item["id"] = line.external_item_id or line.number
    item["action"] = ACTION_TO_TMF.get(line.action, "add")
    item["quantity"] = line.quantity
    item["state"] = LINE_STATE_TO_TMF.get(line.state, "acknowledged")
    item["@type"] = api.item_type
    if api.key == OrderChannel.TMF622 and line.offering is not None and "productOffering" not in item:
        item["productOffering"] = {"id": line.offering.number, "name": line.offering.name}
    if api.value_key not in item:
        described: dict[str, Any] = {}
        if line.inventory is not None:
            described["id"] = line.inventory.number
        if line.specification is not None:
            described[api.specification_key] = {"id": line.specification.number, "name": line.specification.name}
        if line.characteristics:
            described[api.characteristic_key] = [{"name": c.name, "value": c.value} for c in line.characteristics]
        if line.location is not None:
            role = "deliveryAddress" if api.key == OrderChannel.TMF622 else "installationAddress"
            described["place"] = [{"id": line.location.number, "name": str(line.location), "role": role}]
        if described or api.key == OrderChannel.TMF641:
            item[api.value_key] = described
    return item


def render_order(api: OrderApi, order: CustomerOrder) -> dict:
    document = dict(order.extra or {})
    document.update(
        {
            "id": order.tmf_id,
            "href": api.href(order.tmf_id),
            "@type": api.resource_type,
            "orderDate": tmf_datetime(order.order_date),
            "state": ORDER_STATE_TO_TMF.get(order.state, "acknowledged"),
            "priority": document.get("priority") if "priority" in document else str(order.priority),
        }
    )
    for key, value in (
        ("externalId", order.external_id),
        ("description", order.description),
        ("category", order.category),
        ("requestedStartDate", tmf_datetime(order.requested_start_date)),
        ("requestedCompletionDate", tmf_datetime(order.requested_completion_date)),
        ("completionDate", tmf_datetime(order.completed_at)),
        ("expectedCompletionDate", tmf_datetime(order.expected_delivery_date)),
    ):
        if value is not None:
            document[key] = value
        else:
            document.pop(key, None)
    if "relatedParty" not in document:
        parties = []
        if order.account is not None:
            parties.append({"id": order.account.number, "name": order.account.name, "role": "customer",
                            "@referredType": "Organization"})
        if order.contact is not None:
            parties.append({"id": order.contact.number, "name": order.contact.name, "role": "contact",
                            "@referredType": "Individual"})
        document["relatedParty"] = parties
    document[api.item_key] = [render_item(api, line) for line in order.lines]
    return document


# ---------------------------------------------------------------- filtering

def apply_filters(api: OrderApi, query, filters: dict[str, list[str]]):
    """SQL conditions for the attributes held in columns; returns (query, filters left for Python)."""
    leftover = {}
    for name, values in filters.items():
        if name == "id":
            query = query.where(CustomerOrder.tmf_id.in_(values))
        elif name == "externalId":
            query = query.where(CustomerOrder.external_id.in_(values))
        elif name == "category":
            query = query.where(CustomerOrder.category.in_(values))
        elif name == "description":
            query = query.where(CustomerOrder.description.in_(values))
        elif name == "state":
            ours = [state for state, tmf in ORDER_STATE_TO_TMF.items() if tmf in values]
            query = query.where(CustomerOrder.state.in_(ours))
        elif name == "priority":
            numbers = [int(v) for v in values if v.isdigit()]
            query = query.where(CustomerOrder.priority.in_(numbers))
        elif name == "orderDate":
            # Dates are shown with milliseconds: match the whole millisecond the client saw.
            windows = []
            for value in values:
                moment = parse_datetime(value, "orderDate")
                start = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
                windows.append(and_(CustomerOrder.order_date >= start,
                                    CustomerOrder.order_date < start + _ONE_MILLISECOND))
            query = query.where(or_(*windows))
        else:
            leftover[name] = values
    return query, leftover


def matches_document(document: dict, filters: dict[str, list[str]]) -> bool:
    """Filters on attributes without a column, including dotted paths into item arrays."""
    for name, values in filters.items():
        if not any(str(candidate) in values for candidate in _values_at(document, name.split("."))):
            return False
    return True


def _values_at(node: Any, path: list[str]):
    if not path:
        if isinstance(node, list):
            yield from node
        elif node is not None:
            yield node
        return
    if isinstance(node, list):
        for element in node:
            yield from _values_at(element, path)
    elif isinstance(node, dict) and path[0] in node:
        yield from _values_at(node[path[0]], path[1:])


# ---------------------------------------------------------------- create

def validate_create(api: OrderApi, body: dict) -> list[dict]:
    """Structural checks that refuse a POST with 400; returns the items."""
    owned = [field for field in api.create_only_fields if field in body]
    if owned:
        raise TmfError(400, "Server-owned attribute", f"{', '.join(owned)} may not be set by the client")
    items = body.get(api.item_key)
    if not isinstance(items, list) or not items:
        raise TmfError(400, "Missing attribute", f"{api.item_key} must be a non-empty array")
    seen = set()
    for position, item in enumerate(items):
        where = f"{api.item_key}[{position}]"
        if not isinstance(item, dict):
            raise TmfError(400, "Invalid attribute", f"{where} must be an object")
        if "state" in item:
            raise TmfError(400, "Server-owned attribute", f"{where}.state may not be set by the client")
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            raise TmfError(400, "Missing attribute", f"{where}.id is required (a string)")
        if item_id in seen:
            raise TmfError(400, "Invalid attribute", f"{where}.id {item_id!r} is used twice in the order")
        seen.add(item_id)
        if not isinstance(item.get("action"), str) or item["action"] not in ACTION_FROM_TMF:
            raise TmfError(400, "Invalid attribute", f"{where}.action must be one of {', '.join(ACTION_FROM_TMF)}")
        if "quantity" in item and (not isinstance(item["quantity"], int) or isinstance(item["quantity"], bool)
                                   or item["quantity"] < 1):
            raise TmfError(400, "Invalid attribute", f"{where}.quantity must be a positive integer")
        described = item.get(api.value_key)
        if api.key == OrderChannel.TMF641 and not isinstance(described, dict):
            raise TmfError(400, "Missing attribute", f"{where}.service is required (an object)")
        if described is not None and not isinstance(described, dict):
            raise TmfError(400, "Invalid attribute", f"{where}.{api.value_key} must be an object")
        specification = (described or {}).get(api.specification_key)
        if specification is not None and not (isinstance(specification, dict) and specification.get("id")):
            raise TmfError(400, "Missing attribute", f"{where}.{api.value_key}.{api.specification_key}.id is required")
        offering = item.get("productOffering")
        if offering is not None and not (isinstance(offering, dict) and offering.get("id")):
            raise TmfError(400, "Missing attribute", f"{where}.productOffering.id is required")
        for characteristic in (described or {}).get(api.characteristic_key) or []:
            if not isinstance(characteristic, dict) or not characteristic.get("name"):
                raise TmfError(400, "Missing attribute", f"{where} has a characteristic without a name")
    for party in body.get("relatedParty") or []:
        if not isinstance(party, dict) or not party.get("id") or not party.get("@referredType"):
            raise TmfError(400, "Missing attribute", "every relatedParty needs id and @referredType")
    for note in body.get("note") or []:
        if not isinstance(note, dict) or not note.get("text"):
            raise TmfError(400, "Missing attribute", "every note needs a text")
    _read_order_columns(body)
    return items


def _read_order_columns(body: dict) -> dict:
    values: dict[str, Any] = {}
    if "externalId" in body:
        values["external_id"] = _short_text(body["externalId"], "externalId", 100)
    if "description" in body:
        values["description"] = _short_text(body["description"], "description", 500)
    if "category" in body:
        values["category"] = _short_text(body["category"], "category", 100)
    if "priority" in body:
        priority = str(body["priority"]).strip()
        if priority not in {"0", "1", "2", "3", "4"}:
            raise TmfError(400, "Invalid attribute", "priority must be \"0\" to \"4\" (0 is the highest)")
        values["priority"] = max(1, int(priority))
    for field, column in (("requestedStartDate", "requested_start_date"),
                          ("requestedCompletionDate", "requested_completion_date")):
        if field in body:
            values[column] = parse_datetime(body[field], field).date() if body[field] is not None else None
    return values


def _short_text(value: Any, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, int, float)):
        raise TmfError(400, "Invalid attribute", f"{field} must be a string")
    text = str(value)
    if len(text) > limit:
        raise TmfError(400, "Invalid attribute", f"{field} is longer than {limit} characters")
    return text


def _by_reference(model, reference: Any, *extra_columns):
    """A record whose human number (or one of *extra_columns*, e.g. its name) equals *reference*."""
    if reference in (None, ""):
        return None
    reference = str(reference)
    conditions = [model.number == reference] + [column == reference for column in extra_columns]
    return db.session.scalars(select(model).where(or_(*conditions)).limit(1)).first()


def create_order(api: OrderApi, body: dict, user) -> CustomerOrder:
    """Create a New order from a TMF body; unmatched references become enrichment issues."""
    items = validate_create(api, body)
    columns = _read_order_columns(body)
    order = CustomerOrder(
        order_type=api.order_type,
        channel=api.key,
        state=OrderState.NEW,
        extra={key: value for key, value in body.items() if key not in MODELED_ORDER_FIELDS or key == "priority"},
        **columns,
    )
    issues: list[EnrichmentIssue] = []
    _match_parties(order, body.get("relatedParty") or [], issues)
    db.session.add(order)
    for item in items:
        order.lines.append(_line_from_item(api, order, item, issues))
    order.enrichment_issues.extend(issues)
    db.session.flush()
    recompute_totals(order)
    audit(order, "state", None, order.state, action=f"Created via {api.key}")
    return order


def _match_parties(order: CustomerOrder, parties: list[dict], issues: list[EnrichmentIssue]) -> None:
    for party in parties:
        referred = str(party.get("@referredType", "")).lower()
        reference = party.get("id")
        if referred in ORGANISATION_PARTY_TYPES or party.get("role") == "customer":
            account = _by_reference(Account, reference, Account.name)
            if account is not None and order.account is None:
                order.account = account
                continue
        else:
            contact = _by_reference(Contact, reference, Contact.email)
            if contact is not None and order.contact is None:
                order.contact = contact
                order.account = order.account or contact.account
                continue
        issues.append(EnrichmentIssue(kind=EnrichmentKind.PARTY, reference=str(reference)[:200],
                                      description=f"Unknown party {reference} ({party.get('@referredType')})"))
    if order.account is None and not any(issue.kind == EnrichmentKind.PARTY for issue in issues):
        issues.append(EnrichmentIssue(kind=EnrichmentKind.PARTY, reference="",
                                      description="The order names no customer account"))
    if order.account is not None:
        order.shipping_location = order.account.shipping_location
        order.currency = order.currency or "USD"


def _line_from_item(api: OrderApi, order: CustomerOrder, item: dict, issues: list) -> OrderLineItem:
    described = item.get(api.value_key) or {}
    action = ACTION_FROM_TMF[item["action"]]
    line = OrderLineItem(
        external_item_id=item["id"],
        action=action,
        quantity=item.get("quantity", 1),
        state=OrderLineState.NEW,
        extra={key: value for key, value in item.items() if key not in MODELED_ITEM_FIELDS},
    )
    label = f"item {item['id']}"

    offering_ref = (item.get("productOffering") or {}).get("id")
    if offering_ref:
        line.offering = _by_reference(ProductOffering, offering_ref, ProductOffering.name)
        if line.offering is None:
            issues.append(_issue(EnrichmentKind.OFFERING, offering_ref, f"Unknown product offering {offering_ref} ({label})", line))
    elif api.key == OrderChannel.TMF622 and action == LineAction.ADD:
        issues.append(_issue(EnrichmentKind.OFFERING, "", f"No product offering given ({label})", line))

    specification_ref = (described.get(api.specification_key) or {}).get("id")
    if specification_ref:
        line.specification = _by_reference(ProductSpecification, specification_ref, ProductSpecification.name)
        if line.specification is None:
            issues.append(_issue(EnrichmentKind.SPECIFICATION, specification_ref,
                                 f"Unknown specification {specification_ref} ({label})", line))
    if line.specification is None and line.offering is not None:
        line.specification = line.offering.specification

    places = described.get("place") or []
    place_ref = (places[0] if isinstance(places, list) and places else places if isinstance(places, dict) else {}).get("id")
    if place_ref:
        line.location = _by_reference(Location, place_ref, Location.name)
        if line.location is None:
            issues.append(_issue(EnrichmentKind.LOCATION, place_ref, f"Unknown place {place_ref} ({label})", line))
    else:
        line.location = order.shipping_location

    if action in LineAction.ON_INVENTORY:
        inventory_ref = described.get("id")
        inventory = _by_reference(ProductInventory, inventory_ref)
        if inventory is None or inventory.state == InventoryState.INACTIVE or (
            order.account is not None and inventory.account_id != order.account.id
        ):
            issues.append(_issue(EnrichmentKind.PARTY if inventory_ref else EnrichmentKind.OFFERING,
                                 inventory_ref or "", f"No active inventory {inventory_ref or '(none given)'} "
                                 f"of the customer to {item['action']} ({label})", line))
        else:
            line.inventory = inventory

    if line.offering is not None:
        line.unit_price = line.offering.unit_price
        line.price_type = line.offering.price_type
    line.unit_price = _item_price(item, line.unit_price)
    for characteristic in described.get(api.characteristic_key) or []:
        line.characteristics.append(
            OrderLineCharacteristic(name=str(characteristic["name"])[:100], value=_as_value(characteristic.get("value")))
        )
    return line


def _issue(kind: str, reference: Any, description: str, line: OrderLineItem) -> EnrichmentIssue:
    return EnrichmentIssue(kind=kind, reference=str(reference)[:200], description=description[:500], order_line=line)


def _item_price(item: dict, default: Decimal | None) -> Decimal:
    for price in item.get("itemPrice") or []:
        amount = ((price or {}).get("price") or {}).get("taxIncludedAmount") or {}
        try:
            return Decimal(str(amount["value"]))
        except (KeyError, InvalidOperation, TypeError):
            continue
    return default if default is not None else Decimal("0")


def _as_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value)[:500]
    return str(value)[:500]


# ---------------------------------------------------------------- patch

PATCH_FORBIDDEN = ("id", "href", "orderDate", "@type")


def patch_order(api: OrderApi, order: CustomerOrder, patch: dict, user) -> None:
    """Merge-patch the order's attributes; the state may only move to cancelled (by the cancel rules)."""
    from .tmf_common import merge_patch

    forbidden = [field for field in PATCH_FORBIDDEN if field in patch]
    if forbidden:
        raise TmfError(400, "Read-only attribute", f"{', '.join(forbidden)} cannot be changed")
    if api.item_key in patch:
        raise TmfError(400, "Read-only attribute",
                       f"{api.item_key} cannot be patched; cancel the order and submit a new one")
    if "state" in patch:
        wanted = patch["state"]
        if wanted not in TMF_ORDER_STATES:
            raise TmfError(400, "Invalid attribute", f"state must be one of {', '.join(TMF_ORDER_STATES)}")
        current = ORDER_STATE_TO_TMF.get(order.state)
        if wanted != current:
            if wanted != "cancelled":
                raise TmfError(409, "Invalid state transition",
                               f"the order is {current}; clients may only move it to cancelled")
            cancel_through_workflow(order, user, reason=patch.get("cancellationReason"))
    columns = _read_order_columns(patch)
    for column, value in columns.items():
        if getattr(order, column) != value:
            audit(order, column, getattr(order, column), value, action=f"Updated via {api.key}")
            setattr(order, column, value)
    remaining = {key: value for key, value in patch.items() if key not in MODELED_ORDER_FIELDS and key != "state"}
    if "priority" in patch:
        remaining["priority"] = patch["priority"]
    if remaining:
        order.extra = merge_patch(order.extra or {}, remaining)


def cancel_through_workflow(order: CustomerOrder, user, reason: str | None) -> None:
    """Cancel by the order rules (no completed line; not already final); refusals become 409."""
    from .exceptions import DomainError
    from .order_workflows import cancel_order

    try:
        cancel_order(user, order.id, None, reason=reason)
    except DomainError as refusal:
        raise TmfError(409 if refusal.status_code == 409 else 403 if refusal.status_code == 403 else 400,
                       "Cancellation refused", refusal.message) from refusal

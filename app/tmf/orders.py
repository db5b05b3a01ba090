"""TMF622 product orders and TMF641 service orders over the ordinary order tables.

One implementation serves both APIs through an ``OrderApi`` profile. Orders created here are ordinary
customer orders (channel TMF622/TMF641, state New, awaiting approval); references that match nothing
in our data are kept on the order as enrichment issues instead of being refused.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import request
from sqlalchemy import insert, select, true
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.core.choices import (
    EnrichmentKind,
    InventoryState,
    LineAction,
    OrderChannel,
    OrderLineState,
    OrderState,
    OrderType,
    PriceType,
)
from app.core.extensions import db
from app.core.model_base import acting_user_id, allocate_numbers, utcnow
from app.models import (
    Account,
    AuditEvent,
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
from app.orders.enrichment import find_by_reference
from app.orders.rules import ZERO, offering_kind, order_totals
from app.tmf.common import TmfError, fits_numeric, object_list, parse_datetime, text_for_column, tmf_datetime
from app.tmf.schemas import check_body
from app.tmf import versions
from app.core.workflow_base import as_text


ORDER_STATE_TO_TMF = {
    OrderState.DRAFT: "acknowledged",
    OrderState.NEW: "acknowledged",
    OrderState.IN_PROGRESS: "inProgress",
    OrderState.COMPLETED: "completed",
    OrderState.CANCELLED: "cancelled",
    OrderState.REJECTED: "rejected",
}
# v5 shows the desk's drafts as drafts (v4 has no such state).
ORDER_STATE_TO_TMF_V5 = {**ORDER_STATE_TO_TMF, OrderState.DRAFT: "draft"}

# Attributes held in columns; everything else the client sent is kept in ``extra`` and echoed back.
MODELED_ORDER_FIELDS = {
    "externalId", "description", "category", "priority", "requestedStartDate", "requestedCompletionDate",
    "cancellationDate", "cancellationReason",
}


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
    spec: str = ""  # the official document (app/tmf/specs/) and its request definitions
    create_definition: str = ""
    update_definition: str = ""
    cancel_definition: str = ""
    hub_definition: str = "EventSubscriptionInput"
    version: int = 4
    order_date_key: str = "orderDate"
    external_id_path: str = "externalId"
    order_states: dict = field(default_factory=lambda: ORDER_STATE_TO_TMF)
    # Hub registrations of this profile: a listener hears events in the version it registered through.
    hub_key: str = ""
    # Attributes read into columns and not kept in ``extra`` (v5 keeps its externalId array there too).
    modeled_order_fields: frozenset = field(default_factory=lambda: frozenset(MODELED_ORDER_FIELDS))

    @property
    def subscription_key(self) -> str:
        return self.hub_key or self.key

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
    spec="TMF622-ProductOrder-v4.0.0.swagger.json",
    create_definition="ProductOrder_Create",
    update_definition="ProductOrder_Update",
    cancel_definition="CancelProductOrder_Create",
    create_only_fields=("id", "href", "orderDate", "state", "completionDate", "expectedCompletionDate",
                        "cancellationDate", "cancellationReason"),
)

# The same resources as v4, in v5's documents and shapes.
PRODUCT_ORDERING_V5 = replace(
    PRODUCT_ORDERING,
    base_path="/tmf-api/productOrderingManagement/v5",
    spec="TMF622-ProductOrdering-v5.0.0.oas.json",
    create_definition="ProductOrder_FVO",
    update_definition="ProductOrder_MVO",
    cancel_definition="CancelProductOrder_FVO",
    hub_definition="Hub_FVO",
    create_only_fields=("id", "href", "creationDate", "orderDate", "state", "completionDate",
                        "expectedCompletionDate", "cancellationDate", "cancellationReason"),
    version=5,
    order_date_key="creationDate",
    external_id_path="externalId.id",
    order_states=ORDER_STATE_TO_TMF_V5,
    hub_key="TMF622v5",
    modeled_order_fields=frozenset(MODELED_ORDER_FIELDS - {"externalId"}),
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
    spec="TMF641-Service_Ordering-v4.0.0.swagger.json",
    create_definition="ServiceOrder_Create",
    update_definition="ServiceOrder_Update",
    cancel_definition="CancelServiceOrder_Create",
    create_only_fields=("id", "href", "orderDate", "state", "completionDate", "expectedCompletionDate", "startDate",
                        "cancellationDate", "cancellationReason"),
)

# Every profile served, v4 first: the orders of one type are shown by each profile of that type.
PROFILES = (PRODUCT_ORDERING, PRODUCT_ORDERING_V5, SERVICE_ORDERING)


def profiles_of(order_type: str) -> tuple[OrderApi, ...]:
    return tuple(profile for profile in PROFILES if profile.order_type == order_type)


LINE_STATE_TO_TMF = {
    OrderLineState.DRAFT: "acknowledged",
    OrderLineState.NEW: "acknowledged",
    OrderLineState.IN_PROGRESS: "inProgress",
    OrderLineState.COMPLETED: "completed",
    OrderLineState.CANCELLED: "cancelled",
}
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
MODELED_ITEM_FIELDS = {"id", "action", "quantity", "state", "@type"}
# Attributes of TMF622/TMF641 v4 bodies that are arrays of objects, at each level of the order.
ORDER_OBJECT_ARRAYS = (
    "agreement", "channel", "externalReference", "note", "orderRelationship", "orderTotalPrice", "payment",
    "productOfferingQualification", "quote", "relatedParty",
)
ITEM_OBJECT_ARRAYS = (
    "itemPrice", "itemTerm", "itemTotalPrice", "payment", "productOrderItem", "productOrderItemRelationship",
    "qualification", "serviceOrderItem", "serviceOrderItemRelationship",
)
DESCRIBED_OBJECT_ARRAYS = (
    "agreement", "feature", "note", "place", "product", "productCharacteristic", "productOrderItem",
    "productPrice", "productRelationship", "productTerm", "realizingResource", "realizingService",
    "relatedEntity", "relatedParty", "serviceCharacteristic", "serviceOrderItem", "serviceRelationship",
    "supportingResource", "supportingService",
)
# The largest value of an SQL INTEGER column (quantity); PostgreSQL refuses larger ones.
MAX_INTEGER = 2**31 - 1


# ---------------------------------------------------------------- representation

def order_query(api: OrderApi):
    """The orders *api* shows. Orders without items are drafts the desk is still building: TMF shows
    none of them, as its documents need at least one item (minItems 1)."""
    return (
        select(CustomerOrder)
        .where(CustomerOrder.order_type == api.order_type, CustomerOrder.has_items == true())
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


def echoes_extensions(api: OrderApi, order: CustomerOrder) -> bool:
    """Whether *api* shows the attributes kept in ``extra``: only in the version they were written in, as
    v4 and v5 give the same attributes different shapes (the other version shows the columns alone)."""
    # Attributes kept before versions were recorded (extra_version empty) were all written through v4.
    return (order.extra_version or 4) == api.version


def render_item(api: OrderApi, line: OrderLineItem, echo: bool = True) -> dict:
    item = dict(line.extra or {}) if echo else {}
    item["id"] = line.external_item_id or line.number
    item["action"] = ACTION_TO_TMF.get(line.action, "add")
    item["quantity"] = line.quantity
    item["state"] = LINE_STATE_TO_TMF.get(line.state, "acknowledged")
    item["@type"] = api.item_type
    if api.key == OrderChannel.TMF622 and line.offering is not None and "productOffering" not in item:
        item["productOffering"] = versions.reference(api, "ProductOfferingRef", line.offering.number,
                                                     line.offering.name)
    if api.value_key not in item:
        described: dict[str, Any] = {"@type": "Product"} if api.version >= 5 else {}
        if line.inventory is not None:
            described["id"] = line.inventory.number
        if line.specification is not None:
            described[api.specification_key] = versions.reference(
                api, "ProductSpecificationRef", line.specification.number, line.specification.name)
        if line.characteristics:
            described[api.characteristic_key] = [versions.characteristic(api, c.name, c.value)
                                                 for c in line.characteristics]
        if line.location is not None:
            role = "deliveryAddress" if api.key == OrderChannel.TMF622 else "installationAddress"
            described["place"] = [versions.place(api, line.location.number, str(line.location), role)]
        if set(described) - {"@type"} or api.key == OrderChannel.TMF641:
            item[api.value_key] = described
    return item


def render_order(api: OrderApi, order: CustomerOrder) -> dict:
    echo = echoes_extensions(api, order)
    document = dict(order.extra or {}) if echo else {}
    document.update(
        {
            "id": order.tmf_id,
            "href": api.href(order.tmf_id),
            "@type": api.resource_type,
            api.order_date_key: tmf_datetime(order.order_date),
            "state": api.order_states.get(order.state, "acknowledged"),
            "priority": str(order.priority),
        }
    )
    for key, value in (
        ("externalId", versions.external_ids(api, order.external_id, document.get("externalId"))),
        ("description", order.description),
        ("category", order.category),
        ("requestedStartDate", tmf_datetime(order.requested_start_date)),
        ("requestedCompletionDate", tmf_datetime(order.requested_completion_date)),
        ("completionDate", tmf_datetime(order.completed_at)),
        ("expectedCompletionDate", tmf_datetime(order.expected_delivery_date)),
        ("cancellationDate", tmf_datetime(order.cancelled_at)),
        ("cancellationReason", order.cancellation_reason),
    ):
        if value is not None:
            document[key] = value
        else:
            document.pop(key, None)
    if "relatedParty" not in document:
        parties = []
        if order.account is not None:
            parties.append(versions.party(api, order.account.number, order.account.name, "customer", "Organization"))
        if order.contact is not None:
            parties.append(versions.party(api, order.contact.number, order.contact.name, "contact", "Individual"))
        document["relatedParty"] = parties
    document[api.item_key] = [render_item(api, line, echo) for line in order.lines]
    return document


# ---------------------------------------------------------------- create

def validate_create(api: OrderApi, body: dict) -> list[dict]:
    """Structural checks that refuse a POST with 400; returns the items.

    Whatever create_order reads or stores must pass here, so that a bad body is refused before anything
    is written: arrays of objects hold objects, and text bound for a column fits it.
    """
    owned = [field for field in api.create_only_fields if field in body]
    if owned:
        raise TmfError(400, "Server-owned attribute", f"{', '.join(owned)} may not be set by the client")
    items = body.get(api.item_key)
    if not isinstance(items, list) or not items:
        raise TmfError(400, "Missing attribute", f"{api.item_key} must be a non-empty array")
    _check_object_arrays(body, ORDER_OBJECT_ARRAYS, "")
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
        text_for_column(item_id, f"{where}.id", OrderLineItem.__table__.c.external_item_id)
        if item_id in seen:
            raise TmfError(400, "Invalid attribute", f"{where}.id {item_id!r} is used twice in the order")
        seen.add(item_id)
        if not isinstance(item.get("action"), str) or item["action"] not in ACTION_FROM_TMF:
            raise TmfError(400, "Invalid attribute", f"{where}.action must be one of {', '.join(ACTION_FROM_TMF)}")
        if "quantity" in item and (not isinstance(item["quantity"], int) or isinstance(item["quantity"], bool)
                                   or not 1 <= item["quantity"] <= MAX_INTEGER):
            raise TmfError(400, "Invalid attribute", f"{where}.quantity must be a positive integer "
                                                     f"(at most {MAX_INTEGER})")
        _check_object_arrays(item, ITEM_OBJECT_ARRAYS, f"{where}.")
        _item_price(item, where)
        described = item.get(api.value_key)
        if api.key == OrderChannel.TMF641 and not isinstance(described, dict):
            raise TmfError(400, "Missing attribute", f"{where}.service is required (an object)")
        if described is not None and not isinstance(described, dict):
            raise TmfError(400, "Invalid attribute", f"{where}.{api.value_key} must be an object")
        offering = item.get("productOffering")
        if offering is not None:
            _check_reference(offering, f"{where}.productOffering")
        if described is None:
            continue
        where = f"{where}.{api.value_key}"
        _check_object_arrays(described, DESCRIBED_OBJECT_ARRAYS, f"{where}.")
        if described.get("id") is not None:
            _reference_id(described["id"], f"{where}.id")
        specification = described.get(api.specification_key)
        if specification is not None:
            _check_reference(specification, f"{where}.{api.specification_key}")
        for index, place_id in enumerate(versions.place_ids(api, described)):
            if place_id is not None:
                _reference_id(place_id, f"{where}.place[{index}].id")
        for index, characteristic in enumerate(described.get(api.characteristic_key) or []):
            named = f"{where}.{api.characteristic_key}[{index}]"
            if not characteristic.get("name"):
                raise TmfError(400, "Missing attribute", f"{named} has no name")
            text_for_column(characteristic["name"], f"{named}.name", OrderLineCharacteristic.__table__.c.name)
            value = _as_value(characteristic.get("value"))
            if value is not None:
                text_for_column(value, f"{named}.value", OrderLineCharacteristic.__table__.c.value)
    for index, party in enumerate(versions.party_references(api, body)):
        _reference_id(party["id"], f"relatedParty[{index}].id")
    for note in body.get("note") or []:
        if not isinstance(note.get("text"), str) or not note["text"]:
            raise TmfError(400, "Missing attribute", "every note needs a text")
    read_order_columns(api, body)
    check_body(api.spec, api.create_definition, body)
    return items


def _check_object_arrays(node: dict, attributes: tuple[str, ...], where: str) -> None:
    for attribute in attributes:
        object_list(node.get(attribute), f"{where}{attribute}")


def _check_reference(reference: Any, where: str) -> None:
    """A reference to one of our records: an object with an id that an enrichment issue can hold."""
    if not isinstance(reference, dict) or not reference.get("id"):
        raise TmfError(400, "Missing attribute", f"{where}.id is required")
    _reference_id(reference["id"], f"{where}.id")


def _reference_id(value: Any, where: str) -> None:
    # An id that matches none of our records is stored as the reference of an enrichment issue.
    text_for_column(value, where, EnrichmentIssue.__table__.c.reference)


def read_order_columns(api: OrderApi, body: dict) -> dict:
    columns = CustomerOrder.__table__.c
    values: dict[str, Any] = {}
    for field, column in (("externalId", columns.external_id), ("description", columns.description),
                          ("category", columns.category)):
        if field in body:
            value = versions.external_id(api, body[field]) if field == "externalId" else body[field]
            values[column.key] = None if value is None else text_for_column(value, field, column, numbers=True)
    if body.get("priority") is not None:
        # A string, as the swagger says, on POST and PATCH alike.
        priority = body["priority"]
        if not isinstance(priority, str) or priority.strip() not in {"0", "1", "2", "3", "4"}:
            raise TmfError(400, "Invalid attribute", "priority must be a string \"0\" to \"4\" (0 is the highest)")
        values["priority"] = int(priority)
    elif "priority" in body:
        values["priority"] = CustomerOrder.__table__.c.priority.default.arg
    for name, column in (("requestedStartDate", "requested_start_date"),
                         ("requestedCompletionDate", "requested_completion_date")):
        if name in body:
            values[column] = parse_datetime(body[name], name) if body[name] is not None else None
    return values


def create_order(api: OrderApi, body: dict, user) -> CustomerOrder:
    """Create a New order from a TMF body; unmatched references become enrichment issues.

    The cost does not grow with the items: references are looked up with one query per kind of record,
    the numbers are reserved in one statement, and lines, characteristics, issues and audit events are
    each written with one multi-row INSERT. The order comes back with its lines and everything the
    representation reads already loaded, so rendering it costs no query.
    """
    items = validate_create(api, body)
    columns = read_order_columns(api, body)
    parties = versions.party_references(api, body)
    references = _load_references(api, parties, items)
    order = CustomerOrder(
        order_type=api.order_type,
        channel=api.key,
        # v5 lets the client keep the order a draft, to be submitted later (PATCH state acknowledged).
        state=OrderState.DRAFT if body.get("requestedInitialState") == "draft" else OrderState.NEW,
        extra={key: value for key, value in body.items() if key not in api.modeled_order_fields},
        extra_version=api.version,
        **columns,
    )
    issues: list[dict] = []
    _match_parties(order, parties, references, issues)
    drafts = [_line_from_item(api, order, item, references, position, issues) for position, item in enumerate(items)]
    one_time, recurring = order_totals(OrderLineItem(**draft.values) for draft in drafts)
    order.total_one_time, order.total_recurring = one_time, recurring
    order.total_amount = one_time + recurring
    if not all(fits_numeric(getattr(order, field), CustomerOrder.__table__.c[field])
               for field in ("total_one_time", "total_recurring", "total_amount")):
        raise TmfError(400, "Invalid attribute", "the order's total (prices × quantities) is out of range")
    numbers = allocate_numbers(db.session.connection(), {CustomerOrder: 1, OrderLineItem: len(drafts)})
    order.number = numbers[CustomerOrder][0]
    db.session.add(order)
    db.session.flush()
    lines = _insert_lines(order, drafts, numbers[OrderLineItem])
    _insert_issues(order, lines, issues)
    _audit_creation(order, f"Created via {api.key}")
    return order


@dataclass
class _LineDraft:
    """An order line before its INSERT: column values, the records it refers to and its characteristics."""

    values: dict[str, Any]
    related: dict[str, Any]
    characteristics: list[tuple[str, str | None]]


def _place_reference(api: OrderApi, described: dict) -> Any:
    return next(iter(versions.place_ids(api, described)), None)


def _is_organisation(party: dict) -> bool:
    return str(party.get("@referredType", "")).lower() in ORGANISATION_PARTY_TYPES or party.get("role") == "customer"


def _load_references(api: OrderApi, parties: list[dict], items: list[dict]) -> dict[str, dict[str, Any]]:
    """Every record the order's references may stand for, in one query per kind of record."""
    accounts, contacts, offerings, specifications, places, inventory = [], [], [], [], [], []
    for party in parties:
        (accounts if _is_organisation(party) else contacts).append(party.get("id"))
    for item in items:
        described = item.get(api.value_key) or {}
        offerings.append((item.get("productOffering") or {}).get("id") or None)
        specifications.append((described.get(api.specification_key) or {}).get("id") or None)
        places.append(_place_reference(api, described) or None)
        if ACTION_FROM_TMF[item["action"]] in LineAction.ON_INVENTORY:
            inventory.append(described.get("id"))
    return {
        "account": find_by_reference(Account, accounts, Account.name,
                                     options=[joinedload(Account.shipping_location)]),
        "contact": find_by_reference(Contact, contacts, Contact.email,
                                     options=[joinedload(Contact.account).joinedload(Account.shipping_location)]),
        "offering": find_by_reference(ProductOffering, offerings, ProductOffering.name,
                                      options=[joinedload(ProductOffering.specification)]),
        "specification": find_by_reference(ProductSpecification, specifications, ProductSpecification.name),
        "location": find_by_reference(Location, places, Location.name),
        "inventory": find_by_reference(ProductInventory, inventory),
    }


def _reference(references: dict[str, dict[str, Any]], kind: str, reference: Any):
    return None if reference in (None, "") else references[kind].get(str(reference))


def _match_parties(order: CustomerOrder, parties: list[dict], references: dict, issues: list[dict]) -> None:
    for party in parties:
        reference = party.get("id")
        if _is_organisation(party):
            account = _reference(references, "account", reference)
            if account is not None and order.account is None:
                order.account = account
                continue
        else:
            contact = _reference(references, "contact", reference)
            if contact is not None and order.contact is None:
                order.contact = contact
                order.account = order.account or contact.account
                continue
        issues.append(_issue(EnrichmentKind.PARTY, reference,
                             f"Unknown party {reference} ({party.get('@referredType')})", None))
    if order.account is None and not any(issue["kind"] == EnrichmentKind.PARTY for issue in issues):
        issues.append(_issue(EnrichmentKind.PARTY, "", "The order names no customer account", None))
    if order.account is not None:
        order.shipping_location = order.account.shipping_location
        order.currency = order.currency or "USD"


def _line_from_item(api: OrderApi, order: CustomerOrder, item: dict, references: dict, position: int,
                    issues: list[dict]) -> _LineDraft:
    described = item.get(api.value_key) or {}
    action = ACTION_FROM_TMF[item["action"]]
    label = f"item {item['id']}"
    offering = specification = location = inventory = None

    offering_ref = (item.get("productOffering") or {}).get("id")
    if offering_ref:
        offering = _reference(references, "offering", offering_ref)
        if offering is None:
            issues.append(_issue(EnrichmentKind.OFFERING, offering_ref,
                                 f"Unknown product offering {offering_ref} ({label})", position))
        elif offering_kind(offering) != api.order_type:
            # Kept as an issue for the desk to fix, so no line of the wrong kind is ever fulfilled.
            issues.append(_issue(EnrichmentKind.OFFERING, offering_ref,
                                 f"Product offering {offering.name} is a {offering_kind(offering)} offering; a "
                                 f"{api.order_type} order takes {api.order_type} offerings ({label})", position))
            offering = None
    elif api.key == OrderChannel.TMF622 and action == LineAction.ADD:
        issues.append(_issue(EnrichmentKind.OFFERING, "", f"No product offering given ({label})", position))

    specification_ref = (described.get(api.specification_key) or {}).get("id")
    if specification_ref:
        specification = _reference(references, "specification", specification_ref)
        if specification is None:
            issues.append(_issue(EnrichmentKind.SPECIFICATION, specification_ref,
                                 f"Unknown specification {specification_ref} ({label})", position))
    if specification is None and offering is not None:
        specification = offering.specification

    place_ref = _place_reference(api, described)
    if place_ref:
        location = _reference(references, "location", place_ref)
        if location is None:
            issues.append(_issue(EnrichmentKind.LOCATION, place_ref, f"Unknown place {place_ref} ({label})", position))
    else:
        location = order.shipping_location

    if action in LineAction.ON_INVENTORY:
        inventory_ref = described.get("id")
        inventory = _reference(references, "inventory", inventory_ref)
        if inventory is None or inventory.state == InventoryState.INACTIVE or (
            order.account is not None and inventory.account_id != order.account.id
        ):
            issues.append(_issue(EnrichmentKind.PARTY if inventory_ref else EnrichmentKind.OFFERING,
                                 inventory_ref or "", f"No active inventory {inventory_ref or '(none given)'} "
                                 f"of the customer to {item['action']} ({label})", position))
            inventory = None

    related = {"offering": offering, "specification": specification, "location": location, "inventory": inventory}
    values = {
        "external_item_id": item["id"],
        "action": action,
        "quantity": item.get("quantity", 1),
        "state": OrderLineState.DRAFT if order.state == OrderState.DRAFT else OrderLineState.NEW,
        "extra": {key: value for key, value in item.items() if key not in MODELED_ITEM_FIELDS},
        "unit_price": _unit_price(api, item, position, offering),
        "price_type": offering.price_type if offering is not None else PriceType.ONE_TIME,
        **{f"{name}_id": record.id if record is not None else None for name, record in related.items()},
    }
    characteristics = [(characteristic["name"], _as_value(characteristic.get("value")))
                       for characteristic in described.get(api.characteristic_key) or []]
    return _LineDraft(values, related, characteristics)


def _issue(kind: str, reference: Any, description: str, position: int | None) -> dict:
    """An enrichment issue to write, on the line of the item at *position* (None: on the order)."""
    return {"kind": kind, "reference": reference, "description": description[:500], "position": position}


def _insert_lines(order: CustomerOrder, drafts: list[_LineDraft], numbers: list[str]) -> list[OrderLineItem]:
    """Write the lines and their characteristics (one INSERT each) and load them onto the order."""
    now, user_id = utcnow(), acting_user_id.get()
    rows = [{**draft.values, "order_id": order.id, "number": number, "created_on": now, "changed_on": now,
             "created_by_id": user_id, "changed_by_id": user_id} for draft, number in zip(drafts, numbers)]
    # Multi-row INSERT ... RETURNING gives no row order on SQLite: lines are matched by their (unique)
    # number, and ordered by id as the order's relationship orders them.
    inserted = {line.number: line for line in _insert_returning(OrderLineItem, rows)}
    lines = [inserted[number] for number in numbers]
    characteristic_rows = [{"order_line_id": line.id, "name": name, "value": value}
                           for line, draft in zip(lines, drafts) for name, value in draft.characteristics]
    characteristics: dict[int, list[OrderLineCharacteristic]] = {line.id: [] for line in lines}
    for characteristic in sorted(_insert_returning(OrderLineCharacteristic, characteristic_rows), key=_by_id):
        characteristics[characteristic.order_line_id].append(characteristic)
    for line, draft in zip(lines, drafts):
        for name, record in draft.related.items():
            set_committed_value(line, name, record)
        set_committed_value(line, "order", order)
        set_committed_value(line, "characteristics", characteristics[line.id])
    set_committed_value(order, "lines", sorted(lines, key=_by_id))
    return lines


def _insert_returning(model, rows: list[dict]) -> list:
    """Insert *rows* in one statement (NULLs written out, so that every row has the same columns) and
    return them as records of the session."""
    if not rows:
        return []
    statement = insert(model).returning(model).execution_options(render_nulls=True)
    return list(db.session.scalars(statement, rows))


def _by_id(record) -> int:
    return record.id


def _insert_issues(order: CustomerOrder, lines: list[OrderLineItem], issues: list[dict]) -> None:
    if issues:
        db.session.execute(insert(EnrichmentIssue).execution_options(render_nulls=True), [
            {"order_id": order.id, "order_line_id": lines[issue["position"]].id if issue["position"] is not None
             else None, "kind": issue["kind"], "reference": issue["reference"],
             "description": issue["description"], "resolved": False}
            for issue in issues
        ])


def _audit_creation(order: CustomerOrder, action: str) -> None:
    """The audit trail of a new order, in one INSERT: its totals (from zero), then its state."""
    changes = [(field, ZERO, getattr(order, field)) for field in ("total_one_time", "total_recurring", "total_amount")
               if getattr(order, field) != ZERO]
    rows = [_audit_row(order, field, old, new, None) for field, old, new in changes]
    rows.append(_audit_row(order, "state", None, order.state, action))
    db.session.execute(insert(AuditEvent).execution_options(render_nulls=True), rows)


def _audit_row(order: CustomerOrder, field: str, old: Any, new: Any, action: str | None) -> dict:
    return {"record_type": order.__tablename__, "record_id": order.id, "record_number": order.number,
            "case_id": None, "action": action, "field": field, "old_value": as_text(old),
            "new_value": as_text(new), "user_id": acting_user_id.get(), "created_on": utcnow()}


def _item_price(item: dict, where: str) -> Decimal | None:
    """The amount of the item's first itemPrice that has one (None: no price given); 400 when it is not a
    number or does not fit the unit price column."""
    for index, price in enumerate(item.get("itemPrice") or []):
        amount = price.get("price")
        amount = amount.get("taxIncludedAmount") if isinstance(amount, dict) else None
        if not isinstance(amount, dict) or amount.get("value") is None:
            continue
        named = f"{where}.itemPrice[{index}].price.taxIncludedAmount.value"
        try:
            value = None if isinstance(amount["value"], bool) else Decimal(str(amount["value"]))
        except InvalidOperation:
            value = None
        if value is None or not fits_numeric(value, OrderLineItem.__table__.c.unit_price):
            raise TmfError(400, "Invalid attribute", f"{named} must be a number within the range of a price")
        return value
    return None


def _unit_price(api: OrderApi, item: dict, position: int, offering: ProductOffering | None) -> Decimal:
    price = _item_price(item, f"{api.item_key}[{position}]")
    if price is not None:
        return price
    return offering.unit_price if offering is not None else Decimal("0")


def _as_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)

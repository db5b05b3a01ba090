"""Order capture and fulfilment: customer and service orders, their lines, enrichment fixes and quotes.

Every public function is one workflow operation (see ``workflow_base``): it checks the role, the
record's version and state, validates its input, changes records, writes audit events and commits
once; a refusal raises a DomainError and leaves the database untouched. They take plain values (ids,
strings, dates), never a request, so the UI, the REST API and the TMF622/TMF641 APIs share them.
The rules they share with quotes and case changes (reading input, characteristics, totals, when an
order settles) are in ``order_rules``.

Decisions where the spec is silent:
- Approve releases an order for fulfilment: the order goes In progress, its lines stay New until
  fulfilment starts each one (**Start**), then **Complete** applies the inventory effect.
- Cancel line applies to lines of a submitted order (New or In progress); a Draft order's lines are
  deleted instead. An order whose lines all end Cancelled is Cancelled; an In progress order whose
  lines are all Completed or Cancelled (at least one Completed) is Completed.
- Totals count every line that is not cancelled; they are recomputed on each line change and frozen
  when the whole order is cancelled or rejected, so the order still shows what was ordered.
- Add and change lines are priced from the offering; disconnect, suspend, resume and no-change lines
  carry no charge.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from app.core.choices import (
    EnrichmentKind,
    InventoryState,
    JournalKind,
    LineAction,
    OrderChannel,
    OrderLineState,
    OrderState,
    OrderType,
    PriceType,
)
from app.core.exceptions import InvalidInput, RecordNotFound, StateConflict
from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import (
    Account,
    Contact,
    CustomerOrder,
    EnrichmentIssue,
    InventoryCharacteristic,
    Location,
    OrderCaseLine,
    OrderLineCharacteristic,
    OrderLineItem,
    ProductInventory,
    ProductOffering,
    ProductSpecification,
)
from app.orders import guards
from app.orders.guards import require_capture
from app.orders.rules import (
    LIVE_ORDER_STATES,
    OPEN_LINE_STATES,
    ZERO,
    _active_account,
    _check_location,
    _currency,
    _date,
    _get,
    _load_line,
    _load_order,
    _optional_id,
    _quantity,
    _settle_order,
    recompute_totals,
    require_offering_fits,
    validate_characteristics,
)
from app.sla.notifications import NotificationEvent, notify
from app.core.roles import AGENT, MANAGER
from app.core.workflow_base import (
    add_journal_entry,
    audit,
    lock_for_update,
    operation,
    require_back_office,
    require_state,
    set_fields,
    transition,
)

# ---------------------------------------------------------------------------------------------
# Order header
# ---------------------------------------------------------------------------------------------

def requested_instant(value: Any, field: str, label: str, current: dt.datetime | None = None) -> dt.datetime | None:
    """A requested start or completion: an instant (naive UTC) as TMF clients send it, or a day as the
    desk's forms and the REST API send it. A day is that day at midnight, unless *current* (the stored
    instant) falls on that day: then the stored time of day is kept."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value
    day = _date(value, field, label)
    if day is None:
        return None
    if current is not None and current.date() == day:
        return current
    return dt.datetime.combine(day, dt.time())


def _header_values(data: Mapping[str, Any], account: Account | None,
                   order: CustomerOrder | None = None) -> dict[str, Any]:
    """Validate the header fields present in *data* against the order's account (and *order*, when editing
    one: a requested day that is unchanged keeps the time of day an API client asked for)."""
    values: dict[str, Any] = {}
    if "contact_id" in data:
        contact = _get(Contact, _optional_id(data["contact_id"], "contact_id", "Contact"), "Contact", "contact_id")
        if contact is not None and (account is None or contact.account_id != account.id):
            raise InvalidInput(
                f"Contact {contact.name} does not belong to {account.name if account else 'the order account'}.",
                {"contact_id": "Not a contact of the account"},
            )
        values["contact_id"] = contact.id if contact else None
    if "shipping_location_id" in data:
        location = _get(
            Location, _optional_id(data["shipping_location_id"], "shipping_location_id", "Location"),
            "Location", "shipping_location_id",
        )
        _check_location(location, account, "shipping_location_id")
        values["shipping_location_id"] = location.id if location else None
    for field, label in (
        ("requested_start_date", "Requested start date"),
        ("requested_completion_date", "Requested completion date"),
    ):
        if field in data:
            values[field] = requested_instant(data[field], field, label, getattr(order, field, None))
    if "expected_delivery_date" in data:
        values["expected_delivery_date"] = _date(data["expected_delivery_date"], "expected_delivery_date",
                                                 "Expected delivery date")
    if "description" in data:
        values["description"] = (data["description"] or "").strip()[:500] or None
    if "currency" in data:
        values["currency"] = _currency(data["currency"])
    if "external_id" in data:
        values["external_id"] = (data["external_id"] or "").strip()[:100] or None
    start, end = values.get("requested_start_date"), values.get("requested_completion_date")
    if start and end and end < start:
        raise InvalidInput(
            "The requested completion date is before the requested start date.",
            {"requested_completion_date": "Before the start date"},
        )
    return values


def create_order(user, data: Mapping[str, Any]) -> CustomerOrder:
    """Create a Draft order. *data*: account_id, order_type, channel and any header field."""
    channel = data.get("channel") or OrderChannel.AGENT
    order_type = data.get("order_type") or OrderType.PRODUCT
    with operation(user):
        if channel not in OrderChannel.ALL:
            raise InvalidInput(f"Unknown channel {channel!r}.", {"channel": "Invalid choice"})
        if order_type not in OrderType.ALL:
            raise InvalidInput(f"Unknown order type {order_type!r}.", {"order_type": "Invalid choice"})
        require_capture(user, channel, "Create order", _optional_id(data.get("account_id"), "account_id", "Account"))
        account = _active_account(data.get("account_id"))
        values = _header_values(data, account)
        if "contact_id" not in data and account.primary_contact_id:
            values["contact_id"] = account.primary_contact_id
        if "shipping_location_id" not in data and order_type == OrderType.PRODUCT:
            values["shipping_location_id"] = account.shipping_location_id
        order = CustomerOrder(
            account_id=account.id, order_type=order_type, channel=channel, state=OrderState.DRAFT, **values
        )
        db.session.add(order)
        db.session.flush()
        audit(order, "state", None, OrderState.DRAFT, action="Create order")
    return order


def update_order(user, order_id: int, version, data: Mapping[str, Any]) -> CustomerOrder:
    """Edit the header of a Draft or New order; the account only while Draft and without inventory lines."""
    with operation(user):
        require_back_office(user, AGENT, "Edit order")
        order = _load_order(order_id)
        guards.require_order_editable(user, order, version)
        account = order.account
        values: dict[str, Any] = {}
        if "account_id" in data and _optional_id(data["account_id"], "account_id", "Account") != order.account_id:
            require_state(order, (OrderState.DRAFT,), "Changing the account")
            if any(line.inventory_id for line in order.lines):
                raise StateConflict(
                    "Changing the account is not allowed: lines of this order reference the account's inventory."
                )
            account = _active_account(data["account_id"])
            values["account_id"] = account.id
            if order.contact is not None and order.contact.account_id != account.id and "contact_id" not in data:
                values["contact_id"] = None
        values.update(_header_values(data, account, order))
        if "currency" in values and values["currency"] != order.currency and order.lines:
            raise InvalidInput(
                "The currency cannot change once the order has lines.", {"currency": "Order has lines"}
            )
        set_fields(order, values, action="Edit order")
    return order


# ---------------------------------------------------------------------------------------------
# Order lines
# ---------------------------------------------------------------------------------------------

def _line_values(order: CustomerOrder, data: Mapping[str, Any], line: OrderLineItem | None) -> tuple[dict, list]:
    """Validate a line's input against its order; return (column values, characteristics)."""
    action = data.get("action") or LineAction.ADD
    if action not in LineAction.ALL:
        raise InvalidInput(f"Unknown line action {action!r}.", {"action": "Invalid choice"})
    offering = _get(
        ProductOffering, _optional_id(data.get("offering_id"), "offering_id", "Offering"), "Offering", "offering_id"
    )
    inventory = _get(
        ProductInventory, _optional_id(data.get("inventory_id"), "inventory_id", "Inventory item"),
        "Inventory item", "inventory_id",
    )
    location = _get(
        Location, _optional_id(data.get("location_id"), "location_id", "Location"), "Location", "location_id"
    )
    _check_location(location, order.account, "location_id")
    raw_characteristics = data.get("characteristics") or {}

    if action in LineAction.ON_INVENTORY:
        inventory = _check_inventory_target(order, action, inventory, line)
        offering = offering or inventory.offering
        location = location or inventory.location
    elif action == LineAction.ADD:
        if offering is None:
            raise InvalidInput("An add line needs an offering.", {"offering_id": "Required"})
        if inventory is not None:
            raise InvalidInput("An add line creates a new item; it cannot reference inventory.",
                               {"inventory_id": "Only for change, disconnect, suspend or resume"})
    if offering is not None and data.get("offering_id") not in (None, ""):
        require_offering_fits(offering, order.order_type)
    if offering is not None and line is None and not offering.active:
        raise InvalidInput(f"Offering {offering.name} is no longer sold.", {"offering_id": "Inactive offering"})
    if offering is not None and offering.currency != order.currency:
        raise InvalidInput(
            f"Offering {offering.name} is priced in {offering.currency}, the order in {order.currency}.",
            {"offering_id": "Currency differs from the order"},
        )
    spec = offering.specification if offering is not None else (inventory.specification if inventory else None)

    if action == LineAction.ADD:
        characteristics = validate_characteristics(spec, raw_characteristics)
    elif action == LineAction.CHANGE:
        # A change line carries the item's full target configuration: current values, overridden.
        current = {c.name: c.value for c in inventory.characteristics}
        changed = dict(validate_characteristics(spec, raw_characteristics, require_all=False))
        characteristics = list({**current, **changed}.items())
    elif inventory is not None:
        characteristics = [(c.name, c.value) for c in inventory.characteristics]
    else:
        characteristics = []

    if action in (LineAction.ADD, LineAction.CHANGE):
        quantity = _quantity(data.get("quantity", 1))
    elif inventory is not None:
        quantity = inventory.quantity
    else:
        quantity = _quantity(data.get("quantity", 1))
    if location is None and action == LineAction.ADD:
        if order.order_type == OrderType.SERVICE:
            raise InvalidInput("Each line of a service order needs its service location.", {"location_id": "Required"})
        location = order.shipping_location
    charged = action in (LineAction.ADD, LineAction.CHANGE) and offering is not None
    values = {
        "action": action,
        "offering_id": offering.id if offering else None,
        "specification_id": spec.id if spec else None,
        "inventory_id": inventory.id if inventory else None,
        "quantity": quantity,
        "unit_price": offering.unit_price if charged else ZERO,
        "price_type": offering.price_type if offering else PriceType.ONE_TIME,
        "expected_delivery_date": _date(
            data.get("expected_delivery_date"), "expected_delivery_date", "Expected delivery date"
        ) or order.expected_delivery_date,
        "location_id": location.id if location else None,
        "description": (data.get("description") or "").strip()[:300] or None,
    }
    return values, characteristics


def _check_inventory_target(order, action, inventory, line) -> ProductInventory:
    if inventory is None:
        raise InvalidInput(
            f"A {action} line must reference an inventory item of the account.", {"inventory_id": "Required"}
        )
    if inventory.account_id != order.account_id:
        raise InvalidInput(
            f"Inventory item {inventory.number} does not belong to the order's account.",
            {"inventory_id": "Item of another account"},
        )
    needed = InventoryState.SUSPENDED if action == LineAction.RESUME else InventoryState.ACTIVE
    if inventory.state != needed:
        raise InvalidInput(
            f"A {action} line needs a {needed} inventory item; {inventory.number} is {inventory.state}.",
            {"inventory_id": f"Item is {inventory.state}"},
        )
    clash = (
        db.session.query(OrderLineItem.number)
        .join(CustomerOrder, CustomerOrder.id == OrderLineItem.order_id)
        .filter(
            OrderLineItem.inventory_id == inventory.id,
            OrderLineItem.state.in_(OPEN_LINE_STATES),
            CustomerOrder.state.in_(LIVE_ORDER_STATES),
            OrderLineItem.id != (line.id if line is not None else -1),
        )
        .first()
    )
    if clash:
        raise InvalidInput(
            f"Inventory item {inventory.number} is already on open order line {clash[0]}.",
            {"inventory_id": f"Already on {clash[0]}"},
        )
    return inventory


def _replace_characteristics(line: OrderLineItem, characteristics: list[tuple[str, str]], action: str) -> None:
    old = {c.name: c.value for c in line.characteristics}
    new = dict(characteristics)
    if old == new:
        return
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            audit(line, f"characteristic {name}"[:60], old.get(name), new.get(name), action=action)
    line.characteristics = [OrderLineCharacteristic(name=name, value=value) for name, value in characteristics]


def add_line(user, order_id: int, version, data: Mapping[str, Any]) -> OrderLineItem:
    """Add a line to a Draft or New order. *data*: action, offering_id, inventory_id, quantity,
    expected_delivery_date, location_id, description, characteristics {name: value}."""
    with operation(user):
        order = _load_order(order_id)
        guards.require_lines_addable(user, order, version)
        values, characteristics = _line_values(order, data, None)
        state = OrderLineState.DRAFT if order.state == OrderState.DRAFT else OrderLineState.NEW
        line = OrderLineItem(order=order, state=state, **values)
        line.characteristics = [OrderLineCharacteristic(name=n, value=v) for n, v in characteristics]
        db.session.add(line)
        db.session.flush()
        audit(line, "state", None, state, action="Add line")
        audit(order, "line", None, line.number, action="Add line")
        recompute_totals(order, action="Add line")
    return line


def update_line(user, line_id: int, version, data: Mapping[str, Any]) -> OrderLineItem:
    with operation(user):
        require_back_office(user, AGENT, "Edit line")
        order, line = _load_line(line_id)
        guards.require_line_editable(user, order, line, version)
        values, characteristics = _line_values(order, {"action": line.action, **data}, line)
        set_fields(line, values, action="Edit line")
        _replace_characteristics(line, characteristics, "Edit line")
        recompute_totals(order, action="Edit line")
    return line


def delete_line(user, line_id: int, version) -> None:
    """Remove a line from a Draft or New order (a submitted line that must go is cancelled instead)."""
    with operation(user):
        require_back_office(user, AGENT, "Delete line")
        order, line = _load_line(line_id)
        guards.require_line_deletable(user, order, line, version)
        case_line = db.session.query(OrderCaseLine.number).filter(OrderCaseLine.order_line_id == line.id).first()
        if case_line:
            raise StateConflict(f"Delete line is not allowed: {line.number} is on case line {case_line[0]}.")
        for issue in [i for i in order.enrichment_issues if i.order_line_id == line.id]:
            order.enrichment_issues.remove(issue)
        audit(order, "line", line.number, None, action="Delete line")
        db.session.delete(line)
        db.session.flush()
        db.session.expire(order, ["lines"])
        recompute_totals(order, action="Delete line")


# ---------------------------------------------------------------------------------------------
# Order actions
# ---------------------------------------------------------------------------------------------

def submit_order(user, order_id: int, version) -> CustomerOrder:
    """Draft → New; needs at least one line, each with its required characteristics; lines Draft → New."""
    with operation(user):
        order = _load_order(order_id)
        guards.require_submittable(user, order, version)
        lines = [line for line in order.lines if line.state != OrderLineState.CANCELLED]
        for line in lines:
            if line.action == LineAction.ADD:
                try:
                    validate_characteristics(line.specification, {c.name: c.value for c in line.characteristics})
                except InvalidInput as exc:
                    raise InvalidInput(f"Submit is not allowed: line {line.number}: {exc.message}") from exc
        transition(order, OrderState.NEW, "Submit")
        for line in lines:
            if line.state == OrderLineState.DRAFT:
                transition(line, OrderLineState.NEW, "Submit")
        notify(NotificationEvent.ORDER_SUBMITTED, order, received=utcnow())
    return order


def approve_order(user, order_id: int, version) -> CustomerOrder:
    """New → In progress (manager); refused while enrichment issues remain open."""
    with operation(user):
        require_back_office(user, MANAGER, "Approve")
        order = _load_order(order_id)
        guards.require_approvable(user, order, version)
        transition(order, OrderState.IN_PROGRESS, "Approve")
        notify(NotificationEvent.ORDER_APPROVED, order)
    return order


def reject_order(user, order_id: int, version, reason: str) -> CustomerOrder:
    """New → Rejected (manager) with a reason; open lines are cancelled."""
    reason = (reason or "").strip()
    with operation(user):
        require_back_office(user, MANAGER, "Reject")
        order = _load_order(order_id)
        guards.require_rejectable(user, order, version)
        if not reason:
            raise InvalidInput("Reject needs a reason.", {"reason": "Required"})
        set_fields(order, {"rejection_reason": reason}, action="Reject")
        transition(order, OrderState.REJECTED, "Reject")
        _cancel_open_lines(order, "Reject")
        add_journal_entry(order, JournalKind.WORK_NOTE, f"Rejected: {reason}", user)
        # The reason is the customer's to read (portal, notice); the reject form says so.
        notify(NotificationEvent.ORDER_REJECTED, order, reason=reason)
    return order


def cancel_order(user, order_id: int, version, reason: str | None = None) -> CustomerOrder:
    """Draft, New or In progress → Cancelled when no line is completed; open lines are cancelled."""
    with operation(user):
        order = _load_order(order_id)
        guards.require_cancellable(user, order, version)
        transition(order, OrderState.CANCELLED, "Cancel order")
        _cancel_open_lines(order, "Cancel order")
        order.cancelled_at = utcnow()
        reason = (reason or "").strip()
        order.cancellation_reason = reason[:500] or None
        notify(NotificationEvent.ORDER_CANCELLED, order)
        if reason:
            add_journal_entry(order, JournalKind.WORK_NOTE, f"Cancelled: {reason}", user)
    return order


def _cancel_open_lines(order: CustomerOrder, action: str) -> None:
    for line in order.lines:
        if line.state in OPEN_LINE_STATES:
            transition(line, OrderLineState.CANCELLED, action)


def start_line(user, line_id: int, version) -> OrderLineItem:
    """New → In progress, on an approved (In progress) order."""
    with operation(user):
        require_back_office(user, AGENT, "Start")
        order, line = _load_line(line_id)
        guards.require_line_startable(user, order, line, version)
        transition(line, OrderLineState.IN_PROGRESS, "Start")
    return line


def complete_line(user, line_id: int, version) -> OrderLineItem:
    """In progress → Completed, applying the line's effect on the account's inventory."""
    with operation(user):
        require_back_office(user, AGENT, "Complete")
        order, line = _load_line(line_id)
        guards.require_line_completable(user, order, line, version)
        _apply_to_inventory(order, line)
        transition(line, OrderLineState.COMPLETED, "Complete")
        line.completed_at = utcnow()
        notify(NotificationEvent.ORDER_LINE_COMPLETED, order, line_number=line.number,
               line_product=line.offering.name if line.offering else (line.description or line.action))
        _settle_and_notify(order)
    return line


def cancel_line(user, line_id: int, version, reason: str | None = None) -> OrderLineItem:
    """New or In progress → Cancelled on a submitted order; totals recomputed; the order may settle."""
    with operation(user):
        require_back_office(user, AGENT, "Cancel line")
        order, line = _load_line(line_id)
        guards.require_line_cancellable(user, order, line, version)
        transition(line, OrderLineState.CANCELLED, "Cancel line")
        if (reason or "").strip():
            add_journal_entry(line, JournalKind.WORK_NOTE, f"Cancelled: {reason.strip()}", user)
        recompute_totals(order, action="Cancel line")
        _settle_and_notify(order)
    return line


def _settle_and_notify(order: CustomerOrder) -> None:
    before = order.state
    _settle_order(order)
    if order.state != before:
        notify({OrderState.COMPLETED: NotificationEvent.ORDER_COMPLETED,
                OrderState.CANCELLED: NotificationEvent.ORDER_CANCELLED}[order.state], order)


def _apply_to_inventory(order: CustomerOrder, line: OrderLineItem) -> None:
    action = f"Complete {line.number}"
    if line.action == LineAction.ADD:
        item = ProductInventory(
            name=line.offering.name if line.offering else line.description,
            account_id=order.account_id,
            offering_id=line.offering_id,
            specification_id=line.specification_id,
            location_id=line.location_id or order.shipping_location_id,
            quantity=line.quantity,
            state=InventoryState.ACTIVE,
            order_line_id=line.id,
            characteristics=[InventoryCharacteristic(name=c.name, value=c.value) for c in line.characteristics],
        )
        db.session.add(item)
        db.session.flush()
        audit(item, "state", None, InventoryState.ACTIVE, action=action)
        return
    if line.action not in LineAction.ON_INVENTORY:
        return
    item = lock_for_update(ProductInventory, line.inventory_id) if line.inventory_id else None
    if item is None:
        raise StateConflict(f"Complete is not allowed: line {line.number} references no inventory item.")
    needed = InventoryState.SUSPENDED if line.action == LineAction.RESUME else InventoryState.ACTIVE
    if item.state != needed:
        raise StateConflict(
            f"Complete is not allowed: {line.action} needs {item.number} to be {needed}, but it is {item.state}."
        )
    if line.action == LineAction.CHANGE:
        set_fields(item, {
            "quantity": line.quantity,
            "location_id": line.location_id or item.location_id,
            "offering_id": line.offering_id or item.offering_id,
            "specification_id": line.specification_id or item.specification_id,
        }, action=action)
        current = {c.name: c for c in item.characteristics}
        for characteristic in line.characteristics:
            existing = current.get(characteristic.name)
            if existing is None:
                item.characteristics.append(InventoryCharacteristic(name=characteristic.name, value=characteristic.value))
                audit(item, f"characteristic {characteristic.name}"[:60], None, characteristic.value, action=action)
            elif existing.value != characteristic.value:
                audit(item, f"characteristic {characteristic.name}"[:60], existing.value, characteristic.value,
                      action=action)
                existing.value = characteristic.value
        item.changed_on = utcnow()
    else:
        new_state = {
            LineAction.DISCONNECT: InventoryState.INACTIVE,
            LineAction.SUSPEND: InventoryState.SUSPENDED,
            LineAction.RESUME: InventoryState.ACTIVE,
        }[line.action]
        transition(item, new_state, action)


# ---------------------------------------------------------------------------------------------
# Enrichment issues and journal
# ---------------------------------------------------------------------------------------------

def resolve_enrichment_issue(user, issue_id: int, order_version, value_id) -> EnrichmentIssue:
    """Fix an unmatched reference by choosing the record it should have been, and mark the issue resolved.

    party → the order's account; offering → the line's offering (and its specification and price);
    specification → the line's specification; location → the line's location (or the order's).
    """
    with operation(user):
        require_back_office(user, AGENT, "Fix enrichment issue")
        order_id = db.session.query(EnrichmentIssue.order_id).filter(EnrichmentIssue.id == issue_id).scalar()
        if order_id is None:
            raise RecordNotFound(f"Enrichment issue {issue_id} does not exist.")
        order = _load_order(order_id)
        issue = db.session.get(EnrichmentIssue, issue_id)
        guards.require_issue_fixable(user, order, issue, order_version)
        value_id = _optional_id(value_id, "value_id", "The chosen record")
        if value_id is None:
            raise InvalidInput("Choose the record this reference stands for.", {"value_id": "Required"})
        line = issue.order_line
        action = "Fix enrichment issue"
        if issue.kind == EnrichmentKind.PARTY:
            account = _active_account(value_id)
            values = {"account_id": account.id}
            if order.contact is not None and order.contact.account_id != account.id:
                values["contact_id"] = None
            set_fields(order, values, action=action)
        elif issue.kind == EnrichmentKind.OFFERING:
            _require_issue_line(issue)
            offering = _get(ProductOffering, value_id, "Offering", "value_id")
            require_offering_fits(offering, order.order_type, "value_id")
            set_fields(line, {
                "offering_id": offering.id,
                "specification_id": offering.specification_id or line.specification_id,
                "unit_price": offering.unit_price if line.action in (LineAction.ADD, LineAction.CHANGE) else ZERO,
                "price_type": offering.price_type,
            }, action=action)
            recompute_totals(order, action=action)
        elif issue.kind == EnrichmentKind.SPECIFICATION:
            _require_issue_line(issue)
            spec = _get(ProductSpecification, value_id, "Specification", "value_id")
            set_fields(line, {"specification_id": spec.id}, action=action)
        elif issue.kind == EnrichmentKind.LOCATION:
            location = _get(Location, value_id, "Location", "value_id")
            _check_location(location, order.account, "value_id")
            target, field = (line, "location_id") if line is not None else (order, "shipping_location_id")
            set_fields(target, {field: location.id}, action=action)
        issue.resolved = True
        issue.resolved_at = utcnow()
        issue.resolved_by_id = user.id
        audit(order, "enrichment issue", issue.description, "resolved", action=action)
        order.changed_on = utcnow()
    return issue


def _require_issue_line(issue: EnrichmentIssue) -> None:
    if issue.order_line is None:
        raise StateConflict(f"Fix enrichment issue is not allowed: {issue.description} names no order line.")


def add_order_journal(user, order_id: int, kind: str, text: str):
    """A comment (customer-visible) or work note (internal) on an order."""
    with operation(user):
        require_back_office(user, AGENT, "Add journal entry")
        order = db.session.get(CustomerOrder, order_id)
        if order is None:
            raise RecordNotFound(f"Order {order_id} does not exist.")
        if kind not in JournalKind.ALL:
            raise InvalidInput(f"Unknown journal kind {kind!r}.", {"kind": "Invalid choice"})
        entry = add_journal_entry(order, kind, text, user)
    return entry

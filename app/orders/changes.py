"""Applying accepted case lines to their orders (SPEC §5), with the Order change ledger as the diff.

Called by ``workflows.apply_accepted_lines`` inside the Accept / Resolve Case transaction, after the
case line's approved values were validated. Per request type:

- Quantity change: the order line's quantity; totals recomputed.
- Delivery date change / Address change: the order line's expected delivery date / location; on a
  header line the order's expected delivery date / shipping location and that of every open line.
- Price dispute: the order line's unit price, totals recomputed, and the credit (old − new) × quantity
  recorded on the case line and in the ledger. A header line (a whole order) is settled by a credit
  note: its current price is the order total, the approved price the total the customer pays, and the
  difference is recorded as the credit; the lines keep their prices.
- Wrong item: a new order line (action add) for the replacement offering and approved quantity,
  linked to the original (``replaces_line_id``), at no charge: the customer already pays the original
  line. A Completed order goes back In progress so the replacement can be fulfilled.
- Line cancellation: the order line → Cancelled; Order cancellation: every open line → Cancelled; the
  order then settles as ``order_workflows`` settles it (Cancelled, or Completed when lines were fulfilled).
- Inquiry: nothing.

Every applied field writes an OrderChange row (order, order line, field, old, new, case line, user,
time) and the order's version moves. Cost: orders and their lines are loaded in one query (locked on
PostgreSQL), order lines are written with one executemany UPDATE per set of fields, ledger rows and
audit events with one multi-row INSERT each, whatever the number of lines.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.cases.guards import audit_row, chunks
from app.core.choices import LineAction, OrderLineState, OrderState, RequestType
from app.core.exceptions import StateConflict
from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import (
    AuditEvent,
    CustomerOrder,
    Location,
    OrderCaseLine,
    OrderChange,
    OrderLineItem,
    ProductOffering,
)
from app.orders.rules import OPEN_LINE_STATES, _settle_order, recompute_totals
from app.core.workflow_base import as_text, set_fields, transition

ZERO = Decimal("0")
# What an accepted line writes on an order line, per request type.
LINE_FIELD = {
    RequestType.QUANTITY: ("quantity", "approved_quantity"),
    RequestType.DELIVERY_DATE: ("expected_delivery_date", "approved_delivery_date"),
    RequestType.ADDRESS: ("location_id", "requested_location_id"),
    RequestType.PRICE: ("unit_price", "approved_unit_price"),
}
# ... and on an order header (header lines), with the field of its open lines that follows.
HEADER_FIELD = {
    RequestType.DELIVERY_DATE: ("expected_delivery_date", "expected_delivery_date", "approved_delivery_date"),
    RequestType.ADDRESS: ("shipping_location_id", "location_id", "requested_location_id"),
}
# Request types refused on a completed or cancelled order line (SPEC §5 guards).
NEEDS_OPEN_ORDER_LINE = (RequestType.QUANTITY, RequestType.DELIVERY_DATE, RequestType.ADDRESS,
                         RequestType.LINE_CANCELLATION)
LEDGER_LABELS = {
    "quantity": "quantity", "expected_delivery_date": "expected delivery date", "location_id": "location",
    "shipping_location_id": "shipping location", "unit_price": "unit price", "state": "state",
    "credit": "credit", "replacement line": "replacement line",
}


def lock_orders(lines: list[OrderCaseLine]) -> dict[int, CustomerOrder]:
    """Lock the orders of *lines* (in id order) and load them with fresh lines, in one query each way."""
    order_ids = sorted({line.order_id for line in lines if line.order_id is not None})
    if not order_ids:
        return {}
    query = (db.session.query(CustomerOrder)
             .options(selectinload(CustomerOrder.lines).selectinload(OrderLineItem.characteristics))
             .filter(CustomerOrder.id.in_(order_ids)).order_by(CustomerOrder.id).populate_existing())
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=CustomerOrder)
    return {order.id: order for order in query.all()}


def check_order_guards(line: OrderCaseLine, order: CustomerOrder | None, action: str) -> None:
    """Refuse applying *line* when its order or order line can no longer take the change."""
    where = f"line {line.number}"
    rtype = line.request_type
    order_line = line.order_line
    if order_line is not None:
        if rtype in NEEDS_OPEN_ORDER_LINE and order_line.state in OrderLineState.CLOSED:
            raise StateConflict(f"{action} is not allowed: {where} refers to order line {order_line.number}, "
                                f"which is {order_line.state}.")
        # Whatever the request, the agent decided on the values the case line showed.
        if line.order_line_version is not None and order_line.version != line.order_line_version:
            raise StateConflict(f"{action} is not allowed: order line {order_line.number} of {where} changed after "
                                "the case line was saved; edit and save the line to review the current values.")
        if rtype == RequestType.WRONG_ITEM and order.state in (OrderState.CANCELLED, OrderState.REJECTED):
            raise StateConflict(f"{action} is not allowed: {where} would add a replacement line to order "
                                f"{order.number}, which is {order.state}.")
        return
    if rtype in (None, RequestType.INQUIRY) or order is None:
        return
    if order.state in OrderState.FINAL:
        raise StateConflict(f"{action} is not allowed: {where} refers to order {order.number}, which is "
                            f"{order.state}.")


def apply_lines(entries: list[tuple[OrderCaseLine, dict]], orders: dict[int, CustomerOrder], user: User,
                action: str, case_id: int) -> dict[int, dict[str, Any]]:
    """Write the approved values of each (case line, values) onto its order; return the case line fields
    that record it ({case line id: {applied_at, order_line_version, credit_amount}})."""
    writer = _OrderWriter(user, action, case_id)
    # Orders change in memory first and are flushed once, so each order's version moves once.
    with db.session.no_autoflush:
        for line, values in entries:
            order = orders.get(line.order_id)
            if order is None or line.request_type in (None, RequestType.INQUIRY):
                writer.case_line_values[line.id] = {}
                continue
            writer.apply(line, order, values)
        writer.flush(orders)
    now = writer.now
    recorded = {}
    for line, _values in entries:
        fields = {"applied_at": now, **writer.case_line_values.get(line.id, {})}
        if line.order_line is not None and line.order_line_id in writer.touched_lines:
            fields["order_line_version"] = line.order_line.version
        recorded[line.id] = fields
    return recorded


class _OrderWriter:
    """Collects one operation's changes to orders, then writes them in bulk."""

    def __init__(self, user: User, action: str, case_id: int):
        self.user, self.action, self.case_id = user, action, case_id
        self.now = utcnow()
        self.line_updates: dict[int, tuple[OrderLineItem, dict[str, Any]]] = {}
        self.ledger: list[dict] = []
        self.audits: list[dict] = []
        self.touched_orders: set[int] = set()
        self.touched_lines: set[int] = set()
        # Totals of a cancelled order stay what was ordered, as order_workflows.cancel_order keeps them.
        self.frozen_orders: set[int] = set()
        self.case_line_values: dict[int, dict[str, Any]] = {}
        self.labels: dict[tuple[str, Any], str] = {}

    # -- per request type ----------------------------------------------------------------------------

    def apply(self, line: OrderCaseLine, order: CustomerOrder, values: dict) -> None:
        rtype = line.request_type
        self.case_line_values[line.id] = {}
        self.touched_orders.add(order.id)
        order_line = line.order_line
        if order_line is not None:
            if rtype in LINE_FIELD:
                field, source = LINE_FIELD[rtype]
                old = getattr(order_line, field)
                self._set_line(line, order, order_line, field, values[source])
                if rtype == RequestType.PRICE:
                    credit = ((old or ZERO) - values[source]) * order_line.quantity
                    self.case_line_values[line.id]["credit_amount"] = credit
                    self._ledger(line, order, order_line, "credit", None, credit)
            elif rtype == RequestType.LINE_CANCELLATION:
                self._set_line(line, order, order_line, "state", OrderLineState.CANCELLED)
            elif rtype == RequestType.WRONG_ITEM:
                self._add_replacement(line, order, order_line, values)
            return
        if rtype in HEADER_FIELD:
            header_field, line_field, source = HEADER_FIELD[rtype]
            new = values[source]
            old = getattr(order, header_field)
            if old != new:
                set_fields(order, {header_field: new}, action=self._label(line), case_id=None)
                self._ledger(line, order, None, header_field, old, new)
            for order_line in order.lines:
                if order_line.state in OPEN_LINE_STATES:
                    self._set_line(line, order, order_line, line_field, new)
        elif rtype == RequestType.ORDER_CANCELLATION:
            self.frozen_orders.add(order.id)
            for order_line in order.lines:
                if order_line.state in OPEN_LINE_STATES:
                    self._set_line(line, order, order_line, "state", OrderLineState.CANCELLED)
            if order.state == OrderState.DRAFT:
                old_state = order.state
                transition(order, OrderState.CANCELLED, self._label(line))
                self._ledger(line, order, None, "state", old_state, OrderState.CANCELLED)
            else:
                self._settle_after(line, order)
        elif rtype == RequestType.PRICE:
            credit = (line.current_unit_price if line.current_unit_price is not None else order.total_amount) \
                - values["approved_unit_price"]
            self.case_line_values[line.id]["credit_amount"] = credit
            self._ledger(line, order, None, "credit", None, credit)

    def _add_replacement(self, line: OrderCaseLine, order: CustomerOrder, original: OrderLineItem,
                         values: dict) -> None:
        offering = db.session.get(ProductOffering, values["replacement_offering_id"])
        state = OrderLineState.DRAFT if order.state == OrderState.DRAFT else OrderLineState.NEW
        replacement = OrderLineItem(
            order=order, offering=offering, specification_id=offering.specification_id, action=LineAction.ADD,
            quantity=values["approved_quantity"], unit_price=ZERO, price_type=offering.price_type, state=state,
            expected_delivery_date=original.expected_delivery_date, location_id=original.location_id,
            replaces_line_id=original.id, description=f"Replacement for {original.number} (case line {line.number})",
        )
        db.session.add(replacement)
        db.session.flush()
        self.touched_lines.add(original.id)
        self._ledger(line, order, replacement, "replacement line", None,
                     f"{replacement.number}: {offering.name} × {replacement.quantity}, replaces {original.number}")
        self.audits.append(audit_row(OrderLineItem.__tablename__, replacement.id, replacement.number, self.case_id,
                                     self._label(line), "state", None, state, self.user, self.now))
        if order.state == OrderState.COMPLETED:
            transition(order, OrderState.IN_PROGRESS, self._label(line))
            set_fields(order, {"completed_at": None}, action=self._label(line))
            self._ledger(line, order, None, "state", OrderState.COMPLETED, OrderState.IN_PROGRESS)

    def _settle_after(self, line: OrderCaseLine, order: CustomerOrder) -> None:
        old_state = order.state
        _settle_order(order)
        if order.state != old_state:
            self._ledger(line, order, None, "state", old_state, order.state)

    # -- recording -----------------------------------------------------------------------------------

    def _set_line(self, line: OrderCaseLine, order: CustomerOrder, order_line: OrderLineItem, field: str,
                  new) -> None:
        old = getattr(order_line, field)
        self.touched_lines.add(order_line.id)
        if old == new:
            return
        _target, fields = self.line_updates.setdefault(order_line.id, (order_line, {}))
        fields[field] = new
        set_committed_value(order_line, field, new)
        self._ledger(line, order, order_line, field, old, new)
        self.audits.append(audit_row(OrderLineItem.__tablename__, order_line.id, order_line.number, self.case_id,
                                     self._label(line), field, old, new, self.user, self.now))
        if field == "state" and new == OrderLineState.CANCELLED:
            self._settle_after(line, order)

    def _ledger(self, line: OrderCaseLine, order: CustomerOrder, order_line: OrderLineItem | None, field: str,
                old, new) -> None:
        self.ledger.append({
            "order_id": order.id, "order_line_id": order_line.id if order_line is not None else None,
            "case_line_id": line.id, "field": LEDGER_LABELS.get(field, field),
            "old_value": self._readable(field, old), "new_value": self._readable(field, new),
            "user_id": self.user.id, "created_on": self.now,
        })

    def _readable(self, field: str, value) -> str | None:
        if value is not None and field in ("location_id", "shipping_location_id"):
            key = ("location", value)
            if key not in self.labels:
                location = db.session.get(Location, value)
                self.labels[key] = f"{location.number} {location}" if location is not None else str(value)
            return self.labels[key]
        return as_text(value)

    def _label(self, line: OrderCaseLine) -> str:
        return f"{self.action} {line.number}"[:60]

    def flush(self, orders: dict[int, CustomerOrder]) -> None:
        """Write the collected order line changes, ledger rows and audit events; move the orders' versions."""
        for order_id in sorted(self.touched_orders):
            order = orders[order_id]
            if order_id not in self.frozen_orders:
                recompute_totals(order, action=self.action)
            # The order's version moves with every applied change, even one only its lines show.
            order.changed_on = self.now
        db.session.flush()
        table = OrderLineItem.__table__
        groups: dict[tuple[str, ...], list] = {}
        for line_id, (_order_line, fields) in self.line_updates.items():
            groups.setdefault(tuple(sorted(fields)), []).append((line_id, fields))
        for names, members in groups.items():
            statement = update(table).where(table.c.id == bindparam("target_id")).values(
                version=table.c.version + 1, changed_on=self.now, changed_by_id=self.user.id,
                **{name: bindparam(f"new_{name}") for name in names},
            )
            for chunk in chunks(members):
                db.session.execute(statement, [
                    {"target_id": line_id, **{f"new_{name}": fields[name] for name in names}}
                    for line_id, fields in chunk
                ])
        for order_line, _fields in self.line_updates.values():
            set_committed_value(order_line, "version", order_line.version + 1)
            set_committed_value(order_line, "changed_on", self.now)
            set_committed_value(order_line, "changed_by_id", self.user.id)
        if self.ledger:
            db.session.execute(insert(OrderChange.__table__), self.ledger)
        if self.audits:
            db.session.execute(insert(AuditEvent.__table__), self.audits)


# ----------------------------------------------------------------------------------------------------
# Reading the ledger


# Built once (the case page asks on every request): built per request, it cost more CPU than running it.
_CHANGES_OF_CASE_LINES = (select(OrderChange).options(joinedload(OrderChange.order_line), joinedload(OrderChange.user))
                          .where(OrderChange.case_line_id.in_(bindparam("line_ids", expanding=True)))
                          .order_by(OrderChange.id))


def changes_by_case_line(line_ids: list[int]) -> dict[int, list[OrderChange]]:
    """What each case line changed on its order (one query)."""
    if not line_ids:
        return {}
    rows = db.session.scalars(_CHANGES_OF_CASE_LINES, {"line_ids": list(line_ids)}).all()
    result: dict[int, list[OrderChange]] = {}
    for row in rows:
        result.setdefault(row.case_line_id, []).append(row)
    return result

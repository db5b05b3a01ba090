"""What each request type of a case line asks for, and when a request means something.

A line is ready to submit when it has a request type and the values that type needs; a requested value
equal to what the order already holds changes nothing and is refused when the line is saved. Used by
line saving (``cases.lines``), Submit and Accept (``app.workflows``).
"""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from app.core.choices import RequestType
from app.core.exceptions import InvalidInput
from app.core.extensions import db
from app.models import Location, OrderCaseLine, ProductOffering

# The requested values each request type asks for (SPEC §5); the others do not apply to it.
TYPE_FIELDS = {
    RequestType.QUANTITY: ("requested_quantity",),
    RequestType.DELIVERY_DATE: ("requested_delivery_date",),
    RequestType.ADDRESS: ("requested_location_id",),
    RequestType.PRICE: ("disputed_unit_price",),
    RequestType.WRONG_ITEM: ("replacement_offering_id", "requested_quantity"),
    RequestType.LINE_CANCELLATION: (),
    RequestType.ORDER_CANCELLATION: (),
    RequestType.INQUIRY: (),
}
# The values without which a request type says nothing (a wrong item keeps the ordered quantity by default).
REQUIRED_FIELDS = {
    RequestType.QUANTITY: ("requested_quantity",),
    RequestType.DELIVERY_DATE: ("requested_delivery_date",),
    RequestType.ADDRESS: ("requested_location_id",),
    RequestType.PRICE: ("disputed_unit_price",),
    RequestType.WRONG_ITEM: ("replacement_offering_id",),
}
REQUESTED_FIELDS = ("requested_quantity", "requested_delivery_date", "requested_location_id", "disputed_unit_price",
                    "replacement_offering_id")

LINE_FIELD_LABELS = {
    "request_type": "Request type", "reason_code": "Reason code", "short_description": "Short description",
    "priority": "Priority", "requested_quantity": "Requested quantity",
    "requested_delivery_date": "Requested delivery date", "requested_location_id": "Requested shipping location",
    "disputed_unit_price": "Disputed unit price", "replacement_offering_id": "Replacement offering",
}


def current_values(line: OrderCaseLine) -> dict:
    """What the order holds now for each requested field of *line* (an order line, or the whole order)."""
    order_line, order = line.order_line, line.order
    if order_line is not None:
        return {
            "requested_quantity": order_line.quantity,
            "requested_delivery_date": order_line.expected_delivery_date,
            "requested_location_id": order_line.location_id,
            "disputed_unit_price": order_line.unit_price,
            "replacement_offering_id": order_line.offering_id,
        }
    if order is None:
        return {}
    return {
        "requested_delivery_date": order.expected_delivery_date,
        "requested_location_id": order.shipping_location_id,
        # A header price dispute is about the whole order: its "price" is the order total.
        "disputed_unit_price": order.total_amount,
    }


def refuse_unchanged(line: OrderCaseLine, request_type: str | None, values: dict, action: str) -> None:
    """Refuse a requested value that equals what the order already has, naming the field."""
    if request_type is None:
        return
    current = current_values(line)
    for field in REQUIRED_FIELDS.get(request_type, ()):
        requested = values.get(field, getattr(line, field))
        if requested is None or field not in current or current[field] is None:
            continue
        if requested == current[field]:
            label = LINE_FIELD_LABELS[field]
            raise InvalidInput(
                f"{action} is not allowed: the {label.lower()} of line {line.number} is what the order already has "
                f"({_shown(field, current[field])}); a {request_type} must ask for something different.",
                {field: "Same as the order's current value"},
            )


def _shown(field: str, value) -> str:
    if field == "requested_location_id":
        location = db.session.get(Location, value)
        return str(location.name if location is not None else value)
    if field == "replacement_offering_id":
        offering = db.session.get(ProductOffering, value)
        return str(offering.name if offering is not None else value)
    return str(value)


def missing_values(request_type: str | None, values: dict) -> list[str]:
    """The fields a line of *request_type* still needs (``request_type`` itself when there is none)."""
    if request_type is None:
        return ["request_type"]
    return [field for field in REQUIRED_FIELDS.get(request_type, ()) if values.get(field) is None]


def _incomplete_condition():
    conditions = [OrderCaseLine.request_type.is_(None)]
    for request_type, fields in REQUIRED_FIELDS.items():
        conditions.append(and_(OrderCaseLine.request_type == request_type,
                               or_(*(getattr(OrderCaseLine, field).is_(None) for field in fields))))
    return or_(*conditions)


def refuse_incomplete_lines(case_id: int, states, action: str) -> None:
    """Refuse *action* while a line of the case in *states* lacks its request type or a value it needs.

    One query however many lines: the first incomplete line, with what it lacks, is named.
    """
    line = db.session.execute(
        select(OrderCaseLine).where(OrderCaseLine.case_id == case_id, OrderCaseLine.state.in_(tuple(states)),
                                    _incomplete_condition())
        .order_by(OrderCaseLine.id).limit(1)
    ).scalar()
    if line is None:
        return
    refuse_incomplete_line(line, action)


def refuse_incomplete_line(line: OrderCaseLine, action: str) -> None:
    missing = missing_values(line.request_type, {field: getattr(line, field) for field in REQUESTED_FIELDS})
    if not missing:
        return
    labels = ", ".join(LINE_FIELD_LABELS[field].lower() for field in missing)
    raise InvalidInput(
        f"{action} is not allowed: line {line.number} needs a {labels}; edit the line to say what the customer "
        "wants changed.", {missing[0]: "Required"},
    )

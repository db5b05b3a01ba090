"""Exchanged orders: a consumer's order of published offerings goes to the provider as a TMF622 productOrder
(channel Service Exchange, on the provider's account for the connection); the provider's decisions and
progress come back as TMF622 order events, numbered per order, and the consumer's copy follows them.

Consumer: an order entering New whose lines are a provider's published offerings is sent (an order holds
one provider's offerings and nothing else); a consumer's cancellation is sent too. Provider: every state
change of an exchanged order or its lines sends a ``ProductOrderStateChangeEvent`` carrying the whole
order. The consumer applies an event only if it is newer than the last one applied, and converges on the
state it describes through the order workflows (approve, start, complete, reject, cancel), so an event
applied twice, or after an interruption, lands on the same state.
"""
from __future__ import annotations

import uuid

from flask import current_app, has_request_context
from sqlalchemy import select, update

from app.core.choices import LineAction, OrderChannel, OrderLineState, OrderState
from app.core.exceptions import InvalidInput
from app.core.extensions import db
from app.core.model_base import utcnow
from app.exchange.models import ExchangeConnection, ExchangeOffering, ExchangeOrder, ExchangePublication
from app.exchange.outbox import queue_message
from app.models import CustomerOrder, OrderLineItem, ProductOffering
from app.orders import workflows as order_workflows
from app.tmf.common import TmfError, tmf_datetime
from app.tmf.orders import PRODUCT_ORDERING, create_order, render_order

ORDER_MESSAGE = "productOrder"
ORDER_EVENT_MESSAGE = "productOrderStateChangeEvent"
ORDER_CANCEL_MESSAGE = "cancelProductOrder"
FINAL_TMF_STATES = ("completed", "cancelled", "rejected")
LIVE_ORDER_STATES = (OrderState.NEW, OrderState.IN_PROGRESS)


def exchange_link(order_id: int) -> ExchangeOrder | None:
    return db.session.scalars(select(ExchangeOrder).where(ExchangeOrder.order_id == order_id)).first()


def orders_changed(order_ids: set[int], inbound: bool) -> None:
    """Queue what the changed orders mean for the other side (called before the changing commit)."""
    links = {link.order_id: link for link in db.session.scalars(
        select(ExchangeOrder).where(ExchangeOrder.order_id.in_(order_ids)))}
    for order_id in sorted(order_ids):
        order = db.session.get(CustomerOrder, order_id)
        if order is None:
            continue
        link = links.get(order_id)
        if link is not None and link.connection.is_provider:
            _send_event(link, order)
        elif inbound:
            continue
        elif link is None and order.state == OrderState.NEW:
            _send_new_order(order)
        elif link is not None and order.state == OrderState.CANCELLED and link.remote_state not in FINAL_TMF_STATES:
            queue_message(link.connection, ORDER_CANCEL_MESSAGE,
                          {"externalId": order.tmf_id, "cancellationReason": "Cancelled by the customer"},
                          order.number)


# ---------------------------------------------------------------- consumer: placing

def _send_new_order(order: CustomerOrder) -> None:
    offering_ids = {line.offering_id for line in order.lines if line.offering_id}
    published = {link.offering_id: link for link in db.session.scalars(
        select(ExchangeOffering).where(ExchangeOffering.offering_id.in_(offering_ids)))} if offering_ids else {}
    if not published:
        return
    connections = {link.connection_id for link in published.values()}
    ours = [line for line in order.lines if line.offering_id not in published and line.state != OrderLineState.CANCELLED]
    if len(connections) > 1 or ours:
        raise InvalidInput(f"{order.number} mixes offerings of different providers (or our own): order each "
                           "provider's offerings on an order of their own.", {"items": "Several providers"})
    connection = db.session.get(ExchangeConnection, connections.pop())
    items = []
    for line in order.lines:
        if line.state == OrderLineState.CANCELLED:
            continue
        if line.action != LineAction.ADD:
            raise InvalidInput(f"{order.number}: a provider's offering can only be ordered new (add).")
        item = {"id": line.number, "action": "add", "quantity": line.quantity,
                "productOffering": {"id": published[line.offering_id].remote_id, "name": line.offering.name}}
        if line.characteristics:
            item["product"] = {"productCharacteristic": [{"name": c.name, "value": c.value}
                                                         for c in line.characteristics]}
        items.append(item)
    ordered_by = order.contact.name if order.contact else None
    document = {
        "externalId": order.tmf_id,
        "description": order.description or f"{order.number} of {order.account.name}",
        "priority": str(order.priority),
        "note": [{"text": f"Order {order.number}" + (f", placed by {ordered_by}" if ordered_by else "")}],
        "productOrderItem": items,
    }
    if order.requested_completion_date:
        document["requestedCompletionDate"] = tmf_datetime(order.requested_completion_date)
    db.session.add(ExchangeOrder(connection_id=connection.id, order_id=order.id, event_sequence=0,
                                 remote_state="sent", updated_on=utcnow()))
    queue_message(connection, ORDER_MESSAGE, document, order.number)


# ---------------------------------------------------------------- provider: receiving and reporting

def receive_order(connection: ExchangeConnection, document: dict, actor) -> None:
    """Create the consumer's order here as a TMF622 order on the connection's account."""
    if not connection.is_provider or connection.account is None:
        raise InvalidInput("This instance is not the provider on this connection; it takes no orders.")
    external_id = document.get("externalId")
    if not isinstance(external_id, str) or not external_id:
        raise InvalidInput("An exchanged order needs the consumer's order id (externalId).")
    if db.session.scalar(select(ExchangeOrder.id).where(ExchangeOrder.connection_id == connection.id,
                                                        ExchangeOrder.remote_id == external_id)):
        return
    published = set(db.session.scalars(
        select(ProductOffering.number).join(ExchangePublication, ExchangePublication.offering_id == ProductOffering.id)
        .where(ExchangePublication.connection_id == connection.id)))
    items = document.get("productOrderItem")
    for item in items if isinstance(items, list) else []:
        reference = ((item.get("productOffering") or {}) if isinstance(item, dict) else {}).get("id")
        if reference not in published:
            raise InvalidInput(f"Offering {reference} is not published to {connection.name}.")
    account = connection.account
    body = {**document, "relatedParty": [{"id": account.number, "name": account.name, "role": "customer",
                                          "@referredType": "Organization"}]}
    try:
        order = create_order(PRODUCT_ORDERING, body, actor)
    except TmfError as refusal:
        raise InvalidInput(f"The order was refused: {refusal.message}") from refusal
    order.channel = OrderChannel.SERVICE_EXCHANGE
    db.session.add(ExchangeOrder(connection_id=connection.id, order_id=order.id, remote_id=external_id,
                                 event_sequence=0, updated_on=utcnow()))


def receive_cancellation(connection: ExchangeConnection, payload: dict, actor) -> None:
    link = db.session.scalars(select(ExchangeOrder).where(ExchangeOrder.connection_id == connection.id,
                                                          ExchangeOrder.remote_id == payload.get("externalId"))).first()
    if link is None:
        raise InvalidInput(f"No exchanged order {payload.get('externalId')} here.")
    if link.order.state in LIVE_ORDER_STATES:
        order_workflows.cancel_order(actor, link.order_id, None, reason=payload.get("cancellationReason"))


def _send_event(link: ExchangeOrder, order: CustomerOrder) -> None:
    sequence = db.session.execute(
        update(ExchangeOrder).where(ExchangeOrder.id == link.id)
        .values(event_sequence=ExchangeOrder.event_sequence + 1).returning(ExchangeOrder.event_sequence)
    ).scalar_one()
    payload = {
        "eventId": str(uuid.uuid4()),
        "eventTime": tmf_datetime(utcnow()),
        "eventType": "ProductOrderStateChangeEvent",
        "sequence": sequence,
        "orderNumber": order.number,
        "event": {"productOrder": _render(order)},
    }
    if order.rejection_reason:
        payload["reason"] = order.rejection_reason
    queue_message(link.connection, ORDER_EVENT_MESSAGE, payload, f"{order.number} {order.state}")


def _render(order: CustomerOrder) -> dict:
    if has_request_context():
        return render_order(PRODUCT_ORDERING, order)
    with current_app.test_request_context(base_url=current_app.config.get("PUBLIC_BASE_URL")):
        return render_order(PRODUCT_ORDERING, order)


# ---------------------------------------------------------------- consumer: following the provider

def receive_order_event(connection: ExchangeConnection, payload: dict, actor) -> None:
    event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
    document = event.get("productOrder") if isinstance(event.get("productOrder"), dict) else {}
    sequence = payload.get("sequence")
    if not document or not isinstance(sequence, int):
        raise InvalidInput("An order event carries the productOrder and its sequence number.")
    link = db.session.scalars(
        select(ExchangeOrder).join(CustomerOrder, CustomerOrder.id == ExchangeOrder.order_id)
        .where(ExchangeOrder.connection_id == connection.id, CustomerOrder.tmf_id == document.get("externalId"))
    ).first()
    if link is None:
        raise InvalidInput(f"No order {document.get('externalId')} was sent to {connection.name} from here.")
    if sequence <= link.event_sequence:
        return
    link_id, order_id = link.id, link.order_id
    _converge(order_id, document, payload.get("reason"), actor)
    link = db.session.get(ExchangeOrder, link_id)
    link.event_sequence = sequence
    link.remote_id = str(document.get("id") or "")[:64] or link.remote_id
    link.remote_number = str(payload.get("orderNumber") or "")[:20] or link.remote_number
    link.remote_state = str(document.get("state") or "")[:30] or None
    link.remote_reason = payload.get("reason") if isinstance(payload.get("reason"), str) else None
    link.updated_on = utcnow()


def _converge(order_id: int, document: dict, reason: str | None, actor) -> None:
    """Bring our copy to the provider's state with the order workflows, one step at a time."""
    state = document.get("state")
    order = db.session.get(CustomerOrder, order_id)
    if state == "rejected":
        if order.state == OrderState.NEW:
            order_workflows.reject_order(actor, order_id, None, reason or "Rejected by the provider")
        return
    if state == "cancelled":
        if order.state in LIVE_ORDER_STATES:
            order_workflows.cancel_order(actor, order_id, None, reason="Cancelled by the provider")
        return
    if state not in ("inProgress", "completed", "partial"):
        return
    if order.state == OrderState.NEW:
        order_workflows.approve_order(actor, order_id, None)
    items = {item.get("id"): item.get("state") for item in document.get("productOrderItem") or []
             if isinstance(item, dict)}
    line_ids = db.session.scalars(select(OrderLineItem.id).where(OrderLineItem.order_id == order_id)
                                  .order_by(OrderLineItem.id)).all()
    for line_id in line_ids:
        line = db.session.get(OrderLineItem, line_id)
        wanted = items.get(line.number)
        if wanted in ("inProgress", "completed") and line.state == OrderLineState.NEW:
            order_workflows.start_line(actor, line_id, None)
            line = db.session.get(OrderLineItem, line_id)
        if wanted == "completed" and line.state == OrderLineState.IN_PROGRESS:
            order_workflows.complete_line(actor, line_id, None)
        elif wanted == "cancelled" and line.state in (OrderLineState.NEW, OrderLineState.IN_PROGRESS):
            order_workflows.cancel_line(actor, line_id, None, reason="Cancelled by the provider")


def order_status(order: CustomerOrder) -> dict | None:
    """What the order pages show of an exchanged order: the other side and its word on the order."""
    link = exchange_link(order.id)
    if link is None:
        return None
    connection = link.connection
    return {
        "is_provider": connection.is_provider,
        "connection": connection.name,
        "remote_number": link.remote_number,
        "remote_state": link.remote_state,
        "reason": link.remote_reason,
        "updated_on": link.updated_on,
    }

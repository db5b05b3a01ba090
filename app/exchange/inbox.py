"""The receiving end: ``POST /exchange/v1/messages`` applies a message from a connected instance once.

The caller names itself by its base URL (``X-Exchange-Peer``), which must be the other side of one of our
active connections, and proves it with an API key of the integrator user pinned on that connection (the
key our administrator issued for it): a key of any other user, integrator or administrator, is refused.
Each message is applied by the handler of its kind as the Service Exchange user, in one transaction with
its receipt, so a message delivered again (its answer was lost) is acknowledged without being applied twice,
and one whose handling was interrupted is applied again from where the records stand (every handler
converges on the state the message describes). A refusal answers 422 with the reason; the sender keeps
the message aside for an administrator.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import Blueprint, Flask, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.exceptions import DomainError
from app.core.extensions import csrf, db
from app.core.model_base import acting_user_id, utcnow
from app.core.workflow_base import one_transaction
from app.exchange import cases, ordering, publishing
from app.exchange.actor import INBOUND_KEY, exchange_actor
from app.exchange.models import ExchangeConnection, ExchangeReceipt
from app.exchange.transport import PEER_HEADER
from app.tmf.common import authenticated_caller

log = logging.getLogger(__name__)

HANDLERS: dict[str, Callable] = {
    publishing.OFFERING_MESSAGE: publishing.receive_offering,
    ordering.ORDER_MESSAGE: ordering.receive_order,
    ordering.ORDER_EVENT_MESSAGE: ordering.receive_order_event,
    ordering.ORDER_CANCEL_MESSAGE: ordering.receive_cancellation,
    **cases.HANDLERS,
}

blueprint = Blueprint("exchange_inbox", __name__, url_prefix="/exchange/v1")


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _refusal(status: int, message: str):
    return jsonify({"message": message}), status


def calling_connection() -> ExchangeConnection:
    user = authenticated_caller()
    if user is None or not getattr(user, "is_active", False):
        raise Refused(401, "A valid API key is required")
    peer = (request.headers.get(PEER_HEADER) or "").strip().rstrip("/")
    connection = db.session.scalars(select(ExchangeConnection).where(ExchangeConnection.peer_url == peer)).first()
    if connection is None:
        raise Refused(403, f"No connection with {peer or '(no ' + PEER_HEADER + ' header)'} is registered here")
    if connection.peer_user_id is None:
        raise Refused(403, f"No key has been issued here for the connection with {peer}: its administrator "
                           "issues one on the connection's page")
    if connection.peer_user_id != user.id:
        raise Refused(403, f"This API key does not belong to the connection with {peer}; use the key issued for it")
    if not connection.active:
        raise Refused(403, f"The connection with {peer} is switched off here")
    return connection


@blueprint.get("/ping")
def ping():
    try:
        connection = calling_connection()
    except Refused as refused:
        return _refusal(refused.status, refused.message)
    connection.last_contact_at = utcnow()
    db.session.commit()
    return jsonify({"status": "ok", "connection": connection.name})


@blueprint.post("/messages")
def receive():
    try:
        connection = calling_connection()
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"].strip() \
                or len(body["id"]) > 64 or not isinstance(body.get("payload"), dict):
            raise Refused(400, "A message is a JSON object with an id (text) and a payload (object)")
        handler = HANDLERS.get(body.get("kind"))
        if handler is None:
            raise Refused(400, f"Unknown kind of message {body.get('kind')!r}")
        return _apply(connection, body, handler)
    except Refused as refused:
        db.session.rollback()
        return _refusal(refused.status, refused.message)


def _already_received(connection_id: int, message_id: str) -> bool:
    return db.session.scalar(select(ExchangeReceipt.id).where(
        ExchangeReceipt.connection_id == connection_id, ExchangeReceipt.message_id == message_id)) is not None


def _apply(connection: ExchangeConnection, body: dict, handler: Callable):
    connection_id, message_id = connection.id, body["id"]
    if _already_received(connection_id, message_id):
        return jsonify({"status": "duplicate"})
    actor = exchange_actor()
    token = acting_user_id.set(actor.id)
    db.session.info[INBOUND_KEY] = connection_id
    try:
        # Everything the message changes, and its receipt, in one commit: no half-applied message survives.
        with one_transaction():
            handler(db.session.get(ExchangeConnection, connection_id), body["payload"], actor)
            db.session.add(ExchangeReceipt(connection_id=connection_id, message_id=message_id, kind=body["kind"],
                                           received_on=utcnow()))
            db.session.get(ExchangeConnection, connection_id).last_contact_at = utcnow()
    except DomainError as refusal:
        db.session.rollback()
        return _refusal(422, refusal.message)
    except IntegrityError:
        # The same message delivered twice at the same moment: the other delivery applied it.
        db.session.rollback()
        if _already_received(connection_id, message_id):
            return jsonify({"status": "duplicate"})
        raise
    finally:
        db.session.info.pop(INBOUND_KEY, None)
        acting_user_id.reset(token)
    return jsonify({"status": "applied"})


def register_inbox(app: Flask) -> None:
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)

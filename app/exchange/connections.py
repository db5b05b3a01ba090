"""Connections: what an administrator sets up on each side, and each side's view of the other's health."""
from __future__ import annotations

from typing import Mapping
from urllib.parse import urlsplit

from sqlalchemy import select

from app.core import outbound
from app.core.choices import ExchangeMessageState, ExchangeRole
from app.core.exceptions import InvalidInput
from app.core.extensions import db
from app.core.model_base import utcnow
from app.exchange import transport
from app.exchange.actor import exchange_actor
from app.exchange.models import ExchangeConnection, ExchangeMessage
from app.exchange.outbox import retry_message
from app.models import Account


def _base_url(value, field: str, label: str) -> str:
    text = (value or "").strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise InvalidInput(f"{label} must be an http(s) base URL such as https://orders.example.com.",
                           {field: "Not an http(s) URL"})
    if len(text) > 500:
        raise InvalidInput(f"{label} is too long.", {field: "At most 500 characters"})
    return text


def save_connection(data: Mapping, connection: ExchangeConnection | None = None) -> ExchangeConnection:
    """Create or change a connection from the administrator's form; one commit, nothing written on error."""
    errors: dict[str, str] = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = "Required"
    role = data.get("our_role") or ExchangeRole.PROVIDER
    if role not in ExchangeRole.ALL:
        errors["our_role"] = "Choose provider or consumer"
    account = None
    if role == ExchangeRole.PROVIDER:
        try:
            account = db.session.get(Account, int(data.get("account_id") or 0))
        except (TypeError, ValueError):
            account = None
        if account is None:
            errors["account_id"] = "Choose the account the consumer's orders are placed on"
    values = {}
    for field, label in (("peer_url", "The other instance's URL"), ("own_url", "This instance's URL")):
        try:
            values[field] = _base_url(data.get(field), field, label)
        except InvalidInput as refused:
            errors.update(refused.field_errors)
    api_key = (data.get("api_key") or "").strip()
    if not api_key and connection is None:
        errors["api_key"] = "Required: an API key of the other instance's integrator user"
    if len(api_key) > 500:
        errors["api_key"] = "At most 500 characters"
    peer = values.get("peer_url")
    if peer:
        try:
            outbound.check_destination(peer)
        except outbound.RefusedDestination as refused:
            errors["peer_url"] = f"This instance may not call it: {refused}"
    if peer and db.session.scalar(select(ExchangeConnection.id).where(
            ExchangeConnection.peer_url == peer,
            ExchangeConnection.id != (connection.id if connection else 0))):
        errors["peer_url"] = "Another connection already goes to this instance"
    if errors:
        raise InvalidInput("Check the highlighted fields.", errors)
    if connection is None:
        connection = ExchangeConnection(created_on=utcnow())
        db.session.add(connection)
    elif connection.our_role != role and db.session.scalar(
            select(ExchangeMessage.id).where(ExchangeMessage.connection_id == connection.id).limit(1)):
        raise InvalidInput("The role of a connection that has exchanged messages cannot change.",
                           {"our_role": "Messages exchanged"})
    connection.name, connection.our_role = name[:150], role
    connection.account_id = account.id if account else None
    connection.peer_url, connection.own_url = values["peer_url"], values["own_url"]
    if api_key:
        connection.api_key = api_key
    connection.active = bool(data.get("active"))
    exchange_actor()
    db.session.commit()
    return connection


def check_connection(connection: ExchangeConnection) -> transport.Outcome:
    """Ask the other side whether it knows us (our key, our URL); the answer updates the health."""
    outcome = transport.ping(connection)
    now = utcnow()
    if outcome.result == "delivered":
        connection.last_contact_at = now
    else:
        connection.last_error, connection.last_error_at = outcome.detail, now
    db.session.commit()
    return outcome


def retry_refused(connection: ExchangeConnection, message_ids=None) -> int:
    """Queue refused messages again (all of the connection's, or the ones named)."""
    query = select(ExchangeMessage).where(ExchangeMessage.connection_id == connection.id,
                                          ExchangeMessage.state == ExchangeMessageState.REFUSED)
    if message_ids is not None:
        query = query.where(ExchangeMessage.id.in_(message_ids))
    messages = db.session.scalars(query).all()
    for message in messages:
        retry_message(message)
    db.session.commit()
    return len(messages)


def recent_messages(connection: ExchangeConnection, limit: int = 50) -> list[ExchangeMessage]:
    return db.session.scalars(select(ExchangeMessage).where(ExchangeMessage.connection_id == connection.id)
                              .order_by(ExchangeMessage.id.desc()).limit(limit)).all()

"""Connections: what an administrator sets up on each side, and each side's view of the other's health."""
from __future__ import annotations

import secrets
from typing import Mapping
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from app.core import outbound
from app.core.choices import ExchangeMessageState, ExchangeRole
from app.core.exceptions import InvalidInput, StateConflict
from app.core.extensions import db
from app.core.model_base import utcnow
from app.core.roles import INTEGRATOR
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
        connection = ExchangeConnection(created_on=utcnow(), api_key="")
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


def issue_peer_key(connection: ExchangeConnection) -> str:
    """A new API key for the other instance to call us with on this connection, shown once.

    It belongs to an integrator user of its own, pinned on the connection: the inbox takes the
    connection's messages from that user's keys only, so no other key (another connection's, any other
    integrator's) can speak for this instance. A new key replaces the ones issued before.
    """
    sm = current_app.appbuilder.sm
    user = connection.peer_user
    if user is None:
        username = f"exchange-peer-{connection.id}"
        user = sm.find_user(username=username) or sm.add_user(
            username, "Service Exchange", connection.name[:64], f"{username}@invalid", [sm.find_role(INTEGRATOR)],
            secrets.token_urlsafe(32))
        if not user:
            raise StateConflict("The user for the other instance's key could not be created; see the log.")
        connection.peer_user_id = user.id
        db.session.commit()
    for key in sm.find_api_keys_for_user(user.id):
        if key.is_active:
            sm.revoke_api_key(key.uuid)
    issued = sm.create_api_key(user, f"Service Exchange: {connection.name}"[:256])
    if not issued:
        raise StateConflict("The key could not be issued; see the log.")
    return issued["key"]


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

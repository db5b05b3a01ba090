"""The outbox: messages written in the transaction that caused them, delivered after commit by a background
sender (and by the periodic job), per connection strictly in the order written.

Messages to a connection wait while it is switched off or the other side's key is not entered yet.
A connection's messages are sent by one sender at a time (a lease on the connection row), oldest first.
While the other side is unreachable the oldest message waits with growing back-off and the later ones
wait behind it, so nothing overtakes; the other side keeps a receipt of every message it applied, so a
message sent twice (a lost answer, a sender that died mid-send) is applied once. A message the other
side refuses is set aside as refused with its reason, for an administrator to retry.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time

from flask import Flask, current_app
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from app.core.choices import ExchangeMessageState
from app.core.extensions import db
from app.core.model_base import utcnow
from app.exchange import transport
from app.exchange.models import ExchangeConnection, ExchangeMessage

log = logging.getLogger(__name__)

QUEUED_KEY = "exchange_messages_queued"
LEASE_SECONDS = 60
LEASE_POLL_SECONDS = 0.05
DEFAULT_RETRY_MAX_SECONDS = 300
DEFAULT_POLL_SECONDS = 30


def queue_message(connection: ExchangeConnection, kind: str, payload: dict, subject: str | None = None) -> None:
    """Add a message to the session; it is sent once the transaction commits."""
    db.session.add(ExchangeMessage(connection_id=connection.id, kind=kind, payload=payload,
                                   subject=(subject or "")[:200] or None, state=ExchangeMessageState.QUEUED,
                                   attempts=0, next_attempt_at=utcnow(), created_on=utcnow()))
    db.session.info[QUEUED_KEY] = True


def retry_message(message: ExchangeMessage) -> None:
    """Send a refused message again (after the cause was fixed on either side)."""
    if message.state == ExchangeMessageState.REFUSED:
        message.state, message.next_attempt_at = ExchangeMessageState.QUEUED, utcnow()
        db.session.info[QUEUED_KEY] = True


@event.listens_for(Session, "after_commit")
def _wake_sender(session):
    if session.info.pop(QUEUED_KEY, False):
        wake_sender()


def wake_sender() -> None:
    try:
        sender = current_app.extensions.get("exchange_sender")
    except RuntimeError:
        return
    if sender is not None:
        sender.wake()


class MessageSender:
    """One background sender per process, woken after a commit that queued messages and every poll interval."""

    def __init__(self, app: Flask):
        self.app = app
        self._wakeup = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        with self._lock:
            # A thread started before a fork (gunicorn --preload) does not exist in the worker.
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="exchange-sender", daemon=True)
                self._thread.start()
        self._wakeup.set()

    def _run(self) -> None:
        poll = float(self.app.config.get("EXCHANGE_POLL_SECONDS", DEFAULT_POLL_SECONDS))
        while True:
            self._wakeup.wait(timeout=poll)
            self._wakeup.clear()
            try:
                with self.app.app_context():
                    deliver_due_messages(wait_for_other_sender=False)
                    db.session.remove()
            except Exception:  # a broken round must not stop the sender; the messages stay queued
                log.exception("Service Exchange delivery round failed")


def deliver_due_messages(now: dt.datetime | None = None, wait_for_other_sender: bool = True) -> int:
    """Deliver what is due on every active connection; returns how many messages this call delivered.

    A connection another sender is delivering (this process's background sender, another worker, the
    periodic job elsewhere) is waited for by default, so that when an explicit round (the command, the
    periodic job) returns, everything due when it started has been attempted. The background sender
    does not wait: the sender holding the lease looks again for due messages after releasing it.
    """
    now = now or utcnow()
    due = db.session.scalars(
        select(ExchangeMessage.connection_id).join(ExchangeConnection)
        .where(ExchangeMessage.state == ExchangeMessageState.QUEUED, ExchangeMessage.next_attempt_at <= now,
               ExchangeConnection.active.is_(True), ExchangeConnection.api_key != "").distinct()
    ).all()
    db.session.commit()
    return sum(_deliver_connection(connection_id, wait_for_other_sender) for connection_id in due)


def _take_lease(connection_id: int) -> bool:
    now = utcnow()
    taken = db.session.execute(
        update(ExchangeConnection).where(
            ExchangeConnection.id == connection_id,
            or_(ExchangeConnection.sender_lease_until.is_(None), ExchangeConnection.sender_lease_until < now),
        ).values(sender_lease_until=now + dt.timedelta(seconds=LEASE_SECONDS))
    ).rowcount
    db.session.commit()
    return bool(taken)


def _wait_for_lease(connection_id: int) -> None:
    """Until the other sender released the lease, or it expired (that sender died)."""
    while not _take_lease(connection_id):
        time.sleep(LEASE_POLL_SECONDS)


def _oldest_message_due(connection_id: int) -> bool:
    oldest = db.session.execute(
        select(ExchangeMessage.next_attempt_at, ExchangeConnection.active, ExchangeConnection.api_key)
        .join(ExchangeConnection)
        .where(ExchangeMessage.connection_id == connection_id, ExchangeMessage.state == ExchangeMessageState.QUEUED)
        .order_by(ExchangeMessage.id).limit(1)).first()
    db.session.commit()
    return oldest is not None and oldest.active and oldest.api_key != "" and oldest.next_attempt_at <= utcnow()


def _deliver_connection(connection_id: int, wait_for_other_sender: bool) -> int:
    delivered = 0
    while True:
        if wait_for_other_sender:
            _wait_for_lease(connection_id)
        elif not _take_lease(connection_id):
            return delivered
        try:
            delivered += _deliver_under_lease(connection_id)
        finally:
            db.session.rollback()
            db.session.execute(update(ExchangeConnection).where(ExchangeConnection.id == connection_id)
                               .values(sender_lease_until=None))
            db.session.commit()
        # A message queued (and its wake-up skipped by a sender that found the lease taken) between our
        # last look and the release would otherwise wait for the next poll.
        if not _oldest_message_due(connection_id):
            return delivered


def _deliver_under_lease(connection_id: int) -> int:
    delivered = 0
    retry_max = float(current_app.config.get("EXCHANGE_RETRY_MAX_SECONDS", DEFAULT_RETRY_MAX_SECONDS))
    while True:
        connection = db.session.get(ExchangeConnection, connection_id)
        message = db.session.scalars(
            select(ExchangeMessage).where(ExchangeMessage.connection_id == connection_id,
                                          ExchangeMessage.state == ExchangeMessageState.QUEUED)
            .order_by(ExchangeMessage.id).limit(1)
        ).first()
        # The oldest waiting message holds back the later ones until its next attempt is due.
        if message is None or message.next_attempt_at > utcnow() or not connection.active or not connection.api_key:
            return delivered
        outcome = transport.post_message(connection, message)
        now = utcnow()
        message.attempts += 1
        connection.sender_lease_until = now + dt.timedelta(seconds=LEASE_SECONDS)
        if outcome.result == "unreachable":
            message.last_error = outcome.detail
            message.next_attempt_at = now + dt.timedelta(seconds=max(1.0, min(2 ** message.attempts, retry_max)))
            connection.last_error, connection.last_error_at = outcome.detail, now
            db.session.commit()
            return delivered
        connection.last_contact_at = now
        if outcome.result == "delivered":
            message.state, message.delivered_on, message.last_error = ExchangeMessageState.DELIVERED, now, None
            delivered += 1
        else:
            message.state, message.last_error = ExchangeMessageState.REFUSED, outcome.detail
            connection.last_error, connection.last_error_at = f"{message.kind} refused: {outcome.detail}", now
        db.session.commit()


def init_sender(app: Flask) -> None:
    app.extensions["exchange_sender"] = MessageSender(app)

"""What waits to go out — notification mail and TMF events — counted by state, and an administrator's Retry.

Each operation validates, changes and commits once; refusals are domain errors (app/core/errors.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func

from app.core.choices import NotificationState
from app.core.exceptions import RecordNotFound, StateConflict
from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import Notification, TmfEvent
from app.sla import notifications
from app.tmf import events as tmf_events

LISTED = 20
TMF_EVENT_STATES = ("queued", "sending", "delivered", "failed")
RETRYABLE_TMF_STATES = ("queued", "failed")


@dataclass
class Outbox:
    counts: dict[str, int]
    waiting: list  # queued or failed, the ones an administrator may retry, most urgent first

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _counts(model, states) -> dict[str, int]:
    found = dict(db.session.query(model.state, func.count(model.id)).group_by(model.state).all())
    return {state: found.get(state, 0) for state in (*states, *sorted(set(found) - set(states)))}


def notification_outbox() -> Outbox:
    waiting = (
        db.session.query(Notification)
        .filter(Notification.state.in_((NotificationState.FAILED, NotificationState.QUEUED)))
        .order_by((Notification.state == NotificationState.FAILED).desc(), Notification.next_attempt_at,
                  Notification.id)
        .limit(LISTED).all()
    )
    return Outbox(_counts(Notification, NotificationState.ALL), waiting)


def tmf_event_outbox() -> Outbox:
    waiting = (
        db.session.query(TmfEvent)
        .filter(TmfEvent.state.in_(RETRYABLE_TMF_STATES))
        .order_by((TmfEvent.state == "failed").desc(), TmfEvent.next_attempt_at, TmfEvent.id)
        .limit(LISTED).all()
    )
    return Outbox(_counts(TmfEvent, TMF_EVENT_STATES), waiting)


def retry_notification(notification_id: int) -> Notification:
    """Queue a failed or waiting message again, due now, with a fresh attempt budget."""
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        raise RecordNotFound(f"There is no message {notification_id} in the outbox.")
    if notification.state == NotificationState.SENT:
        raise StateConflict(f"The message to {notification.recipient_email} was already sent; it is not sent twice.")
    notifications.retry(notification)
    db.session.commit()
    return notification


def retry_failed_notifications() -> int:
    """Queue every failed message again; returns how many."""
    failed = db.session.query(Notification).filter(Notification.state == NotificationState.FAILED).all()
    now = utcnow()
    for notification in failed:
        notifications.retry(notification, now)
    db.session.commit()
    return len(failed)


def retry_tmf_event(event_id: int) -> TmfEvent:
    """Deliver a queued or failed TMF event again now, with a fresh attempt budget (the sender wakes)."""
    tmf_event = db.session.get(TmfEvent, event_id)
    if tmf_event is None:
        raise RecordNotFound(f"There is no TMF event {event_id}.")
    if tmf_event.state not in RETRYABLE_TMF_STATES:
        raise StateConflict(f"The {tmf_event.event_type} event is {tmf_event.state}; only queued or failed events "
                            f"are retried.")
    return tmf_events.retry_event(event_id)

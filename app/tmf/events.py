"""TMF event notifications: an outbox filled in the transaction that changes an order, delivered after
commit by a background sender with a timeout and retries.

Whatever changes an order — a TMF call, an agent in the UI, a manager's approval — is seen here at
flush time, so a subscriber hears about UI approvals too. Events are POSTed to the subscriber's
callback URL exactly as registered (the spec's ``/listener/...`` paths describe the client's side).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid

from flask import Flask, current_app, has_request_context
from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.orm import Session

from app.core.extensions import db
from app.core.model_base import utcnow
from app.core.outbound import post_json
from app.models import CustomerOrder, OrderLineItem
from app.tmf.common import tmf_datetime
from app.tmf.models import TmfEvent, TmfHubSubscription

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
DELIVERY_TIMEOUT_SECONDS = 5
# How long a sender holds a claimed event: well beyond one delivery's timeout. A sender that dies while
# holding it (process killed, host lost) leaves the event to the next round after the lease runs out.
LEASE_SECONDS = 60
PENDING_KEY = "tmf_pending_events"
QUEUED_KEY = "tmf_queued_events"


def profiles_for_order(order: CustomerOrder):
    """The API profiles that show *order* (TMF622 v4 and v5 for a product order), v4 first."""
    from app.tmf.orders import profiles_of

    return profiles_of(order.order_type)


def event_name(api, kind: str) -> str:
    return f"{api.resource_type}{kind}Event"


def queue_event(api, resource_type: str, kind: str, document: dict) -> None:
    """Send ``<resource_type><kind>Event`` with *document* to *api*'s listeners when the current
    transaction commits (for resources other than orders, whose changes are noticed by themselves)."""
    db.session.info.setdefault(QUEUED_KEY, []).append((api, resource_type, kind, document))


# ---------------------------------------------------------------- capture (in the changing transaction)

@event.listens_for(Session, "after_flush")
def _note_order_changes(session, flush_context):
    pending = session.info.setdefault(PENDING_KEY, {})
    for obj in session.new:
        if isinstance(obj, CustomerOrder):
            pending.setdefault(obj.id, set()).add("Create")
    for obj in session.dirty:
        if isinstance(obj, CustomerOrder):
            state = inspect(obj)
            changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
            if "state" in changed:
                pending.setdefault(obj.id, set()).add("StateChange")
            if changed - {"state", "version", "changed_on", "changed_by_id", "changed_by"}:
                pending.setdefault(obj.id, set()).add("AttributeValueChange")
        elif isinstance(obj, OrderLineItem) and inspect(obj).attrs.state.history.has_changes():
            pending.setdefault(obj.order_id, set()).add("AttributeValueChange")


@event.listens_for(Session, "before_flush")
def _capture_deleted_orders(session, flush_context, instances):
    deleted = [obj for obj in session.deleted if isinstance(obj, CustomerOrder)]
    if deleted and has_request_context():
        from app.tmf.orders import render_order

        rendered = session.info.setdefault("tmf_deleted_orders", [])
        for order in (order for order in deleted if order.lines):
            rendered.extend((api, render_order(api, order)) for api in profiles_for_order(order))


@event.listens_for(Session, "before_commit")
def _write_outbox(session):
    # before_commit runs before the commit's own flush: flush now so every change is noted.
    session.flush()
    pending = session.info.pop(PENDING_KEY, None) or {}
    deleted = session.info.pop("tmf_deleted_orders", None) or []
    queued = session.info.pop(QUEUED_KEY, None) or []
    if not pending and not deleted and not queued:
        return
    subscriptions = session.scalars(select(TmfHubSubscription)).all()
    if not subscriptions:
        return
    from app.tmf.orders import render_order

    listening = {subscription.api for subscription in subscriptions}
    rows: list[dict] = []
    for order_id, kinds in pending.items():
        order = session.get(CustomerOrder, order_id)
        # An order without items is not shown by the APIs (see order_query), so nothing is said of it.
        if order is None or not order.lines:
            continue
        # Each listener hears of the order in the version it registered through; a version nobody
        # listens to is not rendered.
        for api in (api for api in profiles_for_order(order) if api.subscription_key in listening):
            document = render_order(api, order) if has_request_context() else _render_offline(api, order)
            for kind in sorted(kinds, key=("Create", "StateChange", "AttributeValueChange").index):
                if kind == "AttributeValueChange" and "Create" in kinds:
                    continue
                rows.extend(_event_rows(subscriptions, api, api.resource_type, kind, document))
    for api, document in deleted:
        rows.extend(_event_rows(subscriptions, api, api.resource_type, "Delete", document))
    for api, resource_type, kind, document in queued:
        rows.extend(_event_rows(subscriptions, api, resource_type, kind, document))
    if rows:
        # One multi-row INSERT, however many orders changed and listeners hear of them.
        session.execute(insert(TmfEvent), rows)
        session.info["tmf_events_queued"] = True


def _render_offline(api, order):
    """Render outside a request (CLI, periodic work): hrefs use the configured public base URL."""
    from app.tmf.orders import render_order

    base = current_app.config.get("PUBLIC_BASE_URL", "http://localhost:8080")
    with current_app.test_request_context(base_url=base):
        return render_order(api, order)


def _event_rows(subscriptions, api, resource_type: str, kind: str, document: dict) -> list[dict]:
    """The outbox rows of one event: one per subscription of *api* whose query selects it. Each carries
    its own eventId, unchanged by retries, for the listener to recognise a repeated delivery."""
    name = f"{resource_type}{kind}Event"
    payload_key = resource_type[0].lower() + resource_type[1:]
    now = tmf_datetime(utcnow())
    # v4 spells the time "timeOcurred"; v5 corrects it and types the event like every other object.
    envelope = {"@type": name, "timeOccurred": now} if api.version >= 5 else {"timeOcurred": now}
    return [{"subscription_id": subscription.id, "event_type": name,
             "payload": {"eventId": str(uuid.uuid4()), "eventTime": now, "eventType": name, **envelope,
                         "title": name, "event": {payload_key: document}}}
            for subscription in subscriptions
            if subscription.api == api.subscription_key and _query_matches(subscription.query, name)]


def _query_matches(query: str | None, name: str) -> bool:
    """``eventType=A,B`` (or ``eventType=A&...``) selects event types; no query means every event."""
    if not query:
        return True
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key.strip() == "eventType":
            return name in {v.strip() for v in value.split(",")}
    return True


@event.listens_for(Session, "after_commit")
def _wake_sender(session):
    if session.info.pop("tmf_events_queued", False):
        try:
            dispatcher = current_app.extensions.get("tmf_event_dispatcher")
        except RuntimeError:
            return
        if dispatcher is not None:
            dispatcher.wake()


# ---------------------------------------------------------------- delivery (outside the request)

class EventDispatcher:
    """One background sender per process; safe with several processes (rows are claimed by UPDATE)."""

    def __init__(self, app: Flask):
        self.app = app
        self._wakeup = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="tmf-event-sender", daemon=True)
                self._thread.start()
        self._wakeup.set()

    def _run(self) -> None:
        while True:
            self._wakeup.wait(timeout=30)
            self._wakeup.clear()
            try:
                with self.app.app_context():
                    deliver_due_events()
                    db.session.remove()
            except Exception:  # a broken round must not kill the sender; the rows stay queued
                log.exception("TMF event delivery round failed")


def _due(now: dt.datetime):
    """Events to send now: queued and due, or claimed by a sender whose lease has run out."""
    return TmfEvent.state.in_(("queued", "sending")) & (TmfEvent.next_attempt_at <= now)


def deliver_due_events(now: dt.datetime | None = None, limit: int = 100) -> int:
    """Send every event that is due; returns how many were delivered.

    Each event is claimed first (state sending, ``next_attempt_at`` moved to the end of a lease) in a
    committed UPDATE that only one sender can win; the attempt is counted at the claim, so an event
    whose delivery kills its sender is not retried for ever. Delivery is at least once: a sender that
    dies after the listener took the event but before recording it leaves it to be sent again, with
    the same eventId.
    """
    now = now or utcnow()
    due = db.session.scalars(select(TmfEvent.id).where(_due(now)).order_by(TmfEvent.id).limit(limit)).all()
    delivered = 0
    for event_id in due:
        claimed = db.session.execute(
            update(TmfEvent).where(TmfEvent.id == event_id, _due(now), TmfEvent.attempts < MAX_ATTEMPTS)
            .values(state="sending", attempts=TmfEvent.attempts + 1,
                    next_attempt_at=utcnow() + dt.timedelta(seconds=LEASE_SECONDS))
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            # Lost to another sender, or out of attempts (its sender died on the last one).
            db.session.execute(
                update(TmfEvent).where(TmfEvent.id == event_id, _due(now), TmfEvent.attempts >= MAX_ATTEMPTS)
                .values(state="failed", last_error="The sender stopped during the last attempt")
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
            continue
        db.session.commit()
        tmf_event = db.session.get(TmfEvent, event_id)
        error = _post(tmf_event.subscription.callback, tmf_event.payload)
        if error is None:
            tmf_event.state, tmf_event.delivered_on, tmf_event.last_error = "delivered", utcnow(), None
            delivered += 1
        elif tmf_event.attempts >= MAX_ATTEMPTS:
            tmf_event.state, tmf_event.last_error = "failed", error
        else:
            tmf_event.state, tmf_event.last_error = "queued", error
            tmf_event.next_attempt_at = utcnow() + dt.timedelta(seconds=2 ** tmf_event.attempts)
        db.session.commit()
    return delivered


def retry_event(event_id: int) -> TmfEvent:
    """Queue a failed (or still queued) event for delivery now, with a fresh set of attempts, and wake the
    sender; delivered events and events a sender holds are left as they are. For the operators' "retry"
    action; commits."""
    tmf_event = db.session.get(TmfEvent, event_id)
    if tmf_event is None:
        raise LookupError(f"No TMF event {event_id}")
    if tmf_event.state in ("failed", "queued"):
        tmf_event.state, tmf_event.attempts, tmf_event.next_attempt_at = "queued", 0, utcnow()
        db.session.info["tmf_events_queued"] = True
    db.session.commit()
    return tmf_event


def _post(url: str, payload: dict) -> str | None:
    # Checked again on every delivery (app/core/outbound.py): the name may resolve elsewhere by now.
    return post_json(url, payload, DELIVERY_TIMEOUT_SECONDS, {"X-Event-Id": str(payload.get("eventId", ""))})


def init_event_delivery(app: Flask) -> None:
    app.extensions["tmf_event_dispatcher"] = EventDispatcher(app)

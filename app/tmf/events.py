"""TMF event notifications: an outbox filled in the transaction that changes an order, delivered after
commit by a background sender with a timeout and retries.

Whatever changes an order — a TMF call, an agent in the UI, a manager's approval — is seen here at
flush time, so a subscriber hears about UI approvals too. Events are POSTed to the subscriber's
callback URL exactly as registered (the spec's ``/listener/...`` paths describe the client's side).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import urllib.error
import urllib.request
import uuid

from flask import Flask, current_app, has_request_context
from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.orm import Session

from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import CustomerOrder, OrderLineItem
from app.tmf.common import tmf_datetime
from app.tmf.models import TmfEvent, TmfHubSubscription

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
DELIVERY_TIMEOUT_SECONDS = 5
PENDING_KEY = "tmf_pending_events"


def api_for_order(order: CustomerOrder):
    from app.tmf.orders import PRODUCT_ORDERING, SERVICE_ORDERING

    return SERVICE_ORDERING if order.order_type == SERVICE_ORDERING.order_type else PRODUCT_ORDERING


def event_name(api, kind: str) -> str:
    return f"{api.resource_type}{kind}Event"


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
        for order in deleted:
            rendered.append((api_for_order(order), render_order(api_for_order(order), order)))


@event.listens_for(Session, "before_commit")
def _write_outbox(session):
    # before_commit runs before the commit's own flush: flush now so every change is noted.
    session.flush()
    pending = session.info.pop(PENDING_KEY, None) or {}
    deleted = session.info.pop("tmf_deleted_orders", None) or []
    if not pending and not deleted:
        return
    subscriptions = session.scalars(select(TmfHubSubscription)).all()
    if not subscriptions:
        return
    from app.tmf.orders import render_order

    rows: list[dict] = []
    for order_id, kinds in pending.items():
        order = session.get(CustomerOrder, order_id)
        if order is None:
            continue
        api = api_for_order(order)
        document = render_order(api, order) if has_request_context() else _render_offline(api, order)
        for kind in sorted(kinds, key=("Create", "StateChange", "AttributeValueChange").index):
            if kind == "AttributeValueChange" and "Create" in kinds:
                continue
            rows.extend(_event_rows(subscriptions, api, kind, document))
    for api, document in deleted:
        rows.extend(_event_rows(subscriptions, api, "Delete", document))
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


def _event_rows(subscriptions, api, kind: str, document: dict) -> list[dict]:
    """The outbox rows of one event: one per subscription of *api* whose query selects it."""
    name = event_name(api, kind)
    payload_key = api.resource[0].lower() + api.resource[1:]
    body = {
        "eventId": str(uuid.uuid4()),
        "eventTime": tmf_datetime(utcnow()),
        "eventType": name,
        "timeOcurred": tmf_datetime(utcnow()),
        "title": name,
        "event": {payload_key: document},
    }
    return [{"subscription_id": subscription.id, "event_type": name, "payload": body}
            for subscription in subscriptions
            if subscription.api == api.key and _query_matches(subscription.query, name)]


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


def deliver_due_events(now: dt.datetime | None = None, limit: int = 100) -> int:
    """Send every queued event that is due; returns how many were delivered."""
    now = now or utcnow()
    due = db.session.scalars(
        select(TmfEvent.id).where(TmfEvent.state == "queued", TmfEvent.next_attempt_at <= now)
        .order_by(TmfEvent.id).limit(limit)
    ).all()
    delivered = 0
    for event_id in due:
        claimed = db.session.execute(
            update(TmfEvent).where(TmfEvent.id == event_id, TmfEvent.state == "queued").values(state="sending")
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        tmf_event = db.session.get(TmfEvent, event_id)
        error = _post(tmf_event.subscription.callback, tmf_event.payload)
        tmf_event.attempts += 1
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


RETRYABLE_STATES = ("queued", "failed")


def requeue(tmf_event: TmfEvent, now: dt.datetime | None = None) -> None:
    """An administrator's retry: deliver again now, with a fresh attempt budget (not committed here)."""
    tmf_event.state, tmf_event.attempts, tmf_event.next_attempt_at = "queued", 0, now or utcnow()


def _post(url: str, payload: dict) -> str | None:
    data = json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json;charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:
            if 200 <= response.status < 300:
                return None
            return f"HTTP {response.status}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return str(exc)[:500]


def init_event_delivery(app: Flask) -> None:
    app.extensions["tmf_event_dispatcher"] = EventDispatcher(app)

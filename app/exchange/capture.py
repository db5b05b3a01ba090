"""What the other side must hear of, noted in the transaction that changes it.

Changes are noted at flush time (whatever made them: a page, the REST or TMF API, a periodic job) and
turned into outbox messages just before the commit, so a message exists exactly when its change does.
While a received message is applied, only the provider's order events go out: everything else it changes
came from the other side and is not echoed back.
"""
from __future__ import annotations

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.exchange import cases, ordering, publishing
from app.exchange.actor import INBOUND_KEY
from app.exchange.models import ExchangeConnection
from app.models import (
    CharacteristicDefinition,
    CustomerOrder,
    JournalEntry,
    OrderCase,
    OrderCaseLine,
    OrderLineItem,
    ProductOffering,
)

NOTES_KEY = "exchange_notes"


def _changed(obj, *fields: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[field].history.has_changes() for field in fields)


@event.listens_for(Session, "after_flush")
def _note_changes(session, flush_context):
    notes = None
    for obj in session.new:
        key = None
        if isinstance(obj, CustomerOrder):
            key, value = "orders", obj.id
        elif isinstance(obj, JournalEntry) and obj.case_id is not None:
            key, value = "journal", obj.id
        elif isinstance(obj, CharacteristicDefinition):
            key, value = "specifications", obj.specification_id
        if key:
            notes = notes or session.info.setdefault(NOTES_KEY, {})
            notes.setdefault(key, set()).add(value)
    for obj in session.dirty:
        key = None
        if isinstance(obj, CustomerOrder) and _changed(obj, "state"):
            key, value = "orders", obj.id
        elif isinstance(obj, OrderLineItem) and _changed(obj, "state"):
            key, value = "orders", obj.order_id
        elif isinstance(obj, ProductOffering) and _changed(obj, "name", "unit_price", "currency", "price_type",
                                                            "description", "active", "specification_id"):
            key, value = "offerings", obj.id
        elif isinstance(obj, CharacteristicDefinition):
            key, value = "specifications", obj.specification_id
        elif isinstance(obj, OrderCase) and _changed(obj, "state"):
            notes = notes or session.info.setdefault(NOTES_KEY, {})
            history = inspect(obj).attrs.state.history
            first, _ = notes.setdefault("case_moves", {}).get(obj.id, (None, None))
            notes["case_moves"][obj.id] = (first or (history.deleted[0] if history.deleted else None), obj.state)
        elif isinstance(obj, OrderCaseLine) and _changed(obj, "state"):
            key, value = "case_lines", obj.id
        if key:
            notes = notes or session.info.setdefault(NOTES_KEY, {})
            notes.setdefault(key, set()).add(value)


@event.listens_for(Session, "before_commit")
def _queue_messages(session):
    if not session.info.get(NOTES_KEY):
        return
    session.flush()
    notes = session.info.pop(NOTES_KEY, {})
    if session.scalar(select(ExchangeConnection.id).limit(1)) is None:
        return
    inbound = session.info.get(INBOUND_KEY) is not None
    if notes.get("orders"):
        ordering.orders_changed(notes["orders"], inbound)
    if inbound:
        return
    if notes.get("offerings"):
        publishing.offerings_changed(notes["offerings"])
    if notes.get("specifications"):
        publishing.specifications_changed(notes["specifications"])
    cases.changes_noted(notes)


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session):
    # Whatever the commit's own flush noted (the messages just queued) is not a change to report.
    session.info.pop(NOTES_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_changes(session, previous_transaction):
    # What a rolled-back transaction changed never happened: nothing of it may go out with the next commit.
    session.info.pop(NOTES_KEY, None)

"""Records of the TM Forum APIs: listener registrations, the event outbox, and cancellation requests."""
from __future__ import annotations

import uuid

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, JSON, String, Text
from sqlalchemy.orm import relationship

from app.core.extensions import Model
from app.core.model_base import utcnow


def new_tmf_id() -> str:
    return str(uuid.uuid4())


class TmfHubSubscription(Model):
    """A client's registration (POST /hub) to receive events of one API at its callback URL."""

    __tablename__ = "tmf_hub_subscription"
    id = Column(Integer, primary_key=True)
    tmf_id = Column(String(64), nullable=False, unique=True, default=new_tmf_id)
    api = Column(String(10), nullable=False, index=True)
    callback = Column(String(1000), nullable=False)
    query = Column(String(1000))
    created_on = Column(DateTime, nullable=False, default=utcnow)


class TmfEvent(Model):
    """An event waiting for (or done with) delivery to one subscriber: written in the transaction that
    caused it, delivered after commit outside the request, retried with back-off."""

    __tablename__ = "tmf_event"
    id = Column(Integer, primary_key=True)
    subscription_id = Column(Integer, ForeignKey("tmf_hub_subscription.id", ondelete="CASCADE"), nullable=False)
    subscription = relationship("TmfHubSubscription")
    event_type = Column(String(80), nullable=False)
    payload = Column(JSON, nullable=False)
    state = Column(String(20), nullable=False, default="queued")
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    last_error = Column(Text)
    created_on = Column(DateTime, nullable=False, default=utcnow)
    delivered_on = Column(DateTime)

    __table_args__ = (Index("ix_tmf_event_state_next", "state", "next_attempt_at"),)


class TmfCancelRequest(Model):
    """A cancelProductOrder / cancelServiceOrder task and its outcome."""

    __tablename__ = "tmf_cancel_request"
    id = Column(Integer, primary_key=True)
    tmf_id = Column(String(64), nullable=False, unique=True, default=new_tmf_id)
    api = Column(String(10), nullable=False, index=True)
    order_id = Column(Integer, ForeignKey("customer_order.id"), nullable=False, index=True)
    order = relationship("CustomerOrder")
    cancellation_reason = Column(String(500))
    requested_cancellation_date = Column(String(40))
    effective_cancellation_date = Column(DateTime)
    state = Column(String(30), nullable=False)
    error_message = Column(String(500))
    created_on = Column(DateTime, nullable=False, default=utcnow)

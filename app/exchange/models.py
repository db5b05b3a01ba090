"""Records of the Service Exchange: connections, the outbox and inbox of messages between two instances,
and the links between our records and the other side's."""
from __future__ import annotations

import uuid

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    JSON,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import column_property, relationship

from app.core.choices import ExchangeMessageState, ExchangeRole
from app.core.extensions import Model
from app.core.model_base import utcnow


def new_message_id() -> str:
    return str(uuid.uuid4())


class ExchangeMessage(Model):
    """One message to the other side of a connection: written in the transaction that caused it, delivered
    after commit in the order written; refused ones wait for an administrator's retry."""

    __tablename__ = "exchange_message"
    id = Column(Integer, primary_key=True)
    connection_id = Column(Integer, ForeignKey("exchange_connection.id", ondelete="CASCADE"), nullable=False)
    connection = relationship("ExchangeConnection", back_populates="messages")
    message_id = Column(String(64), nullable=False, unique=True, default=new_message_id)
    kind = Column(String(40), nullable=False)
    # What the message is about, for people reading the outbox (an order or case number).
    subject = Column(String(200))
    payload = Column(JSON, nullable=False)
    state = Column(String(20), nullable=False, default=ExchangeMessageState.QUEUED)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    last_error = Column(Text)
    created_on = Column(DateTime, nullable=False, default=utcnow)
    delivered_on = Column(DateTime)

    __table_args__ = (Index("ix_exchange_message_connection_state", "connection_id", "state", "id"),)

    def __str__(self):
        return f"{self.kind} {self.subject or ''}".strip()


class ExchangeConnection(Model):
    """This instance's end of a connection with another order desk.

    A provider's connection names the account the consumer's orders land on; both sides hold the other
    side's base URL and an API key of its integrator user, and the URL the other side knows us by.
    """

    __tablename__ = "exchange_connection"
    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False)
    our_role = Column(String(20), nullable=False, default=ExchangeRole.PROVIDER)
    account_id = Column(Integer, ForeignKey("account.id"), index=True)
    account = relationship("Account")
    peer_url = Column(String(500), nullable=False, unique=True)
    own_url = Column(String(500), nullable=False)
    # The other instance's key for calling it ("" until its administrator issued one for this connection).
    api_key = Column(String(500), nullable=False)
    # Our integrator user whose API key the other instance calls us with: no other key speaks for it.
    peer_user_id = Column(Integer, ForeignKey("ab_user.id"), index=True, unique=True)
    peer_user = relationship("User", foreign_keys=[peer_user_id])
    active = Column(Boolean, nullable=False, default=True)
    last_contact_at = Column(DateTime)
    last_error = Column(Text)
    last_error_at = Column(DateTime)
    # One sender at a time delivers a connection's messages, so they arrive in the order written.
    sender_lease_until = Column(DateTime)
    created_on = Column(DateTime, nullable=False, default=utcnow)
    messages = relationship("ExchangeMessage", back_populates="connection", passive_deletes=True)
    waiting = column_property(
        select(func.count(ExchangeMessage.id)).where(
            ExchangeMessage.connection_id == id, ExchangeMessage.state == ExchangeMessageState.QUEUED
        ).correlate_except(ExchangeMessage).scalar_subquery(),
        deferred=True,
    )
    refused = column_property(
        select(func.count(ExchangeMessage.id)).where(
            ExchangeMessage.connection_id == id, ExchangeMessage.state == ExchangeMessageState.REFUSED
        ).correlate_except(ExchangeMessage).scalar_subquery(),
        deferred=True,
    )

    @property
    def is_provider(self) -> bool:
        return self.our_role == ExchangeRole.PROVIDER

    def __str__(self):
        return self.name


class ExchangeReceipt(Model):
    """A message received and applied: a second delivery of the same message is answered, not applied."""

    __tablename__ = "exchange_receipt"
    id = Column(Integer, primary_key=True)
    connection_id = Column(Integer, ForeignKey("exchange_connection.id", ondelete="CASCADE"), nullable=False)
    message_id = Column(String(64), nullable=False)
    kind = Column(String(40), nullable=False)
    received_on = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("connection_id", "message_id", name="uq_exchange_receipt_message"),)


class ExchangePublication(Model):
    """Provider side: an offering published on a connection (it appears in the consumer's catalog)."""

    __tablename__ = "exchange_publication"
    id = Column(Integer, primary_key=True)
    connection_id = Column(Integer, ForeignKey("exchange_connection.id", ondelete="CASCADE"), nullable=False)
    connection = relationship("ExchangeConnection")
    offering_id = Column(Integer, ForeignKey("product_offering.id"), nullable=False, index=True)
    offering = relationship("ProductOffering")
    published_on = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("connection_id", "offering_id", name="uq_exchange_publication"),)


class ExchangeOffering(Model):
    """Consumer side: our catalog copy of a provider's published offering."""

    __tablename__ = "exchange_offering"
    id = Column(Integer, primary_key=True)
    connection_id = Column(Integer, ForeignKey("exchange_connection.id", ondelete="CASCADE"), nullable=False)
    connection = relationship("ExchangeConnection")
    remote_id = Column(String(64), nullable=False)
    offering_id = Column(Integer, ForeignKey("product_offering.id"), nullable=False, unique=True)
    offering = relationship("ProductOffering")
    last_update = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("connection_id", "remote_id", name="uq_exchange_offering_remote"),)


class ExchangeOrder(Model):
    """An order that crosses a connection: on the consumer the order placed, on the provider the order
    it became."""

    __tablename__ = "exchange_order"
    id = Column(Integer, primary_key=True)
    connection_id = Column(Integer, ForeignKey("exchange_connection.id", ondelete="CASCADE"), nullable=False)
    connection = relationship("ExchangeConnection")
    order_id = Column(Integer, ForeignKey("customer_order.id"), nullable=False, unique=True)
    order = relationship("CustomerOrder")
    # The provider's TMF id, known on the consumer once the provider acknowledged the order.
    remote_id = Column(String(64))
    remote_number = Column(String(20))
    remote_state = Column(String(30))
    # Provider: the number of the last state event sent; consumer: of the last one applied.
    event_sequence = Column(Integer, nullable=False, default=0)
    remote_reason = Column(Text)
    updated_on = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("connection_id", "remote_id", name="uq_exchange_order_remote"),)


class ExchangeCase(Model):
    """An order case mirrored across a connection; ``remote_key`` is the consumer's case number (on both
    sides), ``remote_number`` the other side's case number."""

    __tablename__ = "exchange_case"
    id = Column(Integer, primary_key=True)
    connection_id = Column(Integer, ForeignKey("exchange_connection.id", ondelete="CASCADE"), nullable=False)
    connection = relationship("ExchangeConnection")
    case_id = Column(Integer, ForeignKey("order_case.id"), nullable=False, unique=True)
    case = relationship("OrderCase")
    remote_key = Column(String(64), nullable=False)
    remote_number = Column(String(20))
    # Provider: the number of the last case update sent; consumer: of the last one applied.
    event_sequence = Column(Integer, nullable=False, default=0)

    __table_args__ = (UniqueConstraint("connection_id", "remote_key", name="uq_exchange_case_remote"),)


class ExchangeCaseLine(Model):
    """A case line mirrored across a connection, keyed by the consumer's case line number."""

    __tablename__ = "exchange_case_line"
    id = Column(Integer, primary_key=True)
    exchange_case_id = Column(Integer, ForeignKey("exchange_case.id", ondelete="CASCADE"), nullable=False,
                              index=True)
    case_line_id = Column(Integer, ForeignKey("order_case_line.id"), nullable=False, unique=True)
    case_line = relationship("OrderCaseLine")
    remote_key = Column(String(64), nullable=False)

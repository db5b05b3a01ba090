"""E-mail templates (admin-managed) and the record of every message read from the desk mailbox."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import deferred, relationship

from app.core.choices import Choices
from app.core.extensions import Model
from app.core.model_base import Audited, utcnow


class EmailTemplate(Audited, Model):
    """A reusable e-mail an agent starts from on the case page; {placeholders} are filled from the case."""

    __tablename__ = "email_template"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, unique=True)
    subject = Column(String(300), nullable=False)
    body = Column(Text, nullable=False)
    active = Column(Boolean, nullable=False, default=True)

    def __str__(self):
        return self.name


class InboundOutcome(Choices):
    COMMENT = "comment"
    NEW_CASE = "new case"
    REVIEW = "review"
    QUARANTINED = "quarantined"
    DISMISSED = "dismissed"
    ALL = (COMMENT, NEW_CASE, REVIEW, QUARANTINED, DISMISSED)


class InboundEmail(Model):
    """One message read from the desk mailbox and what became of it. ``message_key`` (its Message-ID, or
    a digest of its bytes when it has none) is unique, so a message is applied once however often it is
    read. Messages for review or in quarantine keep their bytes so nothing a customer sent is lost."""

    __tablename__ = "inbound_email"
    id = Column(Integer, primary_key=True)
    message_key = Column(String(255), nullable=False, unique=True)
    from_address = Column(String(320))
    subject = Column(String(500))
    size = Column(Integer, nullable=False, default=0)
    received_on = Column(DateTime, nullable=False, default=utcnow, index=True)
    outcome = Column(String(20), nullable=False, index=True)
    reason = Column(String(500))
    case_id = Column(Integer, ForeignKey("order_case.id"), index=True)
    case = relationship("OrderCase")
    text = Column(Text)
    raw = deferred(Column(LargeBinary))

    def __str__(self):
        return self.subject or self.message_key

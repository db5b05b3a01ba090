"""Service levels and the notification outbox."""
from __future__ import annotations

from sqlalchemy import (
    Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint,
)
from sqlalchemy.orm import relationship

from app.core.choices import NotificationState, SlaSchedule, SlaStage
from app.core.extensions import Model, metadata
from app.core.model_base import Audited, utcnow


class SlaDefinition(Audited, Model):
    """A promise about how fast cases (or case lines) of some priorities are answered or resolved.

    The clock stops while the record sits in one of the pause states (default Awaiting Info) and,
    on a business-hours schedule, outside working hours in the definition's time zone.
    """

    __tablename__ = "sla_definition"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, unique=True)
    applies_to = Column(String(20), nullable=False)
    kind = Column(String(20), nullable=False)
    # Comma-separated priorities this definition covers, e.g. "1,2".
    priorities = Column(String(20), nullable=False, default="1,2,3,4")
    target_minutes = Column(Integer, nullable=False)
    schedule = Column(String(20), nullable=False, default=SlaSchedule.ALWAYS)
    timezone = Column(String(60), nullable=False, default="UTC")
    business_day_start = Column(String(5), nullable=False, default="09:00")
    business_day_end = Column(String(5), nullable=False, default="17:00")
    # ISO weekdays, Monday = 1.
    business_days = Column(String(20), nullable=False, default="1,2,3,4,5")
    pause_states = Column(String(200), nullable=False, default="Awaiting Info")
    at_risk_percent = Column(Integer, nullable=False, default=75)
    active = Column(Boolean, nullable=False, default=True)
    # Days off of a business-hours schedule beyond its weekdays: a holiday pauses the clock like a night.
    holiday_calendar_id = Column(Integer, ForeignKey("holiday_calendar.id"), index=True)
    holiday_calendar = relationship("HolidayCalendar")

    def __str__(self):
        return self.name


class HolidayCalendar(Audited, Model):
    """The days off of a business-hours schedule: a country's public holidays (from the ``holidays``
    package, optionally of one subdivision) plus the desk's own dates."""

    __tablename__ = "holiday_calendar"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, unique=True)
    # ISO 3166 country code of the national calendar, e.g. "US"; empty for the desk's own dates only.
    country = Column(String(10))
    subdivision = Column(String(10))
    description = Column(String(300))
    dates = relationship("HolidayDate", back_populates="calendar", cascade="all, delete-orphan",
                         order_by="HolidayDate.day")

    def __str__(self):
        return self.name


class HolidayDate(Model):
    """One of the desk's own days off (e.g. a company shutdown day) in a holiday calendar."""

    __tablename__ = "holiday_date"
    id = Column(Integer, primary_key=True)
    calendar_id = Column(Integer, ForeignKey("holiday_calendar.id"), nullable=False)
    calendar = relationship("HolidayCalendar", back_populates="dates")
    day = Column(Date, nullable=False)
    name = Column(String(100), nullable=False)

    __table_args__ = (UniqueConstraint("calendar_id", "day", name="uq_holiday_date_calendar_day"),)


class TaskSla(Model):
    """An SLA clock running on one case or case line, recomputed from its recorded state history."""

    __tablename__ = "task_sla"
    id = Column(Integer, primary_key=True)
    definition_id = Column(Integer, ForeignKey("sla_definition.id"), nullable=False)
    definition = relationship("SlaDefinition")
    case_id = Column(Integer, ForeignKey("order_case.id"), nullable=False, index=True)
    case_line_id = Column(Integer, ForeignKey("order_case_line.id"), index=True)
    started_at = Column(DateTime, nullable=False)
    planned_due_at = Column(DateTime, nullable=False, index=True)
    paused_seconds = Column(Integer, nullable=False, default=0)
    elapsed_percent = Column(Float, nullable=False, default=0.0)
    stage = Column(String(20), nullable=False, default=SlaStage.IN_PROGRESS)
    stopped_at = Column(DateTime)
    breached_at = Column(DateTime)
    # Running and past the definition's at-risk percentage; feeds the managers' "At risk" list.
    at_risk = Column(Boolean, nullable=False, default=False)
    at_risk_notified = Column(Boolean, nullable=False, default=False)
    breach_notified = Column(Boolean, nullable=False, default=False)
    computed_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_task_sla_stage_due", "stage", "planned_due_at"),)


notification_attachment = Table(
    "notification_attachment",
    metadata,
    Column("notification_id", Integer, ForeignKey("notification.id", ondelete="CASCADE"), primary_key=True),
    Column("attachment_id", Integer, ForeignKey("attachment.id", ondelete="CASCADE"), primary_key=True),
)


class Notification(Model):
    """A message in the outbox; sent by SMTP when a server is configured, retried with back-off on failure."""

    __tablename__ = "notification"
    id = Column(Integer, primary_key=True)
    event = Column(String(40), nullable=False)
    recipient_email = Column(String(200), nullable=False)
    recipient_user_id = Column(Integer, ForeignKey("ab_user.id"))
    subject = Column(String(300), nullable=False)
    body = Column(Text, nullable=False)
    record_type = Column(String(40))
    record_id = Column(Integer)
    state = Column(String(20), nullable=False, default=NotificationState.QUEUED)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    last_error = Column(Text)
    created_on = Column(DateTime, nullable=False, default=utcnow)
    sent_on = Column(DateTime)
    # Comma-separated copies (an agent's e-mail from the case page).
    cc = Column(Text)
    # Set when queued, so a reply's In-Reply-To / References lead back to the record.
    message_id = Column(String(255), index=True)
    references = Column(Text)
    attachments = relationship("Attachment", secondary=notification_attachment, order_by="Attachment.id")

    __table_args__ = (Index("ix_notification_state_next", "state", "next_attempt_at"),
                      # The messages about one record (a case's e-mail thread, an order's notices in the portal).
                      Index("ix_notification_record", "record_type", "record_id"))

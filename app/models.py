"""Order case management records: cases, case lines, tasks, journal and audit trail.

The customer, catalog and order records live in ``order_models`` and the SLA and notification records
in ``sla_models``; they are re-exported here so every record is importable from ``app.models``.
"""
from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import relationship

from app.core.choices import (
    CaseState,
    InteractionState,
    LineState,
    TaskState,
)
from app.core.extensions import Model, metadata
from app.core.model_base import Audited, NumberSequence, Numbered, utcnow
from app.orders.models import (  # noqa: F401  (re-exported)
    MONEY,
    Account,
    CharacteristicDefinition,
    Contact,
    CustomerOrder,
    EnrichmentIssue,
    InventoryCharacteristic,
    Location,
    OrderChange,
    OrderLineCharacteristic,
    OrderLineItem,
    ProductInventory,
    ProductOffering,
    ProductSpecification,
    Quote,
    QuoteLine,
    QuoteLineCharacteristic,
)

assignment_group_member = Table(
    "assignment_group_member",
    metadata,
    Column("group_id", Integer, ForeignKey("assignment_group.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("ab_user.id"), primary_key=True),
)

case_contributor = Table(
    "case_contributor",
    metadata,
    Column("case_id", Integer, ForeignKey("order_case.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("ab_user.id"), primary_key=True),
)


class AssignmentGroup(Audited, Model):
    """A team that cases and tasks are routed to; 'assigned to' must be one of its members."""

    __tablename__ = "assignment_group"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, unique=True)
    description = Column(String(300))
    manager_id = Column(Integer, ForeignKey("ab_user.id"))
    manager = relationship("User", foreign_keys=[manager_id])
    members = relationship("User", secondary=assignment_group_member)

    def __str__(self):
        return self.name


class ServiceDefinition(Audited, Model):
    """A case type offered in the case type selector (e.g. Sales Order Change Request), with defaults."""

    __tablename__ = "service_definition"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, unique=True)
    description = Column(Text)
    active = Column(Boolean, nullable=False, default=True)
    sort_order = Column(Integer, nullable=False, default=100)
    default_priority = Column(Integer)
    default_assignment_group_id = Column(Integer, ForeignKey("assignment_group.id"))
    default_assignment_group = relationship("AssignmentGroup")

    def __str__(self):
        return self.name


class Interaction(Numbered, Audited, Model):
    """A contact with a customer (call, chat, email, visit); an agent may open an order case from it."""

    __tablename__ = "interaction"
    __number_prefix__ = "INT"
    id = Column(Integer, primary_key=True)
    channel = Column(String(20), nullable=False)
    account_id = Column(Integer, ForeignKey("account.id"), index=True)
    account = relationship("Account")
    contact_id = Column(Integer, ForeignKey("contact.id"))
    contact = relationship("Contact")
    short_description = Column(String(200), nullable=False)
    state = Column(String(20), nullable=False, default=InteractionState.NEW, index=True)
    agent_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    agent = relationship("User", foreign_keys=[agent_id])
    opened_at = Column(DateTime, nullable=False, default=utcnow)


# The SQL condition of an open case (not Closed or Cancelled), for partial indexes.
OPEN_CASE_CONDITION = "state NOT IN ({})".format(", ".join(f"'{state}'" for state in CaseState.READ_ONLY))


class OrderCase(Numbered, Audited, Model):
    """A customer's request about one or more orders; each order or order line in it is a case line.

    The case closes only when every line has an outcome (accepted, denied or cancelled).
    """

    __tablename__ = "order_case"
    __number_prefix__ = "ORDCS"
    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey("account.id"), nullable=False, index=True)
    account = relationship("Account")
    contact_id = Column(Integer, ForeignKey("contact.id"))
    contact = relationship("Contact")
    service_id = Column(Integer, ForeignKey("service_definition.id"), index=True)
    service = relationship("ServiceDefinition")
    scope = Column(String(40), nullable=False)
    order_id = Column(Integer, ForeignKey("customer_order.id"), index=True)
    order = relationship("CustomerOrder")
    origin = Column(String(30), nullable=False)
    interaction_id = Column(Integer, ForeignKey("interaction.id"), index=True)
    interaction = relationship("Interaction")
    short_description = Column(String(200), nullable=False)
    description = Column(Text)
    priority = Column(Integer, nullable=False, default=4)
    state = Column(String(20), nullable=False, default=CaseState.DRAFT)
    assignment_group_id = Column(Integer, ForeignKey("assignment_group.id"), index=True)
    assignment_group = relationship("AssignmentGroup")
    assigned_to_id = Column(Integer, ForeignKey("ab_user.id"))
    assigned_to = relationship("User", foreign_keys=[assigned_to_id])
    needs_attention = Column(Boolean, nullable=False, default=False)
    # Why it needs attention; shown on the case page while the flag is set.
    attention_reason = Column(String(500))
    resolution_code = Column(String(40))
    resolution_notes = Column(Text)
    opened_at = Column(DateTime, nullable=False, default=utcnow)
    resolved_at = Column(DateTime)
    closed_at = Column(DateTime)
    lines = relationship("OrderCaseLine", back_populates="case", order_by="OrderCaseLine.id")
    tasks = relationship("CaseTask", back_populates="case", order_by="CaseTask.id")
    contributors = relationship("User", secondary=case_contributor)

    __table_args__ = (
        # Lists: "My open cases", "Open cases" and the default number-descending sort.
        Index("ix_order_case_state_number", "state", "number"),
        Index("ix_order_case_assignee_state", "assigned_to_id", "state"),
        # "My open cases" newest first: the agent's cases in number order, not every open case sorted.
        Index("ix_order_case_assignee_number", "assigned_to_id", "number"),
        Index("ix_order_case_opened_at", "opened_at"),
        # The open-case queues (My open cases, Unassigned, Open cases) newest first. Most cases of a
        # busy desk are closed; without these, a queue walks every closed case before finding 20 open
        # ones (1 s at a million cases when the newest half is closed). PostgreSQL proves the lists'
        # "state not in (Closed, Cancelled)" filter implies the condition; SQLite uses them only for
        # literal values, so there the (state, number) index above serves.
        Index("ix_order_case_open_number", "number",
              postgresql_where=text(OPEN_CASE_CONDITION), sqlite_where=text(OPEN_CASE_CONDITION)),
        Index("ix_order_case_open_assignee_number", "assigned_to_id", "number",
              postgresql_where=text(OPEN_CASE_CONDITION), sqlite_where=text(OPEN_CASE_CONDITION)),
    )

    @property
    def is_read_only(self) -> bool:
        return self.state in CaseState.READ_ONLY


class OrderCaseLine(Numbered, Audited, Model):
    """One requested change on a case: a whole order (header line) or one order line, with its own outcome.

    Original → requested → approved values are kept side by side; accepting the line applies the
    approved values to the order and records the diff in the order change ledger.
    """

    __tablename__ = "order_case_line"
    __number_prefix__ = "ORDCSL"
    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("order_case.id"), nullable=False, index=True)
    case = relationship("OrderCase", back_populates="lines")
    order_id = Column(Integer, ForeignKey("customer_order.id"), index=True)
    order = relationship("CustomerOrder")
    order_line_id = Column(Integer, ForeignKey("order_line_item.id"), index=True)
    order_line = relationship("OrderLineItem")
    request_type = Column(String(30))
    reason_code = Column(String(40))
    short_description = Column(String(200))
    state = Column(String(30), nullable=False, default=LineState.DRAFT)
    priority = Column(Integer, nullable=False, default=4)
    assigned_to_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    assigned_to = relationship("User", foreign_keys=[assigned_to_id])
    ordered_quantity = Column(Integer)
    requested_quantity = Column(Integer)
    approved_quantity = Column(Integer)
    current_delivery_date = Column(Date)
    requested_delivery_date = Column(Date)
    approved_delivery_date = Column(Date)
    current_location_id = Column(Integer, ForeignKey("location.id"))
    current_location = relationship("Location", foreign_keys=[current_location_id])
    requested_location_id = Column(Integer, ForeignKey("location.id"))
    requested_location = relationship("Location", foreign_keys=[requested_location_id])
    current_unit_price = Column(MONEY)
    disputed_unit_price = Column(MONEY)
    approved_unit_price = Column(MONEY)
    credit_amount = Column(MONEY)
    replacement_offering_id = Column(Integer, ForeignKey("product_offering.id"))
    replacement_offering = relationship("ProductOffering")
    resolution_notes = Column(Text)
    # The order line's version when this case line was last saved; applying refuses if it moved since.
    order_line_version = Column(Integer)
    applied_at = Column(DateTime)
    resolved_at = Column(DateTime)
    characteristics = relationship(
        "CaseLineCharacteristic", back_populates="case_line", cascade="all, delete-orphan",
        order_by="CaseLineCharacteristic.id",
    )
    tasks = relationship("CaseLineTask", back_populates="case_line", order_by="CaseLineTask.id")

    __table_args__ = (Index("ix_order_case_line_case_state", "case_id", "state"),)

    @property
    def is_terminal(self) -> bool:
        return self.state in LineState.TERMINAL

    @property
    def is_header_line(self) -> bool:
        return self.order_line_id is None


class CaseLineCharacteristic(Numbered, Model):
    """A product characteristic of the order line, copied onto the case line when the line is created."""

    __tablename__ = "case_line_characteristic"
    __number_prefix__ = "CSLC"
    id = Column(Integer, primary_key=True)
    case_line_id = Column(Integer, ForeignKey("order_case_line.id"), nullable=False, index=True)
    case_line = relationship("OrderCaseLine", back_populates="characteristics")
    name = Column(String(100), nullable=False)
    value = Column(String(500))


class TaskFields(Audited):
    """Fields shared by case tasks and case line tasks."""

    subject = Column(String(200), nullable=False)
    description = Column(Text)
    state = Column(String(30), nullable=False, default=TaskState.OPEN, index=True)
    priority = Column(Integer, nullable=False, default=4)
    visible_to_customer = Column(Boolean, nullable=False, default=False)
    closed_at = Column(DateTime)

    @property
    def is_active(self) -> bool:
        return self.state in TaskState.ACTIVE


class CaseTask(Numbered, TaskFields, Model):
    """Work on a case handed to someone (possibly outside the desk); the assignee may read the case."""

    __tablename__ = "case_task"
    __number_prefix__ = "CSTASK"
    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("order_case.id"), nullable=False, index=True)
    case = relationship("OrderCase", back_populates="tasks")
    assignment_group_id = Column(Integer, ForeignKey("assignment_group.id"))
    assignment_group = relationship("AssignmentGroup")
    assigned_to_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    assigned_to = relationship("User", foreign_keys=[assigned_to_id])


class CaseLineTask(Numbered, TaskFields, Model):
    """Work on one case line; while it is open the line can be neither accepted nor denied."""

    __tablename__ = "case_line_task"
    __number_prefix__ = "CSLTASK"
    id = Column(Integer, primary_key=True)
    case_line_id = Column(Integer, ForeignKey("order_case_line.id"), nullable=False, index=True)
    case_line = relationship("OrderCaseLine", back_populates="tasks")
    # Denormalised so the case page and permission checks need no join through the line.
    case_id = Column(Integer, ForeignKey("order_case.id"), nullable=False, index=True)
    case = relationship("OrderCase")
    assignment_group_id = Column(Integer, ForeignKey("assignment_group.id"))
    assignment_group = relationship("AssignmentGroup")
    assigned_to_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    assigned_to = relationship("User", foreign_keys=[assigned_to_id])


class JournalEntry(Model):
    """A comment (customer-visible) or work note (internal) on a case, line, task or order."""

    __tablename__ = "journal_entry"
    id = Column(Integer, primary_key=True)
    record_type = Column(String(40), nullable=False)
    record_id = Column(Integer, nullable=False)
    # The case the record belongs to, so the case's activity stream is one indexed query.
    case_id = Column(Integer, ForeignKey("order_case.id"), index=True)
    kind = Column(String(20), nullable=False)
    text = Column(Text, nullable=False)
    author_id = Column(Integer, ForeignKey("ab_user.id"))
    author = relationship("User")
    created_on = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_journal_entry_record", "record_type", "record_id", "created_on"),)


class AuditEvent(Model):
    """One recorded change of one field (or a named transition) on a record: who, when, before → after."""

    __tablename__ = "audit_event"
    id = Column(Integer, primary_key=True)
    record_type = Column(String(40), nullable=False)
    record_id = Column(Integer, nullable=False)
    record_number = Column(String(20))
    case_id = Column(Integer, ForeignKey("order_case.id"), index=True)
    action = Column(String(60))
    field = Column(String(60))
    old_value = Column(String(500))
    new_value = Column(String(500))
    user_id = Column(Integer, ForeignKey("ab_user.id"))
    user = relationship("User")
    created_on = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_audit_event_record", "record_type", "record_id", "created_on"),)


from app.sla.models import (  # noqa: E402,F401  (re-exported)
    HolidayCalendar,
    HolidayDate,
    Notification,
    SlaDefinition,
    TaskSla,
)
from app.attachments.models import Attachment, AttachmentContent  # noqa: E402,F401  (re-exported)
from app.mail.models import EmailTemplate, InboundEmail  # noqa: E402,F401  (re-exported)
from app.tmf.models import TmfCancelRequest, TmfEvent, TmfHubSubscription  # noqa: E402,F401  (re-exported)
from app.operations.models import PeriodicRun  # noqa: E402,F401  (registers the run records)
from app.core.sessions import UserSessionGeneration  # noqa: E402,F401  (registered)
from app.exchange import models as exchange_models  # noqa: E402,F401  (registers the Service Exchange records)
from app.core.display import UserPreference  # noqa: E402,F401  (re-exported)
from app.portal.models import CartItem  # noqa: E402,F401  (re-exported)

__all__ = [
    "Account", "AssignmentGroup", "Attachment", "AttachmentContent", "AuditEvent", "CaseLineCharacteristic",
    "CaseLineTask", "CaseTask", "CharacteristicDefinition", "Contact", "CustomerOrder", "EmailTemplate",
    "EnrichmentIssue", "HolidayCalendar", "HolidayDate", "InboundEmail",
    "Interaction",
    "InventoryCharacteristic", "JournalEntry", "Location", "Notification", "NumberSequence", "OrderCase",
    "OrderCaseLine", "OrderChange", "OrderLineCharacteristic", "OrderLineItem", "ProductInventory",
    "ProductOffering", "ProductSpecification", "Quote", "QuoteLine", "QuoteLineCharacteristic", "ServiceDefinition", "SlaDefinition",
    "TaskSla", "TmfCancelRequest", "TmfEvent", "TmfHubSubscription",
]

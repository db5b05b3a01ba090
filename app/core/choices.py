"""The controlled vocabularies of the domain: states, request types, channels, and their labels.

Values are stored as they read to a person (e.g. "Work in Progress"), so lists, exports, audit events
and API payloads need no translation table.
"""
from __future__ import annotations


class Choices:
    """A closed list of values; ``CHOICES`` feeds select fields, ``ALL`` validates input."""

    ALL: tuple[str, ...] = ()

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(value, value) for value in cls.ALL]

    @classmethod
    def validate(cls, value: str) -> str:
        if value not in cls.ALL:
            raise ValueError(f"{value!r} is not one of: {', '.join(cls.ALL)}")
        return value


class CaseState(Choices):
    DRAFT = "Draft"
    NEW = "New"
    WORK_IN_PROGRESS = "Work in Progress"
    AWAITING_INFO = "Awaiting Info"
    RESOLVED = "Resolved"
    CLOSED = "Closed"
    CANCELLED = "Cancelled"
    ALL = (DRAFT, NEW, WORK_IN_PROGRESS, AWAITING_INFO, RESOLVED, CLOSED, CANCELLED)
    OPEN = (DRAFT, NEW, WORK_IN_PROGRESS, AWAITING_INFO, RESOLVED)
    READ_ONLY = (CLOSED, CANCELLED)


class LineState(Choices):
    DRAFT = "Draft"
    NEW = "New"
    WORK_IN_PROGRESS = "Work in Progress"
    AWAITING_INFO = "Awaiting Info"
    ACCEPTED = "Resolved - Accepted"
    DENIED = "Resolved - Denied"
    CANCELLED = "Cancelled"
    ALL = (DRAFT, NEW, WORK_IN_PROGRESS, AWAITING_INFO, ACCEPTED, DENIED, CANCELLED)
    TERMINAL = (ACCEPTED, DENIED, CANCELLED)
    OPEN = (DRAFT, NEW, WORK_IN_PROGRESS, AWAITING_INFO)


class Scope(Choices):
    SINGLE_ORDER = "Specific line items, Single order"
    MULTIPLE_ORDERS = "Multiple orders"
    ALL = (SINGLE_ORDER, MULTIPLE_ORDERS)


class CaseOrigin(Choices):
    CUSTOMER_ORDER = "Customer Order"
    ORDER_LINE_ITEMS = "Order Line Items"
    INTERACTION = "Interaction"
    LIST = "List"
    PORTAL = "Portal"
    API = "API"
    EMAIL = "Email"
    ALL = (CUSTOMER_ORDER, ORDER_LINE_ITEMS, INTERACTION, LIST, PORTAL, API, EMAIL)


class Priority(Choices):
    LABELS = {1: "1 - Critical", 2: "2 - High", 3: "3 - Moderate", 4: "4 - Low"}
    ALL = (1, 2, 3, 4)

    @classmethod
    def choices(cls) -> list[tuple[int, str]]:
        return list(cls.LABELS.items())


class RequestType(Choices):
    QUANTITY = "Quantity change"
    DELIVERY_DATE = "Delivery date change"
    ADDRESS = "Address change"
    PRICE = "Price dispute"
    WRONG_ITEM = "Wrong item"
    LINE_CANCELLATION = "Line cancellation"
    ORDER_CANCELLATION = "Order cancellation"
    INQUIRY = "Inquiry"
    ALL = (QUANTITY, DELIVERY_DATE, ADDRESS, PRICE, WRONG_ITEM, LINE_CANCELLATION, ORDER_CANCELLATION, INQUIRY)
    # What a header line (a whole order on a Multiple-orders case) may ask for.
    HEADER_LEVEL = (DELIVERY_DATE, ADDRESS, ORDER_CANCELLATION, PRICE, INQUIRY)
    LINE_LEVEL = (QUANTITY, DELIVERY_DATE, ADDRESS, PRICE, WRONG_ITEM, LINE_CANCELLATION, INQUIRY)


class ReasonCode(Choices):
    INCREASE_DEMAND = "Increase demand"
    CHANGE_IN_CONTRACT = "Change in contract"
    INITIAL_INPUT_INCORRECT = "Initial input incorrect"
    OTHER = "Other"
    ALL = (INCREASE_DEMAND, CHANGE_IN_CONTRACT, INITIAL_INPUT_INCORRECT, OTHER)


class ResolutionCode(Choices):
    CHANGE_APPROVED = "Change approved"
    CHANGE_DENIED = "Change denied"
    PARTIALLY_APPROVED = "Partially approved"
    CANCELLED_BY_CUSTOMER = "Cancelled by customer"
    ADDED_REPLACEMENT = "Added replacement product"
    SOLVED = "Solved"
    ALL = (CHANGE_APPROVED, CHANGE_DENIED, PARTIALLY_APPROVED, CANCELLED_BY_CUSTOMER, ADDED_REPLACEMENT, SOLVED)


class TaskState(Choices):
    OPEN = "Open"
    WORK_IN_PROGRESS = "Work in Progress"
    CLOSED_COMPLETE = "Closed Complete"
    CLOSED_INCOMPLETE = "Closed Incomplete"
    ALL = (OPEN, WORK_IN_PROGRESS, CLOSED_COMPLETE, CLOSED_INCOMPLETE)
    ACTIVE = (OPEN, WORK_IN_PROGRESS)


class JournalKind(Choices):
    COMMENT = "comment"
    WORK_NOTE = "work note"
    ALL = (COMMENT, WORK_NOTE)
    # An e-mail sent from the case page; written by app/mail only, never chosen on a journal form.
    EMAIL = "email"


class OrderState(Choices):
    DRAFT = "Draft"
    NEW = "New"
    IN_PROGRESS = "In progress"
    REJECTED = "Rejected"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"
    ALL = (DRAFT, NEW, IN_PROGRESS, REJECTED, COMPLETED, CANCELLED)
    FINAL = (COMPLETED, CANCELLED, REJECTED)


class OrderLineState(Choices):
    DRAFT = "Draft"
    NEW = "New"
    IN_PROGRESS = "In progress"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"
    ALL = (DRAFT, NEW, IN_PROGRESS, COMPLETED, CANCELLED)
    CLOSED = (COMPLETED, CANCELLED)


class OrderType(Choices):
    PRODUCT = "product"
    SERVICE = "service"
    ALL = (PRODUCT, SERVICE)


class OrderChannel(Choices):
    AGENT = "agent"
    QUOTE = "quote"
    PORTAL = "portal"
    TMF622 = "TMF622"
    TMF641 = "TMF641"
    # A consumer's order relayed by a connected order desk (app/exchange/).
    SERVICE_EXCHANGE = "Service Exchange"
    ALL = (AGENT, QUOTE, PORTAL, TMF622, TMF641, SERVICE_EXCHANGE)


class LineAction(Choices):
    ADD = "add"
    CHANGE = "change"
    DISCONNECT = "disconnect"
    SUSPEND = "suspend"
    RESUME = "resume"
    NO_CHANGE = "no change"
    ALL = (ADD, CHANGE, DISCONNECT, SUSPEND, RESUME, NO_CHANGE)
    ON_INVENTORY = (CHANGE, DISCONNECT, SUSPEND, RESUME)


class InventoryState(Choices):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    INACTIVE = "inactive"
    ALL = (PENDING, ACTIVE, SUSPENDED, INACTIVE)


class QuoteState(Choices):
    DRAFT = "draft"
    IN_REVIEW = "in review"
    APPROVED = "approved"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    ALL = (DRAFT, IN_REVIEW, APPROVED, ACCEPTED, EXPIRED, CANCELLED)


class InteractionChannel(Choices):
    PHONE = "phone"
    CHAT = "chat"
    EMAIL = "email"
    WALK_IN = "walk-in"
    ALL = (PHONE, CHAT, EMAIL, WALK_IN)


class InteractionState(Choices):
    NEW = "new"
    WORK_IN_PROGRESS = "work in progress"
    CLOSED = "closed"
    ALL = (NEW, WORK_IN_PROGRESS, CLOSED)


class SpecKind(Choices):
    PRODUCT = "product"
    SERVICE = "service"
    ALL = (PRODUCT, SERVICE)


class ValueType(Choices):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ALL = (STRING, NUMBER, BOOLEAN)


class PriceType(Choices):
    ONE_TIME = "one-time"
    RECURRING = "recurring"
    ALL = (ONE_TIME, RECURRING)


class EnrichmentKind(Choices):
    PARTY = "party"
    OFFERING = "offering"
    SPECIFICATION = "specification"
    LOCATION = "location"
    ALL = (PARTY, OFFERING, SPECIFICATION, LOCATION)


class SlaKind(Choices):
    RESPONSE = "response"
    RESOLUTION = "resolution"
    ALL = (RESPONSE, RESOLUTION)


class SlaTarget(Choices):
    CASE = "case"
    CASE_LINE = "case line"
    ALL = (CASE, CASE_LINE)


class SlaSchedule(Choices):
    ALWAYS = "24x7"
    BUSINESS_HOURS = "business hours"
    ALL = (ALWAYS, BUSINESS_HOURS)


class SlaStage(Choices):
    IN_PROGRESS = "in progress"
    PAUSED = "paused"
    ACHIEVED = "achieved"
    BREACHED = "breached"
    ALL = (IN_PROGRESS, PAUSED, ACHIEVED, BREACHED)


class NotificationState(Choices):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    ALL = (QUEUED, SENT, FAILED)


class ExchangeRole(Choices):
    """What this instance is on a Service Exchange connection."""

    PROVIDER = "provider"
    CONSUMER = "consumer"
    ALL = (PROVIDER, CONSUMER)


class ExchangeMessageState(Choices):
    QUEUED = "queued"
    DELIVERED = "delivered"
    REFUSED = "refused"
    ALL = (QUEUED, DELIVERED, REFUSED)

"""The customer's account: the one place that says what a portal user may see and change.

A customer (role ``customer``, no back-office role) acts through the active contact linked to their
user (``Contact.user_id``) and sees that contact's account only. The portal and the REST API build
every customer query from ``AccountScope``, and the case workflows call ``require_case_writer`` /
``require_own_draft`` so a customer can create, fill in and submit Draft cases of their own account
and nothing else, whichever door the request came through.
"""
from __future__ import annotations

from dataclasses import dataclass
from sqlalchemy import false, select

from app.cases.guards import optional_id
from app.core.choices import CaseState, JournalKind
from app.core.exceptions import InvalidInput, PermissionDenied
from app.core.extensions import db
from app.models import (
    Contact,
    CustomerOrder,
    JournalEntry,
    Location,
    OrderCase,
    OrderCaseLine,
    OrderChange,
    OrderLineItem,
    ProductInventory,
)
from app.core.roles import AGENT, CUSTOMER, has_back_office_role, role_names

# What a customer may fill in on a case line of their Draft case (SPEC §9: the change they ask for).
CUSTOMER_LINE_FIELDS = ("request_type", "reason_code", "short_description", "requested_quantity",
                        "requested_delivery_date", "requested_location_id")
# Journal entries of these records are the case's conversation with the customer (never a task's).
CONVERSATION_RECORDS = (OrderCase.__tablename__, OrderCaseLine.__tablename__)


def is_customer(user) -> bool:
    """A portal user: the customer role and no back-office role (an agent who is also a customer is an agent)."""
    return user is not None and CUSTOMER in role_names(user) and not has_back_office_role(user, AGENT)


def customer_contact(user) -> Contact | None:
    """The active contact a customer signs in as, or None (not a customer, or not linked)."""
    if not is_customer(user):
        return None
    return db.session.scalar(select(Contact).where(Contact.user_id == user.id, Contact.active.is_(True)))


def customer_account_id(user) -> int | None:
    """The account a customer acts for, or None."""
    if not is_customer(user):
        return None
    return db.session.scalar(select(Contact.account_id).where(Contact.user_id == user.id, Contact.active.is_(True)))


@dataclass(frozen=True)
class AccountScope:
    """Queries limited to one account; ``account_id`` None limits them to nothing."""

    account_id: int | None

    @classmethod
    def of(cls, user) -> "AccountScope":
        return cls(customer_account_id(user))

    def _where(self, query, column):
        return query.where(column == self.account_id) if self.account_id else query.where(false())

    def cases(self):
        return self._where(select(OrderCase), OrderCase.account_id)

    def case_lines(self):
        return self._where(select(OrderCaseLine).join(OrderCase, OrderCase.id == OrderCaseLine.case_id),
                           OrderCase.account_id)

    def orders(self):
        return self._where(select(CustomerOrder), CustomerOrder.account_id)

    def order_lines(self):
        return self._where(select(OrderLineItem).join(CustomerOrder, CustomerOrder.id == OrderLineItem.order_id),
                           CustomerOrder.account_id)

    def order_changes(self):
        return self._where(select(OrderChange).join(CustomerOrder, CustomerOrder.id == OrderChange.order_id),
                           CustomerOrder.account_id)

    def inventory(self):
        return self._where(select(ProductInventory), ProductInventory.account_id)

    def contacts(self):
        return self._where(select(Contact), Contact.account_id)

    def locations(self):
        return self._where(select(Location), Location.account_id)

    def tasks(self, model):
        """Case or case line tasks the customer may see: of their cases, and marked visible to customers."""
        query = select(model).join(OrderCase, OrderCase.id == model.case_id).where(
            model.visible_to_customer.is_(True))
        return self._where(query, OrderCase.account_id)

    def comments(self, case_id: int):
        """The customer-visible comments of one of the account's cases and its lines (never work notes)."""
        query = select(JournalEntry).join(OrderCase, OrderCase.id == JournalEntry.case_id).where(
            JournalEntry.case_id == case_id, JournalEntry.kind == JournalKind.COMMENT,
            JournalEntry.record_type.in_(CONVERSATION_RECORDS))
        return self._where(query, OrderCase.account_id)

    def get(self, query, model, record_id):
        """The record *record_id* of *query* (a scope query of *model*), or None when it is not the account's."""
        record_id = optional_id(record_id)
        if record_id is None:
            return None
        return db.session.scalars(query.where(model.id == record_id).limit(1)).first()


# ----------------------------------------------------------------------------------------------------
# Guards for the case workflows


def require_case_writer(user, action: str) -> Contact | None:
    """Back office (agent and above) passes (None); a linked customer passes with their contact; else 403."""
    if has_back_office_role(user, AGENT):
        return None
    contact = customer_contact(user)
    if contact is None:
        raise PermissionDenied(f"{action} is not allowed: it needs the {AGENT} role.")
    return contact


def require_own_account(contact: Contact | None, account_id, action: str) -> None:
    if contact is not None and optional_id(account_id) != contact.account_id:
        raise PermissionDenied(f"{action} is not allowed: you may only act for your own account.")


def require_own_draft(contact: Contact | None, case: OrderCase, action: str) -> None:
    """A customer changes only Draft cases of their own account (back office: no-op)."""
    if contact is None:
        return
    require_own_account(contact, case.account_id, action)
    if case.state != CaseState.DRAFT:
        raise PermissionDenied(
            f"{action} is not allowed: {case.number} is {case.state}; once submitted, the order desk works on it.")


# Fields that name a record of the account, and the scope query that holds it.
REFERENCE_FIELDS = {
    "order_id": ("orders", CustomerOrder), "order_ids": ("orders", CustomerOrder),
    "order_line_id": ("order_lines", OrderLineItem), "order_line_ids": ("order_lines", OrderLineItem),
    "contact_id": ("contacts", Contact), "inventory_id": ("inventory", ProductInventory),
    "location_id": ("locations", Location), "shipping_location_id": ("locations", Location),
    "requested_location_id": ("locations", Location),
}


def foreign_references(account_id: int | None, values: dict) -> dict[str, str]:
    """{field: message} for every id (or order number) in *values* that names nothing of the account.

    The message never says whose the record is: to a customer, another account's records do not exist.
    """
    scope = AccountScope(account_id)
    errors: dict[str, str] = {}
    for field, value in values.items():
        if field == "order_number":
            number = (value or "").strip().upper() if isinstance(value, str) else ""
            if number and db.session.scalar(scope.orders().where(CustomerOrder.number == number).limit(1)) is None:
                errors[field] = "No such order on your account"
            continue
        if field not in REFERENCE_FIELDS or value in (None, "", [], ()):
            continue
        query_name, model = REFERENCE_FIELDS[field]
        ids = value if isinstance(value, (list, tuple, set)) else [value]
        wanted = {optional_id(item) for item in ids}
        found = set(db.session.scalars(getattr(scope, query_name)().with_only_columns(model.id).where(
            model.id.in_([item for item in wanted if item is not None])))) if wanted - {None} else set()
        if None in wanted or wanted - found:
            errors[field] = "Not found on your account"
    return errors


def require_own_references(contact: Contact | None, action: str, **values) -> None:
    """A customer's input names only their own account's orders, lines, contacts, locations, inventory."""
    if contact is None:
        return
    errors = foreign_references(contact.account_id, values)
    if errors:
        raise InvalidInput(f"{action}: {', '.join(sorted(errors))} names nothing on your account.", errors)


def check_customer_line_fields(contact: Contact | None, case: OrderCase, fields: dict, action: str) -> None:
    """A customer sets only the change they ask for, and ships only to their own account's locations."""
    if contact is None:
        return
    refused = sorted(set(fields) - set(CUSTOMER_LINE_FIELDS))
    if refused:
        raise PermissionDenied(f"{action} is not allowed: the order desk sets {', '.join(refused)}.")
    location_id = fields.get("requested_location_id")
    if location_id not in (None, ""):
        scope = AccountScope(case.account_id)
        if scope.get(scope.locations(), Location, location_id) is None:
            raise InvalidInput(f"{action}: the requested shipping location is not one of your account's locations.",
                               {"requested_location_id": "Not a location of your account"})

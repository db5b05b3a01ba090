"""Type-ahead look-ups for the relation fields of the order and quote forms, and the choices those forms
render without script.

A look-up answers a few records whose number is what was typed or whose name holds every typed word (the
last one perhaps half-typed), within the parent the form already holds: the contacts and sites of the
chosen account, the offerings an order of this type and currency may hold (the rule ``active_offerings``
applies on the line forms, not a copy of it). Each answer is at most two bounded queries through an index
(the unique number index, the full-text index of account and contact names, a parent's ``account_id``
index; offerings are a catalogue of a few hundred at most), whatever the number of cases and orders.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.sql import Select

from app.core.choices import OrderType, SpecKind
from app.core.exceptions import InvalidInput
from app.core.extensions import db
from app.models import Account, Contact, Location, ProductOffering, ProductSpecification
from app.search import fulltext

# A type-ahead shows this many matches; typing more narrows them.
LOOKUP_LIMIT = 20
# A form without script lists this many accounts or contacts (and the chosen one); its Find box narrows them.
CHOICE_LIMIT = 50
# An account's sites listed on an order form (every one in practice).
SITE_LIMIT = 200
# Nothing longer names a record: a name is at most 150 characters.
MAX_TYPED = 150
RECORD_ID = re.compile(r"\d{1,9}")
CURRENCY = re.compile(r"[A-Z]{3}")
# What a number looks like when typed: ACC0000012, acc-12, or just its digits.
TYPED_NUMBER = re.compile(r"([A-Za-z]{2,6})?[\s-]*0*(\d{1,7})")


@dataclass(frozen=True)
class Choice:
    """One record offered by a relation field: its id, the label the option shows, a short detail."""

    id: int
    label: str
    detail: str = ""


def account_choice(account: Account) -> Choice:
    return Choice(account.id, f"{account.name} ({account.number})", account.industry or "")


def contact_choice(contact: Contact) -> Choice:
    return Choice(contact.id, contact.name, contact.email or "")


def location_choice(location: Location) -> Choice:
    return Choice(location.id, str(location), location.street or "")


def offering_choice(offering: ProductOffering) -> Choice:
    return Choice(offering.id, f"{offering.name} — {offering.unit_price} {offering.currency} {offering.price_type}",
                  offering.number)


def parent_id(value, field: str, label: str) -> int | None:
    """The id of a look-up's parent record as typed in a URL (None when absent); anything else is refused."""
    text = str(value or "").strip()
    if not text:
        return None
    if not RECORD_ID.fullmatch(text):
        raise InvalidInput(f"{label} must be a record id (digits).", {field: "Not a record id"})
    return int(text)


def typed_text(typed: str | None) -> str:
    """What was typed, refused when it is longer than any name (the request gate has refused NULs)."""
    text = fulltext.cleaned(typed or "") if len(typed or "") <= MAX_TYPED else None
    if text is None:
        raise InvalidInput(f"Type at most {MAX_TYPED} characters to look a record up.", {"q": "Too long"})
    return text


def _numbered(query: Select, model, typed: str) -> Select | None:
    """*query* narrowed to the record whose number was typed, or None when *typed* is not a number of *model*."""
    match = TYPED_NUMBER.fullmatch(typed)
    prefix = model.__number_prefix__
    if match is None or (match.group(1) and match.group(1).upper() != prefix):
        return None
    return query.where(model.number == f"{prefix}{int(match.group(2)):07d}")


def _found(query: Select, model, typed: str, order_by, limit: int, named=None) -> list:
    """The records of *query* matching *typed*: the numbered one first, then those named like it.
    *named*: the name condition for the words (default: the full-text index of *model*, last word a prefix)."""
    records = []
    numbered = _numbered(query, model, typed) if typed else None
    if numbered is not None:
        records = list(db.session.scalars(numbered.limit(1)))
    words = fulltext.words_of(typed)
    if typed and not words:
        return records
    if words:
        query = query.where(named(words) if named is not None else fulltext.matches(model, words, prefix=True))
    found = db.session.scalars(query.order_by(*order_by).limit(limit)).all()
    return records + [record for record in found if record not in records][:limit - len(records)]


def find_accounts(typed: str | None, limit: int = LOOKUP_LIMIT) -> list[Choice]:
    """Active accounts by number or name."""
    query = select(Account).where(Account.active.is_(True))
    return [account_choice(a) for a in _found(query, Account, typed_text(typed), (Account.name, Account.id), limit)]


def find_contacts(typed: str | None, account_id=None, limit: int = LOOKUP_LIMIT) -> list[Choice]:
    """Active contacts (of the account, when given) by number or name."""
    query = select(Contact).where(Contact.active.is_(True))
    account = parent_id(account_id, "account_id", "The account")
    named = None
    if account is not None:
        # An account's few contacts come through its index; the full-text index would gather every
        # contact whose name starts so (all 10,000 "Pat"s of the L data set) to keep one.
        query = query.where(Contact.account_id == account)

        def named(words):
            return _every_word(words, Contact.first_name, Contact.last_name, Contact.email)

    order = (Contact.last_name, Contact.first_name, Contact.id)
    return [contact_choice(c) for c in _found(query, Contact, typed_text(typed), order, limit, named)]


def find_locations(typed: str | None, account_id=None, limit: int = LOOKUP_LIMIT) -> list[Choice]:
    """Locations (of the account, when given) by number, or by name and city: no full-text index, so a
    look-up without an account reads the name index in order until it has found enough."""
    query = select(Location)
    account = parent_id(account_id, "account_id", "The account")
    if account is not None:
        query = query.where(Location.account_id == account)

    def named(words):
        return _every_word(words, Location.name, Location.city)

    order = (Location.name, Location.number)
    return [location_choice(s) for s in _found(query, Location, typed_text(typed), order, limit, named)]


def offerings_on_sale(currency: str | None = None, order_type: str | None = None) -> Select:
    """The offerings on sale, in *currency*; for an order of *order_type*, only the offerings of that kind."""
    query = select(ProductOffering).where(ProductOffering.active.is_(True))
    if currency:
        query = query.where(ProductOffering.currency == currency)
    if order_type:
        kind = select(ProductSpecification.kind).where(
            ProductSpecification.id == ProductOffering.specification_id).scalar_subquery()
        query = query.where(func.coalesce(kind, SpecKind.PRODUCT) == order_type)
    return query


def find_offerings(typed: str | None, order_type=None, currency=None, limit: int = LOOKUP_LIMIT) -> list[Choice]:
    """Offerings on sale by number or name, for an order of *order_type* (product or service) in *currency*."""
    if order_type and order_type not in OrderType.ALL:
        raise InvalidInput(f"The order type is one of {', '.join(OrderType.ALL)}.", {"order_type": "Unknown"})
    if currency and not CURRENCY.fullmatch(currency):
        raise InvalidInput("The currency is a three-letter code such as USD.", {"currency": "Not a currency"})
    query = offerings_on_sale(currency or None, order_type or None)

    def named(words):
        return _every_word(words, ProductOffering.name)

    order = (ProductOffering.name, ProductOffering.id)
    return [offering_choice(o) for o in _found(query, ProductOffering, typed_text(typed), order, limit, named)]


def _every_word(words: list[str], *columns):
    # LIKE's own wildcards in a word are matched as themselves.
    def pattern(word):
        return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

    return and_(*(or_(*(column.ilike(pattern(word), escape="\\") for column in columns)) for word in words))


# -- the choices a form renders -------------------------------------------------------------------


def _with_chosen(choices: list[Choice], chosen: Choice | None) -> list[Choice]:
    if chosen is not None and all(choice.id != chosen.id for choice in choices):
        return [chosen, *choices]
    return choices


def account_choices(account_id=None, typed: str | None = "") -> list[Choice]:
    """The account field's options: the accounts named like *typed* (the Find box of a form without
    script), always with the chosen one."""
    chosen = record(Account, account_id)
    return _with_chosen(find_accounts(typed, CHOICE_LIMIT), account_choice(chosen) if chosen else None)


def account_parties(account_id, contact_id=None, location_id=None, account_changed: bool = False) -> dict:
    """The contact and shipping location fields of an order or quote form for the chosen account: their
    options, and the values they hold: the chosen ones while they may go with the account (a shared site
    may); when the account has just changed, the others become its primary contact and shipping location,
    as a new order starts."""
    account = record(Account, account_id)
    if account is None:
        return {"has_account": False, "contacts": [], "locations": [], "contact_id": "", "shipping_location_id": ""}
    contact = record(Contact, contact_id)
    if contact is not None and contact.account_id != account.id:
        contact = None
    location = record(Location, location_id)
    if location is not None and location.account_id not in (None, account.id):
        location = None
    if account_changed:
        contact = contact or account.primary_contact
        location = location or account.shipping_location
    contacts = find_contacts("", account.id, CHOICE_LIMIT)
    locations = db.session.scalars(select(Location).where(Location.account_id == account.id)
                                   .order_by(Location.name, Location.number).limit(SITE_LIMIT)).all()
    return {
        "has_account": True,
        "contacts": _with_chosen(contacts, contact_choice(contact) if contact else None),
        "locations": _with_chosen([location_choice(site) for site in locations],
                                  location_choice(location) if location else None),
        "contact_id": contact.id if contact else "",
        "shipping_location_id": location.id if location else "",
    }


def record(model, record_id):
    """The record of *model* whose id is *record_id* as typed (None when it is not an id, or unknown)."""
    text = str(record_id or "")
    return db.session.get(model, int(text)) if RECORD_ID.fullmatch(text) else None

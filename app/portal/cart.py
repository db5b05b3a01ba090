"""Ordering from the catalog: browse it (search, categories), fill a cart, place the cart as its orders.

A customer adds offerings to their cart one at a time (a quantity and the characteristic values that
offering's specification asks for), reviews it, changes quantities, removes items and places it. Each
step validates everything first and commits once, so a refusal writes nothing; the characteristics
are checked by the order rules (``validate_characteristics``) when an item is added and again when the
order is placed. Placing goes through the order workflows (create, add lines, submit), which decide
what a customer may order; a cart of products and services, or of several providers' offerings, becomes
one order of each, all placed or none.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.cases.guards import optional_id, parse_positive_int
from app.core.choices import OrderChannel, OrderType, SpecKind
from app.core.exceptions import DomainError, InvalidInput, RecordNotFound
from app.core.extensions import db
from app.core.workflow_base import one_transaction
from app.models import Contact, CustomerOrder, Location, ProductOffering, ProductSpecification
from app.orders import workflows as order_workflows
from app.orders.rules import offering_kind, validate_characteristics
from app.portal.models import CartItem
from app.portal.scope import AccountScope

CATALOG_PAGE_SIZE = 12
# A cart longer than this is an order for the order desk to capture, not a portal basket.
CART_LIMIT = 50
QUANTITY_FIELD = re.compile(r"qty-(\d{1,9})$")


# ----------------------------------------------------------------------------------------------------
# The catalog


@dataclass
class Category:
    """A specification the catalog offers something of: the customer's way to narrow the catalog."""

    id: int
    name: str
    kind: str
    count: int


@dataclass
class CatalogPage:
    offerings: list[ProductOffering]
    page: int
    has_next: bool
    total: int
    # The search and category the page shows (for its links to the next and previous pages).
    filters: dict[str, str]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // CATALOG_PAGE_SIZE))


def _sold():
    return (ProductOffering.active.is_(True), ProductSpecification.active.is_(True))


def categories() -> dict[str, list[Category]]:
    """The specifications with active offerings, grouped by kind (products first), each with its count."""
    rows = db.session.execute(
        select(ProductSpecification.id, ProductSpecification.name, ProductSpecification.kind, func.count())
        .join(ProductOffering, ProductOffering.specification_id == ProductSpecification.id)
        .where(*_sold())
        .group_by(ProductSpecification.id, ProductSpecification.name, ProductSpecification.kind)
        .order_by(ProductSpecification.name)).all()
    grouped: dict[str, list[Category]] = {SpecKind.PRODUCT: [], SpecKind.SERVICE: []}
    for spec_id, name, kind, count in rows:
        grouped.setdefault(kind, []).append(Category(spec_id, name, kind, count))
    return grouped


def search_catalog(words: str, category: str | None, page: int) -> CatalogPage:
    """Active offerings matching every word (name, description, specification, provider), in *category*.

    *category*: a specification id, or a kind ("product" / "service"); anything else means all.
    """
    query = (select(ProductOffering).join(ProductOffering.specification).where(*_sold()))
    spec_id = optional_id(category) if category and category.isdigit() else None
    if spec_id is not None:
        query = query.where(ProductSpecification.id == spec_id)
    elif category in (SpecKind.PRODUCT, SpecKind.SERVICE):
        query = query.where(ProductSpecification.kind == category)
    for word in words.split()[:8]:
        pattern = f"%{word[:60].replace('%', '').replace('_', '')}%"
        query = query.where(or_(ProductOffering.name.ilike(pattern), ProductOffering.description.ilike(pattern),
                                ProductSpecification.name.ilike(pattern), ProductOffering.provider.ilike(pattern)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = max(1, min(page, 10_000))
    offerings = db.session.scalars(
        query.options(joinedload(ProductOffering.specification).selectinload(ProductSpecification.characteristics))
        .order_by(ProductOffering.name, ProductOffering.id)
        .offset((page - 1) * CATALOG_PAGE_SIZE).limit(CATALOG_PAGE_SIZE)).unique().all()
    filters = {key: value for key, value in (("q", words), ("category", category)) if value}
    return CatalogPage(offerings, page, page * CATALOG_PAGE_SIZE < total, total, filters)


def _offerings(ids) -> dict[int, ProductOffering]:
    return {offering.id: offering for offering in db.session.scalars(
        select(ProductOffering).where(ProductOffering.id.in_(ids))
        .options(joinedload(ProductOffering.specification).selectinload(ProductSpecification.characteristics))
    ).unique()}


def _sold_now(offering: ProductOffering | None) -> bool:
    return offering is not None and offering.active and (offering.specification is None
                                                         or offering.specification.active)


def _chosen_characteristics(offering: ProductOffering, form, errors: dict) -> dict[str, str]:
    """The characteristic values the form gives *offering*, checked by the order rules."""
    spec = offering.specification
    raw = {d.name: form.get(f"char-{offering.id}-{d.id}", "") for d in (spec.characteristics if spec else [])}
    try:
        return dict(validate_characteristics(spec, raw))
    except InvalidInput as refused:
        errors.update({key.replace("char:", f"char-{offering.id}:"): message
                       for key, message in refused.field_errors.items()})
        return {}


# ----------------------------------------------------------------------------------------------------
# The cart


def cart_items(contact: Contact) -> list[CartItem]:
    return db.session.scalars(
        select(CartItem).where(CartItem.contact_id == contact.id)
        .options(joinedload(CartItem.offering).joinedload(ProductOffering.specification))
        .order_by(CartItem.added_on, CartItem.id)).unique().all()


def cart_count(contact: Contact) -> int:
    """How many items the cart holds (the navigation's badge)."""
    return db.session.scalar(select(func.count()).where(CartItem.contact_id == contact.id)) or 0


def find_cart_item(contact: Contact, item_pk) -> CartItem | None:
    item_id = optional_id(item_pk)
    if item_id is None:
        return None
    return db.session.scalars(select(CartItem).where(CartItem.id == item_id, CartItem.contact_id == contact.id)).first()


def add_to_cart(contact: Contact, form) -> list[CartItem]:
    """Every offering the form gives a quantity of at least 1 (``qty-<offering>``), with its characteristics
    (``char-<offering>-<definition>``), goes into the cart; the same offering with the same values adds up.

    A quantity left empty or 0 means "not this one": its characteristics are not asked for.
    """
    wanted: dict[int, str] = {}
    for name in form.keys():
        match = QUANTITY_FIELD.match(name)
        raw = (form.get(name) or "").strip()
        if match and raw not in ("", "0"):
            wanted[int(match.group(1))] = raw
    if not wanted:
        raise InvalidInput("Choose a quantity of at least 1.", {"items": "Nothing chosen"})
    offerings = _offerings(wanted)
    errors: dict[str, str] = {}
    chosen = []
    for offering_id, raw in wanted.items():
        offering = offerings.get(offering_id)
        if not _sold_now(offering):
            errors[f"qty-{offering_id}"] = "No longer sold"
            continue
        try:
            quantity = parse_positive_int(raw, "Add to cart", f"qty-{offering_id}", f"Quantity of {offering.name}")
        except InvalidInput as refused:
            errors.update(refused.field_errors)
            continue
        characteristics = _chosen_characteristics(offering, form, errors)
        chosen.append((offering, quantity, characteristics))
    if errors:
        named = sorted({offerings[i].name for i in wanted if i in offerings and any(
            key.startswith((f"qty-{i}", f"char-{i}")) for key in errors)})
        raise InvalidInput(f"Not added: check {', '.join(named) or 'the highlighted fields'}.", errors)

    items = cart_items(contact)
    added = []
    try:
        _put_in_cart(contact, items, chosen, added)
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return added


def _put_in_cart(contact: Contact, items: list[CartItem], chosen, added: list[CartItem]) -> None:
    for offering, quantity, characteristics in chosen:
        same = next((item for item in items if item.offering_id == offering.id
                     and item.characteristics == characteristics), None)
        if same is None:
            same = CartItem(contact_id=contact.id, offering_id=offering.id, quantity=0,
                            characteristics=characteristics)
            db.session.add(same)
            items.append(same)
        same.quantity = parse_positive_int(same.quantity + quantity, "Add to cart", f"qty-{offering.id}",
                                           f"Quantity of {offering.name}")
        added.append(same)
    if len(items) > CART_LIMIT:
        raise InvalidInput(f"Your cart holds at most {CART_LIMIT} items: place an order first.",
                           {"items": "Cart is full"})


def update_cart(contact: Contact, form) -> list[CartItem]:
    """The cart page's quantities (``qty-item-<item>``): a new quantity, or 0 to remove the item."""
    items = cart_items(contact)
    errors: dict[str, str] = {}
    changes = []
    for item in items:
        raw = (form.get(f"qty-item-{item.id}") or "").strip()
        if raw == "":
            continue
        if raw == "0":
            changes.append((item, 0))
            continue
        try:
            changes.append((item, parse_positive_int(raw, "Update cart", f"item-{item.id}",
                                                     f"Quantity of {item.offering.name}")))
        except InvalidInput as refused:
            errors.update(refused.field_errors)
    if errors:
        raise InvalidInput("Quantities must be whole numbers (0 removes the item).", errors)
    for item, quantity in changes:
        if quantity == 0:
            db.session.delete(item)
        else:
            item.quantity = quantity
    db.session.commit()
    return [item for item, quantity in changes if quantity]


def remove_from_cart(contact: Contact, item_pk) -> str:
    """Take one item out of the cart; the name of what was removed."""
    item = find_cart_item(contact, item_pk)
    if item is None:
        raise RecordNotFound("That item is not in your cart.")
    name = item.offering.name
    db.session.delete(item)
    db.session.commit()
    return name


@dataclass
class Totals:
    """What the cart comes to, per currency: once, and per period for recurring prices."""

    currency: str
    one_time: Decimal
    recurring: Decimal


def cart_totals(items: list[CartItem]) -> list[Totals]:
    totals: dict[str, Totals] = {}
    for item in items:
        offering = item.offering
        total = totals.setdefault(offering.currency, Totals(offering.currency, Decimal("0"), Decimal("0")))
        amount = offering.unit_price * item.quantity
        if offering.price_type == "recurring":
            total.recurring += amount
        else:
            total.one_time += amount
    return sorted(totals.values(), key=lambda total: total.currency)


# ----------------------------------------------------------------------------------------------------
# Placing the cart: one order per kind of offering and provider


@dataclass
class CartOrder:
    """The cart items that become one order. The order workflows take products and services on orders of
    their own (an order's type), and the Service Exchange sends a provider one order holding its offerings
    and nothing else; a cart mixing them becomes one order of each."""

    order_type: str
    provider: str | None
    items: list[CartItem]
    # The order placed for these items (once placed).
    order: CustomerOrder | None = None

    @property
    def label(self) -> str:
        what = "services" if self.order_type == OrderType.SERVICE else "products"
        return f"{what} from {self.provider}" if self.provider else what


def cart_orders(items: list[CartItem]) -> list[CartOrder]:
    """The orders the cart becomes, in the order their first items went into the cart."""
    parts: dict[tuple[str, str | None], CartOrder] = {}
    for item in items:
        key = (offering_kind(item.offering), item.offering.provider or None)
        parts.setdefault(key, CartOrder(key[0], key[1], [])).items.append(item)
    return list(parts.values())


def place_cart(user, contact: Contact, scope: AccountScope, shipping_location_id=None) -> list[CartOrder]:
    """The whole cart → portal orders (channel Portal, state New), one per ``CartOrder`` (returned with its
    order), through the order workflows; the cart is emptied when they are placed. All or nothing: the
    orders are created, filled, submitted and the cart emptied in one transaction, so a refusal at any step
    writes nothing.

    Everything the workflows would refuse on input is checked first (offerings still sold, currency,
    characteristics, location), each refusal at the item it concerns (``item-<cart item>``); a refusal
    the steps still meet (a concurrent catalog change, a provider's rule) is shown at the items of the
    order it concerns.
    """
    items = cart_items(contact)
    if not items:
        raise InvalidInput("Your cart is empty: add products from the catalog first.", {"items": "Cart is empty"})
    errors: dict[str, str] = {}
    for item in items:
        offering = item.offering
        if not _sold_now(offering):
            errors[f"item-{item.id}"] = f"{offering.name} is no longer sold: remove it"
            continue
        try:
            validate_characteristics(offering.specification, item.characteristics)
        except InvalidInput as refused:
            errors[f"item-{item.id}"] = f"{offering.name}: {refused.message} Remove it and add it again."
    currencies = {item.offering.currency for item in items}
    if len(currencies) > 1:
        errors["items"] = "Mixed currencies"
        raise InvalidInput("One order is priced in one currency: order products in "
                           f"{' and '.join(sorted(currencies))} separately.", errors)
    location_id = optional_id(shipping_location_id)
    if shipping_location_id not in (None, "") and scope.get(scope.locations(), Location, location_id) is None:
        errors["shipping_location_id"] = "Not a location of your account"
    # A service is delivered at a location of its own on each line: the one chosen, or the account's usual one.
    service_location_id = location_id or contact.account.shipping_location_id
    if service_location_id is None and any(offering_kind(item.offering) == SpecKind.SERVICE for item in items):
        errors["shipping_location_id"] = "Choose where the services are delivered"
    if errors:
        messages = [m for key, m in errors.items() if key.startswith("item-")] or ["Check the highlighted fields."]
        raise InvalidInput(" ".join(messages), errors)

    header = {"account_id": contact.account_id, "contact_id": contact.id, "channel": OrderChannel.PORTAL,
              "currency": currencies.pop()}
    if location_id:
        header["shipping_location_id"] = location_id
    planned, numbers = cart_orders(items), {}
    try:
        with one_transaction():
            for part in planned:
                order = order_workflows.create_order(user, {**header, "order_type": part.order_type})
                numbers[order.number] = part
                at = {"location_id": service_location_id} if part.order_type == OrderType.SERVICE else {}
                for item in part.items:
                    order_workflows.add_line(user, order.id, order.version, {
                        "offering_id": item.offering_id, "quantity": item.quantity,
                        "characteristics": dict(item.characteristics), **at})
                part.order = order_workflows.submit_order(user, order.id, order.version)
            for item in items:
                db.session.delete(item)
    except DomainError as refused:
        raise _refused_at_items(refused, planned, numbers) from refused
    return planned


def _refused_at_items(refused: DomainError, planned: list[CartOrder], numbers: dict[str, CartOrder]) -> DomainError:
    """The refusal shown at each item of the order it concerns: the one being placed when it came, or the
    one it names (a provider's rule is checked at the commit); at every item when neither is known. That
    order was never written, so the message names it by its items instead of its number."""
    concerned = next((part for part in planned if part.order is None), None)
    message = refused.message
    for number, part in numbers.items():
        if number in message and concerned in (None, part):
            concerned, message = part, message.replace(number, f"The order of your {part.label}")
    message = f"Nothing was ordered: {message}"
    errors = dict(refused.field_errors)
    for part in [concerned] if concerned else planned:
        for item in part.items:
            errors[f"item-{item.id}"] = message
    return type(refused)(message, errors)

"""Customers, catalog, orders, quotes and inventory: the records an order case is raised against."""
from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    JSON,
    Numeric,
    SmallInteger,
    String,
    Text,
    false,
)
from sqlalchemy.orm import relationship

from app.core.choices import (
    InventoryState,
    LineAction,
    OrderChannel,
    OrderLineState,
    OrderState,
    OrderType,
    PriceType,
    QuoteState,
    SpecKind,
    ValueType,
)
from app.core.extensions import Model
from app.core.model_base import Audited, Numbered, utcnow

MONEY = Numeric(14, 2)


class Location(Numbered, Audited, Model):
    """A postal address used as a shipping location or a service site; may belong to one account."""

    __tablename__ = "location"
    __number_prefix__ = "LOC"
    id = Column(Integer, primary_key=True)
    # TMF622 places arrive by name as well as by id.
    name = Column(String(120), nullable=False, index=True)
    street = Column(String(200))
    city = Column(String(100), index=True)
    state = Column(String(100))
    postal_code = Column(String(20))
    country = Column(String(80))
    account_id = Column(Integer, ForeignKey("account.id"), index=True)
    account = relationship("Account", foreign_keys=[account_id], back_populates="locations")

    def __str__(self):
        return f"{self.name}, {self.city}" if self.city else self.name


class Account(Numbered, Audited, Model):
    """A B2B customer company; every order, case and portal user belongs to exactly one account."""

    __tablename__ = "account"
    __number_prefix__ = "ACC"
    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False, index=True)
    parent_id = Column(Integer, ForeignKey("account.id"))
    parent = relationship("Account", remote_side=[id])
    primary_contact_id = Column(Integer, ForeignKey("contact.id", use_alter=True, name="fk_account_primary_contact"))
    primary_contact = relationship("Contact", foreign_keys=[primary_contact_id], post_update=True)
    billing_location_id = Column(Integer, ForeignKey("location.id", use_alter=True, name="fk_account_billing_location"))
    billing_location = relationship("Location", foreign_keys=[billing_location_id], post_update=True)
    shipping_location_id = Column(
        Integer, ForeignKey("location.id", use_alter=True, name="fk_account_shipping_location")
    )
    shipping_location = relationship("Location", foreign_keys=[shipping_location_id], post_update=True)
    phone = Column(String(40))
    industry = Column(String(80))
    active = Column(Boolean, nullable=False, default=True)
    contacts = relationship("Contact", back_populates="account", foreign_keys="Contact.account_id")
    locations = relationship("Location", back_populates="account", foreign_keys=[Location.account_id])

    def __str__(self):
        return self.name


class Contact(Numbered, Audited, Model):
    """A person at a customer account; optionally linked to the portal user who signs in as them."""

    __tablename__ = "contact"
    __number_prefix__ = "CON"
    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey("account.id"), nullable=False, index=True)
    account = relationship("Account", back_populates="contacts", foreign_keys=[account_id])
    first_name = Column(String(80), nullable=False)
    last_name = Column(String(80), nullable=False)
    email = Column(String(200), index=True)
    phone = Column(String(40))
    user_id = Column(Integer, ForeignKey("ab_user.id"), unique=True)
    user = relationship("User", foreign_keys=[user_id])
    active = Column(Boolean, nullable=False, default=True)

    @property
    def name(self):
        return f"{self.first_name} {self.last_name}"

    def __str__(self):
        return self.name


class ProductSpecification(Numbered, Audited, Model):
    """What a product or service is technically, with the characteristics an order line must fill in."""

    __tablename__ = "product_specification"
    __number_prefix__ = "PSPEC"
    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False, index=True)
    kind = Column(String(20), nullable=False, default=SpecKind.PRODUCT)
    description = Column(Text)
    active = Column(Boolean, nullable=False, default=True)
    characteristics = relationship(
        "CharacteristicDefinition", back_populates="specification", cascade="all, delete-orphan",
        order_by="CharacteristicDefinition.id",
    )

    def __str__(self):
        return self.name


class CharacteristicDefinition(Model):
    """One configurable attribute of a specification (e.g. Bandwidth: 100, 500, 1000)."""

    __tablename__ = "characteristic_definition"
    id = Column(Integer, primary_key=True)
    specification_id = Column(Integer, ForeignKey("product_specification.id"), nullable=False, index=True)
    specification = relationship("ProductSpecification", back_populates="characteristics")
    name = Column(String(100), nullable=False)
    value_type = Column(String(20), nullable=False, default=ValueType.STRING)
    # Comma-separated; empty means any value of the type is allowed.
    allowed_values = Column(String(500))
    required = Column(Boolean, nullable=False, default=False)

    @property
    def allowed(self) -> list[str]:
        return [v.strip() for v in (self.allowed_values or "").split(",") if v.strip()]

    def __str__(self):
        return self.name


class ProductOffering(Numbered, Audited, Model):
    """A sellable catalog item: a specification at a price."""

    __tablename__ = "product_offering"
    __number_prefix__ = "PO"
    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False, index=True)
    specification_id = Column(Integer, ForeignKey("product_specification.id"), index=True)
    specification = relationship("ProductSpecification")
    unit_price = Column(MONEY, nullable=False, default=Decimal("0"))
    currency = Column(String(3), nullable=False, default="USD")
    price_type = Column(String(20), nullable=False, default=PriceType.ONE_TIME)
    description = Column(Text)
    active = Column(Boolean, nullable=False, default=True)
    # The connected order desk that publishes this offering (Service Exchange); None: our own offering.
    provider = Column(String(150))

    def __str__(self):
        return self.name


class ProductInventory(Numbered, Audited, Model):
    """A product or service the account owns (installed base); target of change/disconnect/suspend/resume."""

    __tablename__ = "product_inventory"
    __number_prefix__ = "INV"
    id = Column(Integer, primary_key=True)
    name = Column(String(150))
    account_id = Column(Integer, ForeignKey("account.id"), nullable=False, index=True)
    account = relationship("Account")
    offering_id = Column(Integer, ForeignKey("product_offering.id"))
    offering = relationship("ProductOffering")
    specification_id = Column(Integer, ForeignKey("product_specification.id"))
    specification = relationship("ProductSpecification")
    location_id = Column(Integer, ForeignKey("location.id"))
    location = relationship("Location")
    quantity = Column(Integer, nullable=False, default=1)
    state = Column(String(20), nullable=False, default=InventoryState.PENDING, index=True)
    # Indexed: deleting an order line checks this foreign key.
    order_line_id = Column(Integer, ForeignKey("order_line_item.id", use_alter=True, name="fk_inventory_order_line"),
                           index=True)
    order_line = relationship("OrderLineItem", foreign_keys=[order_line_id])
    characteristics = relationship(
        "InventoryCharacteristic", back_populates="inventory", cascade="all, delete-orphan"
    )

    def __str__(self):
        return f"{self.number} {self.name or ''}".strip()


class InventoryCharacteristic(Model):
    """A configured value of an inventory item (copied from the order line that produced it)."""

    __tablename__ = "inventory_characteristic"
    id = Column(Integer, primary_key=True)
    inventory_id = Column(Integer, ForeignKey("product_inventory.id"), nullable=False, index=True)
    inventory = relationship("ProductInventory", back_populates="characteristics")
    name = Column(String(100), nullable=False)
    value = Column(String(500))


class Quote(Numbered, Audited, Model):
    """A priced proposal to an account; an accepted quote converts once into a customer order."""

    __tablename__ = "quote"
    __number_prefix__ = "QUO"
    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey("account.id"), nullable=False, index=True)
    account = relationship("Account")
    contact_id = Column(Integer, ForeignKey("contact.id"))
    contact = relationship("Contact")
    state = Column(String(20), nullable=False, default=QuoteState.DRAFT, index=True)
    valid_until = Column(Date)
    currency = Column(String(3), nullable=False, default="USD")
    description = Column(String(200))
    total_amount = Column(MONEY, nullable=False, default=Decimal("0"))
    order_id = Column(Integer, ForeignKey("customer_order.id", use_alter=True, name="fk_quote_order"), unique=True)
    order = relationship("CustomerOrder", foreign_keys=[order_id])
    lines = relationship("QuoteLine", back_populates="quote", cascade="all, delete-orphan", order_by="QuoteLine.id")


class QuoteLine(Model):
    """One offering, quantity and price on a quote."""

    __tablename__ = "quote_line"
    id = Column(Integer, primary_key=True)
    quote_id = Column(Integer, ForeignKey("quote.id"), nullable=False, index=True)
    quote = relationship("Quote", back_populates="lines")
    offering_id = Column(Integer, ForeignKey("product_offering.id"), nullable=False)
    offering = relationship("ProductOffering")
    quantity = Column(Integer, nullable=False, default=1)
    unit_price = Column(MONEY, nullable=False, default=Decimal("0"))
    characteristics = relationship(
        "QuoteLineCharacteristic", back_populates="quote_line", cascade="all, delete-orphan",
        order_by="QuoteLineCharacteristic.id",
    )

    def __str__(self):
        return f"{self.quantity} × {self.offering}"


class QuoteLineCharacteristic(Model):
    """A characteristic value configured on a quote line; copied onto the order line on conversion."""

    __tablename__ = "quote_line_characteristic"
    id = Column(Integer, primary_key=True)
    quote_line_id = Column(Integer, ForeignKey("quote_line.id"), nullable=False, index=True)
    quote_line = relationship("QuoteLine", back_populates="characteristics")
    name = Column(String(100), nullable=False)
    value = Column(String(500))


class CustomerOrder(Numbered, Audited, Model):
    """A customer's order (order type product) or service order (order type service), from any channel."""

    __tablename__ = "customer_order"
    __number_prefix__ = "ORD"
    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey("account.id"), index=True)
    account = relationship("Account")
    contact_id = Column(Integer, ForeignKey("contact.id"))
    contact = relationship("Contact")
    order_type = Column(String(20), nullable=False, default=OrderType.PRODUCT, index=True)
    channel = Column(String(20), nullable=False, default=OrderChannel.AGENT)
    external_id = Column(String(100), index=True)
    # Public identifier used by the TMF APIs (a UUID), distinct from the human number.
    tmf_id = Column(String(64), unique=True, index=True, default=lambda: str(uuid.uuid4()))
    state = Column(String(20), nullable=False, default=OrderState.DRAFT, index=True)
    # 0 (highest, TMF clients only) to 4 (lowest).
    priority = Column(Integer, nullable=False, default=4)
    category = Column(String(100))
    description = Column(String(500))
    currency = Column(String(3), nullable=False, default="USD")
    order_date = Column(DateTime, nullable=False, default=utcnow, index=True)
    # Instants (naive UTC): TMF clients ask for a time of day; the desk's forms edit the day.
    requested_start_date = Column(DateTime)
    requested_completion_date = Column(DateTime)
    expected_delivery_date = Column(Date)
    shipping_location_id = Column(Integer, ForeignKey("location.id"))
    shipping_location = relationship("Location")
    total_one_time = Column(MONEY, nullable=False, default=Decimal("0"))
    total_recurring = Column(MONEY, nullable=False, default=Decimal("0"))
    total_amount = Column(MONEY, nullable=False, default=Decimal("0"))
    rejection_reason = Column(Text)
    completed_at = Column(DateTime)
    cancelled_at = Column(DateTime)
    cancellation_reason = Column(String(500))
    # Attributes an API client sent that have no column (echoed back unchanged), and the major version
    # of the TMF API whose body they follow (None: 4).
    extra = Column(JSON)
    extra_version = Column(SmallInteger)
    lines = relationship(
        "OrderLineItem", back_populates="order", order_by="OrderLineItem.id", foreign_keys="OrderLineItem.order_id"
    )
    enrichment_issues = relationship(
        "EnrichmentIssue", back_populates="order", cascade="all, delete-orphan", order_by="EnrichmentIssue.id"
    )

    # Whether the order has any line, kept by triggers on order_line_item (migration 0029): the TMF APIs
    # show only orders with items, and count them from the index below.
    has_items = Column(Boolean, nullable=False, server_default=false())

    __table_args__ = (
        Index("ix_customer_order_account_state", "account_id", "state"),
        Index("ix_customer_order_type_number", "order_type", "number"),
        # Order lists and the TMF APIs filter by type and state; counting them reads this index only.
        Index("ix_customer_order_type_state", "order_type", "state"),
        Index("ix_customer_order_type_items_state", "order_type", "has_items", "state"),
    )


class OrderLineItem(Numbered, Audited, Model):
    """One product or service on an order, with its action, quantity, price, dates and location."""

    __tablename__ = "order_line_item"
    __number_prefix__ = "ORDL"
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("customer_order.id"), nullable=False, index=True)
    order = relationship("CustomerOrder", back_populates="lines", foreign_keys=[order_id])
    external_item_id = Column(String(100))
    offering_id = Column(Integer, ForeignKey("product_offering.id"))
    offering = relationship("ProductOffering")
    specification_id = Column(Integer, ForeignKey("product_specification.id"))
    specification = relationship("ProductSpecification")
    action = Column(String(20), nullable=False, default=LineAction.ADD)
    quantity = Column(Integer, nullable=False, default=1)
    unit_price = Column(MONEY, nullable=False, default=Decimal("0"))
    price_type = Column(String(20), nullable=False, default=PriceType.ONE_TIME)
    state = Column(String(20), nullable=False, default=OrderLineState.DRAFT, index=True)
    expected_delivery_date = Column(Date)
    location_id = Column(Integer, ForeignKey("location.id"))
    location = relationship("Location")
    inventory_id = Column(Integer, ForeignKey("product_inventory.id"))
    inventory = relationship("ProductInventory", foreign_keys=[inventory_id])
    # Both self-references are indexed: deleting a line checks them.
    parent_line_id = Column(Integer, ForeignKey("order_line_item.id"), index=True)
    parent_line = relationship("OrderLineItem", remote_side=[id], foreign_keys=[parent_line_id])
    # Set on a replacement line created by accepting a wrong-item case line.
    replaces_line_id = Column(Integer, ForeignKey("order_line_item.id"), index=True)
    replaces_line = relationship("OrderLineItem", remote_side=[id], foreign_keys=[replaces_line_id])
    description = Column(String(300))
    completed_at = Column(DateTime)
    # The item as an API client sent it, for attributes with no column (echoed back unchanged).
    extra = Column(JSON)
    characteristics = relationship(
        "OrderLineCharacteristic", back_populates="order_line", cascade="all, delete-orphan",
        order_by="OrderLineCharacteristic.id",
    )

    @property
    def line_total(self) -> Decimal:
        return (self.unit_price or Decimal("0")) * (self.quantity or 0)


class OrderLineCharacteristic(Model):
    """A characteristic value chosen for an order line (name/value pair)."""

    __tablename__ = "order_line_characteristic"
    id = Column(Integer, primary_key=True)
    order_line_id = Column(Integer, ForeignKey("order_line_item.id"), nullable=False, index=True)
    order_line = relationship("OrderLineItem", back_populates="characteristics")
    name = Column(String(100), nullable=False)
    value = Column(String(500))


class EnrichmentIssue(Model):
    """A reference an API order carried that could not be matched; the order cannot be approved until fixed."""

    __tablename__ = "enrichment_issue"
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("customer_order.id"), nullable=False, index=True)
    order = relationship("CustomerOrder", back_populates="enrichment_issues")
    order_line_id = Column(Integer, ForeignKey("order_line_item.id"))
    order_line = relationship("OrderLineItem")
    kind = Column(String(20), nullable=False)
    reference = Column(String(200))
    description = Column(String(500), nullable=False)
    resolved = Column(Boolean, nullable=False, default=False)
    resolved_at = Column(DateTime)
    resolved_by_id = Column(Integer, ForeignKey("ab_user.id"))

    def __str__(self):
        return self.description


class OrderChange(Model):
    """Append-only ledger of what accepted case lines changed on an order: field, old and new value."""

    __tablename__ = "order_change"
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("customer_order.id"), nullable=False, index=True)
    order = relationship("CustomerOrder")
    order_line_id = Column(Integer, ForeignKey("order_line_item.id"), index=True)
    order_line = relationship("OrderLineItem")
    case_line_id = Column(Integer, ForeignKey("order_case_line.id"), index=True)
    case_line = relationship("OrderCaseLine")
    field = Column(String(60), nullable=False)
    old_value = Column(String(500))
    new_value = Column(String(500))
    user_id = Column(Integer, ForeignKey("ab_user.id"))
    user = relationship("User")
    created_on = Column(DateTime, nullable=False, default=utcnow)

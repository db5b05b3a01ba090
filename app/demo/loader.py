"""The demo data set: a realistic, repeatable order desk to explore on the first start.

Everything comes from one seeded ``random.Random``, so two loads produce the same accounts, orders and
cases (only the generated passwords differ). Records are inserted through the ordinary models, so they
get their human numbers from ``model_base`` like any other record. States are consistent with the
spec's rules: order lines follow their order's state, case lines follow their case's state, accepted
case lines really changed their order (with Order change rows), and completed add lines produced
inventory.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import random
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from app.demo import catalog
from app.demo.cases import CaseBuilder, recompute_totals
from app.core.choices import (
    EnrichmentKind, InteractionChannel, InteractionState, InventoryState, LineAction, OrderChannel,
    OrderLineState, OrderState, OrderType, QuoteState, SpecKind, ValueType,
)
from app.core.extensions import db
from app.core.model_base import acting_user_id, utcnow
from app.models import (
    Account, AssignmentGroup, CharacteristicDefinition, Contact, CustomerOrder, EnrichmentIssue, Interaction,
    InventoryCharacteristic, Location, OrderCase, OrderCaseLine, OrderLineCharacteristic, OrderLineItem,
    ProductInventory, ProductOffering, ProductSpecification, Quote, QuoteLine, QuoteLineCharacteristic,
    ServiceDefinition,
)
from app.core.roles import ADMIN, AGENT, CUSTOMER, INTEGRATOR, MANAGER

log = logging.getLogger(__name__)

SEED = 20240611
LOGINS_FILE = "logins.txt"
UNCHANGED_PASSWORD = "(existing user, password unchanged)"
CHANGE_REQUEST = "Sales Order Change Request"
DISPUTE = "Sales Order Dispute"

# username, role, first name, last name, what the role may do
DEMO_USERS = (
    ("admin", ADMIN, "Alex", "Admin", "configuration, users, roles, deletion; everything"),
    ("manager", MANAGER, "Morgan", "Lead", "everything an agent does, plus overrides, reassignment, approvals"),
    ("agent", AGENT, "Avery", "Desk", "works order cases, captures and fulfils orders"),
    ("customer", CUSTOMER, "", "", "portal user of one account's contact"),
    ("integrator", INTEGRATOR, "Ingrid", "Gateway", "API-only account of an external order system"),
)

# How many orders of each state the set holds (about 300 in all).
ORDER_STATE_COUNTS = {
    OrderState.DRAFT: 18, OrderState.NEW: 40, OrderState.IN_PROGRESS: 92,
    OrderState.REJECTED: 14, OrderState.COMPLETED: 118, OrderState.CANCELLED: 18,
}
# Which line states an order in a given state may hold (see SPEC §6).
ORDER_LINE_STATES = {
    OrderState.DRAFT: {OrderLineState.DRAFT},
    OrderState.NEW: {OrderLineState.NEW},
    OrderState.IN_PROGRESS: {OrderLineState.IN_PROGRESS, OrderLineState.COMPLETED, OrderLineState.CANCELLED},
    OrderState.REJECTED: {OrderLineState.CANCELLED},
    OrderState.COMPLETED: {OrderLineState.COMPLETED, OrderLineState.CANCELLED},
    OrderState.CANCELLED: {OrderLineState.CANCELLED},
}
ENRICHMENT_PARTY = "CUST-99812"
ENRICHMENT_OFFERING = "ZX-EDGE-ROUTER-9000"


class DemoDataRefused(RuntimeError):
    """The database already holds business data; demo data loads only into an empty database."""


@dataclass
class DemoLogin:
    username: str
    role: str
    password: str
    duties: str


@dataclass
class DemoResult:
    logins: list[DemoLogin]
    logins_path: Path
    seconds: float
    counts: dict[str, int]

    def describe(self) -> str:
        width = max(len(login.username) for login in self.logins)
        rows = [f"  {login.username:<{width}}  {login.password}   ({login.role}: {login.duties})"
                for login in self.logins]
        return "\n".join([
            f"Demo data loaded in {self.seconds:.1f} s: "
            + ", ".join(f"{count} {name}" for name, count in self.counts.items()) + ".",
            f"Demo logins (saved to {self.logins_path}, readable by you only):",
            *rows,
        ])


def database_is_empty() -> bool:
    """True when no account, order or case exists: users alone (e.g. a created admin) do not count."""
    for model in (Account, CustomerOrder, OrderCase):
        if db.session.execute(select(model.id).limit(1)).first() is not None:
            return False
    return True


def load_demo_data(app) -> DemoResult:
    """Load the demo data set into the (empty) database of *app*; raises DemoDataRefused otherwise."""
    import time

    started = time.perf_counter()
    with app.app_context():
        if not database_is_empty():
            raise DemoDataRefused(
                "The database already holds accounts, orders or cases; demo data is only loaded into an "
                "empty database. Point DATABASE_URL at a new database (or delete the SQLite file) and retry."
            )
        try:
            logins = _DemoBuilder(app).build()
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        path = write_logins(Path(app.config["INSTANCE_DIR"]), logins)
        counts = {
            "accounts": _count(Account), "offerings": _count(ProductOffering), "orders": _count(CustomerOrder),
            "order lines": _count(OrderLineItem), "cases": _count(OrderCase), "case lines": _count(OrderCaseLine),
        }
    return DemoResult(logins, path, time.perf_counter() - started, counts)


def load_demo_data_if_empty(app) -> DemoResult | None:
    """Start-up hook: load and announce the demo data on the first start, or point at the saved logins."""
    with app.app_context():
        empty = database_is_empty()
    if empty:
        result = load_demo_data(app)
        print(result.describe(), flush=True)
        return result
    logins_path = Path(app.config["INSTANCE_DIR"]) / LOGINS_FILE
    if logins_path.exists():
        print(f"Demo logins are in {logins_path}", flush=True)
    return None


def write_logins(instance_dir: Path, logins: list[DemoLogin]) -> Path:
    """Write the generated logins to the instance folder, readable by the owner only (0600)."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / LOGINS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# Demo logins generated when the demo data was loaded. Change them before real use.\n")
        for login in logins:
            handle.write(f"{login.role}\t{login.username}\t{login.password}\n")
    os.chmod(path, 0o600)
    return path


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


class _DemoBuilder:
    """Builds the data set in one session; the caller commits once."""

    def __init__(self, app):
        self.app = app
        self.rng = random.Random(SEED)
        self.now = utcnow().replace(microsecond=0)
        self.today = self.now.date()
        self.session = db.session
        self.users: dict[str, User] = {}
        self.accounts: list[Account] = []
        self.offerings: list[ProductOffering] = []
        self.orders: list[CustomerOrder] = []
        self.inventory_pool: dict[int, list[ProductInventory]] = {}

    def build(self) -> list[DemoLogin]:
        from app.sla.clocks import seed_default_sla_definitions

        logins = self._users()  # FAB commits each user it adds
        seed_default_sla_definitions()  # SPEC §7 definitions, idempotent; commits
        token = acting_user_id.set(self.users["admin"].id)
        try:
            with self.session.no_autoflush:
                self._build_records()
        finally:
            acting_user_id.reset(token)
        return logins

    def _build_records(self):
        self._accounts()
        self._link_customer_user()
        self._catalog()
        self._desk_setup()
        self._orders()
        self._enrichment_orders()
        self._quotes()
        self._interactions()
        self.session.flush()
        acting_user_id.set(self.users["agent"].id)
        CaseBuilder(self).build()

    # People -------------------------------------------------------------------------------------------

    def _users(self) -> list[DemoLogin]:
        sm = self.app.appbuilder.sm
        logins = []
        for username, role, first, last, duties in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            user = sm.find_user(username=username)
            if user is None:
                user = sm.add_user(username, first or "Casey", last or "Customer", f"{username}@orderdesk.example",
                                   [sm.find_role(role)], password)
                if not user:
                    raise RuntimeError(f"Could not create the demo user {username}")
            else:
                # Someone already made this user (e.g. their own admin): their password stays theirs.
                password = UNCHANGED_PASSWORD
            self.users[username] = user
            logins.append(DemoLogin(username, role, password, duties))
        return logins

    def _accounts(self):
        rng = self.rng
        people = [(f, l) for f in catalog.FIRST_NAMES for l in catalog.LAST_NAMES]
        rng.shuffle(people)
        specs = [(name, industry, city, region, postal, country, domain, None)
                 for name, industry, city, region, postal, country, domain in catalog.ACCOUNTS]
        for name, parent, city, region, postal in catalog.SUBSIDIARIES:
            parent_spec = specs[parent]
            specs.append((name, parent_spec[1], city, region, postal, parent_spec[5], parent_spec[6], parent))
        for name, industry, city, region, postal, country, domain, parent in specs:
            account = Account(name=name, industry=industry, phone=self._phone(),
                              parent=self.accounts[parent] if parent is not None else None,
                              created_on=self.now - dt.timedelta(days=rng.randint(200, 900)))
            self.session.add(account)
            for index, site in enumerate(rng.sample(catalog.SITE_NAMES, rng.randint(2, 4))):
                location = Location(
                    name=f"{name} {site}", street=f"{rng.randint(10, 9800)} {rng.choice(catalog.STREETS)}",
                    city=city if index < 2 else self._nearby_city(city), state=region,
                    postal_code=postal, country=country, account=account,
                )
                self.session.add(location)
            for _ in range(rng.randint(2, 4)):
                first, last = people.pop()
                self.session.add(Contact(
                    account=account, first_name=first, last_name=last, phone=self._phone(),
                    email=f"{first.lower()}.{last.lower()}@{domain}",
                ))
            self.accounts.append(account)
        self.session.flush()
        for account in self.accounts:
            account.primary_contact = account.contacts[0]
            account.shipping_location = account.locations[0]
            account.billing_location = account.locations[0]

    def _nearby_city(self, city: str) -> str:
        return f"{self.rng.choice(('North', 'South', 'East', 'West'))} {city}"

    def _phone(self) -> str:
        return f"+1 {self.rng.randint(201, 989)}-555-{self.rng.randint(100, 199):04d}"

    def _link_customer_user(self):
        self.customer_account = self.accounts[0]
        contact = self.customer_account.contacts[0]
        user = self.users["customer"]
        contact.user = user
        user.first_name, user.last_name, user.email = contact.first_name, contact.last_name, contact.email

    # Catalog and desk configuration ------------------------------------------------------------------------

    def _catalog(self):
        for name, kind, characteristics, tiers in catalog.SPECIFICATIONS:
            spec = ProductSpecification(name=name, kind=kind, description=f"{name} ({kind})")
            for char_name, value_type, allowed in characteristics:
                spec.characteristics.append(CharacteristicDefinition(
                    name=char_name, value_type=value_type, allowed_values=allowed or None,
                    required=bool(allowed) and value_type != ValueType.BOOLEAN,
                ))
            self.session.add(spec)
            for tier, price, price_type in tiers:
                offering = ProductOffering(
                    name=f"{name} {tier}", specification=spec, unit_price=Decimal(price), currency="USD",
                    price_type=price_type, description=f"{tier} {name.lower()}",
                    active=not (name == "Desktop Workstation" and tier == "Compact"),
                )
                self.session.add(offering)
                self.offerings.append(offering)
        self.product_offerings = [o for o in self.offerings if o.specification.kind == SpecKind.PRODUCT and o.active]
        self.service_offerings = [o for o in self.offerings if o.specification.kind == SpecKind.SERVICE and o.active]

    def _desk_setup(self):
        """Assignment groups and both case types (reused if present)."""
        agent, manager = self.users["agent"], self.users["manager"]
        groups = {}
        for name, description in (("Order Desk", "First line for order change requests"),
                                  ("Billing Disputes", "Price and invoice disputes"),
                                  ("Service Fulfilment", "Installation and provisioning of service orders")):
            group = self.session.query(AssignmentGroup).filter_by(name=name).one_or_none()
            if group is None:
                group = AssignmentGroup(name=name, description=description)
                self.session.add(group)
            group.manager = manager
            for member in (agent, manager):
                if member not in group.members:
                    group.members.append(member)
            groups[name] = group
        self.groups = groups
        self.services = {}
        for name, description, group, priority, order in (
            (CHANGE_REQUEST, "Change the quantity, delivery date, shipping address or items of an order, "
                             "or cancel lines or whole orders.", "Order Desk", 4, 10),
            (DISPUTE, "Dispute the price charged on an order or its lines.", "Billing Disputes", 3, 20),
        ):
            service = self.session.query(ServiceDefinition).filter_by(name=name).one_or_none()
            if service is None:
                service = ServiceDefinition(name=name)
                self.session.add(service)
            service.description = service.description or description
            service.active = True
            service.sort_order = order
            service.default_priority = service.default_priority or priority
            service.default_assignment_group = service.default_assignment_group or groups[group]
            self.services[name] = service

    # Orders and inventory -------------------------------------------------------------------------------

    def _orders(self):
        rng = self.rng
        plan = [state for state, count in ORDER_STATE_COUNTS.items() for _ in range(count)]
        age_days = {  # how long ago orders in each state were placed
            OrderState.DRAFT: (0, 6), OrderState.NEW: (0, 10), OrderState.IN_PROGRESS: (3, 60),
            OrderState.REJECTED: (5, 120), OrderState.COMPLETED: (20, 240), OrderState.CANCELLED: (5, 200),
        }
        dated = [(self.now - dt.timedelta(days=rng.randint(*age_days[state]), minutes=rng.randint(0, 1439)), state)
                 for state in plan]
        dated.sort(key=lambda item: item[0])
        for order_date, state in dated:
            account = rng.choice(self.accounts)
            order_type = OrderType.SERVICE if rng.random() < 0.4 else OrderType.PRODUCT
            self._order(account, order_type, self._channel(order_type, state), state, order_date)

    def _channel(self, order_type: str, state: str) -> str:
        roll = self.rng.random()
        if state == OrderState.DRAFT:  # API and portal orders arrive submitted
            return OrderChannel.AGENT if roll < 0.8 else OrderChannel.QUOTE
        if order_type == OrderType.SERVICE:
            return OrderChannel.AGENT if roll < 0.55 else OrderChannel.TMF641 if roll < 0.9 else OrderChannel.PORTAL
        return (OrderChannel.AGENT if roll < 0.4 else OrderChannel.QUOTE if roll < 0.55
                else OrderChannel.PORTAL if roll < 0.75 else OrderChannel.TMF622)

    def _order(self, account, order_type, channel, state, order_date) -> CustomerOrder:
        rng = self.rng
        contact = rng.choice(account.contacts)
        if channel == OrderChannel.PORTAL and account is self.customer_account:
            contact = account.contacts[0]
        requested = dt.datetime.combine((order_date + dt.timedelta(days=rng.randint(7, 35))).date(), dt.time())
        order = CustomerOrder(
            account=account, contact=contact, order_type=order_type, channel=channel, state=state,
            priority=rng.choice((2, 3, 4, 4, 4)), currency="USD", order_date=order_date,
            requested_start_date=requested - dt.timedelta(days=3) if order_type == OrderType.SERVICE else None,
            requested_completion_date=requested,
            expected_delivery_date=requested.date() + dt.timedelta(days=rng.randint(0, 5)),
            shipping_location=rng.choice(account.locations), created_on=order_date,
            description=f"{'Service' if order_type == OrderType.SERVICE else 'Equipment'} order for {account.name}",
        )
        if channel in (OrderChannel.TMF622, OrderChannel.TMF641):
            order.tmf_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            order.external_id = f"{'PO' if channel == OrderChannel.TMF622 else 'SO'}-{rng.randint(100000, 999999)}"
            order.category = "B2B" if channel == OrderChannel.TMF622 else "Connectivity"
        if state == OrderState.REJECTED:
            order.rejection_reason = rng.choice((
                "Credit check failed; customer must settle overdue invoices first.",
                "Duplicate of an order already in progress.",
                "Requested offering is not available at the service location.",
            ))
        if state == OrderState.CANCELLED:
            order.cancelled_at = order_date + dt.timedelta(days=1)
            order.cancellation_reason = "The customer withdrew the order."
        self.session.add(order)
        line_states = self._line_states(state, rng.randint(2, 6))
        for line_state in line_states:
            self._order_line(order, line_state)
        self._finish_order(order)
        self.orders.append(order)
        return order

    def _line_states(self, order_state: str, count: int) -> list[str]:
        rng = self.rng
        if order_state == OrderState.IN_PROGRESS:
            states = [rng.choices((OrderLineState.IN_PROGRESS, OrderLineState.COMPLETED, OrderLineState.CANCELLED),
                                  (6, 3, 1))[0] for _ in range(count)]
            states[0] = OrderLineState.IN_PROGRESS
            return states
        if order_state == OrderState.COMPLETED:
            states = [OrderLineState.COMPLETED if rng.random() < 0.9 else OrderLineState.CANCELLED
                      for _ in range(count)]
            states[0] = OrderLineState.COMPLETED
            return states
        (only,) = ORDER_LINE_STATES[order_state]
        return [only] * count

    def _order_line(self, order: CustomerOrder, state: str, offering: ProductOffering | None = None,
                    action: str = LineAction.ADD, inventory: ProductInventory | None = None) -> OrderLineItem:
        rng = self.rng
        service = order.order_type == OrderType.SERVICE
        if offering is None and service:
            inventory = self._inventory_for_change(order.account) if action == LineAction.ADD else inventory
            if inventory is not None:
                action = (LineAction.RESUME if inventory.state == InventoryState.SUSPENDED
                          else rng.choice((LineAction.CHANGE, LineAction.CHANGE, LineAction.SUSPEND,
                                           LineAction.DISCONNECT)))
                offering = inventory.offering
        offering = offering or rng.choice(self.service_offerings if service else self.product_offerings)
        if service:
            quantity = rng.randint(5, 80) if "Seat" in offering.name else 1
        else:
            quantity = rng.choice((1, 2, 3, 5, 10, 12, 20, 25, 40))
        line = OrderLineItem(
            order=order, offering=offering, specification=offering.specification, action=action,
            quantity=inventory.quantity if inventory is not None else quantity,
            unit_price=offering.unit_price if action in (LineAction.ADD, LineAction.CHANGE) else Decimal("0"),
            price_type=offering.price_type, state=state, inventory=inventory,
            expected_delivery_date=order.expected_delivery_date,
            location=(inventory.location if inventory is not None else rng.choice(order.account.locations))
            if service else order.shipping_location,
            created_on=order.order_date,
        )
        for definition in offering.specification.characteristics:
            value = self._value(definition, order)
            line.characteristics.append(OrderLineCharacteristic(name=definition.name, value=value))
        if state == OrderLineState.COMPLETED:
            line.completed_at = order.order_date + dt.timedelta(days=rng.randint(2, 20), hours=rng.randint(0, 8))
        self.session.add(line)
        if state == OrderLineState.COMPLETED:
            self._fulfil(line)
        return line

    def _value(self, definition: CharacteristicDefinition, order: CustomerOrder | Quote) -> str:
        if definition.allowed_values:
            return self.rng.choice(definition.allowed_values.split(","))
        if definition.value_type == ValueType.BOOLEAN:
            return self.rng.choice(("true", "false"))
        if definition.value_type == ValueType.NUMBER:
            return str(self.rng.randint(2, 24))
        return self.rng.choice(order.account.locations).name

    def _inventory_for_change(self, account: Account) -> ProductInventory | None:
        pool = self.inventory_pool.get(account.id) or []
        if not pool or self.rng.random() > 0.3:
            return None
        # Taken out of the pool while an order line works on it; completing the line puts it back.
        return pool.pop(self.rng.randrange(len(pool)))

    def _fulfil(self, line: OrderLineItem):
        """What completing a line does to the installed base (SPEC §6, Fulfil)."""
        inventory = line.inventory
        if line.action == LineAction.ADD:
            inventory = ProductInventory(
                name=line.offering.name, account=line.order.account, offering=line.offering,
                specification=line.specification, location=line.location, quantity=line.quantity,
                state=InventoryState.ACTIVE, order_line=line, created_on=line.completed_at,
            )
            inventory.characteristics = [InventoryCharacteristic(name=c.name, value=c.value)
                                         for c in line.characteristics]
            self.session.add(inventory)
            line.inventory = None
        elif line.action == LineAction.CHANGE:
            inventory.characteristics = [InventoryCharacteristic(name=c.name, value=c.value)
                                         for c in line.characteristics]
        elif line.action == LineAction.DISCONNECT:
            inventory.state = InventoryState.INACTIVE
        elif line.action == LineAction.SUSPEND:
            inventory.state = InventoryState.SUSPENDED
        elif line.action == LineAction.RESUME:
            inventory.state = InventoryState.ACTIVE
        if inventory.state != InventoryState.INACTIVE and line.order.order_type == OrderType.SERVICE:
            self.inventory_pool.setdefault(line.order.account.id, []).append(inventory)

    def _finish_order(self, order: CustomerOrder):
        recompute_totals(order)
        if order.state == OrderState.COMPLETED:
            order.completed_at = max(line.completed_at for line in order.lines if line.completed_at)

    def _enrichment_orders(self):
        """API orders whose references did not match: kept as sent, listed as issues to fix before approval."""
        rng = self.rng
        order = CustomerOrder(
            account=None, contact=None, order_type=OrderType.PRODUCT, channel=OrderChannel.TMF622,
            state=OrderState.NEW, currency="USD", order_date=self.now - dt.timedelta(hours=5),
            tmf_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), external_id="PO-778201", category="B2B",
            description="Branch roll-out equipment (received through TMF622)",
            requested_completion_date=dt.datetime.combine(self.today + dt.timedelta(days=21), dt.time(9)),
            extra={"relatedParty": [{"id": ENRICHMENT_PARTY, "name": "Brightside Dental Clinics",
                                     "role": "Customer", "@referredType": "Organization"}]},
        )
        self.session.add(order)
        known = next(o for o in self.product_offerings if o.name.startswith("Wireless Access Point"))
        matched = OrderLineItem(order=order, offering=known, specification=known.specification, quantity=6,
                                unit_price=known.unit_price, state=OrderLineState.NEW, external_item_id="1",
                                expected_delivery_date=order.requested_completion_date.date())
        unmatched = OrderLineItem(order=order, offering=None, specification=None, quantity=2, unit_price=Decimal("0"),
                                  state=OrderLineState.NEW, external_item_id="2",
                                  description=f"Offering {ENRICHMENT_OFFERING} (not in the catalog)",
                                  expected_delivery_date=order.requested_completion_date.date())
        self.session.add_all([matched, unmatched])
        order.enrichment_issues = [
            EnrichmentIssue(kind=EnrichmentKind.PARTY, reference=ENRICHMENT_PARTY,
                            description=f"Related party {ENRICHMENT_PARTY} (Brightside Dental Clinics) "
                                        "matches no account"),
            EnrichmentIssue(kind=EnrichmentKind.OFFERING, reference=ENRICHMENT_OFFERING, order_line=unmatched,
                            description=f"Product offering {ENRICHMENT_OFFERING} matches no catalog offering"),
        ]
        self._finish_order(order)
        self.enrichment_order = order
        self.orders.append(order)

        account = self.accounts[5]
        service_order = self._order(account, OrderType.SERVICE, OrderChannel.TMF641, OrderState.NEW,
                                    self.now - dt.timedelta(hours=2))
        service_order.enrichment_issues = [
            EnrichmentIssue(kind=EnrichmentKind.LOCATION, reference="SITE-4471", order_line=service_order.lines[0],
                            description="Service site SITE-4471 (12 Quarry Lane) matches no location of the account"),
        ]

    def _quotes(self):
        """Quotes in every state; accepted quotes behind the quote-channel orders, and one not yet converted."""
        rng = self.rng
        for order in [o for o in self.orders if o.channel == OrderChannel.QUOTE]:
            quote = Quote(account=order.account, contact=order.contact, state=QuoteState.ACCEPTED, currency="USD",
                          valid_until=(order.order_date + dt.timedelta(days=30)).date(), order=order,
                          description=order.description.replace("order", "quote"),
                          created_on=order.order_date - dt.timedelta(days=rng.randint(3, 20)))
            quote.lines = [QuoteLine(offering=line.offering, quantity=line.quantity, unit_price=line.unit_price,
                                     characteristics=[QuoteLineCharacteristic(name=c.name, value=c.value)
                                                      for c in line.characteristics])
                           for line in order.lines]
            quote.total_amount = sum((line.unit_price * line.quantity for line in quote.lines), Decimal("0"))
            self.session.add(quote)
        plan = ([QuoteState.DRAFT] * 3 + [QuoteState.IN_REVIEW] * 2 + [QuoteState.APPROVED] * 2
                + [QuoteState.ACCEPTED] * 2 + [QuoteState.EXPIRED] * 2 + [QuoteState.CANCELLED] * 2)
        for state in plan:
            account = rng.choice(self.accounts)
            age = rng.randint(45, 90) if state == QuoteState.EXPIRED else rng.randint(1, 20)
            created = self.now - dt.timedelta(days=age)
            quote = Quote(account=account, contact=rng.choice(account.contacts), state=state, currency="USD",
                          valid_until=(created + dt.timedelta(days=30)).date(), created_on=created,
                          description=f"Proposal for {account.name}")
            # One kind per quote (it becomes one order), each line configured like an order line, so the
            # quote converts into an order that can be submitted.
            kind = rng.choice((self.product_offerings, self.service_offerings))
            for offering in rng.sample(kind, rng.randint(1, min(4, len(kind)))):
                quote.lines.append(QuoteLine(offering=offering, quantity=rng.randint(1, 25),
                                             unit_price=offering.unit_price, characteristics=[
                                                 QuoteLineCharacteristic(name=d.name, value=self._value(d, quote))
                                                 for d in offering.specification.characteristics]))
            quote.total_amount = sum((line.unit_price * line.quantity for line in quote.lines), Decimal("0"))
            self.session.add(quote)

    def _interactions(self):
        rng = self.rng
        self.interactions = []
        states = [InteractionState.NEW] * 2 + [InteractionState.WORK_IN_PROGRESS] * 3 + [InteractionState.CLOSED] * 3
        for topic, state in zip(catalog.INTERACTION_TOPICS, states):
            account = rng.choice(self.accounts)
            channel = {"Chat": InteractionChannel.CHAT, "Email": InteractionChannel.EMAIL,
                       "Walk-in": InteractionChannel.WALK_IN}.get(topic.split(":")[0], InteractionChannel.PHONE)
            interaction = Interaction(channel=channel, account=account, contact=rng.choice(account.contacts),
                                      short_description=topic, state=state, agent=self.users["agent"],
                                      opened_at=self.now - dt.timedelta(days=rng.randint(0, 20),
                                                                        hours=rng.randint(0, 9)))
            self.session.add(interaction)
            self.interactions.append(interaction)

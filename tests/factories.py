"""Small builders for the records tests need; each commits so workflows see committed data."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app

from app.core.choices import (
    CaseOrigin,
    CaseState,
    InventoryState,
    LineAction,
    LineState,
    OrderChannel,
    OrderLineState,
    OrderState,
    OrderType,
    PriceType,
    QuoteState,
    RequestType,
    Scope,
    SpecKind,
)
from app.core.extensions import db
from app.models import (
    Account,
    AssignmentGroup,
    CharacteristicDefinition,
    Contact,
    CustomerOrder,
    InventoryCharacteristic,
    Location,
    OrderCase,
    OrderCaseLine,
    OrderLineCharacteristic,
    OrderLineItem,
    ProductInventory,
    ProductOffering,
    ProductSpecification,
    Quote,
    ServiceDefinition,
)


@dataclass
class UserLogin:
    id: int
    username: str
    password: str
    role: str


def make_user(role: str, username: str | None = None, email: str | None = None) -> UserLogin:
    """A user holding *role*. Names not starting with 'tmp_' persist for the whole test session."""
    sm = current_app.appbuilder.sm
    username = username or f"tmp_{role}_{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    existing = sm.find_user(username=username)
    if existing:
        sm.reset_password(existing.id, password)
        return UserLogin(existing.id, username, password, role)
    user = sm.add_user(
        username, role.title(), "Tester", email or f"{username}@example.test", [sm.find_role(role)], password
    )
    assert user, f"could not create user {username}"
    return UserLogin(user.id, username, password, role)


def make_account(name: str | None = None) -> Account:
    account = Account(name=name or f"Account {secrets.token_hex(2)}")
    db.session.add(account)
    db.session.flush()
    contact = Contact(account=account, first_name="Pat", last_name="Buyer", email=f"pat.{account.id}@example.test")
    location = Location(name="HQ", street="1 Main St", city="Springfield", country="US", account=account)
    db.session.add_all([contact, location])
    db.session.flush()
    account.primary_contact = contact
    account.shipping_location = location
    db.session.commit()
    return account


def make_offering(name: str = "Widget", price: str = "10.00", kind: str = SpecKind.PRODUCT) -> ProductOffering:
    spec = ProductSpecification(name=f"{name} spec", kind=kind)
    spec.characteristics.append(CharacteristicDefinition(name="Colour", allowed_values="Red,Blue"))
    offering = ProductOffering(name=name, specification=spec, unit_price=Decimal(price), price_type=PriceType.ONE_TIME)
    db.session.add(offering)
    db.session.commit()
    return offering


def make_order(
    account: Account,
    lines: int = 3,
    state: str = OrderState.IN_PROGRESS,
    line_state: str = OrderLineState.IN_PROGRESS,
    quantity: int = 5,
    order_type: str = OrderType.PRODUCT,
    offering: ProductOffering | None = None,
) -> CustomerOrder:
    offering = offering or make_offering()
    order = CustomerOrder(
        account=account,
        contact=account.primary_contact,
        order_type=order_type,
        channel=OrderChannel.AGENT,
        state=state,
        shipping_location=account.shipping_location,
        expected_delivery_date=dt.date.today() + dt.timedelta(days=14),
    )
    db.session.add(order)
    for _ in range(lines):
        line = OrderLineItem(
            order=order,
            offering=offering,
            specification=offering.specification,
            action=LineAction.ADD,
            quantity=quantity,
            unit_price=offering.unit_price,
            state=line_state,
            location=account.shipping_location,
            expected_delivery_date=order.expected_delivery_date,
        )
        line.characteristics.append(OrderLineCharacteristic(name="Colour", value="Red"))
        db.session.add(line)
    db.session.flush()
    order.total_amount = sum((line.line_total for line in order.lines), Decimal("0"))
    order.total_one_time = order.total_amount
    db.session.commit()
    return order


def make_line_choices(name: str, lines: int = 0) -> dict:
    """What a line form chooses among: a draft order of the account *name* (with *lines* desks), which holds an active
    Standing desk (Colour Blue, quantity 4); an Office chair on sale, with a Fabric (Wool or Mesh) as well."""
    account = make_account(name)
    desk = make_offering("Standing desk")
    chair = make_offering("Office chair")
    chair.specification.characteristics.append(CharacteristicDefinition(name="Fabric", allowed_values="Wool,Mesh"))
    order = make_order(account, lines=lines, state=OrderState.DRAFT, offering=desk)
    item = ProductInventory(account=account, offering=desk, specification=desk.specification, name="Desk 1",
                            quantity=4, state=InventoryState.ACTIVE, location=account.shipping_location)
    item.characteristics = [InventoryCharacteristic(name="Colour", value="Blue")]
    db.session.add(item)
    db.session.commit()
    return {"order": order, "desk": desk, "chair": chair, "item": item}


def make_draft_quote(account: Account) -> Quote:
    quote = Quote(account=account, contact=account.primary_contact, state=QuoteState.DRAFT,
                  valid_until=dt.date.today() + dt.timedelta(days=30))
    db.session.add(quote)
    db.session.commit()
    return quote


def make_service(name: str = "Sales Order Change Request") -> ServiceDefinition:
    service = db.session.query(ServiceDefinition).filter_by(name=name).first()
    if service is None:
        service = ServiceDefinition(name=name, active=True)
        db.session.add(service)
        db.session.commit()
    return service


def make_group(name: str, member_ids: list[int]) -> AssignmentGroup:
    from flask_appbuilder.security.sqla.models import User

    group = AssignmentGroup(name=name, members=db.session.query(User).filter(User.id.in_(member_ids)).all())
    db.session.add(group)
    db.session.commit()
    return group


def make_case(
    account: Account,
    order: CustomerOrder | None = None,
    order_lines: list[OrderLineItem] | None = None,
    state: str = CaseState.DRAFT,
    line_state: str = LineState.DRAFT,
    request_type: str | None = RequestType.INQUIRY,
) -> OrderCase:
    """A case built directly (bypassing workflows) for tests that need a starting state.

    Its lines are inquiries by default: a request type that needs no values, so the case may be submitted.
    """
    single = order_lines is not None
    case = OrderCase(
        account=account,
        contact=account.primary_contact,
        service=make_service(),
        scope=Scope.SINGLE_ORDER if single else Scope.MULTIPLE_ORDERS,
        order=order if single else None,
        origin=CaseOrigin.ORDER_LINE_ITEMS if single else CaseOrigin.CUSTOMER_ORDER,
        short_description="Test case",
        state=state,
    )
    db.session.add(case)
    for order_line in order_lines or []:
        db.session.add(
            OrderCaseLine(case=case, order=order_line.order, order_line=order_line, state=line_state,
                          request_type=request_type, ordered_quantity=order_line.quantity, order_line_version=order_line.version)
        )
    if not single and order is not None:
        db.session.add(OrderCaseLine(case=case, order=order, state=line_state, request_type=request_type))
    db.session.commit()
    return case


def classify_lines(case_id: int, request_type: str = RequestType.INQUIRY) -> None:
    """Give a workflow-created case's unclassified lines a request type, so the case may be submitted."""
    db.session.query(OrderCaseLine).filter(OrderCaseLine.case_id == case_id, OrderCaseLine.request_type.is_(None)) \
        .update({"request_type": request_type}, synchronize_session=False)
    db.session.commit()

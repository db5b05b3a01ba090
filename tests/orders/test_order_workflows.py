"""Order and order-line workflow actions from every state, role checks, inventory effects, enrichment.

Every refusal is checked against a full dump of the business tables: a refused action writes nothing.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.orders import workflows as wf
from app.core.choices import (
    EnrichmentKind,
    InventoryState,
    LineAction,
    OrderLineState,
    OrderState,
    OrderType,
    PriceType,
    SpecKind,
    ValueType,
)
from app.core.exceptions import DomainError, InvalidInput, PermissionDenied, StateConflict, VersionConflict
from app.core.extensions import db, metadata
from app.models import (
    AuditEvent,
    CharacteristicDefinition,
    EnrichmentIssue,
    InventoryCharacteristic,
    JournalEntry,
    Location,
    ProductInventory,
    ProductOffering,
    ProductSpecification,
)
from tests import factories

S = OrderState
L = OrderLineState


def as_user(users, role) -> User:
    return db.session.get(User, users[role].id)


def dump() -> dict:
    """Every row of every business table, to prove a refused action changed nothing."""
    db.session.expire_all()
    rows = {}
    for table in metadata.sorted_tables:
        if table.name.startswith("ab_") or table.name == "alembic_version":
            continue
        rows[table.name] = sorted(tuple(map(repr, row)) for row in db.session.execute(select(table)).all())
    db.session.expire_all()
    return rows


def refused(fn, exception, *args, fragment: str = "", **kwargs) -> str:
    before = dump()
    with pytest.raises(exception) as info:
        fn(*args, **kwargs)
    assert dump() == before, "a refused action changed the database"
    assert fragment in info.value.message
    return info.value.message


# Line states that go with each order state when an order is built directly.
LINE_STATE_FOR = {
    S.DRAFT: L.DRAFT,
    S.NEW: L.NEW,
    S.IN_PROGRESS: L.NEW,
    S.REJECTED: L.CANCELLED,
    S.COMPLETED: L.COMPLETED,
    S.CANCELLED: L.CANCELLED,
}


@pytest.fixture
def account():
    return factories.make_account("Acme")


def order_in(account, state, lines=2, line_state=None):
    return factories.make_order(account, lines=lines, state=state, line_state=line_state or LINE_STATE_FOR[state])


# ---------------------------------------------------------------------------------------------
# Order actions × every order state
# ---------------------------------------------------------------------------------------------

ORDER_ACTIONS = {
    # action → (function call, allowed from, resulting order state, resulting state of open lines, role)
    "submit": (lambda u, o: wf.submit_order(u, o.id, o.version), {S.DRAFT}, S.NEW, L.NEW, "agent"),
    "approve": (lambda u, o: wf.approve_order(u, o.id, o.version), {S.NEW}, S.IN_PROGRESS, L.NEW, "manager"),
    "reject": (lambda u, o: wf.reject_order(u, o.id, o.version, "Credit check failed"), {S.NEW}, S.REJECTED,
               L.CANCELLED, "manager"),
    "cancel": (lambda u, o: wf.cancel_order(u, o.id, o.version, "Customer withdrew"),
               {S.DRAFT, S.NEW, S.IN_PROGRESS}, S.CANCELLED, L.CANCELLED, "agent"),
}


@pytest.mark.parametrize("state", S.ALL)
@pytest.mark.parametrize("action", ORDER_ACTIONS)
def test_order_action_from_every_state(users, account, action, state):
    call, allowed, target, line_target, role = ORDER_ACTIONS[action]
    order = order_in(account, state)
    user = as_user(users, role)
    if state in allowed:
        call(user, order)
        db.session.expire_all()
        assert order.state == target
        assert {line.state for line in order.lines} == {line_target}
        events = db.session.query(AuditEvent).filter_by(record_type="customer_order", record_id=order.id,
                                                        field="state").all()
        assert [(e.old_value, e.new_value) for e in events] == [(state, target)]
    else:
        message = refused(call, StateConflict, user, order)
        assert f"{order.number} is {state}" in message


def test_reject_records_reason_as_work_note(users, account):
    order = order_in(account, S.NEW)
    wf.reject_order(as_user(users, "manager"), order.id, order.version, "Credit check failed")
    db.session.expire_all()
    assert order.rejection_reason == "Credit check failed"
    note = db.session.query(JournalEntry).filter_by(record_type="customer_order", record_id=order.id).one()
    assert note.kind == "work note" and "Credit check failed" in note.text


def test_reject_needs_a_reason(users, account):
    order = order_in(account, S.NEW)
    refused(wf.reject_order, InvalidInput, as_user(users, "manager"), order.id, order.version, "  ",
            fragment="Reject needs a reason")


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_agent_cannot_approve_or_reject(users, account, action):
    order = order_in(account, S.NEW)
    call = ORDER_ACTIONS[action][0]
    refused(call, PermissionDenied, as_user(users, "agent"), order, fragment="needs the manager role")


@pytest.mark.parametrize("role", ["customer", "integrator"])
@pytest.mark.parametrize("action", ORDER_ACTIONS)
def test_customer_and_integrator_are_refused(users, account, role, action):
    call, allowed, *_ = ORDER_ACTIONS[action]
    order = order_in(account, sorted(allowed)[0])
    refused(call, PermissionDenied, as_user(users, role), order)


def test_admin_may_approve(users, account):
    order = order_in(account, S.NEW)
    wf.approve_order(as_user(users, "admin"), order.id, order.version)
    db.session.expire_all()
    assert order.state == S.IN_PROGRESS


def test_stale_version_is_refused(users, account):
    order = order_in(account, S.DRAFT)
    stale = order.version
    wf.update_order(as_user(users, "agent"), order.id, stale, {"description": "First edit"})
    refused(wf.submit_order, VersionConflict, as_user(users, "agent"), order.id, stale,
            fragment="after you opened it")


def test_submit_needs_a_line(users, account):
    order = order_in(account, S.DRAFT, lines=0)
    refused(wf.submit_order, StateConflict, as_user(users, "agent"), order.id, order.version, fragment="has no lines")


def test_submit_checks_required_characteristics(users, account):
    order = order_in(account, S.DRAFT, lines=1)
    spec = order.lines[0].specification
    spec.characteristics.append(CharacteristicDefinition(name="Size", allowed_values="S,M,L", required=True))
    db.session.commit()
    refused(wf.submit_order, InvalidInput, as_user(users, "agent"), order.id, order.version,
            fragment="Size: a value is required")


def test_cancel_refused_once_a_line_is_completed(users, account):
    order = order_in(account, S.IN_PROGRESS)
    order.lines[0].state = L.COMPLETED
    db.session.commit()
    refused(wf.cancel_order, StateConflict, as_user(users, "agent"), order.id, order.version,
            fragment=f"line {order.lines[0].number} of {order.number} is already completed")


def test_approve_refused_without_open_lines(users, account):
    order = order_in(account, S.NEW, line_state=L.CANCELLED)
    refused(wf.approve_order, StateConflict, as_user(users, "manager"), order.id, order.version,
            fragment="no open lines")


# ---------------------------------------------------------------------------------------------
# Line actions × every (order state, line state)
# ---------------------------------------------------------------------------------------------

LINE_ACTIONS = {
    "start": (lambda u, line: wf.start_line(u, line.id, line.version), L.IN_PROGRESS),
    "complete": (lambda u, line: wf.complete_line(u, line.id, line.version), L.COMPLETED),
    "cancel": (lambda u, line: wf.cancel_line(u, line.id, line.version, "No longer needed"), L.CANCELLED),
}
ALLOWED_LINE_ACTIONS = {
    ("start", S.IN_PROGRESS, L.NEW),
    ("complete", S.IN_PROGRESS, L.IN_PROGRESS),
    ("cancel", S.NEW, L.NEW),
    ("cancel", S.IN_PROGRESS, L.NEW),
    ("cancel", S.IN_PROGRESS, L.IN_PROGRESS),
}
# Every combination of order and line state that the workflows can produce.
REACHABLE = [
    (S.DRAFT, L.DRAFT), (S.NEW, L.NEW), (S.NEW, L.CANCELLED), (S.IN_PROGRESS, L.NEW),
    (S.IN_PROGRESS, L.IN_PROGRESS), (S.IN_PROGRESS, L.COMPLETED), (S.IN_PROGRESS, L.CANCELLED),
    (S.REJECTED, L.CANCELLED), (S.COMPLETED, L.COMPLETED), (S.CANCELLED, L.CANCELLED),
]


@pytest.mark.parametrize("order_state,line_state", REACHABLE)
@pytest.mark.parametrize("action", LINE_ACTIONS)
def test_line_action_from_every_state(users, account, action, order_state, line_state):
    call, target = LINE_ACTIONS[action]
    # A second line in In progress keeps the order from settling, so the line's own move is visible.
    order = order_in(account, order_state, lines=1, line_state=line_state)
    line = order.lines[0]
    user = as_user(users, "agent")
    if (action, order_state, line_state) in ALLOWED_LINE_ACTIONS:
        call(user, line)
        db.session.expire_all()
        assert line.state == target
    else:
        message = refused(call, StateConflict, user, line)
        assert " is not allowed: " in message


@pytest.mark.parametrize("role", ["customer", "integrator"])
@pytest.mark.parametrize("action", LINE_ACTIONS)
def test_line_actions_refused_for_customer_and_integrator(users, account, role, action):
    order = order_in(account, S.IN_PROGRESS, line_state=L.IN_PROGRESS)
    refused(LINE_ACTIONS[action][0], PermissionDenied, as_user(users, role), order.lines[0])


def test_order_completes_when_every_line_is_completed_or_cancelled(users, account):
    order = order_in(account, S.IN_PROGRESS, lines=2, line_state=L.IN_PROGRESS)
    agent = as_user(users, "agent")
    first, second = order.lines
    wf.cancel_line(agent, first.id, first.version)
    db.session.expire_all()
    assert order.state == S.IN_PROGRESS
    wf.complete_line(agent, second.id, second.version)
    db.session.expire_all()
    assert order.state == S.COMPLETED and order.completed_at is not None


def test_order_cancelled_when_every_line_is_cancelled(users, account):
    order = order_in(account, S.NEW, lines=2)
    agent = as_user(users, "agent")
    for line in list(order.lines):
        wf.cancel_line(agent, line.id, line.version)
    db.session.expire_all()
    assert order.state == S.CANCELLED


def test_cancel_line_recomputes_totals(users, account):
    order = order_in(account, S.NEW, lines=2)  # 2 × 5 × 10.00
    assert order.total_amount == Decimal("100.00")
    line = order.lines[0]
    wf.cancel_line(as_user(users, "agent"), line.id, line.version)
    db.session.expire_all()
    assert order.total_amount == Decimal("50.00") and order.total_one_time == Decimal("50.00")


# ---------------------------------------------------------------------------------------------
# Capture: header, lines, characteristics, totals
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def catalog():
    spec = ProductSpecification(name="Internet access", kind=SpecKind.SERVICE)
    spec.characteristics = [
        CharacteristicDefinition(name="Bandwidth", value_type=ValueType.NUMBER, allowed_values="100,500,1000",
                                 required=True),
        CharacteristicDefinition(name="Static IP", value_type=ValueType.BOOLEAN),
        CharacteristicDefinition(name="Label", value_type=ValueType.STRING),
    ]
    internet = ProductOffering(name="Fibre Internet", specification=spec, unit_price=Decimal("99.00"),
                               price_type=PriceType.RECURRING)
    router_spec = ProductSpecification(name="Router", kind=SpecKind.PRODUCT)
    router = ProductOffering(name="Router", specification=router_spec, unit_price=Decimal("250.00"),
                             price_type=PriceType.ONE_TIME)
    db.session.add_all([internet, router])
    db.session.commit()
    return {"internet": internet, "router": router}


def test_capture_service_order_with_sites_and_totals(users, account, catalog):
    agent = as_user(users, "agent")
    site_b = Location(name="Branch", city="Shelbyville", account=account)
    db.session.add(site_b)
    db.session.commit()
    order = wf.create_order(agent, {"account_id": account.id, "order_type": OrderType.SERVICE})
    assert order.state == S.DRAFT and order.contact_id == account.primary_contact_id
    first = wf.add_line(agent, order.id, order.version, {
        "offering_id": catalog["internet"].id, "quantity": 1, "location_id": account.shipping_location_id,
        "characteristics": {"Bandwidth": "500", "Static IP": "TRUE"},
    })
    db.session.expire_all()
    # A service order takes service offerings: the router comes as a managed (service) router.
    router = ProductOffering(name="Managed router", unit_price=Decimal("250.00"), price_type=PriceType.ONE_TIME,
                             specification=ProductSpecification(name="Managed router", kind=SpecKind.SERVICE))
    db.session.add(router)
    db.session.commit()
    wf.add_line(agent, order.id, order.version, {
        "offering_id": router.id, "quantity": 2, "location_id": site_b.id,
    })
    db.session.expire_all()
    assert [(c.name, c.value) for c in first.characteristics] == [("Bandwidth", "500"), ("Static IP", "true")]
    assert first.unit_price == Decimal("99.00") and first.price_type == PriceType.RECURRING
    assert order.total_recurring == Decimal("99.00")
    assert order.total_one_time == Decimal("500.00")
    assert order.total_amount == Decimal("599.00")
    assert {line.location_id for line in order.lines} == {account.shipping_location_id, site_b.id}
    wf.submit_order(agent, order.id, order.version)
    db.session.expire_all()
    assert order.state == S.NEW and {line.state for line in order.lines} == {L.NEW}


@pytest.mark.parametrize("data,fragment", [
    ({"characteristics": {"Bandwidth": "200"}}, "'200' is not allowed (allowed: 100, 500, 1000)"),
    ({"characteristics": {"Bandwidth": "fast"}}, "'fast' is not a number"),
    ({"characteristics": {"Bandwidth": "100", "Static IP": "maybe"}}, "not true or false"),
    ({"characteristics": {"Bandwidth": "100", "Colour": "Red"}}, "has no characteristic 'Colour'"),
    ({"characteristics": {}}, "Bandwidth: a value is required"),
    ({"characteristics": {"Bandwidth": "100"}, "quantity": 0}, "Quantity must be at least 1"),
    ({"characteristics": {"Bandwidth": "100"}, "quantity": "two"}, "whole number"),
    ({"characteristics": {"Bandwidth": "100"}, "location_id": ""}, "needs its service location"),
    ({"offering_id": "", "characteristics": {}}, "needs an offering"),
    ({"characteristics": {"Bandwidth": "100"}, "expected_delivery_date": "31/12/2030"}, "must be a date"),
])
def test_bad_line_input_is_refused(users, account, catalog, data, fragment):
    agent = as_user(users, "agent")
    order = wf.create_order(agent, {"account_id": account.id, "order_type": OrderType.SERVICE})
    base = {"offering_id": catalog["internet"].id, "quantity": 1, "location_id": account.shipping_location_id}
    refused(wf.add_line, InvalidInput, agent, order.id, order.version, {**base, **data}, fragment=fragment)


def test_location_of_another_account_is_refused(users, account, catalog):
    agent = as_user(users, "agent")
    other = factories.make_account("Other")
    order = wf.create_order(agent, {"account_id": account.id})
    refused(wf.add_line, InvalidInput, agent, order.id, order.version, {
        "offering_id": catalog["router"].id, "location_id": other.shipping_location_id,
    }, fragment="belongs to another account")


def test_contact_of_another_account_is_refused(users, account):
    other = factories.make_account("Other")
    refused(wf.create_order, InvalidInput, as_user(users, "agent"),
            {"account_id": account.id, "contact_id": other.primary_contact_id}, fragment="does not belong to Acme")


def test_customer_cannot_capture_agent_orders(users, account):
    refused(wf.create_order, PermissionDenied, as_user(users, "customer"), {"account_id": account.id})


def test_edit_and_delete_line_recompute_totals(users, account, catalog):
    agent = as_user(users, "agent")
    order = wf.create_order(agent, {"account_id": account.id})
    line = wf.add_line(agent, order.id, order.version, {"offering_id": catalog["router"].id, "quantity": 1})
    db.session.expire_all()
    wf.update_line(agent, line.id, line.version, {"offering_id": catalog["router"].id, "quantity": 3})
    db.session.expire_all()
    assert order.total_amount == Decimal("750.00")
    wf.delete_line(agent, line.id, line.version)
    db.session.expire_all()
    assert order.lines == [] and order.total_amount == Decimal("0")


# ---------------------------------------------------------------------------------------------
# Inventory effects
# ---------------------------------------------------------------------------------------------

def make_inventory(account, offering, state=InventoryState.ACTIVE, quantity=1) -> ProductInventory:
    item = ProductInventory(name=offering.name, account=account, offering=offering,
                            specification=offering.specification, location=account.shipping_location,
                            quantity=quantity, state=state)
    item.characteristics = [InventoryCharacteristic(name="Bandwidth", value="100")]
    db.session.add(item)
    db.session.commit()
    return item


def fulfil(users, order):
    """Submit, approve, start and complete every line of *order*."""
    agent, manager = as_user(users, "agent"), as_user(users, "manager")
    db.session.expire_all()
    wf.submit_order(agent, order.id, order.version)
    db.session.expire_all()
    wf.approve_order(manager, order.id, order.version)
    for line in list(order.lines):
        db.session.expire_all()
        wf.start_line(agent, line.id, line.version)
        db.session.expire_all()
        wf.complete_line(agent, line.id, line.version)
    db.session.expire_all()


def test_completing_add_line_creates_active_inventory(users, account, catalog):
    agent = as_user(users, "agent")
    order = wf.create_order(agent, {"account_id": account.id, "order_type": OrderType.SERVICE})
    line = wf.add_line(agent, order.id, order.version, {
        "offering_id": catalog["internet"].id, "quantity": 2, "location_id": account.shipping_location_id,
        "characteristics": {"Bandwidth": "1000"},
    })
    fulfil(users, order)
    item = db.session.query(ProductInventory).filter_by(order_line_id=line.id).one()
    assert item.state == InventoryState.ACTIVE and item.account_id == account.id
    assert item.quantity == 2 and item.location_id == account.shipping_location_id
    assert item.offering_id == catalog["internet"].id
    assert [(c.name, c.value) for c in item.characteristics] == [("Bandwidth", "1000")]
    assert order.state == S.COMPLETED


def test_change_line_updates_inventory(users, account, catalog):
    agent = as_user(users, "agent")
    item = make_inventory(account, catalog["internet"])
    new_site = Location(name="New site", city="Capital City", account=account)
    db.session.add(new_site)
    db.session.commit()
    order = wf.create_order(agent, {"account_id": account.id, "order_type": OrderType.SERVICE})
    line = wf.add_line(agent, order.id, order.version, {
        "action": LineAction.CHANGE, "inventory_id": item.id, "quantity": 3, "location_id": new_site.id,
        "characteristics": {"Bandwidth": "500"},
    })
    assert line.unit_price == Decimal("99.00")
    fulfil(users, order)
    db.session.refresh(item)
    assert item.state == InventoryState.ACTIVE
    assert item.quantity == 3 and item.location_id == new_site.id
    assert {c.name: c.value for c in item.characteristics} == {"Bandwidth": "500"}
    assert db.session.query(AuditEvent).filter_by(record_type="product_inventory", record_id=item.id,
                                                  field="quantity").one().new_value == "3"


@pytest.mark.parametrize("action,start,end", [
    (LineAction.DISCONNECT, InventoryState.ACTIVE, InventoryState.INACTIVE),
    (LineAction.SUSPEND, InventoryState.ACTIVE, InventoryState.SUSPENDED),
    (LineAction.RESUME, InventoryState.SUSPENDED, InventoryState.ACTIVE),
])
def test_disconnect_suspend_resume_toggle_inventory(users, account, catalog, action, start, end):
    agent = as_user(users, "agent")
    item = make_inventory(account, catalog["internet"], state=start)
    order = wf.create_order(agent, {"account_id": account.id, "order_type": OrderType.SERVICE})
    line = wf.add_line(agent, order.id, order.version, {"action": action, "inventory_id": item.id})
    assert line.unit_price == Decimal("0") and line.quantity == item.quantity
    fulfil(users, order)
    db.session.refresh(item)
    assert item.state == end


@pytest.mark.parametrize("action,state,fragment", [
    (LineAction.CHANGE, None, "must reference an inventory item"),
    (LineAction.DISCONNECT, InventoryState.INACTIVE, "needs a active inventory item"),
    (LineAction.SUSPEND, InventoryState.SUSPENDED, "is suspended"),
    (LineAction.RESUME, InventoryState.ACTIVE, "needs a suspended inventory item"),
])
def test_inventory_lines_need_the_right_item(users, account, catalog, action, state, fragment):
    agent = as_user(users, "agent")
    item = make_inventory(account, catalog["internet"], state=state) if state else None
    order = wf.create_order(agent, {"account_id": account.id, "order_type": OrderType.SERVICE})
    refused(wf.add_line, InvalidInput, agent, order.id, order.version,
            {"action": action, "inventory_id": item.id if item else ""}, fragment=fragment)


def test_inventory_of_another_account_is_refused(users, account, catalog):
    agent = as_user(users, "agent")
    item = make_inventory(factories.make_account("Other"), catalog["internet"])
    order = wf.create_order(agent, {"account_id": account.id})
    refused(wf.add_line, InvalidInput, agent, order.id, order.version,
            {"action": LineAction.DISCONNECT, "inventory_id": item.id}, fragment="does not belong to the order's")


def test_inventory_already_on_an_open_line_is_refused(users, account, catalog):
    agent = as_user(users, "agent")
    item = make_inventory(account, catalog["internet"])
    first = wf.create_order(agent, {"account_id": account.id})
    line = wf.add_line(agent, first.id, first.version, {"action": LineAction.SUSPEND, "inventory_id": item.id})
    second = wf.create_order(agent, {"account_id": account.id})
    refused(wf.add_line, InvalidInput, agent, second.id, second.version,
            {"action": LineAction.DISCONNECT, "inventory_id": item.id}, fragment=f"open order line {line.number}")


def test_complete_refused_when_inventory_moved_meanwhile(users, account, catalog):
    agent = as_user(users, "agent")
    item = make_inventory(account, catalog["internet"])
    order = wf.create_order(agent, {"account_id": account.id})
    line = wf.add_line(agent, order.id, order.version, {"action": LineAction.SUSPEND, "inventory_id": item.id})
    db.session.expire_all()
    wf.submit_order(agent, order.id, order.version)
    db.session.expire_all()
    wf.approve_order(as_user(users, "manager"), order.id, order.version)
    db.session.expire_all()
    wf.start_line(agent, line.id, line.version)
    item.state = InventoryState.INACTIVE
    db.session.commit()
    refused(wf.complete_line, StateConflict, agent, line.id, line.version,
            fragment=f"needs {item.number} to be active, but it is inactive")


# ---------------------------------------------------------------------------------------------
# Enrichment issues
# ---------------------------------------------------------------------------------------------

def test_approval_refused_until_enrichment_issues_are_fixed(users, account, catalog):
    order = order_in(account, S.NEW, lines=1)
    line = order.lines[0]
    other_site = Location(name="Depot", city="Ogdenville", account=account)
    db.session.add(other_site)
    db.session.add_all([
        EnrichmentIssue(order=order, order_line=line, kind=EnrichmentKind.OFFERING, reference="SKU-404",
                        description="Offering SKU-404 could not be matched"),
        EnrichmentIssue(order=order, order_line=line, kind=EnrichmentKind.LOCATION, reference="SITE-9",
                        description="Location SITE-9 could not be matched"),
    ])
    db.session.commit()
    manager, agent = as_user(users, "manager"), as_user(users, "agent")
    message = refused(wf.approve_order, StateConflict, manager, order.id, order.version,
                      fragment="has 2 unresolved enrichment issues")
    assert "Offering SKU-404 could not be matched" in message and "Location SITE-9" in message

    offering_issue, location_issue = order.enrichment_issues
    wf.resolve_enrichment_issue(agent, offering_issue.id, order.version, catalog["router"].id)
    db.session.expire_all()
    assert line.offering_id == catalog["router"].id and line.unit_price == Decimal("250.00")
    assert order.total_amount == Decimal("1250.00")
    message = refused(wf.approve_order, StateConflict, manager, order.id, order.version,
                      fragment="1 unresolved enrichment issue:")
    assert "SKU-404" not in message
    refused(wf.resolve_enrichment_issue, InvalidInput, agent, location_issue.id, order.version,
            factories.make_account("Other").shipping_location_id, fragment="belongs to another account")
    wf.resolve_enrichment_issue(agent, location_issue.id, order.version, other_site.id)
    db.session.expire_all()
    assert line.location_id == other_site.id and location_issue.resolved
    assert location_issue.resolved_by_id == agent.id
    wf.approve_order(manager, order.id, order.version)
    db.session.expire_all()
    assert order.state == S.IN_PROGRESS


def test_party_issue_sets_the_account(users, account):
    order = order_in(account, S.NEW, lines=1)
    order.account_id = None
    order.contact_id = None
    issue = EnrichmentIssue(order=order, kind=EnrichmentKind.PARTY, reference="CUST-77",
                            description="Party CUST-77 could not be matched")
    db.session.add(issue)
    db.session.commit()
    agent = as_user(users, "agent")
    refused(wf.resolve_enrichment_issue, InvalidInput, agent, issue.id, order.version, "",
            fragment="Choose the record")
    wf.resolve_enrichment_issue(agent, issue.id, order.version, account.id)
    db.session.expire_all()
    assert order.account_id == account.id and issue.resolved
    refused(wf.resolve_enrichment_issue, StateConflict, agent, issue.id, order.version, account.id,
            fragment="already resolved")


def test_order_journal(users, account):
    order = order_in(account, S.NEW)
    agent = as_user(users, "agent")
    wf.add_order_journal(agent, order.id, "comment", "Delivery via loading dock")
    refused(wf.add_order_journal, DomainError, agent, order.id, "work note", "   ", fragment="needs some text")
    refused(wf.add_order_journal, PermissionDenied, as_user(users, "customer"), order.id, "comment", "Hi")
    assert db.session.query(JournalEntry).filter_by(record_id=order.id).one().text == "Delivery via loading dock"


def test_header_edit_rules(users, account):
    agent = as_user(users, "agent")
    order = order_in(account, S.NEW)
    refused(wf.update_order, StateConflict, agent, order.id, order.version,
            {"account_id": factories.make_account("Other").id}, fragment="Changing the account is not allowed")
    refused(wf.update_order, InvalidInput, agent, order.id, order.version,
            {"requested_start_date": "2030-05-02", "requested_completion_date": "2030-05-01"},
            fragment="before the requested start date")
    wf.update_order(agent, order.id, order.version, {"expected_delivery_date": dt.date(2030, 1, 2)})
    db.session.expire_all()
    assert order.expected_delivery_date == dt.date(2030, 1, 2)
    closed = order_in(account, S.COMPLETED)
    refused(wf.update_order, StateConflict, agent, closed.id, closed.version, {"description": "x"})

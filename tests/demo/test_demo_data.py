"""The demo data set loads into an empty database, has the promised shape, and refuses a second load.

The set is loaded once for this module (loading takes seconds); the tests only read it.
"""
from __future__ import annotations

import re
import stat
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.choices import (
    CaseState, InventoryState, JournalKind, LineAction, LineState, OrderChannel, OrderLineState, OrderState,
    OrderType, PriceType, QuoteState, RequestType, Scope, SpecKind, ValueType,
)
from app.cases.requests import REQUESTED_FIELDS, missing_values, refuse_unchanged
from app.demo.loader import (
    CHANGE_REQUEST, DEMO_USERS, DISPUTE, ENRICHMENT_OFFERING, ENRICHMENT_PARTY, LOGINS_FILE, ORDER_LINE_STATES,
    DemoDataRefused, load_demo_data, load_demo_data_if_empty,
)
from app.models import (
    Account, AssignmentGroup, AuditEvent, CharacteristicDefinition, Contact, CustomerOrder, Interaction,
    JournalEntry, OrderCase, OrderCaseLine, OrderChange, OrderLineItem, ProductInventory, ProductOffering, Quote,
    ServiceDefinition, SlaDefinition, TaskSla,
)
from app.core.model_base import NUMBERED_MODELS
from tests.conftest import UserClient, demo_data_loaded, log_in
from tests.factories import UserLogin



@pytest.fixture(autouse=True)
def clean_tables(app, db):
    """Overrides the per-test wipe: this module's tests share one loaded data set (see ``demo``)."""
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()


@pytest.fixture(scope="module")
def demo(app, db):
    with demo_data_loaded(app, db) as result:
        yield result


def count(db, model, *where) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def all_of(db, model):
    return db.session.execute(select(model)).scalars().all()


def test_customers_catalog_and_desk_configuration(demo, db):
    accounts = all_of(db, Account)
    assert 18 <= len(accounts) <= 25
    for account in accounts:
        assert len(account.contacts) >= 2 and len(account.locations) >= 2, account.name
        assert account.primary_contact in account.contacts and account.shipping_location in account.locations
    assert any(account.parent is not None for account in accounts)
    assert all(re.fullmatch(r"[\w.]+@[\w.-]+\.example", c.email) for c in all_of(db, Contact))

    offerings = all_of(db, ProductOffering)
    assert 40 <= len(offerings) <= 60
    assert {o.specification.kind for o in offerings} == set(SpecKind.ALL)
    assert {o.price_type for o in offerings} == set(PriceType.ALL)
    definitions = all_of(db, CharacteristicDefinition)
    assert {d.value_type for d in definitions} == set(ValueType.ALL)
    assert sum(1 for d in definitions if d.allowed_values) >= 20

    services = {s.name: s for s in all_of(db, ServiceDefinition)}
    assert services[CHANGE_REQUEST].active and services[DISPUTE].active
    assert all(s.default_assignment_group is not None for s in services.values())
    slas = {(s.kind, s.priorities): s for s in all_of(db, SlaDefinition) if s.applies_to == "case"}
    assert slas[("response", "3,4")].target_minutes == 4 * 60
    assert slas[("resolution", "3,4")].target_minutes == 3 * 24 * 60
    assert slas[("response", "1,2")].target_minutes == 60
    assert slas[("resolution", "1,2")].target_minutes == 24 * 60
    assert all(s.schedule == "24x7" and s.pause_states == CaseState.AWAITING_INFO for s in slas.values())

    usernames = {login.username: login.role for login in demo.logins}
    for group in all_of(db, AssignmentGroup):
        assert {"agent", "manager"} <= {member.username for member in group.members}
    from flask_appbuilder.security.sqla.models import User

    for username, role in usernames.items():
        user = db.session.execute(select(User).filter_by(username=username)).scalar_one()
        assert role in {r.name for r in user.roles}
    customer = db.session.execute(select(Contact).join(User, Contact.user_id == User.id)
                                  .where(User.username == "customer")).scalar_one()
    assert customer.account is not None

    interactions = all_of(db, Interaction)
    assert len(interactions) >= 3 and all(i.account and i.contact for i in interactions)


def test_orders_cover_every_state_channel_and_stay_consistent(demo, db):
    orders = all_of(db, CustomerOrder)
    assert 250 <= len(orders) <= 350
    assert 1000 <= count(db, OrderLineItem) <= 1500
    assert {o.state for o in orders} == set(OrderState.ALL)
    assert {o.order_type for o in orders} == set(OrderType.ALL)
    # Service Exchange orders exist only where a provider desk is connected; the demo is one desk alone.
    assert {o.channel for o in orders} == set(OrderChannel.ALL) - {OrderChannel.SERVICE_EXCHANGE}
    for order in orders:
        states = {line.state for line in order.lines}
        assert order.lines and states <= ORDER_LINE_STATES[order.state], (order.number, order.state, states)
        if order.state == OrderState.IN_PROGRESS:
            assert states - set(OrderLineState.CLOSED), f"{order.number} is In progress with every line closed"
        if order.state == OrderState.COMPLETED:
            assert OrderLineState.COMPLETED in states and order.completed_at is not None
        charged = [line for line in order.lines if line.state != OrderLineState.CANCELLED]
        assert order.total_amount == sum((line.unit_price * line.quantity for line in charged), Decimal("0"))
        assert order.total_amount == order.total_one_time + order.total_recurring
        if order.channel in (OrderChannel.TMF622, OrderChannel.TMF641):
            assert order.tmf_id and order.external_id
        if order.order_type == OrderType.SERVICE:
            for line in order.lines:
                if line.action in LineAction.ON_INVENTORY:
                    assert line.inventory is not None and line.inventory.account_id == order.account_id

    inventory = all_of(db, ProductInventory)
    assert {InventoryState.ACTIVE, InventoryState.SUSPENDED, InventoryState.INACTIVE} <= {i.state for i in inventory}
    for item in inventory:
        assert item.order_line.action == LineAction.ADD and item.order_line.state == OrderLineState.COMPLETED

    quotes = all_of(db, Quote)
    assert {q.state for q in quotes} == set(QuoteState.ALL)
    assert any(q.state == QuoteState.ACCEPTED and q.order is None for q in quotes), "no accepted, unconverted quote"
    assert all(q.order.channel == OrderChannel.QUOTE for q in quotes if q.order is not None)
    assert all(q.lines and q.total_amount > 0 for q in quotes)
    # Each quote becomes one order, and an order takes offerings of its own type only.
    for quote in quotes:
        kinds = {line.offering.specification.kind for line in quote.lines}
        assert len(kinds) == 1, (quote.number, kinds)
        if quote.order is not None:
            assert quote.order.order_type == kinds.pop(), quote.number


def test_api_order_with_open_enrichment_issues(demo, db):
    orders = [o for o in all_of(db, CustomerOrder) if o.enrichment_issues]
    party_order = next(o for o in orders if any(i.reference == ENRICHMENT_PARTY for i in o.enrichment_issues))
    assert party_order.channel == OrderChannel.TMF622 and party_order.state == OrderState.NEW
    assert {i.kind for i in party_order.enrichment_issues} == {"party", "offering"}
    assert not any(i.resolved for i in party_order.enrichment_issues)
    offering_issue = next(i for i in party_order.enrichment_issues if i.kind == "offering")
    assert offering_issue.reference == ENRICHMENT_OFFERING and offering_issue.order_line.offering is None


def test_cases_cover_every_state_with_lines_consistent_with_the_spec(demo, db):
    cases = all_of(db, OrderCase)
    assert 25 <= len(cases) <= 40
    assert {c.state for c in cases} == set(CaseState.ALL)
    assert sum(1 for c in cases if c.priority == 1) == 1
    for case in cases:
        states = {line.state for line in case.lines}
        label = (case.number, case.state, states)
        if case.state != CaseState.DRAFT:
            assert case.lines, label
        if case.state == CaseState.DRAFT:
            assert states <= {LineState.DRAFT}, label
        elif case.state == CaseState.NEW:
            assert states == {LineState.NEW} and case.assigned_to is None, label
        elif case.state in (CaseState.WORK_IN_PROGRESS, CaseState.AWAITING_INFO):
            assert states - set(LineState.TERMINAL) and LineState.DRAFT not in states, label
            assert case.assigned_to is not None, label
        elif case.state in (CaseState.RESOLVED, CaseState.CLOSED):
            assert states <= set(LineState.TERMINAL) and case.resolution_code and case.resolved_at, label
        elif case.state == CaseState.CANCELLED:
            assert states == {LineState.CANCELLED}, label
        if case.assigned_to is not None and case.assignment_group is not None:
            assert case.assigned_to in case.assignment_group.members
        if case.scope == Scope.SINGLE_ORDER:
            assert case.order is not None and all(line.order_line.order_id == case.order_id for line in case.lines)
        else:
            assert all(line.order_line is None and line.request_type in RequestType.HEADER_LEVEL for line in case.lines)
        assert all(line.order.account_id == case.account_id for line in case.lines)


def test_case_lines_carry_requests_and_accepted_ones_changed_their_order(demo, db):
    lines = all_of(db, OrderCaseLine)
    assert {line.request_type for line in lines} >= {RequestType.QUANTITY, RequestType.DELIVERY_DATE,
                                                      RequestType.PRICE}
    required = {RequestType.QUANTITY: "requested_quantity", RequestType.DELIVERY_DATE: "requested_delivery_date",
                RequestType.ADDRESS: "requested_location_id", RequestType.PRICE: "disputed_unit_price",
                RequestType.WRONG_ITEM: "replacement_offering_id"}
    for line in lines:
        assert line.reason_code and line.short_description
        if line.request_type in required:
            assert getattr(line, required[line.request_type]) is not None, (line.number, line.request_type)
        assert missing_values(line.request_type, {f: getattr(line, f) for f in REQUESTED_FIELDS}) == [], line.number
        if line.state != LineState.ACCEPTED:
            # Until accepted, every request asks the order for something it does not have yet.
            refuse_unchanged(line, line.request_type, {}, "Demo data")
        if line.order_line is not None:
            assert {(c.name, c.value) for c in line.characteristics} <= {
                (c.name, c.value) for c in line.order_line.characteristics}
    applied = [line for line in lines if line.state == LineState.ACCEPTED and line.request_type != RequestType.INQUIRY]
    assert applied, "no accepted line changed an order"
    for line in applied:
        assert line.applied_at is not None
        assert count(db, OrderChange, OrderChange.case_line_id == line.id) >= 1, line.number
    open_references = [(line.order_id, line.order_line_id) for line in lines if line.case.state in CaseState.OPEN]
    assert len(open_references) == len(set(open_references)), "an order line sits on two open cases"

    assert count(db, JournalEntry, JournalEntry.kind == JournalKind.COMMENT) >= 5
    assert count(db, JournalEntry, JournalEntry.kind == JournalKind.WORK_NOTE) >= 5
    assert count(db, AuditEvent, AuditEvent.action == "Submit") >= 20
    assert count(db, TaskSla) >= 20


def test_every_record_has_a_human_number(demo, db):
    for model in NUMBERED_MODELS.values():
        numbers = db.session.execute(select(model.number)).scalars().all()
        assert all(re.fullmatch(rf"{model.__number_prefix__}\d{{7}}", n) for n in numbers), model.__name__


def test_logins_file_is_private_holds_every_role_and_the_passwords_work(demo, app):
    path = Path(app.config["INSTANCE_DIR"]) / LOGINS_FILE
    assert path == demo.logins_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_text()
    for username, role, *_ in DEMO_USERS:
        password = next(login.password for login in demo.logins if login.username == username)
        assert f"{role}\t{username}\t{password}" in content
        assert len(password) >= 12
    agent = next(login for login in demo.logins if login.role == "agent")
    login = UserLogin(0, agent.username, agent.password, agent.role)
    client = UserClient(app.test_client(), login)
    log_in(client, login)
    page = client.get("/ordercaseview/list/")
    assert page.status_code == 200 and "ORDCS" in page.get_data(as_text=True)
    assert client.get("/customerorderview/list/").status_code == 200


def test_second_load_is_refused_and_changes_nothing(demo, app, db, capsys):
    before = count(db, CustomerOrder), count(db, OrderCase)
    with pytest.raises(DemoDataRefused, match="empty database"):
        load_demo_data(app)
    assert load_demo_data_if_empty(app) is None
    assert "logins.txt" in capsys.readouterr().out

    result = app.test_cli_runner().invoke(args=["load-demo-data"])
    assert result.exit_code == 1
    assert "only loaded into an empty database" in result.output
    db.session.expire_all()
    assert (count(db, CustomerOrder), count(db, OrderCase)) == before

"""Creating a TMF622 product order costs a fixed number of SQL statements whatever its number of items,
answers with the same document a later GET shows, and writes nothing when it fails part-way."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from app.tmf import orders as tmf_orders
from app.core.extensions import db
from app.models import (
    AuditEvent,
    CustomerOrder,
    EnrichmentIssue,
    Location,
    OrderLineCharacteristic,
    OrderLineItem,
    TmfEvent,
)
from tests import factories
from tests.tmf.test_tmf_api import P622, Tmf, api_key_for, valid


@pytest.fixture
def tmf(client_for, users):
    return Tmf(client_for(None), api_key_for(users["integrator"]))


@pytest.fixture
def catalog():
    account = factories.make_account("Speedy Co")
    offerings = [factories.make_offering(f"Speed offering {index}", f"{10 + index}.00") for index in range(4)]
    site = Location(name="Speed site", street="2 Fast Lane", city="Springfield", country="US", account=account)
    db.session.add(site)
    db.session.commit()
    return {"account": account, "contact": account.primary_contact, "offerings": offerings, "site": site}


def order_body(catalog, items: int) -> dict:
    """Every kind of reference, matched and unmatched, in any run of four items (from two on: all kinds
    of statement)."""
    offerings = catalog["offerings"]
    body_items = []
    for index in range(items):
        offering = offerings[index % len(offerings)]
        item = {"id": str(index + 1), "action": "add", "quantity": 1 + index % 3,
                "productOffering": {"id": offering.number}}
        if index % 4 == 0:
            item["productOffering"] = {"id": offering.name}
            item["product"] = {"productSpecification": {"id": offering.specification.number},
                               "place": [{"id": catalog["site"].number, "role": "deliveryAddress"}],
                               "productCharacteristic": [{"name": "Colour", "value": "Red"},
                                                         {"name": "Note", "value": {"free": "form"}}]}
        elif index % 4 == 1:
            item = {"id": str(index + 1), "action": "modify", "product": {"id": f"NO-SUCH-ITEM-{index}"}}
        elif index % 4 == 3:
            item["productOffering"] = {"id": f"NO-SUCH-OFFERING-{index}"}
        body_items.append(item)
    return {
        "externalId": f"SPEED-{items}", "priority": "2", "description": "Statement count",
        "relatedParty": [{"id": catalog["account"].number, "@referredType": "Organization", "role": "Customer"},
                         {"id": catalog["contact"].email, "@referredType": "Individual"}],
        "productOrderItem": body_items,
    }


@contextmanager
def counted_statements():
    """The statements this thread runs (not those of the background event sender)."""
    statements: list[str] = []
    thread = threading.get_ident()

    def count(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == thread:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def statements_to_create(tmf, body) -> list[str]:
    with counted_statements() as statements:
        response = tmf.post(f"{P622}/productOrder", body)
    assert response.status_code == 201, response.get_json()
    return statements


def test_statements_do_not_grow_with_the_items(tmf, catalog):
    statements_to_create(tmf, order_body(catalog, 3))  # the first order of the database starts its counters
    two = len(statements_to_create(tmf, order_body(catalog, 2)))
    twenty = statements_to_create(tmf, order_body(catalog, 20))
    assert two == len(twenty), f"2 items: {two} statements, 20 items: {len(twenty)}"
    assert len(twenty) <= 20
    # The API key's user is read by the key check and again after its commit (roles), never for the
    # request's log line after the order's commit.
    users = [s for s in twenty if s.lstrip().startswith("SELECT") and "FROM ab_user" in s]
    assert len(users) == 2 and "FROM ab_user" not in twenty[-1], users


def test_statements_do_not_grow_with_the_items_when_listeners_hear_of_it(tmf, catalog):
    for index in range(3):
        assert tmf.post(f"{P622}/hub", {"callback": f"http://127.0.0.1:9/listener/{index}"}).status_code == 201
    statements_to_create(tmf, order_body(catalog, 3))
    two = len(statements_to_create(tmf, order_body(catalog, 2)))
    twenty = statements_to_create(tmf, order_body(catalog, 20))
    assert two == len(twenty), f"2 items: {two} statements, 20 items: {len(twenty)}"
    assert len([s for s in twenty if s.startswith("INSERT INTO tmf_event")]) == 1, "one INSERT for 3 listeners"
    assert db.session.scalar(select(func.count()).select_from(TmfEvent)) == 9


def test_the_created_document_is_the_one_a_get_shows(tmf, catalog):
    created = tmf.post(f"{P622}/productOrder", order_body(catalog, 12))
    document = valid(created, "ProductOrder")
    assert valid(tmf.get(f"{P622}/productOrder/{document['id']}"), "ProductOrder") == document
    order = db.session.scalars(select(CustomerOrder).where(CustomerOrder.tmf_id == document["id"])).one()
    assert [line.external_item_id for line in order.lines] == [str(index) for index in range(1, 13)]
    numbers = [int(line.number[len("ORDL"):]) for line in order.lines]
    assert numbers == list(range(numbers[0], numbers[0] + 12)), "the lines' numbers are consecutive"
    characteristics = {line.external_item_id: [(c.name, c.value) for c in line.characteristics] for line in order.lines}
    assert characteristics["1"] == [("Colour", "Red"), ("Note", '{"free": "form"}')] and characteristics["2"] == []
    issues = sorted((issue.kind, issue.order_line.external_item_id if issue.order_line else None)
                    for issue in order.enrichment_issues)
    assert issues == [("offering", "12"), ("offering", "4"), ("offering", "8"),
                      ("party", "10"), ("party", "2"), ("party", "6")]
    assert order.account_id == catalog["account"].id and order.contact_id == catalog["contact"].id
    assert order.lines[0].location_id == catalog["site"].id and order.lines[2].location_id == order.shipping_location_id
    trail = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "customer_order",
                                                        AuditEvent.record_id == order.id).order_by(AuditEvent.id))
    assert [(event.field, event.old_value, event.new_value) for event in trail] == [
        ("total_one_time", "0", str(order.total_one_time)), ("total_amount", "0", str(order.total_amount)),
        ("state", None, "New")]


def _row_counts() -> dict[str, int]:
    return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (CustomerOrder, OrderLineItem, OrderLineCharacteristic, EnrichmentIssue, AuditEvent)}


def test_an_item_refused_midway_writes_nothing(tmf, catalog):
    body = order_body(catalog, 10)
    body["productOrderItem"][6] = {"id": "7", "action": "add", "quantity": 0}
    before = _row_counts()
    response = tmf.post(f"{P622}/productOrder", body)
    assert response.status_code == 400 and "quantity" in response.get_json()["message"]
    assert _row_counts() == before


def test_a_failure_after_the_lines_are_written_leaves_nothing(tmf, catalog, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(tmf_orders, "_audit_creation", fail)
    before = _row_counts()
    response = tmf.post(f"{P622}/productOrder", order_body(catalog, 10))
    assert response.status_code == 500 and response.get_json()["@type"] == "Error"
    assert _row_counts() == before

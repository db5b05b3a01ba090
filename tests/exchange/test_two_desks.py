"""The whole Service Exchange journey between two real instances on loopback: a provider (PostgreSQL when
TEST_DATABASE_URL names one, else SQLite) and a consumer (SQLite), each a gunicorn process with a database
of its own, connected by their administrators through the pages, talking only HTTP to each other."""
from __future__ import annotations

import re
import secrets

import pytest

from tests.core.test_production import IS_POSTGRES, TEST_DATABASE_URL, drop_database
from tests.exchange.desks import Desk, database_for, eventually, post_form

SERVICE_EXCHANGE = "Service Exchange"


@pytest.fixture
def desks(tmp_path):
    name = f"orderdesk_h21_provider_{secrets.token_hex(3)}"
    provider = Desk("provider", database_for("provider", tmp_path, TEST_DATABASE_URL if IS_POSTGRES else None, name),
                    tmp_path, secrets.token_hex(32))
    consumer = Desk("consumer", database_for("consumer", tmp_path, None, name), tmp_path, secrets.token_hex(32))
    try:
        provider.start()
        consumer.start()
        provider.set_up()
        consumer.set_up()
        connect(provider, consumer)
        yield provider, consumer
    finally:
        provider.stop()
        consumer.stop()
        if IS_POSTGRES:
            drop_database(TEST_DATABASE_URL, name)


def connect(provider: Desk, consumer: Desk) -> None:
    """Each administrator registers the other instance with an API key of its integrator user."""
    admin = provider.browser("admin")
    response = post_form(admin, "/exchange/connections/new", "/exchange/connections/new", {
        "name": "Plant Operations desk", "our_role": "provider", "account_id": provider.records["account_id"],
        "peer_url": consumer.base, "own_url": provider.base, "api_key": consumer.records["keys"]["integrator"],
        "active": "y"})
    assert response.status == 302, response.body[:2000]
    provider.connection_page = response.headers["location"].replace(provider.base, "")
    admin = consumer.browser("admin")
    response = post_form(admin, "/exchange/connections/new", "/exchange/connections/new", {
        "name": "Fibre Provider Inc", "our_role": "consumer", "peer_url": provider.base, "own_url": consumer.base,
        "api_key": provider.records["keys"]["integrator"], "active": "y"})
    assert response.status == 302, response.body[:2000]
    consumer.connection_page = response.headers["location"].replace(consumer.base, "")
    check = post_form(admin, consumer.connection_page, consumer.connection_page + "/check", {})
    assert check.status == 302
    assert "answered" in admin.get(consumer.connection_page).body


def publish(provider: Desk, *offering_ids: int) -> None:
    admin = provider.browser("admin")
    response = post_form(admin, provider.connection_page, provider.connection_page + "/publish",
                         {"offering_id": [str(i) for i in offering_ids]})
    assert response.status == 302


def catalog_offering(consumer: Desk, customer, name: str) -> dict | None:
    """The consumer portal's catalog entry of *name*: its form field names, or None while it is missing."""
    page = customer.get("/portal/catalog/").body
    block = re.search(r'data-offering="%s">(.*?)</fieldset>' % re.escape(name), page, re.S)
    if not block:
        return None
    quantity = re.search(r'name="(qty-\d+)"', block.group(1)).group(1)
    characteristics = dict((label.strip(" *"), field) for field, label in
                           re.findall(r'<label for="(char-\d+-\d+)">([^<]+)</label>', block.group(1)))
    return {"html": block.group(1), "quantity": quantity, "characteristics": characteristics}


def order_from_portal(consumer: Desk, customer, name: str, quantity: int, bandwidth: str) -> int:
    entry = catalog_offering(consumer, customer, name)
    response = post_form(customer, "/portal/catalog/", "/portal/catalog/", {
        entry["quantity"]: str(quantity), entry["characteristics"]["Bandwidth"]: bandwidth})
    assert response.status == 302, response.body[:3000]
    return int(re.search(r"/portal/orders/(\d+)/", response.headers["location"]).group(1))


def provider_orders(provider: Desk) -> list[dict]:
    return provider.get_json(f"/api/v1/orders?channel={SERVICE_EXCHANGE.replace(' ', '%20')}")["items"]


def order_state(desk: Desk, order_id: int) -> str:
    return desk.get_json(f"/api/v1/orders/{order_id}")["state"]


def test_publish_order_approve_complete(desks):
    provider, consumer = desks
    publish(provider, provider.records["fibre_id"])
    customer = consumer.browser("customer")
    entry = eventually(lambda: catalog_offering(consumer, customer, "Fibre 1G"), what="the published offering")
    assert "Provided by Fibre Provider Inc" in entry["html"] and "100.00 USD" in entry["html"]

    order_id = order_from_portal(consumer, customer, "Fibre 1G", 2, "1000")
    provided = eventually(lambda: provider_orders(provider), what="the order at the provider")
    assert len(provided) == 1
    remote = provider.get_json(f"/api/v1/orders/{provided[0]['id']}")
    assert remote["state"] == "New" and remote["channel"] == SERVICE_EXCHANGE
    assert remote["account_id"] == provider.records["account_id"]

    approved = provider.api("POST", f"/api/v1/orders/{remote['id']}/actions/approve", "manager",
                            {"version": remote["version"]})
    assert approved.status == 200, approved.body[:500]
    eventually(lambda: order_state(consumer, order_id) == "In progress", what="In progress at the consumer")

    for action in ("start", "complete"):
        line = provider.get_json(f"/api/v1/order-lines?order_id={remote['id']}")["items"][0]
        done = provider.api("POST", f"/api/v1/order-lines/{line['id']}/actions/{action}", "manager",
                            {"version": line["version"]})
        assert done.status == 200, done.body[:500]
    eventually(lambda: order_state(consumer, order_id) == "Completed", what="Completed at the consumer")
    page = customer.get(f"/portal/orders/{order_id}/").body
    assert "Completed" in page and "Fibre Provider Inc" in page and remote["number"] in page

    # Nothing lost, nothing doubled: one order at the provider, every message delivered exactly once.
    assert len(provider_orders(provider)) == 1
    assert_all_delivered_once(provider, consumer)


def assert_all_delivered_once(provider: Desk, consumer: Desk) -> None:
    for sender, receiver in ((provider, consumer), (consumer, provider)):
        sent = sender.sql("SELECT message_id, state FROM exchange_message ORDER BY id")
        assert sent and all(state == "delivered" for _, state in sent), sent
        received = receiver.sql("SELECT message_id FROM exchange_receipt ORDER BY id")
        assert [message_id for message_id, _ in sent] == [message_id for (message_id,) in received]

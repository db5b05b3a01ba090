"""The whole Service Exchange journey between two real instances on loopback: a provider (PostgreSQL when
TEST_DATABASE_URL names one, else SQLite) and a consumer (SQLite), each a gunicorn process with a database
of its own, connected by their administrators through the pages, talking only HTTP to each other."""
from __future__ import annotations

import json
import re
import secrets

import pytest

from tests.core.test_production import IS_POSTGRES, TEST_DATABASE_URL, Browser, drop_database
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


ISSUED_KEY = re.compile(r'id="issued-key" readonly value="(sst_[^"]+)"')


def issue_key(desk: Desk, admin) -> str:
    """The key this desk issues, on its connection page, for the other desk to call it with."""
    response = post_form(admin, desk.connection_page, desk.connection_page + "/key", {})
    assert response.status == 200, response.body[:2000]
    return ISSUED_KEY.search(response.body).group(1)


def connect(provider: Desk, consumer: Desk) -> None:
    """Each administrator registers the other instance and issues it a key of its own, as the README says."""
    provider_admin = provider.browser("admin")
    response = post_form(provider_admin, "/exchange/connections/new", "/exchange/connections/new", {
        "name": "Plant Operations desk", "our_role": "provider", "account_id": provider.records["account_id"],
        "peer_url": consumer.base, "own_url": provider.base, "api_key": "", "active": "y"})
    assert response.status == 302, response.body[:2000]
    provider.connection_page = response.headers["location"].replace(provider.base, "")
    provider.issued_key = provider_key = issue_key(provider, provider_admin)

    consumer_admin = consumer.browser("admin")
    response = post_form(consumer_admin, "/exchange/connections/new", "/exchange/connections/new", {
        "name": "Fibre Provider Inc", "our_role": "consumer", "peer_url": provider.base, "own_url": consumer.base,
        "api_key": provider_key, "active": "y"})
    assert response.status == 302, response.body[:2000]
    consumer.connection_page = response.headers["location"].replace(consumer.base, "")
    consumer.issued_key = consumer_key = issue_key(consumer, consumer_admin)

    # The integrator keys each desk also has are valid there, but speak for no connection.
    stranger = Browser(consumer.port).request("POST", "/exchange/v1/messages", body=json.dumps(
        {"id": "m-1", "kind": "productOffering", "payload": {}}).encode(), headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {consumer.records['keys']['integrator']}",
        "X-Exchange-Peer": provider.base})
    assert stranger.status == 403 and "does not belong to the connection" in stranger.body, stranger.body[:500]

    response = post_form(provider_admin, provider.connection_page + "/edit", provider.connection_page + "/edit", {
        "name": "Plant Operations desk", "our_role": "provider", "account_id": provider.records["account_id"],
        "peer_url": consumer.base, "own_url": provider.base, "api_key": consumer_key, "active": "y"})
    assert response.status == 302, response.body[:2000]
    for desk, admin in ((consumer, consumer_admin), (provider, provider_admin)):
        check = post_form(admin, desk.connection_page, desk.connection_page + "/check", {})
        assert check.status == 302
        assert "answered" in admin.get(desk.connection_page).body


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
    added = post_form(customer, "/portal/catalog/", "/portal/cart/add", {
        entry["quantity"]: str(quantity), entry["characteristics"]["Bandwidth"]: bandwidth})
    assert added.status == 302, added.body[:3000]
    response = post_form(customer, "/portal/cart/", "/portal/cart/order", {})
    assert response.status == 302, response.body[:3000]
    return int(re.search(r"/portal/orders/(\d+)/", response.headers["location"]).group(1))


def provider_orders(provider: Desk) -> list[dict]:
    return provider.get_json(f"/api/v1/orders?channel={SERVICE_EXCHANGE.replace(' ', '%20')}")["items"]


def order_state(desk: Desk, order_id: int) -> str:
    return desk.get_json(f"/api/v1/orders/{order_id}")["state"]


def test_publish_order_case_and_completion(desks):
    provider, consumer = desks
    publish(provider, provider.records["fibre_id"])
    customer = consumer.browser("customer")
    entry = eventually(lambda: catalog_offering(consumer, customer, "Fibre 1G"), what="the published offering")
    assert "Provided by Fibre Provider Inc" in entry["html"] and "100.00 USD" in entry["html"]

    order_id = order_from_portal(consumer, customer, "Fibre 1G", 2, "1000")
    remote = provider_order(provider)
    assert remote["state"] == "New" and remote["account_id"] == provider.records["account_id"]
    approve(provider, remote)
    eventually(lambda: order_state(consumer, order_id) == "In progress", what="In progress at the consumer")

    consumer_case = open_quantity_case(consumer, order_id, 3)
    provider_case = mirrored_case(provider)
    comment(consumer, consumer_case["id"], "customer", "Please add one more access, same bandwidth.")
    eventually(lambda: "Please add one more access" in journal_texts(provider, provider_case["id"]),
               what="the consumer's comment at the provider")
    comment(provider, provider_case["id"], "manager", "Internal: capacity checked.", kind="work note")
    comment(provider, provider_case["id"], "manager", "We can do three.")
    eventually(lambda: "We can do three." in journal_texts(consumer, consumer_case["id"]),
               what="the provider's comment at the consumer")
    accept_quantity(provider, provider_case["id"], 3)
    applied_change_shown(consumer, customer, order_id, consumer_case["id"], 3)
    assert "capacity checked" not in journal_texts(consumer, consumer_case["id"])

    accept_solution(consumer, consumer_case["id"])
    eventually(lambda: provider.get_json(f"/api/v1/cases/{provider_case['id']}")["state"] == "Closed",
               what="the provider's case closed on the consumer's acceptance")

    complete_order(provider, remote["id"])
    eventually(lambda: order_state(consumer, order_id) == "Completed", what="Completed at the consumer")
    page = customer.get(f"/portal/orders/{order_id}/").body
    assert "Completed" in page and "Fibre Provider Inc" in page and remote["number"] in page

    # Nothing lost, nothing doubled: one order and one case at the provider, every message applied once.
    assert len(provider_orders(provider)) == 1
    assert len(provider.get_json("/api/v1/cases")["items"]) == 1
    assert_all_delivered_once(provider, consumer)


def provider_order(provider: Desk) -> dict:
    provided = eventually(lambda: provider_orders(provider), what="the order at the provider")
    assert len(provided) == 1
    remote = provider.get_json(f"/api/v1/orders/{provided[0]['id']}")
    assert remote["channel"] == SERVICE_EXCHANGE
    return remote


def approve(provider: Desk, remote: dict) -> None:
    approved = provider.api("POST", f"/api/v1/orders/{remote['id']}/actions/approve", "manager",
                            {"version": provider.get_json(f"/api/v1/orders/{remote['id']}")["version"]})
    assert approved.status == 200, approved.body[:500]


def complete_order(provider: Desk, remote_id: int) -> None:
    for action in ("start", "complete"):
        for line in provider.get_json(f"/api/v1/order-lines?order_id={remote_id}")["items"]:
            done = provider.api("POST", f"/api/v1/order-lines/{line['id']}/actions/{action}", "manager",
                                {"version": line["version"]})
            assert done.status == 200, done.body[:500]


def open_quantity_case(consumer: Desk, order_id: int, quantity: int) -> dict:
    """The customer asks, on their exchanged order, for another quantity (REST API, customer's key)."""
    line = consumer.get_json(f"/api/v1/order-lines?order_id={order_id}", "customer")["items"][0]
    created = consumer.api("POST", "/api/v1/cases", "customer", {
        "service_id": consumer.records["service_id"], "account_id": consumer.records["account_id"],
        "scope": "Specific line items, Single order", "short_description": "One more fibre access",
        "order_id": order_id, "order_line_ids": [line["id"]], "origin": "Portal"})
    assert created.status == 201, created.body[:800]
    case = json.loads(created.body)
    case_line = consumer.get_json(f"/api/v1/case-lines?case_id={case['id']}", "customer")["items"][0]
    edited = consumer.api("PATCH", f"/api/v1/case-lines/{case_line['id']}", "customer", {
        "version": case_line["version"], "request_type": "Quantity change", "requested_quantity": quantity,
        "reason_code": "Increase demand"})
    assert edited.status == 200, edited.body[:800]
    case = consumer.get_json(f"/api/v1/cases/{case['id']}", "customer")
    submitted = consumer.api("POST", f"/api/v1/cases/{case['id']}/actions/submit", "customer",
                             {"version": case["version"]})
    assert submitted.status == 200, submitted.body[:800]
    return case


def mirrored_case(provider: Desk) -> dict:
    cases = eventually(lambda: [case for case in provider.get_json("/api/v1/cases")["items"] if case["state"] == "New"],
                       what="the submitted case at the provider")
    assert len(cases) == 1 and len(provider.get_json("/api/v1/cases")["items"]) == 1
    case = provider.get_json(f"/api/v1/cases/{cases[0]['id']}")
    line = provider.get_json(f"/api/v1/case-lines?case_id={case['id']}")["items"][0]
    assert line["request_type"] == "Quantity change" and line["requested_quantity"] == 3
    return case


def comment(desk: Desk, case_id: int, username: str, text: str, kind: str = "comment") -> None:
    posted = desk.api("POST", f"/api/v1/cases/{case_id}/journal", username, {"kind": kind, "text": text})
    assert posted.status == 201, posted.body[:500]


def journal_texts(desk: Desk, case_id: int) -> str:
    return " | ".join(text for (text,) in desk.sql("SELECT text FROM journal_entry WHERE case_id = :c", c=case_id))


def accept_quantity(provider: Desk, case_id: int, quantity: int) -> None:
    line = provider.get_json(f"/api/v1/case-lines?case_id={case_id}")["items"][0]
    accepted = provider.api("POST", f"/api/v1/case-lines/{line['id']}/actions/accept", "manager",
                            {"version": line["version"], "approved_quantity": quantity,
                             "resolution_notes": "Third access added to the order."})
    assert accepted.status == 200, accepted.body[:800]


def applied_change_shown(consumer: Desk, customer, order_id: int, case_id: int, quantity: int) -> None:
    """The provider's outcome on the consumer's case, and the change applied to the consumer's order."""
    def accepted():
        line = consumer.get_json(f"/api/v1/case-lines?case_id={case_id}")["items"][0]
        return line if line["state"] == "Resolved - Accepted" else None
    line = eventually(accepted, what="the provider's outcome on the consumer's case line")
    assert line["approved_quantity"] == quantity and line["resolution_notes"] == "Third access added to the order."
    assert consumer.get_json(f"/api/v1/order-lines?order_id={order_id}")["items"][0]["quantity"] == quantity
    assert consumer.get_json(f"/api/v1/cases/{case_id}")["state"] == "Resolved"
    case_page = customer.get(f"/portal/cases/{case_id}/").body
    outcome = re.search(r'class="line-outcome">(.*?)</td>', case_page, re.S).group(1)
    assert "Accepted" in outcome and f"Quantity {quantity}" in outcome and "Third access added" in outcome
    change = consumer.sql("SELECT old_value, new_value FROM order_change WHERE field = 'quantity'")
    assert change == [("2", str(quantity))]
    order_page = customer.get(f"/portal/orders/{order_id}/").body
    assert re.search(r"quantity.*?2.*?%d" % quantity, order_page, re.S), "the order page shows the applied change"


def accept_solution(consumer: Desk, case_id: int) -> None:
    case = consumer.get_json(f"/api/v1/cases/{case_id}", "customer")
    accepted = consumer.api("POST", f"/api/v1/cases/{case_id}/actions/accept-solution", "customer",
                            {"version": case["version"]})
    assert accepted.status == 200, accepted.body[:800]


def assert_all_delivered_once(provider: Desk, consumer: Desk) -> None:
    for sender, receiver in ((provider, consumer), (consumer, provider)):
        sent = sender.sql("SELECT message_id, state FROM exchange_message ORDER BY id")
        assert sent and all(state == "delivered" for _, state in sent), sent
        received = receiver.sql("SELECT message_id FROM exchange_receipt ORDER BY id")
        assert [message_id for message_id, _ in sent] == [message_id for (message_id,) in received]


def connection_health(desk: Desk) -> dict:
    page = desk.browser("admin").get(desk.connection_page).body
    field = lambda name: re.search(r'id="%s">([^<]*)<' % name, page).group(1).strip()  # noqa: E731
    return {"waiting": int(field("messages-waiting")), "refused": int(field("messages-refused")),
            "last_error": field("last-error"), "last_contact": field("last-contact")}


def test_nothing_lost_nothing_doubled_when_the_other_side_is_down(desks):
    provider, consumer = desks
    publish(provider, provider.records["fibre_id"])
    customer = consumer.browser("customer")
    eventually(lambda: catalog_offering(consumer, customer, "Fibre 1G"), what="the published offering")

    # The provider is down while the customer orders: the order waits in the consumer's outbox.
    provider.stop()
    order_id = order_from_portal(consumer, customer, "Fibre 1G", 2, "100")
    health = eventually(lambda: (lambda h: h if h["waiting"] == 1 and h["last_error"] != "none" else None)(
        connection_health(consumer)), what="the waiting order and the error on the consumer's connection")
    assert "refused" in health["last_error"].lower() or "connect" in health["last_error"].lower()
    assert "sent, waiting for the provider" in customer.get(f"/portal/orders/{order_id}/").body
    provider.start()
    remote = provider_order(provider)
    approve(provider, remote)
    eventually(lambda: order_state(consumer, order_id) == "In progress", what="In progress at the consumer")

    # The provider is down while the customer opens a case and comments on it.
    provider.stop()
    consumer_case = open_quantity_case(consumer, order_id, 3)
    comment(consumer, consumer_case["id"], "customer", "Three, please.")
    eventually(lambda: connection_health(consumer)["waiting"] == 2, what="the case and comment waiting")
    provider.start()
    provider_case = mirrored_case(provider)
    eventually(lambda: "Three, please." in journal_texts(provider, provider_case["id"]), what="the comment")

    # The consumer is down while the provider accepts the change and completes the order.
    consumer.stop()
    accept_quantity(provider, provider_case["id"], 3)
    complete_order(provider, remote["id"])
    assert connection_health(provider)["waiting"] >= 1
    consumer.start()
    eventually(lambda: order_state(consumer, order_id) == "Completed", what="Completed at the consumer")
    applied_change_shown(consumer, customer, order_id, consumer_case["id"], 3)
    eventually(lambda: connection_health(provider)["waiting"] == 0, what="the provider's outbox drained")

    # A delivery whose answer was lost arrives again: acknowledged, not applied twice.
    message_id, kind, payload = consumer.sql(
        "SELECT message_id, kind, payload FROM exchange_message WHERE kind = 'productOrder'")[0]
    again = Browser(provider.port).request("POST", "/exchange/v1/messages", body=json.dumps({
        "id": message_id, "kind": kind, "payload": payload if isinstance(payload, dict) else json.loads(payload),
    }).encode(), headers={"Content-Type": "application/json", "X-Exchange-Peer": consumer.base,
                          "Authorization": f"Bearer {provider.issued_key}"})
    assert again.status == 200 and json.loads(again.body)["status"] == "duplicate"

    assert len(provider_orders(provider)) == 1
    assert len(provider.get_json("/api/v1/cases")["items"]) == 1
    assert journal_texts(provider, provider_case["id"]).count("Three, please.") == 1
    assert consumer.sql("SELECT count(*) FROM audit_event WHERE record_type = 'customer_order' "
                        "AND action = 'Approve'") == [(1,)]
    assert consumer.sql("SELECT count(*) FROM order_change WHERE field = 'quantity'") == [(1,)]
    assert consumer.sql("SELECT count(*) FROM product_inventory") == [(1,)]
    assert_all_delivered_once(provider, consumer)

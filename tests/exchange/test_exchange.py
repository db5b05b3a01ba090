"""Service Exchange in one application: the administrator's connection pages, the inbox's refusals and
receipts, catalog copies that follow the provider, orders sent and order events applied once and in
order, and the outbox's delivery rules against a stand-in for the other instance."""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.core.choices import ExchangeMessageState, OrderChannel, OrderState
from app.core.extensions import db
from app.exchange import outbox
from app.exchange.models import (
    ExchangeConnection,
    ExchangeMessage,
    ExchangeOffering,
    ExchangeOrder,
    ExchangePublication,
    ExchangeReceipt,
)
from app.models import CartItem, CustomerOrder, Notification, ProductOffering
from app.orders.rules import offering_kind
from tests import factories
from tests.exchange.conftest import ISSUED_KEYS, PEER, Peer, make_connection, offering_document
from tests.portal.shopping import order_through_the_cart


def body(response) -> str:
    return response.get_data(as_text=True)


# ---------------------------------------------------------------- connections


def test_administrator_creates_a_connection_and_sees_its_health(client_for):
    account = factories.make_account("Consumer Co")
    admin = client_for("admin")
    refused = admin.submit("/exchange/connections/new", {"name": "", "our_role": "provider", "account_id": "",
                                                         "peer_url": "ftp://x", "own_url": "http://127.0.0.1:8",
                                                         "api_key": ""})
    assert refused.status_code == 422
    page = body(refused)
    for message in ("Choose the account", "Not an http(s) URL", "Required"):
        assert message in page
    assert db.session.query(ExchangeConnection).count() == 0

    saved = admin.submit("/exchange/connections/new", {
        "name": "Plant Operations desk", "our_role": "provider", "account_id": account.id,
        "peer_url": "http://127.0.0.1:9/", "own_url": "http://127.0.0.1:8", "api_key": "sst_secret", "active": "y"})
    assert saved.status_code == 302
    connection = db.session.query(ExchangeConnection).one()
    assert (connection.peer_url, connection.account_id, connection.active) == ("http://127.0.0.1:9", account.id, True)
    listing = body(admin.get("/exchange/connections/"))
    assert "Plant Operations desk" in listing and "never" in listing and "sst_secret" not in listing
    shown = body(admin.get(f"/exchange/connections/{connection.id}"))
    assert 'id="messages-waiting">0<' in shown and "Published offerings" in shown

    # The same other instance cannot be connected twice; an empty key on edit keeps the key.
    again = admin.submit("/exchange/connections/new", {
        "name": "Twice", "our_role": "consumer", "peer_url": "http://127.0.0.1:9", "own_url": "http://127.0.0.1:8",
        "api_key": "sst_x", "active": "y"})
    assert again.status_code == 422 and "already goes to this instance" in body(again)
    edited = admin.submit(f"/exchange/connections/{connection.id}/edit", {
        "name": "Plant Ops", "our_role": "provider", "account_id": account.id, "peer_url": "http://127.0.0.1:9",
        "own_url": "http://127.0.0.1:8", "api_key": "", "active": ""})
    assert edited.status_code == 302
    db.session.expire_all()
    assert (connection.name, connection.api_key, connection.active) == ("Plant Ops", "sst_secret", False)


@pytest.fixture
def no_internal_networks(app):
    allowed = app.config["CALLBACK_ALLOWED_NETWORKS"]
    app.config["CALLBACK_ALLOWED_NETWORKS"] = ""
    yield
    app.config["CALLBACK_ALLOWED_NETWORKS"] = allowed


def test_the_outbound_guard_keeps_connections_off_internal_addresses(client_for, no_internal_networks):
    admin = client_for("admin")
    refused = admin.submit("/exchange/connections/new", {
        "name": "Metadata", "our_role": "consumer", "peer_url": "http://169.254.169.254",
        "own_url": "http://127.0.0.1:8", "api_key": "sst_x", "active": "y"})
    assert refused.status_code == 422
    assert "This instance may not call it: 169.254.169.254 resolves to 169.254.169.254, an internal address" in body(
        refused) and "CALLBACK_ALLOWED_NETWORKS" in body(refused)
    assert db.session.query(ExchangeConnection).count() == 0

    # A connection saved while its network was allowed is not called once the allowance is gone: its
    # messages wait, in order, with the reason on the connection page.
    connection = make_connection("consumer")
    queue(connection, "first", "second")
    assert outbox.deliver_due_messages() == 0
    assert states() == [("first", "queued"), ("second", "queued")]
    first = db.session.query(ExchangeMessage).filter_by(subject="first").one()
    assert first.attempts == 1 and first.last_error.startswith("Not called: 127.0.0.1 resolves to 127.0.0.1")
    assert "Not called: 127.0.0.1 resolves to 127.0.0.1" in body(admin.get(f"/exchange/connections/{connection.id}"))


def test_only_administrators_reach_the_connections(client_for):
    for role in ("manager", "agent", "customer"):
        assert client_for(role).get("/exchange/connections/").status_code in (302, 403)


def test_check_connection_records_the_answer(client_for):
    connection = make_connection("consumer")
    admin = client_for("admin")
    response = admin.submit(f"/exchange/connections/{connection.id}", {},
                            post_url=f"/exchange/connections/{connection.id}/check", follow_redirects=True)
    assert "did not accept the check" in body(response)
    db.session.expire_all()
    assert connection.last_error and connection.last_error_at is not None and connection.last_contact_at is None


# ---------------------------------------------------------------- inbox


def test_inbox_refuses_strangers_and_malformed_messages(app, peer, users):
    make_connection("consumer")
    assert peer.send("productOffering", offering_document(), key="sst_wrong").status_code == 401
    agent_key = app.appbuilder.sm.create_api_key(app.appbuilder.sm.get_user_by_id(users["agent"].id), "x")["key"]
    assert peer.send("productOffering", offering_document(), key=agent_key).status_code == 403
    unknown = peer.send("productOffering", offering_document(), peer="http://elsewhere.example")
    assert unknown.status_code == 403 and "No connection with http://elsewhere.example" in unknown.get_json()["message"]
    assert peer.send("no such kind", {}).status_code == 400
    bad = peer.client.post("/exchange/v1/messages", data="[1]", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {ISSUED_KEYS[PEER]}", "X-Exchange-Peer": PEER})
    assert bad.status_code == 400
    price = peer.send("productOffering", offering_document(price="not money"))
    assert price.status_code == 422 and "is not a number" in price.get_json()["message"]
    assert db.session.query(ProductOffering).count() == 0 and db.session.query(ExchangeReceipt).count() == 0


def test_only_the_key_issued_for_a_connection_speaks_for_its_instance(app, client_for, peer, integrator_key, users):
    make_connection("consumer")
    other = make_connection("consumer", name="Another provider", peer="http://127.0.0.2:9")
    sm = app.appbuilder.sm
    admin_key = sm.create_api_key(sm.get_user_by_id(users["admin"].id), "x")["key"]
    for key in (integrator_key, admin_key, ISSUED_KEYS[other.peer_url]):
        refused = peer.send("productOffering", offering_document(), key=key)
        assert refused.status_code == 403
        assert refused.get_json()["message"] == (f"This API key does not belong to the connection with {PEER}; "
                                                 "use the key issued for it")
    assert db.session.query(ProductOffering).count() == 0
    assert peer.send("productOffering", offering_document()).get_json() == {"status": "applied"}

    # Issuing a new key (from the connection page) retires the one before it, and shows the new one once.
    connection = db.session.query(ExchangeConnection).filter_by(peer_url=PEER).one()
    admin = client_for("admin")
    page = admin.get(f"/exchange/connections/{connection.id}")
    assert "Issue a new key for the other instance" in body(page) and "stops working at once" in body(page)
    issued = admin.submit(f"/exchange/connections/{connection.id}", {},
                          post_url=f"/exchange/connections/{connection.id}/key")
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    new_key = re.search(r'id="issued-key" readonly value="(sst_[^"]+)"', body(issued)).group(1)
    assert new_key not in body(admin.get(f"/exchange/connections/{connection.id}"))
    old = peer.send("productOffering", offering_document(price="1.00"))
    assert old.status_code == 401
    assert peer.send("productOffering", offering_document(price="90.00"), key=new_key).status_code == 200
    assert str(db.session.query(ProductOffering).one().unit_price) == "90.00"


def test_a_connection_without_keys_takes_and_sends_nothing(client_for, peer, integrator_key):
    admin = client_for("admin")
    saved = admin.submit("/exchange/connections/new", {
        "name": "Fibre Provider Inc", "our_role": "consumer", "peer_url": PEER, "own_url": "http://127.0.0.1:8",
        "api_key": "", "active": "y"})
    assert saved.status_code == 302
    connection = db.session.query(ExchangeConnection).one()
    page = body(admin.get(f"/exchange/connections/{connection.id}"))
    assert "Issue the key for the other instance" in page and page.count("not issued yet") == 1
    assert "not entered yet" in page
    refused = peer.send("productOffering", offering_document(), key=integrator_key)
    assert refused.status_code == 403 and refused.get_json()["message"] == (
        f"No key has been issued here for the connection with {PEER}: its administrator issues one on the "
        "connection's page")
    assert db.session.query(ProductOffering).count() == 0
    # Until the other side's key is entered, messages to it wait unsent.
    queue(connection, "first")
    assert outbox.deliver_due_messages() == 0
    assert states() == [("first", "queued")]
    assert db.session.query(ExchangeMessage).one().attempts == 0


def test_published_offering_follows_the_provider_and_is_applied_once(client_for, peer, users):
    make_connection("consumer")
    first = peer.send("productOffering", offering_document(), message_id="m-1")
    assert first.get_json() == {"status": "applied"}
    assert peer.send("productOffering", offering_document(price="1.00"), message_id="m-1").get_json() == {
        "status": "duplicate"}
    offering = db.session.query(ProductOffering).one()
    assert (offering.name, str(offering.unit_price), offering.price_type, offering.provider, offering.active) == (
        "Fibre 1G", "100.00", "recurring", "Fibre Provider Inc", True)
    assert [(d.name, d.allowed, d.required) for d in offering.specification.characteristics] == [
        ("Bandwidth", ["100", "1000"], True)]

    peer.send("productOffering", offering_document(price="120.00"))
    assert str(db.session.get(ProductOffering, offering.id).unit_price) == "120.00"
    manager = client_for("manager")
    assert "Fibre Provider Inc" in body(manager.get("/productofferingview/list/"))

    peer.send("productOffering", offering_document(status="Retired"))
    assert db.session.get(ProductOffering, offering.id).active is False
    account = factories.make_account("Plant Operations")
    account.primary_contact.user_id = users["customer"].id
    db.session.commit()
    assert "Fibre 1G" not in body(client_for("customer").get("/portal/catalog/"))
    assert db.session.query(ExchangeOffering).count() == 1


# ---------------------------------------------------------------- orders


@pytest.fixture
def consumer_catalog(peer, users):
    """The consumer's side: a connection, one published offering in the catalog, a portal customer."""
    make_connection("consumer")
    peer.send("productOffering", offering_document())
    account = factories.make_account("Plant Operations")
    account.primary_contact.user_id = users["customer"].id
    db.session.commit()
    return db.session.query(ProductOffering).filter_by(provider="Fibre Provider Inc").one()


def order_in_portal(client_for, *quantities) -> object:
    return order_through_the_cart(client_for("customer"), dict(quantities))


def test_a_cart_mixing_providers_becomes_one_order_each_and_only_the_providers_is_sent(client_for,
                                                                                        consumer_catalog):
    ours = factories.make_offering("Our own widget", kind=offering_kind(consumer_catalog))
    bandwidth = consumer_catalog.specification.characteristics[0]
    response = order_in_portal(client_for, (f"qty-{consumer_catalog.id}", "1"), (f"qty-{ours.id}", "2"),
                               (f"char-{consumer_catalog.id}-{bandwidth.id}", "100"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/orders/")
    orders = {order.lines[0].offering.name: order for order in db.session.query(CustomerOrder)}
    assert sorted((name, order.state, len(order.lines)) for name, order in orders.items()) == [
        ("Fibre 1G", OrderState.NEW, 1), ("Our own widget", OrderState.NEW, 1)]
    sent = db.session.query(ExchangeMessage).filter_by(kind="productOrder").one()
    assert sent.subject == orders["Fibre 1G"].number
    assert db.session.query(CartItem).count() == 0


def test_a_refusal_at_placing_writes_no_order_and_shows_at_its_items(app, client_for, consumer_catalog):
    """Two provider desks that happen to share a name look like one provider to the cart, so their offerings
    go on one order, which the exchange refuses when it is submitted: nothing of the cart's orders may stay
    (not even the products' order placed before it), nothing is sent, and the cart is kept."""
    make_connection("consumer", name="Fibre Provider Inc", peer="http://127.0.0.3:9")
    Peer(app, "http://127.0.0.3:9").send("productOffering", offering_document("PO0000043", name="Fibre 10G"))
    twin = db.session.query(ProductOffering).filter_by(name="Fibre 10G").one()
    ours = factories.make_offering("Our own widget")
    customer = client_for("customer")
    for fields in ({f"qty-{ours.id}": "1"},
                   {f"qty-{consumer_catalog.id}": "1",
                    f"char-{consumer_catalog.id}-{consumer_catalog.specification.characteristics[0].id}": "100"},
                   {f"qty-{twin.id}": "1", f"char-{twin.id}-{twin.specification.characteristics[0].id}": "100"}):
        assert customer.submit("/portal/catalog/", fields, post_url="/portal/cart/add").status_code == 302
    orders_before = db.session.query(CustomerOrder).count()
    notifications_before = db.session.query(Notification).count()

    refused = customer.submit("/portal/cart/", {}, post_url="/portal/cart/order")
    html = body(refused)
    assert refused.status_code == 422
    assert db.session.query(CustomerOrder).count() == orders_before == 0
    assert db.session.query(Notification).count() == notifications_before
    assert db.session.query(ExchangeMessage).filter_by(kind="productOrder").count() == 0
    items = {item.offering_id: item.id for item in db.session.query(CartItem)}
    assert len(items) == 3
    # At each item of the refused order, saying which order, not the number it would have had.
    for offering in (consumer_catalog, twin):
        assert re.search(rf'<span class="field-error" id="item-{items[offering.id]}-error">Nothing was ordered: '
                         r'The order of your \w+ from Fibre Provider Inc mixes offerings of different providers',
                         html), offering.name
    assert f'id="item-{items[ours.id]}-error"' not in html


def event(order: CustomerOrder, sequence: int, state: str, item_state: str, reason: str | None = None) -> dict:
    payload = {"eventType": "ProductOrderStateChangeEvent", "sequence": sequence, "orderNumber": "ORD0000777",
               "event": {"productOrder": {"id": "provider-tmf-id", "externalId": order.tmf_id, "state": state,
                                          "productOrderItem": [{"id": order.lines[0].number,
                                                                "state": item_state}]}}}
    if reason:
        payload["reason"] = reason
    return payload


def test_provider_events_are_applied_in_order_and_once(client_for, consumer_catalog, peer):
    bandwidth = consumer_catalog.specification.characteristics[0]
    response = order_in_portal(client_for, (f"qty-{consumer_catalog.id}", "2"),
                               (f"char-{consumer_catalog.id}-{bandwidth.id}", "1000"))
    assert response.status_code == 302
    order = db.session.query(CustomerOrder).one()
    assert (order.state, order.channel) == (OrderState.NEW, OrderChannel.PORTAL)

    assert peer.send("productOrderStateChangeEvent", event(order, 2, "inProgress", "inProgress")).status_code == 200
    assert peer.send("productOrderStateChangeEvent", event(order, 1, "acknowledged", "acknowledged")).status_code == 200
    order = db.session.get(CustomerOrder, order.id)
    assert (order.state, order.lines[0].state) == (OrderState.IN_PROGRESS, "In progress")
    link = db.session.query(ExchangeOrder).one()
    assert (link.remote_number, link.remote_state, link.event_sequence) == ("ORD0000777", "inProgress", 2)
    peer.send("productOrderStateChangeEvent", event(order, 3, "completed", "completed"))
    peer.send("productOrderStateChangeEvent", event(order, 3, "completed", "completed"))
    order = db.session.get(CustomerOrder, order.id)
    assert order.state == OrderState.COMPLETED
    page = body(client_for("customer").get(f"/portal/orders/{order.id}/"))
    assert "Fibre Provider Inc" in page and "ORD0000777" in page


def test_a_rejection_by_the_provider_carries_its_reason(client_for, consumer_catalog, peer):
    bandwidth = consumer_catalog.specification.characteristics[0]
    order_in_portal(client_for, (f"qty-{consumer_catalog.id}", "1"), (f"char-{consumer_catalog.id}-{bandwidth.id}", "100"))
    order = db.session.query(CustomerOrder).one()
    peer.send("productOrderStateChangeEvent", event(order, 1, "rejected", "cancelled", reason="No capacity at Plant 7"))
    order = db.session.get(CustomerOrder, order.id)
    assert (order.state, order.rejection_reason) == (OrderState.REJECTED, "No capacity at Plant 7")
    assert "No capacity at Plant 7" in body(client_for("customer").get(f"/portal/orders/{order.id}/"))


def test_provider_takes_orders_of_published_offerings_only(peer):
    account = factories.make_account("Consumer Co")
    connection = make_connection("provider", account, name="Plant Operations desk")
    fibre, router = factories.make_offering("Fibre 1G", "100.00"), factories.make_offering("Edge router")
    db.session.add(ExchangePublication(connection_id=connection.id, offering_id=fibre.id))
    db.session.commit()
    document = {"externalId": "consumer-order-1", "productOrderItem": [
        {"id": "ORDL0000001", "action": "add", "quantity": 2, "productOffering": {"id": router.number}}]}
    refused = peer.send("productOrder", document)
    assert refused.status_code == 422 and f"{router.number} is not published" in refused.get_json()["message"]
    assert db.session.query(CustomerOrder).count() == 0

    document["productOrderItem"][0]["productOffering"]["id"] = fibre.number
    assert peer.send("productOrder", document).status_code == 200
    assert peer.send("productOrder", document).status_code == 200  # the same order under another message id
    order = db.session.query(CustomerOrder).one()
    assert (order.channel, order.account_id, order.state, order.external_id) == (
        OrderChannel.SERVICE_EXCHANGE, account.id, OrderState.NEW, "consumer-order-1")
    assert (order.lines[0].quantity, order.lines[0].external_item_id) == (2, "ORDL0000001")
    acknowledged = db.session.query(ExchangeMessage).filter_by(kind="productOrderStateChangeEvent").one()
    assert acknowledged.payload["sequence"] == 1
    assert acknowledged.payload["event"]["productOrder"]["externalId"] == "consumer-order-1"


# ---------------------------------------------------------------- outbox


class OtherInstance:
    """A stand-in for the other instance's inbox: answers each POST with the next scripted status."""

    def __init__(self):
        self.answers, self.received = [], []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                outer.received.append((json.loads(self.rfile.read(length)), dict(self.headers)))
                status, reply = outer.answers.pop(0) if outer.answers else (200, {"status": "applied"})
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def other_instance():
    server = OtherInstance()
    yield server
    server.close()


def queue(connection, *subjects):
    for subject in subjects:
        outbox.queue_message(connection, "orderCaseComment", {"text": subject}, subject)
    db.session.commit()


def states() -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(m.subject, m.state) for m in db.session.query(ExchangeMessage).order_by(ExchangeMessage.id)]


def test_outbox_delivers_in_order_holds_back_while_down_and_sets_refusals_aside(app, client_for, other_instance):
    connection = make_connection("consumer", peer=other_instance.url)
    # Scripted before queueing: the queueing commit wakes the background sender, which may send first.
    other_instance.answers = [(503, {"message": "restarting"})]
    queue(connection, "first", "second", "third")
    assert outbox.deliver_due_messages() == 0
    assert states() == [("first", "queued"), ("second", "queued"), ("third", "queued")]
    first = db.session.query(ExchangeMessage).filter_by(subject="first").one()
    assert first.attempts == 1 and "HTTP 503: restarting" in first.last_error and first.next_attempt_at > first.created_on
    assert [m["payload"]["text"] for m, _ in other_instance.received] == ["first"]

    db.session.query(ExchangeMessage).update({"next_attempt_at": first.created_on})
    db.session.commit()
    other_instance.answers = [(200, {"status": "applied"}), (422, {"message": "No case ORDCS1 here"})]
    # The background sender may deliver some of them itself (it looks again after each round); the
    # explicit round waits for it, so when it returns everything due has been attempted, whoever sent it.
    assert outbox.deliver_due_messages() <= 2
    assert states() == [("first", "delivered"), ("second", "refused"), ("third", "delivered")]
    sent = [(m["payload"]["text"], headers["Authorization"], headers["X-Exchange-Peer"])
            for m, headers in other_instance.received]
    assert sent[1:] == [("first", "Bearer sst_other_side", "http://127.0.0.1:8"),
                        ("second", "Bearer sst_other_side", "http://127.0.0.1:8"),
                        ("third", "Bearer sst_other_side", "http://127.0.0.1:8")]
    assert len({m["id"] for m, _ in other_instance.received}) == 3  # the retry kept its message id

    admin = client_for("admin")
    page = body(admin.get(f"/exchange/connections/{connection.id}"))
    assert "No case ORDCS1 here" in page and 'id="messages-refused">1<' in page
    retried = admin.submit(f"/exchange/connections/{connection.id}", {},
                           post_url=f"/exchange/connections/{connection.id}/retry")
    assert retried.status_code == 302
    # The retry's commit woke the background sender; the periodic delivery would do the same.
    outbox.deliver_due_messages()
    deadline = time.monotonic() + 10
    while states()[1] != ("second", ExchangeMessageState.DELIVERED) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert states()[1] == ("second", ExchangeMessageState.DELIVERED)
    assert [m["payload"]["text"] for m, _ in other_instance.received][-1] == "second"


# ---------------------------------------------------------------- cases


def test_the_consumers_rejected_solution_reopens_the_providers_case(peer, users):
    from app.core.choices import CaseState, JournalKind, LineState
    from app.exchange.models import ExchangeCase
    from app.models import JournalEntry, OrderCase

    account = factories.make_account("Consumer Co")
    connection = make_connection("provider", account, name="Plant Operations desk")
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.RESOLVED,
                               line_state=LineState.ACCEPTED)
    db.session.add(ExchangeCase(connection_id=connection.id, case_id=case.id, remote_key="ORDCS0000009",
                                event_sequence=0))
    db.session.commit()

    refused = peer.send("orderCaseSolution", {"case": "ORDCS0000404", "accepted": False, "reason": "x"})
    assert refused.status_code == 422 and "No case ORDCS0000404" in refused.get_json()["message"]
    rejected = peer.send("orderCaseSolution", {"case": "ORDCS0000009", "accepted": False,
                                               "reason": "Three accesses, not two."})
    assert rejected.status_code == 200
    case = db.session.get(OrderCase, case.id)
    assert (case.state, case.needs_attention, case.resolution_code) == (CaseState.WORK_IN_PROGRESS, True, None)
    comment = db.session.query(JournalEntry).filter_by(case_id=case.id, kind=JournalKind.COMMENT).one()
    assert comment.text == "Plant Operations desk: Three accesses, not two."
    # Nothing of it goes back: it came from the consumer.
    assert db.session.query(ExchangeMessage).count() == 0


def test_record_solution_rejected_is_the_back_offices(users):
    from app import workflows
    from app.core.choices import CaseState, LineState
    from app.core.exceptions import PermissionDenied, StateConflict
    from flask_appbuilder.security.sqla.models import User

    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.RESOLVED,
                               line_state=LineState.ACCEPTED)
    customer = db.session.get(User, users["customer"].id)
    with pytest.raises(PermissionDenied):
        workflows.record_solution_rejected(case.id, customer, None, "No")
    agent = db.session.get(User, users["agent"].id)
    workflows.record_solution_rejected(case.id, agent, None, "Relayed: no")
    with pytest.raises(StateConflict):
        workflows.record_solution_rejected(case.id, agent, None, "Again")


def test_a_published_offering_is_not_edited_at_the_consumer(client_for, consumer_catalog):
    manager = client_for("manager")
    response = manager.submit(f"/productofferingview/edit/{consumer_catalog.id}", {
        "name": "Cheaper fibre", "unit_price": "1.00", "currency": "USD", "price_type": "recurring",
        "active": "y", "version": consumer_catalog.version})
    assert "follow the provider and cannot be changed here" in body(response)
    db.session.expire_all()
    assert (consumer_catalog.name, str(consumer_catalog.unit_price)) == ("Fibre 1G", "100.00")


def test_the_consumers_cancellation_goes_to_the_provider(app, client_for, consumer_catalog, peer, users):
    bandwidth = consumer_catalog.specification.characteristics[0]
    order_in_portal(client_for, (f"qty-{consumer_catalog.id}", "1"), (f"char-{consumer_catalog.id}-{bandwidth.id}", "100"))
    order = db.session.query(CustomerOrder).one()
    peer.send("productOrderStateChangeEvent", event(order, 1, "acknowledged", "acknowledged"))
    page = body(client_for("manager").get(f"/customerorderview/show/{order.id}"))
    assert "Provided by Fibre Provider Inc as ORD0000777" in page and "provider's state: acknowledged" in page
    sm = app.appbuilder.sm
    key = sm.create_api_key(sm.get_user_by_id(users["customer"].id), "portal-app")["key"]
    cancelled = app.test_client().post(f"/api/v1/orders/{order.id}/actions/cancel", json={"version": order.version},
                                       headers={"Authorization": f"Bearer {key}"})
    assert cancelled.status_code == 200, cancelled.get_data(as_text=True)
    message = db.session.query(ExchangeMessage).filter_by(kind="cancelProductOrder").one()
    assert message.payload == {"externalId": order.tmf_id, "cancellationReason": "Cancelled by the customer"}


def test_the_provider_cancels_on_the_consumers_request(peer):
    account = factories.make_account("Consumer Co")
    connection = make_connection("provider", account, name="Plant Operations desk")
    order = factories.make_order(account, lines=1, state=OrderState.NEW, line_state="New")
    db.session.add(ExchangeOrder(connection_id=connection.id, order_id=order.id, remote_id="consumer-order-9",
                                 event_sequence=0))
    db.session.commit()
    assert peer.send("cancelProductOrder", {"externalId": "consumer-order-9",
                                            "cancellationReason": "Cancelled by the customer"}).status_code == 200
    assert db.session.get(CustomerOrder, order.id).state == OrderState.CANCELLED
    reported = db.session.query(ExchangeMessage).filter_by(kind="productOrderStateChangeEvent").one()
    assert reported.payload["event"]["productOrder"]["state"] == "cancelled"


def test_a_mirrored_case_is_opened_whole_or_not_at_all(peer):
    from app.core.choices import CaseState, LineState
    from app.exchange.models import ExchangeCase
    from app.models import OrderCase

    account = factories.make_account("Consumer Co")
    connection = make_connection("provider", account, name="Plant Operations desk")
    factories.make_service()
    order = factories.make_order(account, lines=2)
    for number, line in enumerate(order.lines, start=1):
        line.external_item_id = f"ORDL000000{number}"
    db.session.add(ExchangeOrder(connection_id=connection.id, order_id=order.id, remote_id="consumer-order-9",
                                 event_sequence=0))
    db.session.commit()
    document = {"number": "ORDCS0000031", "order": "consumer-order-9", "short_description": "Two more",
                "lines": [{"key": "ORDCL0000041", "order_line": "ORDL0000001", "request_type": "Quantity change",
                           "requested_quantity": "7"},
                          {"key": "ORDCL0000042", "order_line": "ORDL0000002", "request_type": "Quantity change",
                           "requested_quantity": "-3"}]}
    # The second line's change is refused after the case and its first line were made: nothing stays.
    refused = peer.send("orderCase", document, message_id="case-1")
    assert refused.status_code == 422, refused.get_json()
    assert db.session.query(OrderCase).count() == 0 and db.session.query(ExchangeCase).count() == 0
    assert db.session.query(ExchangeReceipt).count() == 0

    document["lines"][1]["requested_quantity"] = "3"
    assert peer.send("orderCase", document, message_id="case-1").get_json() == {"status": "applied"}
    case = db.session.query(OrderCase).one()
    assert case.state == CaseState.NEW
    assert sorted((line.requested_quantity, line.state) for line in case.lines) == [(3, LineState.NEW),
                                                                                   (7, LineState.NEW)]
    assert db.session.query(ExchangeReceipt).count() == 1


def test_an_address_and_a_replacement_cross_as_the_providers_records(peer):
    from app.exchange import cases
    from app.models import Location, OrderCase

    account = factories.make_account("Consumer Co")
    connection = make_connection("provider", account, name="Plant Operations desk")
    factories.make_service()
    fibre, router = factories.make_offering("Fibre 1G", "100.00"), factories.make_offering("Edge router")
    db.session.add(ExchangePublication(connection_id=connection.id, offering_id=fibre.id))
    order = factories.make_order(account, lines=3)
    for number, line in enumerate(order.lines, start=1):
        line.external_item_id = f"ORDL000000{number}"
    db.session.add(ExchangeOrder(connection_id=connection.id, order_id=order.id, remote_id="consumer-order-9",
                                 event_sequence=0))
    db.session.commit()
    dock = {"name": "Plant 9", "street": "9 Dock Rd", "city": "Shelbyville", "state": None, "postal_code": "12345",
            "country": "US"}
    document = {"number": "ORDCS0000032", "order": "consumer-order-9", "short_description": "Move and swap",
                "lines": [{"key": "ORDCL0000051", "order_line": "ORDL0000001", "request_type": "Address change",
                           "requested_address": dock},
                          {"key": "ORDCL0000052", "order_line": "ORDL0000002", "request_type": "Wrong item",
                           "requested_quantity": "1",
                           "replacement_offering": {"id": router.number, "name": "Edge router"}}]}
    refused = peer.send("orderCase", document)
    assert refused.status_code == 422
    assert "asks for Edge router instead of the item delivered, which is not an offering Plant Operations desk " \
           "has from us" in refused.get_json()["message"]
    assert db.session.query(OrderCase).count() == 0
    assert db.session.query(Location).filter_by(name="Plant 9").count() == 0

    document["lines"][1]["replacement_offering"] = {"id": fibre.number, "name": "Fibre 1G"}
    assert peer.send("orderCase", document).status_code == 200
    lines = {line.request_type: line for line in db.session.query(OrderCase).one().lines}
    moved = lines["Address change"].requested_location
    assert (moved.name, moved.street, moved.postal_code, moved.account_id) == ("Plant 9", "9 Dock Rd", "12345",
                                                                              account.id)
    assert lines["Wrong item"].replacement_offering_id == fibre.id
    # The same address asked for again is the location already added, not a second one.
    document.update(number="ORDCS0000033")
    document["lines"] = document["lines"][:1]
    document["lines"][0].update(key="ORDCL0000061", order_line="ORDL0000003")
    assert peer.send("orderCase", document).status_code == 200
    assert db.session.query(Location).filter_by(name="Plant 9").count() == 1

    # The consumer's side: what its case line asks for, as it crosses.
    consumer_end = make_connection("consumer", name="Fibre Provider Inc", peer="http://127.0.0.3:9")
    copy = factories.make_offering("Fibre 1G (copy)")
    db.session.add(ExchangeOffering(connection_id=consumer_end.id, remote_id="PO0000042", offering_id=copy.id))
    line = lines["Wrong item"]
    line.replacement_offering_id, line.requested_location_id = copy.id, moved.id
    db.session.flush()
    assert cases._requested_records(line, consumer_end) == {
        "requested_address": dock, "replacement_offering": {"id": "PO0000042", "name": "Fibre 1G (copy)"}}
    db.session.rollback()

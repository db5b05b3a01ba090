"""TMF622 v5 (/tmf-api/productOrderingManagement/v5) beside v4 over the same orders: every response and
every event checked against the official v5 document (TMF622-ProductOrdering-v5.0.0.oas.yaml), with its
polymorphic attributes judged by their @type as OpenAPI's discriminator says."""
from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jsonschema
import pytest
import yaml
from sqlalchemy import update

from app.core.choices import OrderState
from app.core.extensions import db
from app.models import CustomerOrder
from app.tmf.schemas import discriminated
from tests import factories
from tests.tmf.test_tmf_api import CTK_622_BODY, P622, TMF_DIR, Tmf, api_key_for, valid

P5 = "/tmf-api/productOrderingManagement/v5"
OFFICIAL = yaml.safe_load((TMF_DIR / "TMF622-ProductOrdering-v5.0.0.oas.yaml").read_text())
SCHEMAS = discriminated(OFFICIAL["components"]["schemas"])
EXAMPLES = OFFICIAL["components"]["examples"]
DATE_TIMES = jsonschema.FormatChecker(formats=())


@DATE_TIMES.checks("date-time", raises=ValueError)
def _date_time(value):
    if isinstance(value, str):
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def v5(body, schema: str, many: bool = False):
    """*body* (a response's or an event's), checked against the v5 document's *schema*."""
    body = body.get_json() if hasattr(body, "get_json") else body
    reference = {"$ref": f"#/components/schemas/{schema}"}
    validator = jsonschema.Draft7Validator({"components": {"schemas": SCHEMAS},
                                            **({"type": "array", "items": reference} if many else reference)},
                                           format_checker=DATE_TIMES)
    errors = sorted(validator.iter_errors(body), key=lambda error: len(list(error.absolute_path)))
    assert not errors, f"not a v5 {schema}: {list(errors[-1].absolute_path)}: {errors[-1].message[:300]}"
    return body


def example(name: str) -> dict:
    return copy.deepcopy(EXAMPLES[name]["value"])


@pytest.fixture
def tmf(client_for, users):
    return Tmf(client_for(None), api_key_for(users["integrator"]))


def known_order_body(account, offering) -> dict:
    """A v5 order naming our own records: the customer, the offering and its delivery place."""
    return {
        "@type": "ProductOrder", "description": "v5 order", "priority": "2",
        "externalId": [{"@type": "ExternalIdentifier", "id": "PO-77", "owner": "Shop", "externalIdentifierType": "PO"}],
        "relatedParty": [{"@type": "RelatedPartyRefOrPartyRoleRef", "role": "customer",
                          "partyOrPartyRole": {"@type": "PartyRef", "id": account.number,
                                               "@referredType": "Organization"}}],
        "note": [{"@type": "Note", "text": "ring twice"}],
        "productOrderItem": [{
            "@type": "ProductOrderItem", "id": "1", "action": "add", "quantity": 3,
            "productOffering": {"@type": "ProductOfferingRef", "id": offering.number},
            "product": {"@type": "Product", "productCharacteristic": [
                {"@type": "StringCharacteristic", "name": "Colour", "value": "Blue"}],
                "place": [{"@type": "RelatedPlaceRefOrValue", "role": "deliveryAddress",
                           "place": {"@type": "PlaceRef", "id": account.shipping_location.number}}]},
        }],
    }


def test_the_documents_own_examples_create_read_and_list_in_v5_shapes(tmf):
    created = []
    for name in ("CreateProductOrder1_request", "CreateProductOrder2_request"):
        response = tmf.post(f"{P5}/productOrder", example(name))
        assert response.status_code == 201, response.get_json()
        body = v5(response, "ProductOrder")
        assert response.headers["Location"] == body["href"] and body["href"].endswith(f"{P5}/productOrder/{body['id']}")
        assert body["state"] == "acknowledged" and "creationDate" in body and "orderDate" not in body
        created.append(body)
    first = created[0]
    sent = example("CreateProductOrder1_request")
    # What the client wrote comes back in its own shapes: the external identifiers, parties, notes, channel.
    for attribute in ("externalId", "relatedParty", "note", "channel", "category", "description", "priority",
                      "requestedStartDate", "requestedCompletionDate"):
        assert first[attribute] == sent[attribute], attribute
    assert [item["id"] for item in first["productOrderItem"]] == [item["id"] for item in sent["productOrderItem"]]
    assert v5(tmf.get(f"{P5}/productOrder/{first['id']}"), "ProductOrder") == first

    listing = tmf.get(f"{P5}/productOrder", query_string={"externalId.id": "456", "fields": "state,creationDate"})
    assert listing.headers["X-Total-Count"] == "1"
    assert v5(listing, "ProductOrder", many=True) == [{
        "id": first["id"], "href": first["href"], "@type": "ProductOrder", "state": "acknowledged",
        "creationDate": first["creationDate"], "productOrderItem": first["productOrderItem"]}]
    paged = tmf.get(f"{P5}/productOrder", query_string={"limit": 1, "offset": 1, "sort": "creationDate"})
    assert paged.headers["X-Total-Count"] == "2" and paged.headers["X-Result-Count"] == "1"
    assert [order["id"] for order in v5(paged, "ProductOrder", many=True)] == [created[1]["id"]]
    after = tmf.get(f"{P5}/productOrder", query_string={"creationDate.gte": first["creationDate"], "state": "acknowledged"})
    assert {order["id"] for order in v5(after, "ProductOrder", many=True)} == {body["id"] for body in created}


def test_known_references_are_matched_and_rendered_in_v5_shapes(tmf):
    account = factories.make_account("Five Co")
    offering = factories.make_offering("Switch", "40.00")
    body = v5(tmf.post(f"{P5}/productOrder", known_order_body(account, offering)), "ProductOrder")
    order = db.session.query(CustomerOrder).filter_by(tmf_id=body["id"]).one()
    assert (order.account_id, order.external_id, order.extra_version) == (account.id, "PO-77", 5)
    assert order.lines[0].offering_id == offering.id and order.lines[0].location_id == account.shipping_location_id
    assert str(order.total_amount) == "120.00" and order.enrichment_issues == []


def test_errors_are_v5_error_bodies(tmf):
    missing = tmf.get(f"{P5}/productOrder/no-such-order")
    assert missing.status_code == 404 and v5(missing, "Error")["code"] == "404"
    untyped = {key: value for key, value in example("CreateProductOrder1_request").items() if key != "@type"}
    refused = tmf.post(f"{P5}/productOrder", untyped)
    assert refused.status_code == 400 and "'@type' is a required property" in v5(refused, "Error")["message"]
    # A v4 body is not a v5 one: its party has no partyOrPartyRole.
    v4_body = tmf.post(f"{P5}/productOrder", {**CTK_622_BODY, "@type": "ProductOrder"})
    assert v4_body.status_code == 400 and "partyOrPartyRole" in v5(v4_body, "Error")["message"]
    method = tmf.client.put(f"{P5}/productOrder", headers=tmf.headers)
    assert method.status_code == 405 and "GET" in method.headers["Allow"]
    v5(method, "Error")
    assert tmf.client.get(f"{P5}/productOrder").status_code == 401


def test_polymorphic_attributes_are_judged_by_their_type(tmf):
    body = example("CreateProductOrder1_request")
    body["relatedParty"][0]["partyOrPartyRole"]["name"] = 5
    response = tmf.post(f"{P5}/productOrder", body)
    # The fault inside the branch @type PartyRef picks, not "valid under none of the given schemas".
    assert response.status_code == 400
    assert "relatedParty[0].partyOrPartyRole.name: 5 is not of type 'string'" in v5(response, "Error")["message"]
    body = example("CreateProductOrder1_request")
    body["productOrderItem"][1]["product"]["@type"] = "ProductRef"  # a reference must name its product
    response = tmf.post(f"{P5}/productOrder", body)
    assert response.status_code == 400 and "productOrderItem[1].product" in response.get_json()["message"]
    # A subclass of its own (TMF's extension pattern) is accepted when it is valid as one of the branches.
    body = example("CreateProductOrder1_request")
    body["productOrderItem"][1]["product"]["@type"] = "MobileLine"
    assert tmf.post(f"{P5}/productOrder", body).status_code == 201


def test_patch_is_a_v5_merge_patch_and_drafts_are_submitted_by_the_client(tmf):
    account, offering = factories.make_account("Draft Co"), factories.make_offering("Hub", "5.00")
    draft = tmf.post(f"{P5}/productOrder", {**known_order_body(account, offering), "requestedInitialState": "draft"})
    body = v5(draft, "ProductOrder")
    assert body["state"] == "draft"
    order = db.session.query(CustomerOrder).filter_by(tmf_id=body["id"]).one()
    assert order.state == OrderState.DRAFT
    url = f"{P5}/productOrder/{body['id']}"
    assert tmf.get(f"{P622}/productOrder/{body['id']}").get_json()["state"] == "acknowledged"  # v4 has no draft

    patched = v5(tmf.patch(url, example("updateProductOrder_using_merge-patch_json_request")), "ProductOrder")
    assert patched["category"] == "B2B product order" and patched["note"] == body["note"]
    patched = v5(tmf.patch(url, {"@type": "ProductOrder", "externalId": [{"@type": "ExternalIdentifier", "id": "X9"}],
                                 "description": None}, content_type="application/json"), "ProductOrder")
    assert patched["externalId"] == [{"@type": "ExternalIdentifier", "id": "X9"}] and "description" not in patched
    assert tmf.get(f"{P622}/productOrder/{body['id']}").get_json()["externalId"] == "X9"
    for refused, status in (({"@type": "ServiceOrder"}, 400), ({"creationDate": "2020-01-01T00:00:00Z"}, 400),
                            ({"state": "completed"}, 409), ({"state": "flying"}, 400),
                            ({"note": [{"text": "untyped"}]}, 400)):
        response = tmf.patch(url, refused)
        assert response.status_code == status, refused
        v5(response, "Error")

    # Submitting runs the desk's submit rules: an order whose lines lack what their products need stays a draft.
    unready = v5(tmf.post(f"{P5}/productOrder", {**example("CreateProductOrder1_request"),
                                                 "requestedInitialState": "draft"}), "ProductOrder")
    refused = tmf.patch(f"{P5}/productOrder/{unready['id']}", {"state": "acknowledged"})
    assert refused.status_code == 400 and "Submit is not allowed" in v5(refused, "Error")["message"]
    assert tmf.get(f"{P5}/productOrder/{unready['id']}").get_json()["state"] == "draft"
    submitted = v5(tmf.patch(url, {"@type": "ProductOrder", "state": "acknowledged"}), "ProductOrder")
    assert submitted["state"] == "acknowledged"
    db.session.expire_all()
    assert db.session.get(CustomerOrder, order.id).state == OrderState.NEW
    assert tmf.patch(url, {"state": "draft"}).status_code == 409


def test_cancel_delete_and_hub_in_v5(tmf):
    created = v5(tmf.post(f"{P5}/productOrder", example("CreateProductOrder1_request")), "ProductOrder")
    request = example("CreateCancelProductOrder_request")
    request["productOrder"]["id"] = created["id"]
    response = tmf.post(f"{P5}/cancelProductOrder", request)
    assert response.status_code == 201
    task = v5(response, "CancelProductOrder")
    assert task["state"] == "done" and task["productOrder"]["id"] == created["id"] and "creationDate" in task
    assert task["cancellationReason"] == request["cancellationReason"]
    order = v5(tmf.get(f"{P5}/productOrder/{created['id']}"), "ProductOrder")
    assert order["state"] == "cancelled" and order["cancellationReason"] == request["cancellationReason"]
    tasks = tmf.get(f"{P5}/cancelProductOrder", query_string={"state": "done"})
    assert [t["id"] for t in v5(tasks, "CancelProductOrder", many=True)] == [task["id"]]
    assert v5(tmf.get(f"{P5}/cancelProductOrder/{task['id']}"), "CancelProductOrder") == task
    # The same task, as v4 shows it.
    assert valid(tmf.get(f"{P622}/cancelProductOrder/{task['id']}"), "CancelProductOrder")["state"] == "done"

    assert tmf.delete(f"{P5}/productOrder/{created['id']}").status_code == 204
    assert tmf.get(f"{P622}/productOrder/{created['id']}").status_code == 404

    hub = tmf.post(f"{P5}/hub", {"@type": "Hub", "callback": "http://127.0.0.1:9/listener"})
    assert hub.status_code == 201 and v5(hub, "Hub")["callback"] == "http://127.0.0.1:9/listener"
    assert tmf.post(f"{P5}/hub", {"callback": "http://127.0.0.1:9/listener"}).status_code == 400  # no @type
    # A registration belongs to the version it was made through.
    assert tmf.delete(f"{P622}/hub/{hub.get_json()['id']}").status_code == 404
    assert tmf.delete(f"{P5}/hub/{hub.get_json()['id']}").status_code == 204


def test_orders_cross_versions_each_in_its_own_shapes(tmf):
    account = factories.make_account("Both Co")
    offering = factories.make_offering("Modem", "15.00")
    # Written in v4 with an extension attribute; read in v5: the columns in v5 shapes, not v4's extras.
    v4_body = {"externalId": "EXT-4", "relatedParty": [{"id": account.number, "@referredType": "Organization"}],
               "note": [{"text": "v4 note"}],
               "productOrderItem": [{"id": "1", "action": "add", "productOffering": {"id": offering.number}}]}
    from_v4 = valid(tmf.post(f"{P622}/productOrder", v4_body), "ProductOrder")
    seen_in_v5 = v5(tmf.get(f"{P5}/productOrder/{from_v4['id']}"), "ProductOrder")
    assert seen_in_v5["externalId"] == [{"@type": "ExternalIdentifier", "id": "EXT-4"}]
    assert seen_in_v5["creationDate"] == from_v4["orderDate"] and "note" not in seen_in_v5
    assert seen_in_v5["relatedParty"][0]["partyOrPartyRole"]["id"] == account.number
    assert seen_in_v5["productOrderItem"][0]["productOffering"]["id"] == offering.number
    place = seen_in_v5["productOrderItem"][0]["product"]["place"][0]
    assert place["place"]["id"] == account.shipping_location.number
    # Written in v5; read in v4: v4 shapes, the v5 extension attributes kept to v5.
    from_v5 = v5(tmf.post(f"{P5}/productOrder", known_order_body(account, offering)), "ProductOrder")
    seen_in_v4 = valid(tmf.get(f"{P622}/productOrder/{from_v5['id']}"), "ProductOrder")
    assert seen_in_v4["externalId"] == "PO-77" and seen_in_v4["orderDate"] == from_v5["creationDate"]
    assert seen_in_v4["relatedParty"][0]["id"] == account.number and "note" not in seen_in_v4
    assert seen_in_v4["productOrderItem"][0]["product"]["place"][0]["id"] \
        == account.shipping_location.number
    v4_list = valid(tmf.get(f"{P622}/productOrder"), "ProductOrderList")
    assert {order["id"] for order in v4_list} == {from_v4["id"], from_v5["id"]}
    v5(tmf.get(f"{P5}/productOrder"), "ProductOrder", many=True)
    # Attributes held in columns change through either version; extension attributes only through theirs.
    assert tmf.patch(f"{P5}/productOrder/{from_v4['id']}", {"description": "set in v5"}).status_code == 200
    assert tmf.get(f"{P622}/productOrder/{from_v4['id']}").get_json()["description"] == "set in v5"
    crossed = tmf.patch(f"{P5}/productOrder/{from_v4['id']}", {"note": [{"@type": "Note", "text": "v5 note"}]})
    assert crossed.status_code == 409 and "TMF622 v4" in v5(crossed, "Error")["message"]
    assert tmf.get(f"{P622}/productOrder/{from_v4['id']}").get_json()["note"] == [{"text": "v4 note"}]
    # A desk order (no extension attributes) takes them from whichever version writes first.
    desk = factories.make_order(account, lines=1, state=OrderState.NEW)
    assert tmf.patch(f"{P5}/productOrder/{desk.tmf_id}", {"note": [{"@type": "Note", "text": "n"}]}).status_code == 200
    assert v5(tmf.get(f"{P5}/productOrder/{desk.tmf_id}"), "ProductOrder")["note"] == [{"@type": "Note", "text": "n"}]
    assert "note" not in valid(tmf.get(f"{P622}/productOrder/{desk.tmf_id}"), "ProductOrder")
    # Attributes kept before the version was recorded were written through v4 (found by the v5 fuzzing).
    db.session.execute(update(CustomerOrder).where(CustomerOrder.tmf_id == from_v4["id"]).values(extra_version=None))
    db.session.commit()
    assert "note" not in v5(tmf.get(f"{P5}/productOrder/{from_v4['id']}"), "ProductOrder")
    assert valid(tmf.get(f"{P622}/productOrder/{from_v4['id']}"), "ProductOrder")["note"] == [{"text": "v4 note"}]


class _Listeners(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Listeners.received.append((self.path, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listeners():
    _Listeners.received = []
    server = HTTPServer(("127.0.0.1", 0), _Listeners)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", _Listeners.received
    server.shutdown()


def test_each_listener_hears_events_in_the_version_it_registered_through(tmf, listeners):
    base, received = listeners
    assert tmf.post(f"{P5}/hub", {"@type": "Hub", "callback": f"{base}/v5"}).status_code == 201
    assert tmf.post(f"{P622}/hub", {"callback": f"{base}/v4"}).status_code == 201
    created = tmf.post(f"{P622}/productOrder", CTK_622_BODY).get_json()
    tmf.post(f"{P5}/cancelProductOrder", {"@type": "CancelProductOrder",
                                          "productOrder": {"@type": "ProductOrderRef", "id": created["id"]}})
    tmf.delete(f"{P5}/productOrder/{created['id']}")
    # Cancelling changes the order's state and its cancellation date and reason.
    expected = ["ProductOrderCreateEvent", "CancelProductOrderCreateEvent", "ProductOrderStateChangeEvent",
                "ProductOrderAttributeValueChangeEvent", "CancelProductOrderStateChangeEvent",
                "ProductOrderDeleteEvent"]
    deadline = time.monotonic() + 20
    while len(received) < 2 * len(expected) and time.monotonic() < deadline:
        time.sleep(0.05)
    by_listener = {path: [body for p, body in received if p == path] for path in ("/v4", "/v5")}
    for path, events in by_listener.items():
        assert sorted(event["eventType"] for event in events) == sorted(expected), (path, received)
    for event in by_listener["/v5"]:
        v5(event, event["eventType"])
        assert event["@type"] == event["eventType"] and "timeOccurred" in event
    v5_create = next(e for e in by_listener["/v5"] if e["eventType"] == "ProductOrderCreateEvent")
    assert "creationDate" in v5_create["event"]["productOrder"]
    for event in by_listener["/v4"]:
        assert "timeOcurred" in event and "@type" not in event
        document = event["event"].get("productOrder")
        if document is not None:
            assert "orderDate" in document and "creationDate" not in document


def test_json_patch_changes_what_a_merge_patch_may_change(tmf):
    created = v5(tmf.post(f"{P5}/productOrder", example("CreateProductOrder1_request")), "ProductOrder")
    url = f"{P5}/productOrder/{created['id']}"
    patched = tmf.patch(url, [{"op": "test", "path": "/priority", "value": "1"},
                              {"op": "replace", "path": "/description", "value": "by JSON Patch"},
                              {"op": "remove", "path": "/category"},
                              {"op": "add", "path": "/note/-", "value": {"@type": "Note", "text": "second"}}],
                        content_type="application/json-patch+json")
    body = v5(patched, "ProductOrder")
    assert patched.status_code == 200 and body["description"] == "by JSON Patch" and "category" not in body
    assert [note["text"] for note in body["note"]] == [created["note"][0]["text"], "second"]
    for operations, status in (([{"op": "test", "path": "/priority", "value": "4"}], 409),
                               ([{"op": "replace", "path": "/nothing/here", "value": 1}], 400),
                               ([{"op": "replace", "path": "/creationDate", "value": "2020-01-01T00:00:00Z"}], 400),
                               ([{"op": "remove", "path": "/productOrderItem/0"}], 400),
                               ({"op": "remove", "path": "/description"}, 400)):
        response = tmf.patch(url, operations, content_type="application/json-patch+json")
        assert response.status_code == status, operations
        v5(response, "Error")
    assert tmf.get(url).get_json()["description"] == "by JSON Patch"
    assert tmf.patch(url, {"description": "x"}, content_type="text/plain").status_code == 415


def test_json_patch_query_selects_members_by_their_attributes(tmf):
    """TMF630's JSON Patch Query, which v5 declares for PATCH: a path picks array members by attribute."""
    created = v5(tmf.post(f"{P5}/productOrder", example("CreateProductOrder1_request")), "ProductOrder")
    url = f"{P5}/productOrder/{created['id']}"
    query = "application/json-patch-query+json"
    added = tmf.patch(url, [{"op": "add", "path": "/note/-", "value": {"@type": "Note", "id": "n2", "text": "two"}},
                            {"op": "add", "path": "/note/-", "value": {"@type": "Note", "id": "n3", "text": "three"}}],
                      content_type=query)
    assert added.status_code == 200
    patched = tmf.patch(url, [{"op": "replace", "path": "/note[?(@.id=='n2')]/text", "value": "second"},
                              {"op": "remove", "path": "/note[?(@.id=='n3'&&@.text=='three')]"}], content_type=query)
    body = v5(patched, "ProductOrder")
    assert [note["text"] for note in body["note"]] == [created["note"][0]["text"], "second"]
    for path in ("/note[?(@.id=='nobody')]/text", "/note[?(id=n2)]/text", "/description[?(@.id=='1')]"):
        refused = tmf.patch(url, [{"op": "replace", "path": path, "value": "x"}], content_type=query)
        assert refused.status_code == 400, path
        v5(refused, "Error")
    assert [note["text"] for note in tmf.get(url).get_json()["note"]] == [created["note"][0]["text"], "second"]

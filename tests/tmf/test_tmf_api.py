"""TMF622 and TMF641 over HTTP: conventions, lifecycle, enrichment, events — every response body is
validated against the official swagger definitions in ../shared/tmf/."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jsonschema
import pytest
from flask import current_app

from app.core.choices import OrderChannel, OrderState
from app.core.extensions import db
from app.models import CustomerOrder, EnrichmentIssue
from tests import factories

TMF_DIR = Path(__file__).resolve().parents[3] / "shared" / "tmf"
P622 = "/tmf-api/productOrderingManagement/v4"
S641 = "/tmf-api/serviceOrdering/v4"

CTK_622_BODY = {"productOrderItem": [{"id": "123", "action": "add"}],
                "relatedParty": [{"id": "456-dd-df45", "@referredType": "Individual"}]}


def service_order_body(external_id="OrangeBSS748", priority="1", service_type="CFS"):
    return {
        "externalId": external_id, "priority": priority, "description": "Service order description",
        "category": "CloudServiceOrdering", "requestedStartDate": "2018-01-15T09:37:40.508Z",
        "requestedCompletionDate": "2018-01-15T09:37:40.508Z",
        "serviceOrderItem": [{
            "id": "1", "action": "add",
            "service": {"state": "active", "serviceType": service_type,
                        "serviceCharacteristic": [{"name": "vCPE_IP", "valueType": "String", "value": "193.218.236.21"}],
                        "serviceSpecification": {"id": "12", "href": "http://x/serviceSpecification/12", "name": "vCPE"}},
        }],
    }


def _validator(swagger_file: str, definition: str, many: bool = False):
    spec = json.loads((TMF_DIR / swagger_file).read_text())
    schema = {"definitions": spec["definitions"], "$ref": f"#/definitions/{definition}"}
    if many:
        schema = {"definitions": spec["definitions"], "type": "array", "items": {"$ref": f"#/definitions/{definition}"}}
    return jsonschema.Draft4Validator(schema)


SCHEMAS = {
    "ProductOrder": _validator("TMF622-ProductOrder-v4.0.0.swagger.json", "ProductOrder"),
    "ProductOrderList": _validator("TMF622-ProductOrder-v4.0.0.swagger.json", "ProductOrder", many=True),
    "CancelProductOrder": _validator("TMF622-ProductOrder-v4.0.0.swagger.json", "CancelProductOrder"),
    "ProductEventSubscription": _validator("TMF622-ProductOrder-v4.0.0.swagger.json", "EventSubscription"),
    "ProductError": _validator("TMF622-ProductOrder-v4.0.0.swagger.json", "Error"),
    "ServiceOrder": _validator("TMF641-Service_Ordering-v4.0.0.swagger.json", "ServiceOrder"),
    "ServiceOrderList": _validator("TMF641-Service_Ordering-v4.0.0.swagger.json", "ServiceOrder", many=True),
    "CancelServiceOrder": _validator("TMF641-Service_Ordering-v4.0.0.swagger.json", "CancelServiceOrder"),
    "ServiceError": _validator("TMF641-Service_Ordering-v4.0.0.swagger.json", "Error"),
}


def valid(response, schema: str):
    body = response.get_json()
    errors = sorted(SCHEMAS[schema].iter_errors(body), key=str)
    assert not errors, f"{schema} body does not match the official swagger: {errors[0].message}"
    return body


class Tmf:
    """A client calling the TMF APIs with a bearer API key."""

    def __init__(self, client, key):
        self.client, self.headers = client, {"Authorization": f"Bearer {key}"}

    def get(self, url, **kw):
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url, body, **kw):
        return self.client.post(url, json=body, headers=self.headers, **kw)

    def patch(self, url, body, content_type="application/merge-patch+json"):
        return self.client.patch(url, data=json.dumps(body), headers={**self.headers, "Content-Type": content_type})

    def delete(self, url):
        return self.client.delete(url, headers=self.headers)


def api_key_for(role_login):
    sm = current_app.appbuilder.sm
    return sm.create_api_key(sm.get_user_by_id(role_login.id), f"test-{role_login.role}")["key"]


@pytest.fixture
def tmf(client_for, users):
    return Tmf(client_for(None), api_key_for(users["integrator"]))


def test_product_order_create_matches_the_profile_and_shows_in_the_desk(tmf):
    response = tmf.post(f"{P622}/productOrder", CTK_622_BODY)
    assert response.status_code == 201
    body = valid(response, "ProductOrder")
    assert response.headers["Location"] == body["href"]
    assert body["href"].endswith(f"{P622}/productOrder/{body['id']}")
    assert body["state"] == "acknowledged" and body["productOrderItem"][0]["state"] == "acknowledged"
    assert body["relatedParty"] == CTK_622_BODY["relatedParty"]
    order = db.session.query(CustomerOrder).filter_by(tmf_id=body["id"]).one()
    assert (order.channel, order.state, len(order.lines)) == (OrderChannel.TMF622, OrderState.NEW, 1)
    # Unknown party and missing offering are kept as enrichment issues, not refused.
    kinds = sorted(issue.kind for issue in db.session.query(EnrichmentIssue).filter_by(order_id=order.id))
    assert kinds == ["offering", "party"]


def test_known_references_are_matched(tmf):
    account = factories.make_account("Matched Co")
    offering = factories.make_offering("Router", "99.50")
    body = {"relatedParty": [{"id": account.number, "@referredType": "Organization"}],
            "productOrderItem": [{"id": "1", "action": "add", "quantity": 2,
                                  "productOffering": {"id": offering.number}}]}
    created = valid(tmf.post(f"{P622}/productOrder", body), "ProductOrder")
    order = db.session.query(CustomerOrder).filter_by(tmf_id=created["id"]).one()
    assert order.account_id == account.id and order.lines[0].offering_id == offering.id
    assert str(order.total_amount) == "199.00"
    assert order.enrichment_issues == []


def test_list_filters_fields_and_paging(tmf):
    ids = [valid(tmf.post(f"{P622}/productOrder", CTK_622_BODY), "ProductOrder")["id"] for _ in range(3)]
    listing = tmf.get(f"{P622}/productOrder?limit=2&offset=1")
    body = valid(listing, "ProductOrderList")
    assert listing.headers["X-Total-Count"] == "3" and listing.headers["X-Result-Count"] == "2"
    assert [o["id"] for o in body] == [ids[1], ids[0]]
    first = tmf.get(f"{P622}/productOrder/{ids[0]}").get_json()
    by_date = valid(tmf.get(f"{P622}/productOrder", query_string={"orderDate": first["orderDate"]}), "ProductOrderList")
    assert ids[0] in [o["id"] for o in by_date]
    by_id = valid(tmf.get(f"{P622}/productOrder?id={ids[2]}&fields=orderDate"), "ProductOrderList")
    # A selection keeps what the swagger requires of every product order: its items.
    assert by_id == [{"id": ids[2], "href": by_id[0]["href"], "@type": "ProductOrder", "orderDate": by_id[0]["orderDate"],
                      "productOrderItem": first["productOrderItem"]}]


def test_service_order_filters_with_quotes_and_dotted_fields(tmf):
    first = valid(tmf.post(f"{S641}/serviceOrder", service_order_body("OrangeBSS748", "1")), "ServiceOrder")
    second = valid(tmf.post(f"{S641}/serviceOrder", service_order_body("TMFSO741", "2", "RFS")), "ServiceOrder")
    found = valid(tmf.get(f'{S641}/serviceOrder?priority="1"&category=CloudServiceOrdering'), "ServiceOrderList")
    assert [o["id"] for o in found] == [first["id"]]
    assert [o["id"] for o in tmf.get(f"{S641}/serviceOrder?externalId=TMFSO741").get_json()] == [second["id"]]
    picked = valid(tmf.get(f"{S641}/serviceOrder/{first['id']}?fields=id,state,serviceOrderItem.id,"
                           "serviceOrderItem.state,relatedParty.id"), "ServiceOrder")
    # The items are mandatory, so they come whole; other dotted selections pick keys inside the elements.
    assert picked["serviceOrderItem"] == first["serviceOrderItem"] and "externalId" not in picked
    assert picked["relatedParty"] == [{"id": party["id"]} for party in first["relatedParty"]]
    nested = tmf.get(f"{S641}/serviceOrder?serviceOrderItem.service.serviceType=CFS").get_json()
    assert [o["id"] for o in nested] == [first["id"]]


@pytest.mark.parametrize("body, message", [
    ({**service_order_body(), "state": "acknowledged"}, "state"),
    ({"externalId": "x", "note": [{"text": "no items"}]}, "serviceOrderItem"),
    ({"serviceOrderItem": [{"id": "1", "action": "add", "state": "acknowledged", "service": {}}]}, "state"),
    ({"serviceOrderItem": [{"id": "1", "action": "add", "service": {"serviceSpecification": {"name": "no id"}}}]}, "id"),
    ({"serviceOrderItem": [{"id": "1", "action": "explode", "service": {}}]}, "action"),
    ({"serviceOrderItem": [{"id": "1", "action": "add"}]}, "service"),
])
def test_bad_service_orders_get_400_with_an_error_body(tmf, body, message):
    before = db.session.query(CustomerOrder).count()
    response = tmf.post(f"{S641}/serviceOrder", body)
    assert response.status_code == 400
    assert message in valid(response, "ServiceError")["message"]
    assert db.session.query(CustomerOrder).count() == before


def test_errors_unknown_ids_paths_methods_and_auth(tmf, client_for, users):
    assert valid(tmf.get(f"{P622}/productOrder/f42b01d2-dba6-4442-a0fa-34e59639fd15"), "ProductError")["code"] == "404"
    assert tmf.get(f"{S641}/nothingHere").status_code == 404
    assert valid(tmf.get(f"{S641}/nothingHere"), "ServiceError")["status"] == "404"
    assert valid(tmf.client.put(f"{P622}/productOrder", headers=tmf.headers), "ProductError")["code"] == "405"
    assert tmf.client.post(f"{P622}/productOrder", data="not json", headers=tmf.headers).status_code == 400
    anonymous = client_for(None).get(f"{P622}/productOrder")
    assert anonymous.status_code == 401 and valid(anonymous, "ProductError")["reason"] == "Unauthorized"
    agent = Tmf(client_for(None), api_key_for(users["agent"]))
    assert agent.get(f"{P622}/productOrder").status_code == 403
    wrong = Tmf(client_for(None), "sst_not-a-real-key")
    assert wrong.get(f"{P622}/productOrder").status_code == 401


def test_patch_is_a_merge_patch_with_lifecycle_checks(tmf):
    created = tmf.post(f"{S641}/serviceOrder", service_order_body()).get_json()
    url = f"{S641}/serviceOrder/{created['id']}"
    patched = valid(tmf.patch(url, {"description": "changed", "externalReference": [{"name": "ext"}],
                                    "category": None}), "ServiceOrder")
    assert patched["description"] == "changed" and "category" not in patched
    assert patched["externalReference"] == [{"name": "ext"}]
    assert tmf.patch(url, {"orderDate": "2020-01-01T00:00:00Z"}).status_code == 400
    assert tmf.patch(url, {"state": "completed"}).status_code == 409
    assert tmf.patch(url, {"state": "flying"}).status_code == 400
    assert tmf.patch(url, {"description": "x"}, content_type="text/plain").status_code == 415
    assert tmf.get(url).get_json()["description"] == "changed"


def test_cancel_request_cancels_and_refuses_final_orders(tmf):
    created = tmf.post(f"{P622}/productOrder", CTK_622_BODY).get_json()
    response = tmf.post(f"{P622}/cancelProductOrder", {"productOrder": {"id": created["id"]},
                                                        "cancellationReason": "customer changed mind"})
    task = valid(response, "CancelProductOrder")
    assert response.status_code == 201 and task["state"] == "done"
    assert tmf.get(f"{P622}/productOrder/{created['id']}").get_json()["state"] == "cancelled"
    again = valid(tmf.post(f"{P622}/cancelProductOrder", {"productOrder": {"id": created["id"]}}), "CancelProductOrder")
    assert again["state"] == "terminatedWithError"
    assert tmf.get(f"{P622}/cancelProductOrder/{task['id']}").get_json()["state"] == "done"
    assert tmf.post(f"{P622}/cancelProductOrder", {"productOrder": {"id": "nope"}}).status_code == 404


def test_delete_removes_an_unreferenced_order(tmf):
    created = tmf.post(f"{S641}/serviceOrder", service_order_body()).get_json()
    assert tmf.delete(f"{S641}/serviceOrder/{created['id']}").status_code == 204
    assert tmf.get(f"{S641}/serviceOrder/{created['id']}").status_code == 404
    assert tmf.delete(f"{S641}/serviceOrder/{created['id']}").status_code == 404


class _Listener(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        _Listener.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    _Listener.received = []
    server = HTTPServer(("127.0.0.1", 0), _Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/events", _Listener.received
    server.shutdown()


def test_hub_registration_and_event_delivery_outside_the_request(tmf, listener):
    callback, received = listener
    hub = tmf.post(f"{P622}/hub", {"callback": callback, "query": "eventType=ProductOrderCreateEvent,ProductOrderStateChangeEvent"})
    assert hub.status_code == 201
    valid(hub, "ProductEventSubscription")
    created = tmf.post(f"{P622}/productOrder", CTK_622_BODY).get_json()
    tmf.post(f"{P622}/cancelProductOrder", {"productOrder": {"id": created["id"]}})
    # The background sender delivers after commit; wait for it (bounded).
    deadline = time.monotonic() + 15
    while len(received) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    types = [event["eventType"] for event in received]
    assert types == ["ProductOrderCreateEvent", "ProductOrderStateChangeEvent"]
    assert received[1]["event"]["productOrder"]["state"] == "cancelled"
    assert tmf.delete(f"{P622}/hub/{hub.get_json()['id']}").status_code == 204
    assert tmf.delete(f"{P622}/hub/{hub.get_json()['id']}").status_code == 404


def test_fuzzer_reproducers_are_clean_4xx(tmf):
    """Inputs the property test once turned into 500s: an object as item action, NUL characters."""
    bad_action = tmf.post(f"{P622}/productOrder", {"productOrderItem": [{"id": "1", "action": {}}]})
    assert bad_action.status_code == 400 and "action" in valid(bad_action, "ProductError")["message"]
    assert tmf.get(f"{P622}/productOrder?externalId=%00").status_code == 400
    nul_body = tmf.post(f"{P622}/productOrder", {**CTK_622_BODY, "description": "a\u0000b"})
    assert nul_body.status_code == 400 and valid(nul_body, "ProductError")["reason"] == "Invalid value"


def test_a_reference_that_is_not_a_uri_is_refused_where_the_document_types_it_uri(tmf):
    """The fuzzer's find: a service's @schemaLocation of "false" was stored and handed back in the 201."""
    body = service_order_body()
    body["serviceOrderItem"][0]["service"]["@schemaLocation"] = "false"
    before = tmf.get(f"{S641}/serviceOrder").get_json()
    refused = tmf.post(f"{S641}/serviceOrder", body)
    assert refused.status_code == 400 and "@schemaLocation" in refused.get_json()["message"]
    assert "is not a 'uri'" in refused.get_json()["message"]
    assert tmf.get(f"{S641}/serviceOrder").get_json() == before
    body["serviceOrderItem"][0]["service"]["@schemaLocation"] = "https://schemas.example.com/Service.schema.json"
    assert tmf.post(f"{S641}/serviceOrder", body).status_code == 201
    for not_a_uri in ("relative/path", "http://exa mple.com", "https://x/%zz"):
        product = tmf.post(f"{P622}/productOrder", {**CTK_622_BODY, "@schemaLocation": not_a_uri})
        assert product.status_code == 400, not_a_uri


def test_hub_without_query_and_delete_of_a_cancelled_order(tmf):
    hub = tmf.post(f"{P622}/hub", {"callback": "http://127.0.0.1:9/listener"})
    assert "query" not in valid(hub, "ProductEventSubscription")
    created = tmf.post(f"{P622}/productOrder", CTK_622_BODY).get_json()
    tmf.post(f"{P622}/cancelProductOrder", {"productOrder": {"id": created["id"]}})
    assert tmf.delete(f"{P622}/productOrder/{created['id']}").status_code == 204
    listing = tmf.get(f"{P622}/cancelProductOrder")
    assert listing.status_code == 200 and listing.get_json() == []


def test_listener_hears_an_api_order_created_and_then_approved_in_the_ui(tmf, listener, client_for):
    """An order POSTed through TMF622 and approved by a manager on the order page: the registered
    listener receives the create event and the state-change event (acknowledged → inProgress)."""
    callback, received = listener
    tmf.post(f"{P622}/hub", {"callback": callback})
    account = factories.make_account("Listener Co")
    offering = factories.make_offering("Switch", "40.00")
    created = tmf.post(f"{P622}/productOrder", {
        "relatedParty": [{"id": account.number, "@referredType": "Organization"}],
        "productOrderItem": [{"id": "1", "action": "add", "productOffering": {"id": offering.number}}],
    }).get_json()
    order = db.session.query(CustomerOrder).filter_by(tmf_id=created["id"]).one()
    assert order.enrichment_issues == []

    manager = client_for("manager")
    page = f"/customerorderview/show/{order.id}"
    approved = manager.submit(page, {"version": order.version}, post_url=f"/customerorderview/approve/{order.id}",
                              follow_redirects=True)
    assert f"Order {order.number} approved for fulfilment." in approved.get_data(as_text=True)

    deadline = time.monotonic() + 15
    while len(received) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [event["eventType"] for event in received] == ["ProductOrderCreateEvent", "ProductOrderStateChangeEvent"]
    assert received[0]["event"]["productOrder"]["state"] == "acknowledged"
    assert received[1]["event"]["productOrder"]["state"] == "inProgress"
    assert received[1]["event"]["productOrder"]["id"] == created["id"]
    for event in received:
        assert not list(SCHEMAS["ProductOrder"].iter_errors(event["event"]["productOrder"]))
    assert tmf.get(f"{P622}/productOrder/{created['id']}").get_json()["state"] == "inProgress"

"""The JSON REST API over HTTP: token login, a case worked from creation to Closed through the action
endpoints, version conflicts, field errors, role filtering — and every JSON answer is checked against
the schemas of the application's own OpenAPI document."""
from __future__ import annotations

import re

import pytest
from flask import current_app
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from app.core.choices import CaseState, LineState, OrderLineState, OrderState, RequestType, Scope
from app.core.extensions import db
from app.models import AuditEvent, Contact, OrderCase
from tests import factories

API = "/api/v1"


# A documented response whose body is a file, not JSON (an attachment's content).
BINARY = {"format": "binary"}


class OpenApiChecker:
    """Finds the documented operation of a request and validates the response against its schema."""

    def __init__(self, document: dict):
        self.document = document
        self.routes = [
            (re.compile("^" + re.sub(r"{\w+}", r"[^/]+", path) + "$"), path, methods)
            for path, methods in document["paths"].items()
        ]
        self._validators: dict[str, Draft202012Validator] = {}

    def operation(self, method: str, path: str) -> dict | None:
        path = path.split("?")[0]
        if path.startswith(API):
            path = path[len(API):]
        for pattern, _template, methods in self.routes:
            if pattern.match(path) and method.lower() in methods:
                return methods[method.lower()]
        return None

    def response_schema(self, operation: dict, status: int) -> dict | None:
        response = operation["responses"].get(str(status))
        assert response is not None, f"{operation['operationId']} does not document status {status}"
        if "$ref" in response:
            response = self.document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        content = response.get("content")
        if content and "application/json" not in content:
            return BINARY
        return content["application/json"]["schema"] if content else None

    def check(self, method: str, path: str, response) -> None:
        operation = self.operation(method, path)
        body = response.get_json(silent=True)
        if operation is None:
            # An undocumented path or method: the answer must still be a JSON error.
            assert response.status_code in (404, 405), f"{method} {path} answered {response.status_code}"
            schema = {"$ref": "#/components/schemas/Error"}
        else:
            schema = self.response_schema(operation, response.status_code)
        if schema is BINARY:
            assert response.headers["Content-Disposition"].startswith("attachment"), f"{method} {path}"
            return
        if schema is None:
            assert not response.data, f"{method} {path} {response.status_code} should have no body"
            return
        key = repr(schema)
        if key not in self._validators:
            self._validators[key] = Draft202012Validator(
                {**schema, "components": self.document["components"]},
                format_checker=Draft202012Validator.FORMAT_CHECKER,
            )
        errors = sorted(self._validators[key].iter_errors(body), key=str)
        assert not errors, (f"{method} {path} {response.status_code} does not match its documented schema: "
                            f"{errors[0].message} at {list(errors[0].absolute_path)}")


class Rest:
    """A bearer-token client whose every answer is validated against the OpenAPI document."""

    def __init__(self, client, checker: OpenApiChecker, token: str | None = None):
        self.client, self.checker, self.token = client, checker, token
        self.requests = 0

    def headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def call(self, method: str, path: str, body=None, **kwargs):
        url = path if path.startswith(API) else API + path
        if body is not None:
            kwargs["json"] = body
        response = self.client.open(url, method=method, headers=self.headers(), **kwargs)
        self.requests += 1
        assert response.status_code < 500, f"{method} {url} answered {response.status_code}: {response.data[:300]}"
        self.checker.check(method, url, response)
        return response

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body if body is not None else {}, **kw)

    def patch(self, path, body, **kw):
        return self.call("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


@pytest.fixture
def checker(client_for):
    document = client_for(None).get(f"{API}/openapi.json").get_json()
    return OpenApiChecker(document)


def api_key(login) -> str:
    sm = current_app.appbuilder.sm
    return sm.create_api_key(sm.get_user_by_id(login.id), f"rest-test-{login.role}")["key"]


@pytest.fixture
def rest_as(client_for, users, checker):
    """rest_as("agent") → a Rest client with an API key of the session's agent (None → no token)."""

    def make(role: str | None):
        return Rest(client_for(None), checker, api_key(users[role]) if role else None)

    return make


@pytest.fixture
def world():
    """An account with a contact, a location and an In progress order of two lines; the case type."""
    account = factories.make_account("Acme Co")
    order = factories.make_order(account, lines=2)
    service = factories.make_service()
    offering = factories.make_offering("Gadget", "20.00")
    return {"account": account, "order": order, "service": service, "offering": offering,
            "lines": list(order.lines)}


def test_openapi_document_is_valid_and_lists_every_endpoint(client_for, app):
    client = client_for(None)
    document = client.get(f"{API}/openapi.json").get_json()
    validate_openapi(document)
    documented = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("rest_api.") and rule.endpoint not in ("rest_api.openapi_json", "rest_api.docs"):
            path = re.sub(r"<int:(\w+)>", r"{\1}", rule.rule)[len(API):]
            routed |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented
    assert len(documented) >= 50
    page = client.get(f"{API}/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-spec-url="/api/v1/openapi.json"' in html
    assert "/static/js/swagger-init.js" in html  # started from a file: the CSP allows no inline script
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(asset.startswith("/static/") for asset in assets)
    assert not re.search(r"https?://", html)
    for asset in assets:
        assert client.get(asset).status_code == 200


def test_token_login_with_jwt_and_api_key(client_for, users, checker, rest_as):
    anonymous = Rest(client_for(None), checker)
    login = users["agent"]
    token = anonymous.post("/auth/token", {"username": login.username, "password": login.password})
    assert token.status_code == 200 and token.get_json()["token_type"] == "Bearer"
    jwt_client = Rest(client_for(None), checker, token.get_json()["access_token"])
    me = jwt_client.get("/auth/me").get_json()
    assert (me["username"], me["roles"]) == (login.username, ["agent"])
    assert jwt_client.get("/cases").status_code == 200

    assert rest_as("manager").get("/auth/me").get_json()["roles"] == ["manager"]
    wrong = anonymous.post("/auth/token", {"username": login.username, "password": "not-it"})
    assert wrong.status_code == 401
    missing = anonymous.post("/auth/token", {"username": login.username})
    assert missing.status_code == 422 and missing.get_json()["errors"] == {"password": "Required"}
    assert anonymous.get("/cases").status_code == 401
    assert Rest(client_for(None), checker, "sst_not-a-key").get("/cases").status_code == 401
    assert Rest(client_for(None), checker, "not.a.jwt").get("/orders").status_code == 401
    # A browser session is no API credential: the API is CSRF-exempt, so it must not accept cookies.
    browser = client_for("agent")
    assert Rest(browser, checker).get("/cases").status_code == 401


def test_a_case_from_creation_to_closed_through_the_action_endpoints(rest_as, world, users):
    api = rest_as("agent")
    order, lines = world["order"], world["lines"]
    created = api.post("/cases", {
        "service_id": world["service"].id, "account_id": world["account"].id, "scope": Scope.SINGLE_ORDER,
        "order_id": order.id, "order_line_ids": [line.id for line in lines],
        "short_description": "Customer wants more widgets",
    })
    assert created.status_code == 201, created.get_json()
    case = created.get_json()
    assert (case["state"], case["origin"], case["version"]) == (CaseState.DRAFT, "API", 1)
    listed = api.get("/case-lines", query_string={"case_id": case["id"]}).get_json()
    assert listed["count"] == 2
    quantity_line, inquiry_line = sorted(listed["items"], key=lambda item: item["id"])
    assert quantity_line["characteristics"] == {"Colour": "Red"}

    edited = api.patch(f"/case-lines/{quantity_line['id']}", {
        "version": quantity_line["version"], "request_type": RequestType.QUANTITY, "requested_quantity": 7})
    assert edited.status_code == 200, edited.get_json()
    quantity_line = edited.get_json()
    inquiry_line = api.patch(f"/case-lines/{inquiry_line['id']}", {
        "version": inquiry_line["version"], "request_type": RequestType.INQUIRY}).get_json()

    def act(path, record, **inputs):
        response = api.post(f"{path}/actions/{inputs.pop('action')}", {"version": record["version"], **inputs})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    case = act(f"/cases/{case['id']}", case, action="submit")
    assert case["state"] == CaseState.NEW
    case = act(f"/cases/{case['id']}", case, action="assign-to-me")
    assert (case["state"], case["assigned_to_id"]) == (CaseState.WORK_IN_PROGRESS, users["agent"].id)
    case = act(f"/cases/{case['id']}", case, action="request-information", question="Which colour?")
    assert case["state"] == CaseState.AWAITING_INFO
    case = act(f"/cases/{case['id']}", case, action="information-received")
    assert case["state"] == CaseState.WORK_IN_PROGRESS

    quantity_line = api.get(f"/case-lines/{quantity_line['id']}").get_json()
    assert quantity_line["state"] == LineState.WORK_IN_PROGRESS
    accepted = act(f"/case-lines/{quantity_line['id']}", quantity_line, action="accept", approved_quantity=6)
    assert (accepted["state"], accepted["approved_quantity"]) == (LineState.ACCEPTED, 6)
    inquiry_line = api.get(f"/case-lines/{inquiry_line['id']}").get_json()
    denied = act(f"/case-lines/{inquiry_line['id']}", inquiry_line, action="deny", resolution_notes="Nothing to do")
    assert denied["state"] == LineState.DENIED

    case = api.get(f"/cases/{case['id']}").get_json()
    assert (case["state"], case["resolution_code"]) == (CaseState.RESOLVED, "Partially approved")
    case = act(f"/cases/{case['id']}", case, action="close")
    assert case["state"] == CaseState.CLOSED and case["closed_at"]
    # Closed cases are read-only, through the API as in the UI.
    refused = api.patch(f"/cases/{case['id']}", {"version": case["version"], "priority": 1})
    assert refused.status_code == 409


def test_resolve_case_gives_every_open_line_the_outcome(rest_as, world):
    api = rest_as("agent")
    case = api.post("/cases", {
        "service_id": world["service"].id, "account_id": world["account"].id, "scope": Scope.MULTIPLE_ORDERS,
        "origin": "Customer Order", "order_id": world["order"].id, "short_description": "Move the delivery",
    }).get_json()
    (line,) = api.get("/case-lines", query_string={"case_id": case["id"]}).get_json()["items"]
    assert line["order_id"] == world["order"].id and line["order_line_id"] is None
    unclassified = api.post(f"/cases/{case['id']}/actions/submit", {"version": case["version"]})
    assert unclassified.status_code == 422 and "needs a request type" in unclassified.get_json()["message"]
    api.patch(f"/case-lines/{line['id']}", {"version": line["version"], "request_type": RequestType.INQUIRY})
    for action in ("submit", "assign-to-me"):
        case = api.post(f"/cases/{case['id']}/actions/{action}", {"version": case["version"]}).get_json()
    missing = api.post(f"/cases/{case['id']}/actions/resolve", {"version": case["version"]})
    assert missing.status_code == 422
    assert set(missing.get_json()["errors"]) == {"resolution_code", "resolution_notes"}
    resolved = api.post(f"/cases/{case['id']}/actions/resolve", {
        "version": case["version"], "resolution_code": "Change denied", "resolution_notes": "Not possible",
        "outcome": "deny"})
    assert resolved.status_code == 200 and resolved.get_json()["state"] == CaseState.RESOLVED
    assert api.get(f"/case-lines/{line['id']}").get_json()["state"] == LineState.DENIED
    closed = api.post(f"/cases/{case['id']}/actions/close", {"version": resolved.get_json()["version"]})
    assert closed.get_json()["state"] == CaseState.CLOSED


def test_a_stale_version_is_refused_with_409_and_nothing_is_written(rest_as, world):
    api = rest_as("agent")
    case = factories.make_case(world["account"], world["order"], world["lines"][:1], request_type=None)
    first = api.get(f"/cases/{case.id}").get_json()
    changed = api.patch(f"/cases/{case.id}", {"version": first["version"], "priority": 2})
    assert changed.status_code == 200 and changed.get_json()["version"] == first["version"] + 1
    audit_rows = db.session.query(AuditEvent).count()

    stale_patch = api.patch(f"/cases/{case.id}", {"version": first["version"], "short_description": "Mine"})
    stale_action = api.post(f"/cases/{case.id}/actions/submit", {"version": first["version"]})
    line = api.get("/case-lines", query_string={"case_id": case.id}).get_json()["items"][0]
    api.patch(f"/case-lines/{line['id']}", {"version": line["version"], "request_type": RequestType.INQUIRY})
    stale_line = api.patch(f"/case-lines/{line['id']}", {"version": line["version"], "priority": 1})
    for response in (stale_patch, stale_action, stale_line):
        assert response.status_code == 409
        assert "nothing was saved" in response.get_json()["message"]
    db.session.expire_all()
    now = db.session.get(OrderCase, case.id)
    assert (now.state, now.short_description, now.priority) == (CaseState.DRAFT, "Test case", 2)
    assert db.session.query(AuditEvent).count() == audit_rows + 1  # only the fresh line edit


def test_bad_input_answers_422_with_field_errors_and_writes_nothing(rest_as, world, client_for, checker):
    api = rest_as("agent")
    empty = api.post("/cases", {})
    assert empty.status_code == 422
    assert set(empty.get_json()["errors"]) == {"service_id", "account_id", "scope", "short_description"}
    unknown = api.post("/cases", {"service_id": world["service"].id, "account_id": 999999,
                                  "scope": Scope.MULTIPLE_ORDERS, "short_description": "x"})
    assert unknown.status_code == 422 and "account_id" in unknown.get_json()["errors"]
    wrong_types = api.post("/cases", {"service_id": "one", "account_id": world["account"].id, "priority": 9,
                                      "scope": "everything", "short_description": "  ", "colour": "red"})
    assert wrong_types.status_code == 422
    assert set(wrong_types.get_json()["errors"]) >= {"service_id", "priority", "scope", "short_description",
                                                     "colour"}
    assert db.session.query(OrderCase).count() == 0

    case = factories.make_case(world["account"], world["order"], world["lines"][:1])
    line = api.get("/case-lines", query_string={"case_id": case.id}).get_json()["items"][0]
    bad_location = api.patch(f"/case-lines/{line['id']}", {"version": line["version"],
                                                           "request_type": RequestType.ADDRESS,
                                                           "requested_location_id": 424242})
    assert bad_location.status_code == 422
    assert bad_location.get_json()["errors"] == {"requested_location_id": "Unknown"}
    bad_date = api.patch(f"/case-lines/{line['id']}", {"version": line["version"],
                                                       "requested_delivery_date": "31/12/2030"})
    assert bad_date.status_code == 422 and "requested_delivery_date" in bad_date.get_json()["errors"]
    assert api.get(f"/case-lines/{line['id']}").get_json()["version"] == line["version"]

    no_version = api.post(f"/cases/{case.id}/actions/submit", {})
    assert no_version.status_code == 422 and no_version.get_json()["errors"] == {"version": "Required"}
    not_json = api.call("POST", f"/cases/{case.id}/actions/submit", data="version=1",
                        content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 422
    paging = api.get("/cases", query_string={"page_size": 1000, "colour": "red"})
    assert paging.status_code == 422 and set(paging.get_json()["errors"]) == {"page_size", "colour"}
    assert api.get("/cases/99999999999").status_code == 404
    assert api.get("/no-such-thing").status_code == 404
    bad_order = api.post("/orders", {"account_id": world["account"].id, "shipping_location_id": 777777})
    assert bad_order.status_code == 422 and "shipping_location_id" in bad_order.get_json()["errors"]


def test_a_customer_sees_only_its_own_account(rest_as, world, users):
    mine, other = world["account"], factories.make_account("Other Co")
    db.session.add(Contact(account=mine, first_name="Cust", last_name="Omer", user_id=users["customer"].id))
    db.session.commit()
    my_case = factories.make_case(mine, world["order"], world["lines"][:1], state=CaseState.NEW,
                                  line_state=LineState.NEW)
    other_order = factories.make_order(other, lines=1)
    other_case = factories.make_case(other, other_order, list(other_order.lines))
    customer = rest_as("customer")
    assert customer.get("/auth/me").get_json()["account_id"] == mine.id

    cases = customer.get("/cases").get_json()
    assert [item["id"] for item in cases["items"]] == [my_case.id]
    assert customer.get(f"/cases/{other_case.id}").status_code == 404
    assert customer.get("/cases", query_string={"account_id": other.id}).get_json()["count"] == 0
    lines = customer.get("/case-lines").get_json()["items"]
    assert {item["case_id"] for item in lines} == {my_case.id}
    orders = customer.get("/orders").get_json()["items"]
    assert [item["id"] for item in orders] == [world["order"].id]
    assert customer.get(f"/orders/{other_order.id}").status_code == 404
    assert customer.get(f"/order-lines/{other_order.lines[0].id}").status_code == 404
    other_line = customer.post(f"/cases/{other_case.id}/actions/submit", {"version": 1})
    assert other_line.status_code == 404
    assert customer.get("/interactions").status_code == 403
    # The customer may see its case, but working it is the desk's job.
    assert customer.post(f"/cases/{my_case.id}/actions/assign-to-me", {"version": 1}).status_code == 403
    # Back office sees every account.
    assert rest_as("agent").get("/cases").get_json()["count"] == 2


def test_order_capture_and_approval_follow_the_roles(rest_as, world):
    agent, manager = rest_as("agent"), rest_as("manager")
    order = agent.post("/orders", {"account_id": world["account"].id}).get_json()
    assert (order["state"], order["channel"]) == (OrderState.DRAFT, "agent")
    line = agent.post("/order-lines", {"order_id": order["id"], "order_version": order["version"],
                                       "offering_id": world["offering"].id, "quantity": 3,
                                       "characteristics": {"Colour": "Blue"}})
    assert line.status_code == 201, line.get_json()
    assert line.get_json()["characteristics"] == {"Colour": "Blue"}
    order = agent.get(f"/orders/{order['id']}").get_json()
    assert order["total_amount"] == "60.00"
    order = agent.post(f"/orders/{order['id']}/actions/submit", {"version": order["version"]}).get_json()
    assert order["state"] == OrderState.NEW

    refused = agent.post(f"/orders/{order['id']}/actions/approve", {"version": order["version"]})
    assert refused.status_code == 403 and "manager" in refused.get_json()["message"]
    approved = manager.post(f"/orders/{order['id']}/actions/approve", {"version": order["version"]})
    assert approved.status_code == 200 and approved.get_json()["state"] == OrderState.IN_PROGRESS
    line_id = line.get_json()["id"]
    stale = agent.post(f"/order-lines/{line_id}/actions/start", {"version": line.get_json()["version"]})
    assert stale.status_code == 409  # Submit moved the line to New since it was read
    current = agent.get(f"/order-lines/{line_id}").get_json()
    started = agent.post(f"/order-lines/{line_id}/actions/start", {"version": current["version"]})
    assert started.get_json()["state"] == OrderLineState.IN_PROGRESS
    completed = agent.post(f"/order-lines/{line_id}/actions/complete", {"version": started.get_json()["version"]})
    assert completed.get_json()["state"] == OrderLineState.COMPLETED
    assert agent.get(f"/orders/{order['id']}").get_json()["state"] == OrderState.COMPLETED


def test_integrator_uses_only_the_order_endpoints(rest_as, world):
    integrator = rest_as("integrator")
    assert integrator.get("/cases").status_code == 403
    assert integrator.get("/case-tasks").status_code == 403
    assert integrator.get("/orders").get_json()["count"] == 1
    created = integrator.post("/orders", {"account_id": world["account"].id, "order_type": "service"})
    assert created.status_code == 201 and created.get_json()["channel"] == "TMF641"
    assert integrator.patch(f"/orders/{created.get_json()['id']}", {"version": 1, "description": "x"}).status_code \
        == 403


def test_tasks_and_interactions(rest_as, world, users):
    agent = rest_as("agent")
    case = factories.make_case(world["account"], world["order"], world["lines"][:1])
    group = factories.make_group("Fulfilment desk", [users["agent"].id])
    outsider = agent.post("/case-tasks", {"case_id": case.id, "subject": "Call the warehouse",
                                          "assignment_group_id": group.id, "assigned_to_id": users["manager"].id})
    assert outsider.status_code == 422 and outsider.get_json()["errors"] == {
        "assigned_to_id": "Not a member of the assignment group"}
    task = agent.post("/case-tasks", {"case_id": case.id, "subject": "Call the warehouse",
                                      "assignment_group_id": group.id, "assigned_to_id": users["agent"].id})
    assert task.status_code == 201 and task.get_json()["state"] == "Open"
    closed = agent.patch(f"/case-tasks/{task.get_json()['id']}", {"version": 1, "state": "Closed Complete"})
    assert closed.get_json()["closed_at"] is not None
    line_id = case.lines[0].id
    line_task = agent.post("/case-line-tasks", {"case_line_id": line_id, "subject": "Check stock",
                                                "visible_to_customer": True})
    assert line_task.status_code == 201 and line_task.get_json()["case_id"] == case.id
    assert agent.get("/case-line-tasks", query_string={"case_line_id": line_id}).get_json()["count"] == 1

    interaction = agent.post("/interactions", {"channel": "phone", "account_id": world["account"].id,
                                               "short_description": "Called about the order"})
    assert interaction.status_code == 201 and interaction.get_json()["agent_id"] == users["agent"].id
    foreign = agent.patch(f"/interactions/{interaction.get_json()['id']}", {
        "version": 1, "contact_id": factories.make_account("Elsewhere").primary_contact_id})
    assert foreign.status_code == 422 and "contact_id" in foreign.get_json()["errors"]
    unknown = agent.patch(f"/interactions/{interaction.get_json()['id']}", {"version": 1, "contact_id": 999_999})
    assert unknown.status_code == 422 and unknown.get_json()["errors"] == {"contact_id": "Unknown"}
    assert agent.get("/interactions", query_string={"state": "new"}).get_json()["count"] == 1


def test_login_attempts_are_rate_limited_like_the_login_form(database_url, tmp_path, users):
    from app import create_app

    limited = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_DIR": str(tmp_path),
        "LOAD_DEMO_DATA": False, "AUTO_MIGRATE": False, "AUTH_RATE_LIMITED": True, "RATELIMIT_ENABLED": True,
        "AUTH_RATE_LIMIT": "3 per minute", "MAIL_SERVER": "",
    })
    client = limited.test_client()
    statuses = [client.post(f"{API}/auth/token", json={"username": users["agent"].username, "password": "guess"})
                .status_code for _ in range(5)]
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]
    assert "message" in client.post(f"{API}/auth/token", json={}).get_json()


def test_a_lone_nul_character_is_refused_with_422_not_stored(client_for, users):
    """Found by the property test on PostgreSQL: a required text of just NUL passed the schema."""
    from app.core.extensions import db
    from app.models import Interaction

    client = client_for(None)
    token = client.post("/api/v1/auth/token", json={"username": users["agent"].username,
                                                     "password": users["agent"].password}).get_json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    response = client.post("/api/v1/interactions", json={"channel": "phone", "short_description": "\u0000"},
                           headers=headers)
    assert response.status_code == 422
    assert "short_description" in response.get_json()["errors"]
    assert db.session.query(Interaction).count() == 0

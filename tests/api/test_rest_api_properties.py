"""Property-based fuzzing of the HTTP APIs: Hypothesis builds requests from the published contracts —
the application's own OpenAPI document for /api/v1, the official TMF622/TMF641 swagger definitions
for /tmf-api — mixes in wrong types, unknown fields, missing and foreign ids, bad tokens, control
characters, over-long text and over-nested bodies, and checks that no answer is a 5xx, that every body
matches the schema documented for its status, and that a refused request (4xx) wrote nothing. The number
of requests is bounded (REST_FUZZ_EXAMPLES, TMF_FUZZ_EXAMPLES)."""
from __future__ import annotations

import copy
import io
import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from app.core.choices import CaseState, LineState, OrderLineState, OrderState, OrderType
from app.core.extensions import db
from app.models import CaseLineTask, CaseTask, Contact, Interaction
from tests import factories
from tests.api.test_rest_api import API, OpenApiChecker, api_key
from tests.conftest import changed_tables, database_fingerprint
from tests.tmf.test_tmf_api import CTK_622_BODY, service_order_body

TMF_DIR = Path(__file__).resolve().parents[3] / "shared" / "tmf"
REST_EXAMPLES = int(__import__("os").environ.get("REST_FUZZ_EXAMPLES", 400))
TMF_EXAMPLES = int(__import__("os").environ.get("TMF_FUZZ_EXAMPLES", 250))
SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))

# ----------------------------------------------------------------------------------------------------
# JSON values from a JSON Schema (OpenAPI 3.1 / swagger 2.0 definitions), sometimes deliberately wrong

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
TRICKY_TEXT = st.sampled_from(["", " ", "x" * 600, "x" * 10_001, "\u0000", "bell\u0007", "\u001b[31m", "ORD0000001",
                               "Ω≈ç√", "1", "-1", "null", "2024-02-30", "9" * 30, "'; drop table order_case; --"])
# Bodies nested past the input gate's limit (app/core/input_guard.py), which the parsers would recurse into.
DEEP_JSON = st.sampled_from([40, 1_000, 200_000]).map(lambda depth: "[" * depth + "]" * depth)
# Written by requests that are refused all the same: an API key's last use, a failed login's counter, and
# the event outbox, which the background sender updates on its own schedule.
BOOKKEEPING = frozenset({"ab_api_key", "ab_user", "tmf_event"})


class RefusalsWriteNothing:
    """Asserts that every refused request (4xx) left the database as it was before it."""

    def __init__(self):
        self.known: dict | None = None
        self.checked = 0

    def before(self) -> None:
        if self.known is None:
            self.known = database_fingerprint(db, BOOKKEEPING)

    def after(self, response, what: str) -> None:
        if response.status_code < 400:
            self.known = None  # it may have written: read the database again before the next request
            return
        now = database_fingerprint(db, BOOKKEEPING)
        assert changed_tables(self.known, now) == [], f"{what} was refused ({response.status_code}) but wrote"
        self.known, self.checked = now, self.checked + 1


class SchemaStrategies:
    def __init__(self, root: dict, ref_prefix: str, ids: dict[str, list]):
        self.root, self.ref_prefix, self.ids = root, ref_prefix, ids

    def resolve(self, ref: str) -> dict:
        node = self.root
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node

    def value(self, schema: dict, name: str = "", depth: int = 0, valid_bias: bool = True):
        """Half the time values of the schema; otherwise values where any part may be anything at all."""
        if valid_bias:
            return st.one_of(self._valid(schema, name, depth, False), self._valid(schema, name, depth, True))
        return self._valid(schema, name, depth, False)

    def _node(self, schema: dict, name: str, depth: int, noisy: bool):
        if noisy:
            return st.one_of(self._valid(schema, name, depth, True), self._valid(schema, name, depth, True),
                             self._valid(schema, name, depth, True), ANY_JSON | TRICKY_TEXT)
        return self._valid(schema, name, depth, False)

    def _valid(self, schema: dict, name: str, depth: int, noisy: bool = False):
        if "$ref" in schema:
            if depth > 3:
                return st.just({})
            return self._valid(self.resolve(schema["$ref"]), name, depth + 1, noisy)
        for combinator in ("allOf", "oneOf", "anyOf"):
            if combinator in schema:
                return st.one_of([self._valid(part, name, depth + 1, noisy) for part in schema[combinator]])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        kinds = schema.get("type", "object")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        return st.one_of([self._of_type(kind, schema, name, depth, noisy) for kind in kinds])

    def _of_type(self, kind: str, schema: dict, name: str, depth: int, noisy: bool):
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            if name.endswith("id") or name.endswith("_ids") or "version" in name:
                known = self.ids.get(name.removesuffix("s")) or self.ids.get(name) or [1]
                return st.sampled_from(known) | st.integers(1, 5) | st.integers(-3, 2**40)
            low, high = schema.get("minimum", -10), schema.get("maximum", 10**6)
            return st.integers(max(low, -10), min(high, 10**6)) | st.integers(-2**33, 2**33)
        if kind == "number":
            return st.floats(-1e6, 1e13, allow_nan=False) | st.integers(0, 10**6)
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "date":
                return st.dates().map(lambda d: d.isoformat()) | TRICKY_TEXT
            if fmt == "date-time":
                return st.datetimes().map(lambda d: d.isoformat() + "Z") | TRICKY_TEXT
            if name in self.ids:
                return st.sampled_from([str(v) for v in self.ids[name]]) | st.text(max_size=8)
            return st.text(string.printable, max_size=schema.get("maxLength", 40) or 40) | TRICKY_TEXT
        if kind == "array":
            items = schema.get("items", {})
            item_name = name.removesuffix("s") if name.endswith("_ids") else name
            return st.lists(self._node(items, item_name, depth + 1, noisy), max_size=3 if depth < 2 else 1)
        properties = schema.get("properties", {})
        if not properties:
            return st.dictionaries(st.text(string.ascii_letters, max_size=10),
                                   st.text(max_size=10) | st.none(), max_size=3)
        required = set(schema.get("required", ()))
        # Optional properties appear with some probability; required ones almost always.
        return st.fixed_dictionaries(
            {key: self._node(sub, key, depth + 1, noisy) for key, sub in properties.items() if key in required},
            optional={key: self._node(sub, key, depth + 1, noisy) for key, sub in properties.items()
                      if key not in required and not key.startswith("@")},
        )


# ----------------------------------------------------------------------------------------------------
# A world with something in every state, visible to some callers and not others


@pytest.fixture
def world(users):
    mine, other = factories.make_account("Fuzz Co"), factories.make_account("Elsewhere Inc")
    db.session.add(Contact(account=mine, first_name="Cus", last_name="Tomer", user_id=users["customer"].id))
    factories.make_group("Desk", [users["agent"].id, users["manager"].id])
    orders = [factories.make_order(mine, lines=2), factories.make_order(other, lines=1),
              factories.make_order(mine, lines=1, state=OrderState.NEW, line_state=OrderLineState.NEW),
              factories.make_order(mine, lines=2, state=OrderState.DRAFT, line_state=OrderLineState.DRAFT),
              factories.make_order(other, lines=1, order_type=OrderType.SERVICE)]
    cases = [factories.make_case(mine, orders[0], [orders[0].lines[0]]),
             factories.make_case(mine, orders[0], [orders[0].lines[1]], state=CaseState.WORK_IN_PROGRESS,
                                 line_state=LineState.WORK_IN_PROGRESS),
             factories.make_case(other, orders[1], None, state=CaseState.NEW, line_state=LineState.NEW)]
    for case in cases:
        db.session.add(CaseTask(case=case, subject="Check", visible_to_customer=case.id % 2 == 0))
        if case.lines:
            db.session.add(CaseLineTask(case_line=case.lines[0], case=case, subject="Look"))
    db.session.add(Interaction(channel="phone", account=mine, short_description="Called"))
    db.session.commit()
    factories.make_offering("Fuzz widget")
    return {"orders": orders, "cases": cases}


def _ids(model) -> list[int]:
    return [row for (row,) in db.session.query(model.id).order_by(model.id).limit(50)] or [1]


def known_ids() -> dict[str, list]:
    from app.models import (
        Account,
        Attachment,
        AssignmentGroup,
        CustomerOrder,
        Location,
        OrderCase,
        OrderCaseLine,
        OrderLineItem,
        ProductInventory,
        ProductOffering,
        ServiceDefinition,
    )
    from flask_appbuilder.security.sqla.models import User

    ids = {
        "case_id": _ids(OrderCase), "line_id": _ids(OrderCaseLine) + _ids(OrderLineItem),
        "case_line_id": _ids(OrderCaseLine), "order_id": _ids(CustomerOrder), "order_line_id": _ids(OrderLineItem),
        "task_id": _ids(CaseTask) + _ids(CaseLineTask), "interaction_id": _ids(Interaction),
        "account_id": _ids(Account), "contact_id": _ids(Contact), "service_id": _ids(ServiceDefinition),
        "offering_id": _ids(ProductOffering), "replacement_offering_id": _ids(ProductOffering),
        "location_id": _ids(Location), "requested_location_id": _ids(Location),
        "shipping_location_id": _ids(Location), "inventory_id": _ids(ProductInventory),
        "assignment_group_id": _ids(AssignmentGroup), "assigned_to_id": _ids(User), "agent_id": _ids(User),
        "version": [1, 2, 3], "case_version": [1, 2], "order_version": [1, 2], "page": [1, 2],
        "attachment_id": _ids(Attachment) or [1],
    }
    return ids


# ----------------------------------------------------------------------------------------------------
# REST


def test_generated_rest_requests_never_fail_and_match_the_openapi_document(client_for, users, world):
    client = client_for(None)
    document = client.get(f"{API}/openapi.json").get_json()
    checker = OpenApiChecker(document)
    keys = {role: api_key(users[role]) for role in ("agent", "manager", "admin", "customer", "integrator")}
    tokens = st.sampled_from([*keys.values(), *keys.values(), None, "sst_forged", "e30.e30.e30"])
    ids = known_ids()
    schemas = SchemaStrategies(document, "#/components/schemas/", ids)
    operations = [(path, method, operation) for path, methods in document["paths"].items()
                  for method, operation in methods.items()]
    sent = {"requests": 0, "statuses": {}}
    unchanged = RefusalsWriteNothing()

    @settings(max_examples=REST_EXAMPLES, **SETTINGS)
    @given(data=st.data())
    def send(data):
        path, method, operation = data.draw(st.sampled_from(operations), label="operation")
        url = path
        for parameter in operation["parameters"]:
            if parameter["in"] == "path":
                value = data.draw(st.sampled_from(ids.get(parameter["name"], [1])) | st.integers(0, 2**40)
                                  | st.sampled_from(["abc", "-1", "1.5"]), label=parameter["name"])
                url = url.replace("{" + parameter["name"] + "}", str(value))
        query = {}
        for parameter in operation["parameters"]:
            if parameter["in"] == "query" and data.draw(st.booleans(), label=f"send {parameter['name']}"):
                query[parameter["name"]] = data.draw(
                    schemas.value(parameter["schema"], parameter["name"]).map(
                        lambda v: json.dumps(v) if isinstance(v, (dict, list)) else str(v)),
                    label=parameter["name"])
        if data.draw(st.integers(0, 9), label="stray parameter") == 0:
            query["unexpected"] = "1"
        kwargs = {"query_string": query}
        content = operation.get("requestBody", {}).get("content", {})
        if "multipart/form-data" in content:
            uploads = data.draw(st.lists(st.tuples(st.binary(max_size=300) | st.sampled_from(
                [b"%PDF-1.4 x", b"plain text", b"MZ\x90", b"<html><script>"]), st.text(max_size=30)), max_size=3),
                label="files")
            kwargs["data"] = {"files": [(io.BytesIO(raw), name or "file") for raw, name in uploads]}
            kwargs["content_type"] = "multipart/form-data"
        elif "requestBody" in operation:
            body = data.draw(schemas.value(content["application/json"]["schema"], "body"), label="body")
            kwargs["json"] = body
        elif method in ("post", "patch") or data.draw(st.integers(0, 19), label="stray body") == 0:
            kwargs["data"] = data.draw(st.sampled_from(["", "{", "[]", "null", "{\"version\": 1}"]), label="raw")
            kwargs["content_type"] = "application/json"
        if data.draw(st.integers(0, 24), label="deep body") == 0:
            kwargs.pop("json", None)
            kwargs.update(data=data.draw(DEEP_JSON, label="deep"), content_type="application/json")
        token = data.draw(tokens, label="token")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        unchanged.before()
        response = client.open(f"{API}{url}", method=method.upper(), headers=headers, **kwargs)
        unchanged.after(response, f"{method.upper()} {url}")
        sent["requests"] += 1
        sent["statuses"][response.status_code] = sent["statuses"].get(response.status_code, 0) + 1
        assert response.status_code < 500, (
            f"{method.upper()} {url} {kwargs} answered {response.status_code}: {response.data[:500]!r}")
        checker.check(method.upper(), f"{API}{url}", response)

    send()
    print(f"\nREST fuzz: {sent['requests']} requests, {unchanged.checked} refusals checked for writes, "
          f"statuses {sorted(sent['statuses'].items())}")
    assert sent["requests"] >= REST_EXAMPLES and unchanged.checked > REST_EXAMPLES // 3
    # The generator reaches past the guards: successes and refusals of every kind show up.
    assert {200, 201, 401, 403, 404, 409, 422} <= set(sent["statuses"]), sent["statuses"]


# ----------------------------------------------------------------------------------------------------
# TMF622 / TMF641


class TmfApi:
    def __init__(self, swagger: str, base: str, resource: str, cancel: str):
        self.spec = json.loads((TMF_DIR / swagger).read_text())
        self.base, self.resource, self.cancel = base, resource, cancel
        self.type = resource[0].upper() + resource[1:]
        self._validators: dict[tuple, Draft4Validator] = {}

    def validator(self, definition: str, many: bool = False, partial: bool = False) -> Draft4Validator:
        key = (definition, many, partial)
        if key not in self._validators:
            definitions = copy.deepcopy(self.spec["definitions"])
            if partial:
                # fields= selects attributes, at any depth: what is left need not be complete.
                for node in definitions.values():
                    node.pop("required", None)
            schema = {"$ref": f"#/definitions/{definition}"}
            if many:
                schema = {"type": "array", "items": schema}
            self._validators[key] = Draft4Validator({"definitions": definitions, **schema})
        return self._validators[key]


TMF_APIS = [
    TmfApi("TMF622-ProductOrder-v4.0.0.swagger.json", "/tmf-api/productOrderingManagement/v4", "productOrder",
           "cancelProductOrder"),
    TmfApi("TMF641-Service_Ordering-v4.0.0.swagger.json", "/tmf-api/serviceOrdering/v4", "serviceOrder",
           "cancelServiceOrder"),
]
TMF_FILTERS = ["state", "externalId", "priority", "category", "description", "productOrderItem.state",
               "serviceOrderItem.state", "relatedParty.id", "orderDate.gt", "id"]


def test_generated_tmf_requests_never_fail_and_match_the_official_definitions(client_for, users, world):
    client = client_for(None)
    keys = {role: api_key(users[role]) for role in ("integrator", "admin", "agent")}
    tokens = st.sampled_from([keys["integrator"]] * 6 + [keys["admin"], keys["agent"], None, "sst_forged"])
    tmf_ids = [order.tmf_id for order in world["orders"]]
    sent = {"requests": 0, "statuses": {}, "created": [], "hubs": []}
    unchanged = RefusalsWriteNothing()

    @settings(max_examples=TMF_EXAMPLES, **SETTINGS)
    @given(data=st.data())
    def send(data):
        api = data.draw(st.sampled_from(TMF_APIS), label="api")
        strategies = SchemaStrategies(api.spec, "#/definitions/", {})
        known = tmf_ids + sent["created"][-20:]
        # An index into the known ids, not a choice among them: the list grows as orders are created, and
        # the strategy itself must stay the same from one example to the next.
        some_id = data.draw(st.integers(0, 25).map(lambda index: known[index % len(known)])
                            | st.text(string.ascii_letters + string.digits + "-", max_size=40)
                            .filter(lambda s: s.strip("/.") != ""), label="id")
        kind = data.draw(st.sampled_from(["list", "create", "create", "retrieve", "patch", "delete", "delete", "cancel",
                                          "cancel list", "cancel retrieve", "hub", "hub delete"]), label="kind")
        query, body, method, url, raw = {}, None, "GET", f"{api.base}/{api.resource}", None
        if kind == "list":
            if data.draw(st.booleans()):
                query["fields"] = data.draw(st.sampled_from(["state", "id,state", "productOrderItem.id",
                                                             "serviceOrderItem", "bogus", ""]))
            for name in data.draw(st.lists(st.sampled_from(TMF_FILTERS), max_size=2)):
                query[name] = data.draw(st.text(max_size=10) | st.sampled_from(["acknowledged", "inProgress", "1"]))
            for name in ("offset", "limit"):
                if data.draw(st.booleans()):
                    query[name] = data.draw(st.integers(-3, 2000).map(str) | st.sampled_from(["x", "1.5", ""]))
        elif kind == "create":
            method = "POST"
            # The conformance kits' bodies now and then, so that orders get created and then changed.
            known_good = CTK_622_BODY if api.resource == "productOrder" else service_order_body()
            body = data.draw(st.just(known_good) | strategies.value(api.spec["definitions"][f"{api.type}_Create"],
                                                                    "body"), label="body")
        elif kind == "retrieve":
            url += f"/{some_id}"
            if data.draw(st.booleans()):
                query["fields"] = data.draw(st.sampled_from(["state", "id,externalId", "note.text"]))
        elif kind == "patch":
            method, url = "PATCH", url + f"/{some_id}"
            body = data.draw(strategies.value(api.spec["definitions"][f"{api.type}_Update"], "body", valid_bias=False)
                             .map(lambda b: {k: v for k, v in b.items()} if isinstance(b, dict) else b)
                             | ANY_JSON, label="body")
        elif kind == "delete":
            # Orders created here, unreferenced, are the ones a delete can succeed on.
            fresh = data.draw(st.integers(0, 25), label="fresh order")
            target = sent["created"][fresh % len(sent["created"])] if sent["created"] and fresh % 2 else some_id
            method, url = "DELETE", url + f"/{target}"
        elif kind == "cancel":
            method, url = "POST", f"{api.base}/{api.cancel}"
            body = data.draw(strategies.value(api.spec["definitions"][f"Cancel{api.type}_Create"], "body"),
                             label="body")
            if isinstance(body, dict) and data.draw(st.booleans()):
                body[api.resource] = {"id": some_id}
        elif kind == "cancel list":
            url = f"{api.base}/{api.cancel}"
        elif kind == "cancel retrieve":
            url = f"{api.base}/{api.cancel}/{some_id}"
        elif kind == "hub":
            method, url = "POST", f"{api.base}/hub"
            body = data.draw(st.fixed_dictionaries(
                {"callback": st.sampled_from(["http://127.0.0.1:9/listener", "ftp://x", "", "http://169.254.169.254/latest",
                                              "http://10.0.0.1/x"]) | st.text(max_size=20)},
                optional={"query": st.text(max_size=20) | ANY_JSON}) | ANY_JSON, label="body")
        elif kind == "hub delete":
            hub = data.draw(st.integers(0, 25), label="hub")
            target = sent["hubs"][hub % len(sent["hubs"])] if sent["hubs"] and hub % 2 else some_id
            method, url = "DELETE", f"{api.base}/hub/{target}"
        if method in ("POST", "PATCH") and data.draw(st.integers(0, 14), label="raw body") == 0:
            raw = data.draw(st.sampled_from(["", "{", "[1]", "null"]) | DEEP_JSON)
        token = data.draw(tokens, label="token")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs = {"query_string": query, "headers": headers}
        if raw is not None:
            kwargs.update(data=raw, content_type="application/json")
        elif body is not None:
            content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
            kwargs.update(data=json.dumps(body), content_type=content_type)
        unchanged.before()
        response = client.open(url, method=method, **kwargs)
        unchanged.after(response, f"{method} {url}")
        sent["requests"] += 1
        sent["statuses"][response.status_code] = sent["statuses"].get(response.status_code, 0) + 1
        assert response.status_code < 500, (
            f"{method} {url} {query} {json.dumps(body)[:800] if body is not None else raw!r} "
            f"answered {response.status_code}: {response.data[:300]!r}")
        check_tmf_body(api, kind, response, bool(query.get("fields")))
        if kind == "create" and response.status_code == 201:
            sent["created"].append(response.get_json()["id"])
        if kind == "hub" and response.status_code == 201:
            sent["hubs"].append(response.get_json()["id"])

    send()
    print(f"\nTMF fuzz: {sent['requests']} requests, {unchanged.checked} refusals checked for writes, "
          f"statuses {sorted(sent['statuses'].items())}")
    assert sent["requests"] >= TMF_EXAMPLES and unchanged.checked > TMF_EXAMPLES // 3
    assert {200, 201, 204, 400, 401, 403, 404} <= set(sent["statuses"]), sent["statuses"]


def check_tmf_body(api: TmfApi, kind: str, response, fields_selected: bool) -> None:
    status = response.status_code
    if status == 204:
        assert not response.data
        return
    body = response.get_json(silent=True)
    assert body is not None, f"{kind} answered {status} without a JSON body"
    if status >= 400:
        validator = api.validator("Error")
    elif kind in ("list", "cancel list"):
        definition = api.type if kind == "list" else f"Cancel{api.type}"
        validator = api.validator(definition, many=True, partial=fields_selected)
    elif kind in ("create", "retrieve", "patch"):
        validator = api.validator(api.type, partial=fields_selected)
    elif kind in ("cancel", "cancel retrieve"):
        validator = api.validator(f"Cancel{api.type}")
    else:
        validator = api.validator("EventSubscription")
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, f"{kind} {status} does not match the TMF definition: {errors[0].message}"

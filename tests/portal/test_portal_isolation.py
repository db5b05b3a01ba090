"""The customer of account A can never read or change anything of account B: by URL, form field or API.

Data-driven: every /portal route registered on the app and every /api/v1 operation the REST API
declares is requested with account B's ids (cases, case lines, orders, order lines, tasks); a route
or operation with a parameter this file does not know fails the test, so new ones must be covered.
Each answer must be a refusal (404/403, or 422 for a field) that names nothing of B, and the
database must be exactly as before.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.core.choices import (
    CaseState,
    InventoryState,
    JournalKind,
    LineState,
    OrderChannel,
    OrderState,
    ResolutionCode,
    Scope,
)
from app.core.extensions import db
from app.models import (
    Attachment,
    AttachmentContent,
    AuditEvent,
    CartItem,
    CaseLineTask,
    CaseTask,
    Contact,
    CustomerOrder,
    Interaction,
    JournalEntry,
    Location,
    OrderCase,
    OrderCaseLine,
    OrderChange,
    OrderLineItem,
    ProductInventory,
    UserPreference,
)
from tests import factories
from tests.conftest import csrf_from

B_NAMES = ("Beta Secret Industries", "Bea Hiddenfield", "Beta Depot Zulu", "Beta comment xyzzy",
           "Beta work note plugh", "Beta visible task frob", "Beta inventory quux", "Beta-contract-wibble.pdf",
           "Beta-order-wobble.pdf")


class World:
    """Account A (the signed-in customer's) and account B, with one of everything."""

    def __init__(self, users):
        self.service = factories.make_service()
        self.offering = factories.make_offering("Shared widget")
        self.a = factories.make_account("Alpha Visible Co")
        self.a.primary_contact.user_id = users["customer"].id
        self.a_order = factories.make_order(self.a, lines=2, offering=self.offering)
        self.a_case = factories.make_case(self.a, order=self.a_order, order_lines=[self.a_order.lines[0]])
        self.a_line = self.a_case.lines[0]
        self.a_multi = factories.make_case(self.a, order=factories.make_order(self.a, lines=1, offering=self.offering))
        self.a_portal_order = CustomerOrder(account=self.a, contact=self.a.primary_contact, state=OrderState.DRAFT,
                                            channel=OrderChannel.PORTAL)
        db.session.add(self.a_portal_order)

        self.b = factories.make_account("Beta Secret Industries")
        contact = self.b.primary_contact
        contact.first_name, contact.last_name = "Bea", "Hiddenfield"
        self.b.shipping_location.name = "Beta Depot Zulu"
        self.b_contact, self.b_location = contact, self.b.shipping_location
        self.b_order = factories.make_order(self.b, lines=2, offering=self.offering)
        self.b_order_line = self.b_order.lines[0]
        self.b_draft = factories.make_case(self.b, order=self.b_order, order_lines=[self.b_order.lines[0]])
        self.b_resolved = factories.make_case(self.b, order=self.b_order, order_lines=[self.b_order.lines[1]],
                                              state=CaseState.RESOLVED, line_state=LineState.ACCEPTED)
        self.b_resolved.resolution_code = ResolutionCode.CHANGE_APPROVED
        self.b_line = self.b_draft.lines[0]
        self.b_inventory = ProductInventory(name="Beta inventory quux", account=self.b, offering=self.offering,
                                            location=self.b_location, state=InventoryState.ACTIVE)
        self.b_task = CaseTask(case=self.b_resolved, subject="Beta visible task frob", visible_to_customer=True)
        db.session.add(self.b_task)
        self.b_line_task = CaseLineTask(case=self.b_resolved, case_line=self.b_resolved.lines[0],
                                        subject="Beta visible task frob", visible_to_customer=True)
        self.b_interaction = Interaction(channel="phone", account=self.b, contact=contact,
                                         short_description="Beta comment xyzzy")
        db.session.add_all([self.b_inventory, self.b_task, self.b_line_task, self.b_interaction])
        db.session.flush()
        db.session.add_all([
            JournalEntry(record_type="order_case", record_id=self.b_resolved.id, case_id=self.b_resolved.id,
                         kind=JournalKind.COMMENT, text="Beta comment xyzzy"),
            JournalEntry(record_type="order_case", record_id=self.b_resolved.id, case_id=self.b_resolved.id,
                         kind=JournalKind.WORK_NOTE, text="Beta work note plugh"),
            OrderChange(order=self.b_order, order_line=self.b_order_line, field="quantity", old_value="5",
                        new_value="6"),
        ])
        self.b_cart_item = CartItem(contact=contact, offering=self.offering, quantity=7,
                                    characteristics={"Colour": "Beta comment xyzzy"})
        self.b_user = factories.make_user("customer")
        contact.user_id = self.b_user.id
        db.session.add_all([self.b_cart_item,
                            UserPreference(user_id=self.b_user.id, time_zone="Pacific/Chatham")])
        db.session.commit()
        self.a_attachment = attach(self.a_case, "Alpha-invoice.pdf")
        self.b_attachment = attach(self.b_draft, "Beta-contract-wibble.pdf")
        self.b_order_attachment = attach(self.b_order, "Beta-order-wobble.pdf")
        db.session.commit()
        self.b_secrets = (*B_NAMES, self.b.number, self.b_order.number, *(l.number for l in self.b_order.lines),
                          self.b_draft.number, self.b_resolved.number, self.b_line.number,
                          self.b_resolved.lines[0].number, self.b_inventory.number, self.b_location.number,
                          self.b_contact.number, self.b_task.number, self.b_line_task.number)

    def assert_nothing_of_b(self, text: str, where: str, sent=()) -> None:
        """*sent*: what the request itself carried (a form echoes the order number typed), not a leak."""
        echoed = {str(value) for value in sent}
        leaked = [secret for secret in self.b_secrets if secret in text and secret not in echoed]
        assert not leaked, f"{where} shows account B's {leaked}"


def attach(owner, filename: str) -> Attachment:
    from app.attachments import store

    upload = store.Upload(filename, b"%PDF-1.4 " + filename.encode())
    (attachment,) = store.store(owner, [upload], store.check_uploads(owner, [upload]), None)
    return attachment


@pytest.fixture
def world(users):
    return World(users)


def snapshot() -> dict:
    """Row counts of every table a customer could write to, and every versioned row's version."""
    db.session.expire_all()
    counts = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
              for model in (OrderCase, OrderCaseLine, CustomerOrder, OrderLineItem, JournalEntry, AuditEvent,
                            CaseTask, CaseLineTask, OrderChange, Location, Contact, Attachment, AttachmentContent)}
    versions = {(model.__tablename__, row_id): version for model in (OrderCase, OrderCaseLine, CustomerOrder,
                                                                     OrderLineItem, CaseTask, CaseLineTask)
                for row_id, version in db.session.execute(select(model.id, model.version))}
    carts = sorted((item.contact_id, item.offering_id, item.quantity, str(item.characteristics))
                   for item in db.session.scalars(select(CartItem)))
    zones = sorted(db.session.execute(select(UserPreference.user_id, UserPreference.time_zone)).all())
    return {"counts": counts, "versions": versions, "carts": carts, "zones": zones}


# ----------------------------------------------------------------------------------------------------
# The portal, route by route

# URL parameter → (B's record, A's record) it is filled with.
PORTAL_PARAMS = {
    "case_pk": (lambda w: w.b_draft.id, lambda w: w.a_case.id),
    "line_pk": (lambda w: w.b_line.id, lambda w: w.a_line.id),
    "order_pk": (lambda w: w.b_order.id, lambda w: w.a_order.id),
    "attachment_pk": (lambda w: w.b_attachment.id, lambda w: w.a_attachment.id),
    # Attach to: B's case as a case, or A's case's id read as a record a customer never attaches to.
    "record_pk": (lambda w: w.b_draft.id, lambda w: w.a_case.id),
    "kind": (lambda w: "quotes", lambda w: "cases"),
    # A list download's format: no record of B to name, so an unknown format stands in for the foreign value.
    "file_format": (lambda w: "pdf", lambda w: "csv"),
    # A cart item (A's cart is empty here, so the walk's Place order has nothing of A's to order either).
    "item_pk": (lambda w: w.b_cart_item.id, lambda w: 0),
}
PARAM_RE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def portal_rules(app):
    rules = sorted((r for r in app.url_map.iter_rules() if r.rule.startswith("/portal")), key=lambda r: r.rule)
    assert len(rules) >= 15
    return rules


def fill(rule: str, values: dict) -> str:
    return PARAM_RE.sub(lambda m: str(values[m.group(1)]), rule)


def test_every_portal_route_refuses_account_b_ids(app, client_for, world):
    client = client_for("customer")
    token = csrf_from(client.get("/portal/cases/new").get_data(as_text=True))
    before = snapshot()
    checked = 0
    for rule in portal_rules(app):
        params = sorted(rule.arguments)
        unknown = set(params) - set(PORTAL_PARAMS)
        assert not unknown, f"{rule.rule}: add {unknown} to PORTAL_PARAMS so isolation covers it"
        methods = sorted(rule.methods & {"GET", "POST"})
        if not params:
            for method in methods:
                response = client.open(rule.rule, method=method, data={"csrf_token": token})
                assert response.status_code < 500, rule.rule
                world.assert_nothing_of_b(response.get_data(as_text=True), f"{method} {rule.rule}")
            continue
        b_cases = (world.b_draft.id, world.b_resolved.id)
        for foreign in params:
            for b_case in b_cases if foreign == "case_pk" else b_cases[:1]:
                values = {name: PORTAL_PARAMS[name][1](world) for name in params}
                values[foreign] = b_case if foreign == "case_pk" else PORTAL_PARAMS[foreign][0](world)
                url = fill(rule.rule, values)
                for method in methods:
                    data = {"csrf_token": token, "version": "1", "text": "Hello", "reason": "No",
                            "pick": [world.b_order_line.id, world.b_order.id], "request_type": "Inquiry"}
                    response = client.open(url, method=method, data=data if method == "POST" else None)
                    assert response.status_code in (403, 404), f"{method} {url} answered {response.status_code}"
                    world.assert_nothing_of_b(response.get_data(as_text=True), f"{method} {url}")
                    checked += 1
    assert checked > 20
    assert snapshot() == before


def test_portal_lists_and_pages_show_only_account_a(client_for, world):
    client = client_for("customer")
    for url in ("/portal/", "/portal/cases/", "/portal/orders/", "/portal/products/", "/portal/catalog/",
                "/portal/cases/new", f"/portal/cases/{world.a_case.id}/", f"/portal/orders/{world.a_order.id}/",
                f"/portal/cases/{world.a_case.id}/add", f"/portal/cases/{world.a_multi.id}/add",
                f"/portal/cases/{world.a_case.id}/lines/{world.a_line.id}/edit",
                f"/portal/cases/{world.a_case.id}/review", "/portal/cases/?state=Resolved"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        world.assert_nothing_of_b(html, url)
    assert world.a_order.number in client.get("/portal/orders/").get_data(as_text=True)


def test_portal_forms_refuse_account_b_ids_and_write_nothing(client_for, world):
    client = client_for("customer")
    # Something in A's cart, so that Place order gets as far as the shipping location.
    db.session.add(CartItem(contact=world.a.primary_contact, offering=world.offering, quantity=1, characteristics={}))
    db.session.commit()
    before = snapshot()
    a_case, a_line, a_multi = world.a_case, world.a_line, world.a_multi
    attempts = [
        ("/portal/cases/new", {"scope": Scope.SINGLE_ORDER, "order_number": world.b_order.number,
                               "short_description": "Theirs"}, None),
        (f"/portal/cases/{a_case.id}/add", {"pick": [world.b_order_line.id], "version": a_case.version}, None),
        (f"/portal/cases/{a_case.id}/add", {"pick": [world.a_order.lines[1].id, world.b_order_line.id],
                                            "version": a_case.version}, None),
        (f"/portal/cases/{a_multi.id}/add", {"pick": [world.b_order.id], "version": a_multi.version}, None),
        (f"/portal/cases/{a_case.id}/lines/{a_line.id}/edit", {
            "request_type": "Address change", "requested_location_id": world.b_location.id,
            "version": a_line.version}, None),
        ("/portal/catalog/", {"shipping_location_id": world.b_location.id}, "/portal/cart/order"),
        ("/portal/settings", {"time_zone": "Beta/Nowhere"}, None),
    ]
    for url, data, post_url in attempts:
        response = client.submit(url, data, post_url=post_url)
        assert response.status_code in (403, 404, 422), f"{url} {data} answered {response.status_code}"
        world.assert_nothing_of_b(response.get_data(as_text=True), f"POST {url}", sent=data.values())
    assert snapshot() == before


def test_the_cart_and_settings_are_the_customers_own(client_for, world):
    """B's cart item cannot be changed, removed or ordered through A's forms; A's cart never shows it."""
    client = client_for("customer")
    db.session.add(CartItem(contact=world.a.primary_contact, offering=world.offering, quantity=1, characteristics={}))
    db.session.commit()
    before = snapshot()
    b_item = world.b_cart_item.id
    for data, post_url in (({f"qty-item-{b_item}": "0"}, "/portal/cart/update"),
                           ({f"qty-item-{b_item}": "99"}, "/portal/cart/update"),
                           ({}, f"/portal/cart/{b_item}/remove")):
        response = client.submit("/portal/catalog/", data, post_url=post_url)
        assert response.status_code in (302, 404), post_url
        world.assert_nothing_of_b(body_of(client.get("/portal/cart/")), "the cart")
    assert snapshot() == before
    # Placing A's cart orders A's item only.
    assert client.submit("/portal/cart/", {}, post_url="/portal/cart/order").status_code == 302
    order = db.session.scalars(select(CustomerOrder).order_by(CustomerOrder.id.desc())).first()
    assert (order.account_id, [line.quantity for line in order.lines]) == (world.a.id, [1])
    db.session.expire_all()
    assert db.session.get(CartItem, b_item).quantity == 7
    # A's settings page shows A's zone, never B's.
    assert "<option selected>Pacific/Chatham</option>" not in body_of(client.get("/portal/settings"))


def body_of(response) -> str:
    return response.get_data(as_text=True)


# ----------------------------------------------------------------------------------------------------
# The REST API, operation by operation


def api_token(client, login) -> str:
    response = client.post("/api/v1/auth/token", json={"username": login.username, "password": login.password})
    assert response.status_code == 200
    return response.get_json()["access_token"]


def path_ids(world, path: str) -> dict:
    """B's record for each path parameter, by what the path is about."""
    line = world.b_line.id if path.startswith("/case-lines") else world.b_order_line.id
    task = world.b_task.id if path.startswith("/case-tasks") else world.b_line_task.id
    return {"case_id": world.b_draft.id, "line_id": line, "order_id": world.b_order.id, "task_id": task,
            "interaction_id": world.b_interaction.id, "attachment_id": world.b_attachment.id}


def b_references(world) -> dict:
    """Body fields naming records, filled with B's."""
    return {"account_id": world.b.id, "case_id": world.b_resolved.id, "order_id": world.b_order.id,
            "order_line_id": world.b_order_line.id, "contact_id": world.b_contact.id,
            "location_id": world.b_location.id, "shipping_location_id": world.b_location.id,
            "requested_location_id": world.b_location.id, "inventory_id": world.b_inventory.id,
            "interaction_id": world.b_interaction.id, "case_line_id": world.b_line.id,
            "service_id": world.service.id, "offering_id": world.offering.id,
            "order_ids": [world.b_order.id], "order_line_ids": [world.b_order_line.id],
            "ids": [world.b_order.id], "q": world.b_resolved.number}


def sample(schema: dict, name: str, refs: dict):
    """A value that passes *schema*, naming B's records wherever a field names a record."""
    if name in refs:
        return refs[name]
    if "enum" in schema:
        return next(value for value in schema["enum"] if value is not None)
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if kind == "object":
        properties = schema.get("properties", {})
        wanted = set(schema.get("required", ())) | (set(properties) & set(refs))
        return {key: sample(properties[key], key, refs) for key in wanted}
    if kind == "array":
        return [sample(schema.get("items", {}), name, refs)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return "2030-01-01"
    if "pattern" in schema and r"\d" in schema["pattern"]:
        return "1.00"
    if "pattern" in schema:
        return "USD"
    return "Beta probe"


def test_every_api_operation_refuses_account_b_ids(app, client_for, users, world):
    api = app.extensions["rest_api"]
    client = client_for(None)
    headers = {"Authorization": f"Bearer {api_token(client, users['customer'])}"}
    refs = b_references(world)
    before = snapshot()
    checked = 0
    for path, operations in sorted(api.operations.items()):
        if path.startswith("/auth/"):
            continue
        for method, operation in operations.items():
            parameters = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            ids = path_ids(world, path)
            assert parameters <= set(ids), f"{path}: add {parameters - set(ids)} to path_ids"
            url = "/api/v1" + re.sub(r"{(\w+)}", lambda m: str(ids[m.group(1)]), path)
            body = None
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content:
                body = sample(content["schema"], "", refs)
            query = {p["name"]: refs[p["name"]] for p in operation["parameters"]
                     if p["in"] == "query" and p["name"] in refs}
            if method == "delete":
                query["version"] = 1
            response = client.open(url, method=method.upper(), json=body, query_string=query, headers=headers)
            text = response.get_data(as_text=True)
            where = f"{method.upper()} {url} {query or ''}"
            world.assert_nothing_of_b(text, where, sent=query.values())
            if method == "get" and not parameters:
                assert response.status_code in (200, 403), f"{where} answered {response.status_code}"
                payload = response.get_json(silent=True) if response.status_code == 200 else {}
                if payload is None:  # a list download: its heading row and not one record
                    assert len(text.strip().splitlines()) == 1, f"{where} exports B's records"
                elif "items" in payload:
                    assert payload["items"] == [], f"{where} lists B's records"
                elif "groups" in payload:
                    assert payload["record_url"] is None and payload["groups"] == [], f"{where} finds B's records"
            else:
                assert response.status_code in (403, 404, 422), f"{where} answered {response.status_code}: {text}"
            checked += 1
    assert checked > 40
    assert snapshot() == before


def test_api_writes_with_account_b_fields_on_account_a_records_write_nothing(client_for, users, world):
    client = client_for(None)
    headers = {"Authorization": f"Bearer {api_token(client, users['customer'])}"}
    before = snapshot()
    attempts = [
        ("POST", "/api/v1/cases", {"service_id": world.service.id, "account_id": world.a.id,
                                   "scope": Scope.SINGLE_ORDER, "short_description": "x",
                                   "order_id": world.b_order.id}),
        ("POST", "/api/v1/cases", {"service_id": world.service.id, "account_id": world.a.id,
                                   "scope": Scope.SINGLE_ORDER, "short_description": "x",
                                   "order_number": world.b_order.number}),
        ("POST", f"/api/v1/cases/{world.a_case.id}/actions/add-lines",
         {"version": world.a_case.version, "order_line_ids": [world.b_order_line.id]}),
        ("PATCH", f"/api/v1/case-lines/{world.a_line.id}",
         {"version": world.a_line.version, "requested_location_id": world.b_location.id}),
        ("POST", "/api/v1/orders", {"account_id": world.a.id, "shipping_location_id": world.b_location.id}),
        ("POST", "/api/v1/orders", {"account_id": world.a.id, "contact_id": world.b_contact.id}),
        ("POST", "/api/v1/order-lines", {"order_id": world.a_portal_order.id,
                                         "order_version": world.a_portal_order.version,
                                         "offering_id": world.offering.id, "location_id": world.b_location.id}),
        ("POST", "/api/v1/order-lines", {"order_id": world.a_portal_order.id,
                                         "order_version": world.a_portal_order.version, "action": "change",
                                         "inventory_id": world.b_inventory.id}),
    ]
    for method, url, body in attempts:
        response = client.open(url, method=method, json=body, headers=headers)
        assert response.status_code in (403, 404, 422), f"{method} {url} {body}: {response.status_code}"
        world.assert_nothing_of_b(response.get_data(as_text=True), f"{method} {url} {body}")
    assert snapshot() == before


def test_the_api_shows_a_customer_their_own_account(client_for, users, world):
    client = client_for(None)
    headers = {"Authorization": f"Bearer {api_token(client, users['customer'])}"}
    cases = client.get("/api/v1/cases", headers=headers).get_json()
    assert {item["number"] for item in cases["items"]} == {world.a_case.number, world.a_multi.number}
    orders = client.get("/api/v1/orders", headers=headers).get_json()
    assert world.a_order.number in {item["number"] for item in orders["items"]}
    assert client.get(f"/api/v1/cases/{world.a_case.id}", headers=headers).status_code == 200
    assert client.get("/api/v1/auth/me", headers=headers).get_json()["account_id"] == world.a.id


def test_another_accounts_attachments_answer_404_and_reveal_nothing(client_for, users, world):
    """Attachment ids of account B, by every door a customer has, answer exactly as ids that do not exist."""
    portal = client_for("customer")
    api = client_for(None)
    headers = {"Authorization": f"Bearer {api_token(api, users['customer'])}"}
    before = snapshot()
    missing = 2_000_000
    for attachment in (world.b_attachment, world.b_order_attachment):
        for attachment_id in (attachment.id, missing):
            response = portal.get(f"/portal/attachments/{attachment_id}")
            assert response.status_code == 404
            world.assert_nothing_of_b(response.get_data(as_text=True), f"portal attachment {attachment_id}")
            answers = [api.get(f"/api/v1/attachments/{attachment_id}{suffix}", headers=headers)
                       for suffix in ("", "/content")]
            answers.append(api.delete(f"/api/v1/attachments/{attachment_id}", headers=headers))
            for answer in answers:
                assert answer.status_code == 404
                assert answer.get_json() == {"message": "The attachment does not exist, or you may not see it."}
    listed = api.get(f"/api/v1/orders/{world.b_order.id}/attachments", headers=headers)
    assert listed.status_code == 404
    world.assert_nothing_of_b(listed.get_data(as_text=True), "B's order's attachments")
    # The customer's own file is there by every door.
    assert portal.get(f"/portal/attachments/{world.a_attachment.id}").status_code == 200
    own = api.get(f"/api/v1/cases/{world.a_case.id}/attachments", headers=headers).get_json()
    assert [item["filename"] for item in own["items"]] == ["Alpha-invoice.pdf"]
    page = portal.get(f"/portal/cases/{world.a_case.id}/").get_data(as_text=True)
    assert "Alpha-invoice.pdf" in page
    world.assert_nothing_of_b(page, "A's case page")
    assert snapshot() == before


def b_searches(world) -> list[str]:
    """What a customer of A might type to find B: every number, name and word of B."""
    return [*world.b_secrets, world.b_order.tmf_id, "xyzzy", "plugh", "frob", "hiddenfield", "beta secret"]


def test_search_finds_only_the_customers_own_account(client_for, users, world):
    client = client_for("customer")
    for text in b_searches(world):
        response = client.get("/portal/search/", query_string={"q": text})
        assert response.status_code == 200, text
        world.assert_nothing_of_b(response.get_data(as_text=True), f"portal search {text!r}", sent=[text])
    found = client.get("/portal/search/", query_string={"q": world.a_case.number.lower()})
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/portal/cases/{world.a_case.id}/")
    world.a_case.short_description = "Alpha wobbly shelf"
    db.session.commit()
    html = client.get("/portal/search/?q=wobbly").get_data(as_text=True)
    assert world.a_case.number in html and f"/portal/cases/{world.a_case.id}/" in html
    api = client_for(None)
    headers = {"Authorization": f"Bearer {api_token(api, users['customer'])}"}
    for text in b_searches(world):
        result = api.get("/api/v1/search", query_string={"q": text}, headers=headers)
        assert result.status_code == 200, text
        assert result.get_json()["record_url"] is None and result.get_json()["groups"] == [], text
    mine = api.get("/api/v1/search", query_string={"q": "wobbly"}, headers=headers).get_json()
    assert [hit["number"] for group in mine["groups"] for hit in group["items"]] == [world.a_case.number]


def test_exports_hold_only_the_customers_own_account(client_for, users, world):
    client = client_for("customer")
    for url in ("/portal/cases/export.csv", "/portal/cases/export.xlsx", "/portal/orders/export.csv",
                "/portal/cases/export.csv?state=Resolved"):
        response = client.get(url)
        assert response.status_code == 200, url
        if url.endswith(".csv"):
            world.assert_nothing_of_b(response.get_data(as_text=True), url)
    cases = client.get("/portal/cases/export.csv").get_data(as_text=True)
    assert world.a_case.number in cases and world.a_multi.number in cases
    for url in ("/export/OrderCaseView.csv", "/export/CustomerOrderView.xlsx"):
        assert client.get(url).status_code == 403
    api = client_for(None)
    headers = {"Authorization": f"Bearer {api_token(api, users['customer'])}"}
    for path in ("/cases/export", "/case-lines/export", "/orders/export", "/order-lines/export"):
        response = api.get(f"/api/v1{path}", headers=headers)
        assert response.status_code == 200, path
        world.assert_nothing_of_b(response.get_data(as_text=True), path)
    exported = api.get("/api/v1/cases/export", headers=headers).get_data(as_text=True)
    assert world.a_case.number in exported

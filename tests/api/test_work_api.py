"""The REST API's search, exports, bulk operations and approvals inbox, in the OpenAPI document."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlalchemy import select

from app.api.schemas import CASE, CASE_LINE, ORDER, ORDER_LINE
from app.api.work import _cell
from app.core.choices import CaseState, LineState, OrderLineState, OrderState
from app.core.extensions import db
from app.exports.writers import _csv_value
from app.models import CustomerOrder, EnrichmentIssue, OrderCase, OrderCaseLine, OrderLineItem
from tests import factories


def token(client, login) -> dict:
    response = client.post("/api/v1/auth/token", json={"username": login.username, "password": login.password})
    assert response.status_code == 200
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


@pytest.fixture
def api(client_for, users):
    client = client_for(None)
    return client, {role: token(client, users[role]) for role in ("agent", "manager", "customer", "integrator")}


@pytest.fixture
def records():
    account = factories.make_account("Api Finding Co")
    case = factories.make_case(account, state=CaseState.NEW)
    case.short_description = "Capybara crate crushed"
    resolved = factories.make_case(account, order=factories.make_order(account, lines=1),
                                   state=CaseState.RESOLVED, line_state=LineState.ACCEPTED)
    orders = [factories.make_order(account, lines=1, state=OrderState.NEW, line_state=OrderLineState.NEW)
              for _ in range(3)]
    db.session.commit()
    return {"case": case, "resolved": resolved, "orders": orders}


def test_search_jumps_and_finds_words(api, records):
    client, headers = api
    case = records["case"]
    jump = client.get("/api/v1/search", query_string={"q": case.number.lower()}, headers=headers["agent"]).get_json()
    assert jump["record_url"] == f"/ordercases/{case.id}"
    found = client.get("/api/v1/search?q=capybara", headers=headers["agent"]).get_json()
    assert found["record_url"] is None
    assert found["groups"][0]["key"] == "cases" and found["groups"][0]["items"][0]["number"] == case.number
    assert client.get("/api/v1/search?q=capybara", headers=headers["integrator"]).status_code == 403
    assert client.get("/api/v1/search?group=nonsense", headers=headers["agent"]).status_code == 422


def test_exports_follow_the_list_filters(api, records):
    client, headers = api
    response = client.get("/api/v1/cases/export?state=Resolved", headers=headers["agent"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [row["number"] for row in rows] == [records["resolved"].number]
    workbook = client.get("/api/v1/orders/export?format=xlsx&state=New", headers=headers["manager"])
    values = list(openpyxl.load_workbook(io.BytesIO(workbook.get_data()), read_only=True).active.values)
    headings = values[0]
    assert {row[headings.index("number")] for row in values[1:]} == {o.number for o in records["orders"]}
    assert all(isinstance(row[headings.index("total_amount")], (int, float)) for row in values[1:])
    assert client.get("/api/v1/orders/export?format=pdf", headers=headers["agent"]).status_code == 422
    assert client.get("/api/v1/cases/export", headers=headers["integrator"]).status_code == 403


def test_bulk_operations_report_each_record(api, records, users):
    client, headers = api
    first, second, third = records["orders"]
    refused = client.post("/api/v1/orders/bulk/approve", json={"ids": [first.id]}, headers=headers["agent"])
    assert refused.status_code == 403
    done = client.post("/api/v1/orders/bulk/approve", json={"ids": [first.id, second.id, 999999]},
                       headers=headers["manager"]).get_json()
    assert done["summary"] == "Approve: 2 of 3 done, 1 refused."
    assert [(o["number"], o["done"]) for o in done["outcomes"]] == [(first.number, True), (second.number, True),
                                                                     ("#999999", False)]
    no_reason = client.post("/api/v1/orders/bulk/reject", json={"ids": [third.id]}, headers=headers["manager"])
    assert no_reason.status_code == 422
    rejected = client.post("/api/v1/orders/bulk/reject", json={"ids": [third.id], "reason": "Duplicate"},
                           headers=headers["manager"]).get_json()
    assert rejected["outcomes"][0]["done"]
    db.session.expire_all()
    assert db.session.get(CustomerOrder, third.id).state == OrderState.REJECTED
    closed = client.post("/api/v1/cases/bulk/close", json={"ids": [records["resolved"].id, records["case"].id]},
                         headers=headers["agent"]).get_json()
    assert [o["done"] for o in closed["outcomes"]] == [True, False]
    priority = client.post("/api/v1/cases/bulk/set-priority", json={"ids": [records["case"].id], "priority": 2},
                           headers=headers["manager"]).get_json()
    db.session.expire_all()
    assert priority["outcomes"][0]["done"] and db.session.get(OrderCase, records["case"].id).priority == 2
    reassigned = client.post("/api/v1/cases/bulk/reassign", json={"ids": [records["case"].id],
                                                                 "assigned_to_id": users["agent"].id},
                             headers=headers["manager"]).get_json()
    assert reassigned["outcomes"][0]["done"]
    assert client.post("/api/v1/cases/bulk/close", json={"ids": []}, headers=headers["agent"]).status_code == 422


def test_the_approvals_inbox(api, records):
    client, headers = api
    inbox = client.get("/api/v1/approvals", headers=headers["manager"]).get_json()
    assert inbox["count"] == 3 and {item["number"] for item in inbox["items"]} == {o.number for o in records["orders"]}
    assert client.get("/api/v1/approvals", headers=headers["agent"]).status_code == 403
    keys = [item["key"] for item in inbox["items"][:2]]
    decided = client.post("/api/v1/approvals/decide", json={"ids": keys, "decision": "approve"},
                          headers=headers["manager"]).get_json()
    assert decided["summary"] == "Approve: 2 of 2 done."
    assert client.get("/api/v1/approvals", headers=headers["manager"]).get_json()["count"] == 1


def test_the_openapi_document_describes_them(api):
    client, _headers = api
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/search", "/cases/export", "/orders/export", "/case-lines/export", "/order-lines/export",
                 "/cases/bulk/reassign", "/cases/bulk/set-priority", "/cases/bulk/close", "/orders/bulk/approve",
                 "/orders/bulk/reject", "/order-lines/bulk/start", "/order-lines/bulk/complete", "/approvals",
                 "/approvals/decide"):
        assert path in paths, path


@pytest.mark.parametrize("path, resource, model", [
    ("/api/v1/cases/export", CASE, OrderCase), ("/api/v1/case-lines/export", CASE_LINE, OrderCaseLine),
    ("/api/v1/orders/export", ORDER, CustomerOrder), ("/api/v1/order-lines/export", ORDER_LINE, OrderLineItem)])
def test_an_export_row_holds_what_the_record_holds(api, records, path, resource, model):
    """Rows are read as plain columns, collections once per batch: each cell must still be the record's own
    value for that field as the API gives it (getters, characteristics, enrichment issues included)."""
    client, headers = api
    order = records["orders"][0]
    db.session.add(EnrichmentIssue(order=order, kind="offering", reference="SKU-9", description="Unknown SKU"))
    db.session.commit()
    response = client.get(path, headers=headers["manager"])
    exported = {row["id"]: row for row in csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig")))}
    found = db.session.scalars(select(model)).all()
    assert found and sorted(exported) == sorted(str(record.id) for record in found)
    for record in found:
        expected = [_csv_value(_cell(getter(record) if getter else getattr(record, field)))
                    for field, _schema, getter, _nullable in resource.fields]
        assert list(exported[str(record.id)].values()) == [str(value) for value in expected], record.number
    for collection in ("characteristics", "enrichment_issues"):
        if collection in exported[str(found[0].id)] and model is not OrderCaseLine:
            assert any(row[collection] not in ("{}", "[]") for row in exported.values()), collection

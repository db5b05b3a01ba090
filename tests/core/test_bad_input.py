"""The holes found by probing, each closed: malformed list addresses, NUL, control characters and over-long
text in web and portal forms, deeply nested JSON on every API (app/core/input_guard.py)."""
from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.core.choices import JournalKind, Scope
from app.core.input_guard import MAX_JSON_DEPTH, MAX_TEXT, json_depth
from app.models import Contact, JournalEntry, OrderCase
from tests import factories
from tests.api.test_rest_api import api_key

P622 = "/tmf-api/productOrderingManagement/v4"
S641 = "/tmf-api/serviceOrdering/v4"


def count(model) -> int:
    return factories.db.session.scalar(select(func.count()).select_from(model))


def test_every_list_refuses_malformed_paging_sorting_and_filters_with_400(app, client_for):
    admin = client_for("admin")
    lists = app.extensions["list_views"]
    assert len(lists) >= 30
    probes = 0
    for name, view in lists.items():
        url = f"{view.route_base}/list/"
        filters = view._filters.get_search_filters() if view.search_columns else {}
        # The first filter index past the column's filters (FAB reads one digit).
        beyond = [f"_flt_{len(found)}_{column}=x" for column, found in sorted(filters.items()) if len(found) < 10][:1]
        for query in [f"page_{name}=abc", f"page_{name}=-1", f"page_{name}=99999999999",
                      f"psize_{name}=0", f"psize_{name}=100000", f"psize_{name}=1.5",
                      f"_oc_{name}=no_such_column&_od_{name}=asc", f"_oc_{name}=id&_od_{name}=sideways",
                      "_flt_0_name=a%00b", "_flt_0_name=%1b[31m", *beyond]:
            response = admin.get(f"{url}?{query}")
            probes += 1
            assert response.status_code == 400, f"{url}?{query} answered {response.status_code}"
            assert b"This address could not be used" in response.data
        # In-range values still page and sort.
        sortable = sorted(view.order_columns or [])
        query = f"page_{name}=0&psize_{name}=25" + (f"&_oc_{name}={sortable[0]}&_od_{name}=desc" if sortable else "")
        assert admin.get(f"{url}?{query}").status_code == 200, f"{url}?{query}"
    assert probes >= 300


def test_every_filter_refuses_a_value_it_cannot_compare_with_400(app, client_for):
    """On PostgreSQL these reached the database as text: a record filter given a non-number was answered
    with a redirect and "ApplyFilterException: DataError", a yes/no column or a number out of range 500."""
    from flask_appbuilder.models.sqla.filters import FilterRelation

    admin = client_for("admin")
    checked = Counter()
    for name, view in sorted(app.extensions["list_views"].items()):
        filters = view._filters.get_search_filters() if view.search_columns else {}
        for column, found in sorted(filters.items()):
            for index, list_filter in enumerate(found):
                if isinstance(list_filter, FilterRelation):
                    kind, bad, good = "record", ["abc", "", "__None", "99999999999"], "1"
                elif view.datamodel.is_boolean(column):
                    kind, bad, good = "yes/no", ["1", "true", ""], "y"
                elif view.datamodel.is_integer(column):
                    kind, bad, good = "number", ["99999999999999999999", "1.5", "abc"], "2"
                else:
                    continue
                url = f"{view.route_base}/list/"
                for value in bad:
                    response = admin.get(url, query_string={f"_flt_{index}_{column}": value})
                    assert response.status_code == 400, f"{url} {column}={value!r} answered {response.status_code}"
                    checked[kind] += 1
                response = admin.get(url, query_string={f"_flt_{index}_{column}": good})
                assert response.status_code == 200, f"{url} {column}={good!r} answered {response.status_code}"
    assert checked["record"] > 100 and checked["yes/no"] > 20 and checked["number"] > 20, checked


@pytest.fixture
def portal_account(users):
    account = factories.make_account("Guarded Co")
    account.primary_contact.user_id = users["customer"].id
    factories.db.session.commit()
    return account


BAD_TEXT = {
    "NUL": ("Please\x00call", "contains a NUL character"),
    "escape": ("Colour \x1b[31mred", "contains a control character (U+001B)"),
    "over-long": ("x" * 300_000, f"is longer than {MAX_TEXT:,} characters (300,000)"),
}


@pytest.mark.parametrize("bad", sorted(BAD_TEXT))
def test_web_and_portal_forms_refuse_bad_text_with_422_and_store_nothing(client_for, users, portal_account, bad):
    value, reason = BAD_TEXT[bad]
    order = factories.make_order(portal_account, lines=1)
    case = factories.make_case(portal_account, order, [order.lines[0]])
    agent, customer = client_for("agent"), client_for("customer")
    service = factories.make_service()
    cases, journal = count(OrderCase), count(JournalEntry)
    version = case.version
    submissions = [
        (agent, f"/ordercases/{case.id}/edit", {"short_description": "Edited", "description": value,
                                                "priority": "3", "version": case.version}, None, "Description"),
        (agent, f"/ordercases/{case.id}", {"kind": JournalKind.WORK_NOTE, "text": value},
         f"/ordercases/{case.id}/journal", "Text"),
        (agent, f"/ordercases/create/intake?service_id={service.id}",
         {"service_id": service.id, "origin": "list", "account_id": portal_account.id, "scope": Scope.MULTIPLE_ORDERS,
          "short_description": value, "priority": "4"}, None, "Short description"),
        (customer, "/portal/cases/new", {"scope": Scope.SINGLE_ORDER, "order_number": order.number, "priority": "4",
                                         "short_description": "Change", "description": value}, None, "Description"),
        (customer, f"/portal/cases/{case.id}/", {"text": value}, f"/portal/cases/{case.id}/comment", "Text"),
    ]
    for client, form_url, data, post_url, label in submissions:
        response = client.submit(form_url, data, post_url=post_url)
        target = post_url or form_url
        assert response.status_code == 422, f"{target} answered {response.status_code}"
        page = response.get_data(as_text=True)
        assert f"{label} {reason}; nothing was saved." in page, f"{target}: {page[:300]}"
        assert len(page) < 50_000, "the refusal does not echo the input"
    factories.db.session.expire_all()
    assert (count(OrderCase), count(JournalEntry)) == (cases, journal)
    assert factories.db.session.get(OrderCase, case.id).version == version


def test_tabs_and_line_breaks_are_text_and_the_limit_itself_is_accepted(client_for, portal_account):
    order = factories.make_order(portal_account, lines=1)
    case = factories.make_case(portal_account, order, [order.lines[0]])
    agent = client_for("agent")
    for text in ("Line one\r\n\tindented", "x" * MAX_TEXT):
        response = agent.submit(f"/ordercases/{case.id}", {"kind": JournalKind.WORK_NOTE, "text": text},
                                post_url=f"/ordercases/{case.id}/journal")
        assert response.status_code == 302
    stored = factories.db.session.scalars(select(JournalEntry.text).order_by(JournalEntry.id)).all()
    assert stored[-2:] == ["Line one\r\n\tindented", "x" * MAX_TEXT]


def test_the_refusal_page_fits_the_portal_and_answers_json_to_json_clients(client_for, portal_account):
    customer = client_for("customer")
    page = customer.submit("/portal/cases/new", {"short_description": "a\x00b"})
    assert page.status_code == 422 and b'class="portal' in page.data
    as_json = customer.get("/ordercaseview/list/?page_OrderCaseView=x", headers={"Accept": "application/json"})
    assert as_json.status_code == 400
    assert as_json.get_json()["errors"] == {"page_OrderCaseView": as_json.get_json()["message"]}


def nested(depth: int) -> str:
    """JSON nested *depth* levels (objects and arrays by turns), as text: too deep for json.dumps."""
    opening = "".join('{"x": ' if level % 2 == 0 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 == 0 else "]" for level in reversed(range(depth)))
    return f'{opening}"deep"{closing}'


def test_json_depth_is_measured_without_parsing():
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth(nested(5000).encode()) == 5000
    assert json_depth(b'"\\"[[["') == 0


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_refused_with_400_on_every_api(client_for, users, depth):
    anonymous = client_for(None)
    key = api_key(users["integrator"])
    agent_key = api_key(users["agent"])
    body = '{"relatedParty": ' + nested(depth) + "}"
    calls = [
        ("/api/v1/auth/token", None, "message"),
        ("/api/v1/cases", agent_key, "message"),
        (f"{P622}/productOrder", key, "reason"),
        (f"{S641}/serviceOrder", key, "reason"),
        (f"{P622}/hub", key, "reason"),
    ]
    for url, token, field in calls:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = anonymous.post(url, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 400, f"{url} answered {response.status_code}"
        assert "nested more than" in json.dumps(response.get_json()), response.get_json()
        assert field in response.get_json()
    patch = anonymous.patch(f"{P622}/productOrder/anything", data=body, content_type="application/merge-patch+json",
                            headers={"Authorization": f"Bearer {key}"})
    assert patch.status_code == 400 and patch.get_json()["@type"] == "Error"


def test_json_within_the_depth_limit_reaches_the_schema_checks(client_for, users):
    key = api_key(users["agent"])
    response = client_for(None).post("/api/v1/cases", data='{"relatedParty": ' + nested(MAX_JSON_DEPTH - 1) + "}",
                                     content_type="application/json", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 422 and response.get_json()["errors"]["relatedParty"] == "Unknown field"


def test_rest_text_refuses_control_characters_like_the_forms(client_for, users):
    account = factories.make_account("Rest Text Co")
    service = factories.make_service()
    key = api_key(users["agent"])
    before = count(OrderCase)
    response = client_for(None).post("/api/v1/cases", json={
        "service_id": service.id, "account_id": account.id, "scope": Scope.MULTIPLE_ORDERS,
        "short_description": "Bell\x07", "description": "x" * (MAX_TEXT + 1)}, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"short_description": "Must not contain NUL or control characters",
                                             "description": f"At most {MAX_TEXT} characters"}
    assert count(OrderCase) == before


def test_a_customer_naming_another_accounts_contact_gets_422_not_a_substitute(client_for, users, portal_account):
    other = factories.make_account("Someone Else Ltd")
    service = factories.make_service()
    key = api_key(users["customer"])
    client = client_for(None)
    headers = {"Authorization": f"Bearer {key}"}
    before = count(OrderCase)
    refused = client.post("/api/v1/cases", json={
        "service_id": service.id, "account_id": portal_account.id, "scope": Scope.MULTIPLE_ORDERS,
        "short_description": "Whose contact?", "contact_id": other.primary_contact_id}, headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"contact_id": "Not found on your account"}
    assert count(OrderCase) == before
    # Their own contact is accepted, as it was.
    created = client.post("/api/v1/cases", json={
        "service_id": service.id, "account_id": portal_account.id, "scope": Scope.MULTIPLE_ORDERS,
        "short_description": "Mine", "contact_id": portal_account.primary_contact_id}, headers=headers)
    assert created.status_code == 201 and created.get_json()["contact_id"] == portal_account.primary_contact_id
    # The header edit holds the same line.
    case = created.get_json()
    edited = client.patch(f"/api/v1/cases/{case['id']}", json={
        "version": case["version"], "short_description": "Mine", "contact_id": other.primary_contact_id},
        headers=headers)
    assert edited.status_code == 422
    assert factories.db.session.get(Contact, other.primary_contact_id).account_id == other.id


def test_an_address_with_a_control_character_names_nothing_and_answers_404_in_each_surface(client_for, users):
    """Identifiers never hold control characters, so such an address is an unknown record (TMF clients
    expect 404 for an id that matches nothing), answered before any query is built from it."""
    key = api_key(users["integrator"])
    agent_key = api_key(users["agent"])
    web = client_for("agent").get("/ordercaseview/show/1%06")
    assert web.status_code == 404 and b"control character" in web.data
    rest = client_for(None).get("/api/v1/cases/ORDCS%02", headers={"Authorization": f"Bearer {agent_key}"})
    assert rest.status_code == 404 and rest.is_json
    for method, url in (("GET", f"{P622}/productOrder/%C3%81%06"), ("GET", f"{S641}/serviceOrder/a%02b"),
                        ("DELETE", f"{P622}/hub/%5D%02")):
        tmf = client_for(None).open(url, method=method, headers={"Authorization": f"Bearer {key}"})
        assert tmf.status_code == 404, url
        assert tmf.get_json()["@type"] == "Error" and tmf.get_json()["code"] == "404", tmf.get_json()

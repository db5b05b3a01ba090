"""The type-ahead look-ups of the order and quote forms (``<view>/lookup``, ``app/orders/lookups.py``) and the
in-place refresh of the fields that follow the account (``<order view>/parties``), through HTTP."""
from __future__ import annotations

import pytest
from flask import current_app
from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import event

from app.core.choices import SpecKind
from app.core.extensions import db
from app.models import Account, Contact, Location
from app.orders import lookups
from tests import factories
from tests.conftest import log_in


def labels(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [choice["label"] for choice in response.get_json()["results"]]


@pytest.fixture
def accounts():
    northwind = factories.make_account("Northwind Traders")
    northern = factories.make_account("Northern Lights Ltd")
    factories.make_account("Contoso")
    closed = factories.make_account("Northwind Closed")
    closed.active = False
    db.session.add(Contact(account=northwind, first_name="Nora", last_name="Quill", email="nora@northwind.test"))
    db.session.add(Location(name="Depot", city="Leeds", account=northwind))
    db.session.commit()
    return {"northwind": northwind, "northern": northern}


def test_accounts_match_a_half_typed_name_or_a_number_and_skip_inactive_ones(client_for, accounts):
    agent = client_for("agent")
    northwind = accounts["northwind"]
    assert labels(agent.get("/accountview/lookup?q=nort")) == [
        f"Northern Lights Ltd ({accounts['northern'].number})", f"Northwind Traders ({northwind.number})"]
    assert labels(agent.get("/accountview/lookup?q=northwind%20tra")) == [f"Northwind Traders ({northwind.number})"]
    digits = str(int(northwind.number[3:]))
    for typed in (northwind.number, northwind.number.lower(), digits):
        assert labels(agent.get("/accountview/lookup", query_string={"q": typed}))[0].startswith("Northwind Traders")
    assert labels(agent.get("/accountview/lookup?q=zzz")) == []
    # Nothing typed: the first active accounts by name.
    assert labels(agent.get("/accountview/lookup"))[0].startswith("Contoso")
    choice = agent.get("/accountview/lookup?q=northwind").get_json()["results"][0]
    assert choice == {"id": northwind.id, "label": f"Northwind Traders ({northwind.number})", "detail": ""}


def test_contacts_and_sites_are_those_of_the_account_given(client_for, accounts):
    agent = client_for("agent")
    northwind = accounts["northwind"]
    assert labels(agent.get(f"/contactview/lookup?account_id={northwind.id}")) == ["Pat Buyer", "Nora Quill"]
    assert labels(agent.get(f"/contactview/lookup?account_id={northwind.id}&q=no")) == ["Nora Quill"]
    assert labels(agent.get(f"/contactview/lookup?account_id={accounts['northern'].id}&q=nora")) == []
    assert labels(agent.get(f"/locationview/lookup?account_id={northwind.id}")) == ["Depot, Leeds", "HQ, Springfield"]
    assert labels(agent.get(f"/locationview/lookup?account_id={northwind.id}&q=leed")) == ["Depot, Leeds"]
    detail = agent.get(f"/contactview/lookup?account_id={northwind.id}&q=quill").get_json()["results"][0]["detail"]
    assert detail == "nora@northwind.test"


def test_offerings_follow_the_order_type_and_currency_as_the_line_form_does(client_for):
    desk = factories.make_offering("Standing desk")
    lan = factories.make_offering("Managed LAN", kind=SpecKind.SERVICE)
    agent = client_for("agent")
    product = labels(agent.get("/productofferingview/lookup?order_type=product&currency=USD"))
    service = labels(agent.get("/productofferingview/lookup?order_type=service&currency=USD"))
    assert [label.split(" — ")[0] for label in product] == ["Standing desk"]
    assert [label.split(" — ")[0] for label in service] == ["Managed LAN"]
    assert labels(agent.get("/productofferingview/lookup?currency=EUR")) == []
    assert labels(agent.get("/productofferingview/lookup?q=desk"))[0].startswith("Standing desk")
    assert labels(agent.get(f"/productofferingview/lookup?q={lan.number}"))[0].startswith("Managed LAN")
    assert desk.id != lan.id


def test_at_most_twenty_matches_in_at_most_five_statements(app, client_for):
    """Three read the signed-in user and their permissions; the look-up is one query (SQLite first asks its
    full-text table whether the words are frequent)."""
    for number in range(25):
        db.session.add(Account(name=f"Bulk account {number:02d}"))
    db.session.commit()
    agent = client_for("agent")
    statements = []

    def count(*_args):
        statements.append(1)

    engine = db.engines[None]
    agent.get("/accountview/lookup?q=bulk")  # the user's permissions are read once per request: warm
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = labels(agent.get("/accountview/lookup?q=bulk"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(found) == lookups.LOOKUP_LIMIT and found[0].startswith("Bulk account 00")
    assert len(statements) <= 5, f"{len(statements)} statements for one look-up"


@pytest.mark.parametrize("url, status", [
    ("/contactview/lookup?account_id=abc", 422),
    ("/contactview/lookup?account_id=1e3", 422),
    ("/locationview/lookup?account_id=99999999999999999999", 422),
    ("/productofferingview/lookup?order_type=rocket", 422),
    ("/productofferingview/lookup?currency=dollars", 422),
    ("/accountview/lookup?q=" + "a" * 151, 422),
    ("/accountview/lookup?q=" + "a" * 20000, 400),
    ("/accountview/lookup?q=north%00wind", 400),
    ("/contactview/lookup?account_id=1%00", 400),
])
def test_bad_input_is_refused_with_a_reason_never_a_server_error(client_for, url, status):
    response = client_for("agent").get(url)
    assert response.status_code == status
    if status == 422:
        assert response.get_json()["message"]


@pytest.mark.parametrize("typed", ["*", "a:*", "\"", "'", "!", "& |", "NEAR", "_", "%", "é"])
def test_any_typed_text_is_searched_for_not_read_as_an_operator(client_for, accounts, typed):
    assert client_for("agent").get("/accountview/lookup", query_string={"q": typed}).status_code == 200
    assert client_for("agent").get("/contactview/lookup", query_string={
        "account_id": accounts["northwind"].id, "q": typed}).status_code == 200


def test_only_who_may_list_the_records_may_look_them_up(app, client_for, accounts):
    assert client_for("customer").get("/accountview/lookup?q=north").status_code == 403
    assert client_for("customer").get("/contactview/lookup").status_code == 403
    anonymous = client_for(None).get("/accountview/lookup?q=north")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    sm = current_app.appbuilder.sm
    role = sm.add_role("contacts_only_h17t")
    sm.add_permission_role(role, sm.find_permission_view_menu("can_list", "ContactView"))
    try:
        login = factories.make_user("contacts_only_h17t")
        client = client_for(None)
        log_in(client, login)
        assert client.get("/accountview/lookup?q=north").status_code == 403
        assert client.get(f"/contactview/lookup?account_id={accounts['northwind'].id}").status_code == 200
    finally:
        db.session.query(Role).filter_by(name="contacts_only_h17t").delete()
        db.session.commit()


def test_the_fields_that_follow_the_account_are_rendered_for_the_account_chosen(client_for, accounts):
    agent = client_for("agent")
    northwind, northern = accounts["northwind"], accounts["northern"]
    fragment = agent.get(f"/customerorderview/parties?account_id={northwind.id}"
                         f"&contact_id={northern.primary_contact_id}")
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html
    # The other account's contact gives way to this account's primary contact; its sites are offered.
    assert f'<option value="{northwind.primary_contact_id}" selected>' in html
    assert "Nora Quill" in html and "Depot, Leeds" in html
    assert f'<option value="{northwind.shipping_location_id}" selected>' in html
    nora = db.session.query(Contact).filter_by(last_name="Quill").one()
    kept = agent.get(f"/customerorderview/parties?account_id={northwind.id}&contact_id={nora.id}")
    assert f'<option value="{nora.id}" selected>' in kept.get_data(as_text=True)
    quote = agent.get(f"/quoteview/parties?account_id={northern.id}").get_data(as_text=True)
    assert "Pat Buyer" in quote and "shipping_location_id" not in quote
    nothing = agent.get("/customerorderview/parties?account_id=x").get_data(as_text=True)
    assert "choose the account first" in nothing
    assert client_for("customer").get(f"/customerorderview/parties?account_id={northwind.id}").status_code == 403


def test_a_form_without_script_finds_an_account_by_name_then_saves(client_for, accounts):
    agent = client_for("agent")
    found = agent.submit("/customerorderview/add", {"account_search": "northwind", "refresh": "1",
                                                    "currency": "USD"})
    html = found.get_data(as_text=True)
    assert found.status_code == 200 and "Northwind Traders" in html and "Contoso" not in html
    northwind = accounts["northwind"]
    loaded = agent.submit("/customerorderview/add", {"account_id": northwind.id, "refresh": "1", "currency": "USD"})
    assert "Nora Quill" in loaded.get_data(as_text=True)
    saved = agent.submit("/customerorderview/add", {"account_id": northwind.id, "contact_id": northwind.primary_contact_id,
                                                    "currency": "USD", "description": "Typed ahead"})
    assert saved.status_code == 302

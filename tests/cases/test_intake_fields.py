"""The intake form's account and contact: the account typed ahead as on the order forms, the contact following
it in place (``/ordercases/create/parties``), and Find / Load contacts for a browser without script.
Through HTTP with real logins and CSRF on."""
from __future__ import annotations

import html as html_lib

import pytest

from app.core.choices import Scope
from app.core.extensions import db
from app.models import Account, Contact, OrderCase
from app.orders import lookups
from tests import factories


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def service():
    return factories.make_service()


@pytest.fixture
def northwind():
    account = factories.make_account("Northwind Traders")
    factories.make_account("Contoso")
    db.session.add(Contact(account=account, first_name="Nora", last_name="Quill"))
    db.session.commit()
    return account


def intake_url(service) -> str:
    return f"/ordercases/create/intake?service_id={service.id}"


def test_the_account_is_a_type_ahead_not_a_capped_list(client_for, service, northwind):
    for number in range(lookups.CHOICE_LIMIT + 5):
        db.session.add(Account(name=f"Bulk account {number:02d}"))
    db.session.commit()
    page = text(client_for("agent").get(intake_url(service)))
    assert 'data-typeahead="/accountview/lookup"' in page
    assert 'data-refresh-url="/ordercases/create/parties"' in page and 'data-depends-on="account_id"' in page
    # Without script the select lists the first accounts only; Find narrows them (below).
    assert page.count('<option value="') - page.count('<option value="">') <= lookups.CHOICE_LIMIT + len(Scope.ALL)
    assert 'id="contact_id"' in page and "choose the account first" in page


def test_the_contact_fragment_follows_the_account_chosen(client_for, northwind):
    agent = client_for("agent")
    other = factories.make_account("Other Co")
    fragment = agent.get("/ordercases/create/parties", query_string={
        "account_id": northwind.id, "contact_id": other.primary_contact_id})
    html = text(fragment)
    assert fragment.status_code == 200 and "<html" not in html
    # Another account's contact gives way to this account's primary contact; no shipping site on a case.
    assert f'<option value="{northwind.primary_contact_id}" selected>' in html
    assert "Nora Quill" in html and "shipping_location_id" not in html
    # Left empty, a case's contact is the account's primary contact: the empty choice says so.
    assert '<option value="">(the account&#39;s primary contact)</option>' in html
    assert "choose the account first" in text(agent.get("/ordercases/create/parties?account_id=x"))
    assert client_for("customer").get(f"/ordercases/create/parties?account_id={northwind.id}").status_code == 403
    assert client_for("integrator").get("/ordercases/create/parties").status_code in (302, 403)


def test_without_script_find_and_load_contacts_then_save_with_the_contact_chosen(client_for, service, northwind):
    agent = client_for("agent")
    base = {"service_id": service.id, "origin": "list", "scope": Scope.MULTIPLE_ORDERS,
            "short_description": "Typed before Find"}
    found = agent.submit(intake_url(service), {**base, "account_search": "northw", "refresh": "1"})
    page = html_lib.unescape(text(found))
    assert found.status_code == 200 and "Northwind Traders" in page and "Contoso" not in page
    assert 'value="Typed before Find"' in page
    loaded = text(agent.submit(intake_url(service), {**base, "account_id": northwind.id, "refresh": "1"}))
    assert "Nora Quill" in loaded
    assert db.session.query(OrderCase).count() == 0
    nora = db.session.query(Contact).filter_by(last_name="Quill").one()
    saved = agent.submit(intake_url(service), {**base, "account_id": northwind.id, "contact_id": nora.id})
    assert saved.status_code == 302
    case = db.session.query(OrderCase).one()
    assert (case.account_id, case.contact_id) == (northwind.id, nora.id)


def test_a_contact_of_another_account_is_refused_and_nothing_is_written(client_for, service, northwind):
    other = factories.make_account("Other Co")
    refused = client_for("agent").submit(intake_url(service), {
        "service_id": service.id, "origin": "list", "scope": Scope.MULTIPLE_ORDERS, "short_description": "x",
        "account_id": northwind.id, "contact_id": other.primary_contact_id})
    assert refused.status_code == 422 and "is not a contact of Northwind Traders" in text(refused)
    assert db.session.query(OrderCase).count() == 0


def test_an_intake_from_an_order_starts_with_its_account_and_contact(client_for, service, northwind):
    order = factories.make_order(northwind, lines=1)
    page = text(client_for("agent").get(f"{intake_url(service)}&origin=customer_order&order_id={order.id}"))
    assert f'<option value="{northwind.id}" selected>' in page
    assert f'<option value="{order.contact_id}" selected>' in page

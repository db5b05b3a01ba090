"""A product order takes product offerings and a service order service offerings: the line form offers
only those, the workflows (and so the REST API) refuse the others, and a TMF order naming an offering of
the other kind keeps it as an enrichment issue instead of a line of the wrong kind. A quote, which
becomes one order, holds offerings of one kind."""
from __future__ import annotations

import html
import re

import pytest

from app.core.choices import OrderLineState, OrderState, OrderType, QuoteState, SpecKind
from app.core.exceptions import InvalidInput, StateConflict
from app.core.extensions import db
from app.models import CustomerOrder, EnrichmentIssue, Location, Quote, QuoteLine
from app.orders import quotes as qwf
from app.orders import workflows as wf
from tests import factories
from tests.api.test_rest_api import checker, rest_as  # noqa: F401  (fixtures: the REST harness)
from tests.orders.test_order_workflows import as_user, refused
from tests.tmf.test_tmf_api import S641, Tmf, api_key_for


@pytest.fixture
def catalog():
    return factories.make_offering("Laptop", "900.00"), factories.make_offering(
        "Managed firewall", "50.00", kind=SpecKind.SERVICE)


@pytest.fixture
def account():
    return factories.make_account("Kinds Co")


def draft(account, order_type) -> CustomerOrder:
    order = CustomerOrder(account=account, order_type=order_type, state=OrderState.DRAFT,
                          shipping_location=account.shipping_location)
    db.session.add(order)
    db.session.commit()
    return order


def test_each_order_type_takes_only_its_kind_of_offering(users, account, catalog):
    laptop, firewall = catalog
    agent = as_user(users, "agent")
    service = draft(account, OrderType.SERVICE)
    location = db.session.query(Location).filter_by(account_id=account.id).first()
    message = refused(wf.add_line, InvalidInput, agent, service.id, service.version,
                      {"offering_id": laptop.id, "location_id": location.id, "characteristics": {}})
    assert message == "Offering Laptop is a product offering; a service order takes service offerings."
    wf.add_line(agent, service.id, service.version, {"offering_id": firewall.id, "location_id": location.id})
    product = draft(account, OrderType.PRODUCT)
    refused(wf.add_line, InvalidInput, agent, product.id, product.version, {"offering_id": firewall.id},
            fragment="a product order takes product offerings")
    wf.add_line(agent, product.id, product.version, {"offering_id": laptop.id})


def test_the_line_form_lists_only_the_offerings_of_the_order_type(client_for, account, catalog):
    agent = client_for("agent")
    service = draft(account, OrderType.SERVICE)
    form = agent.get(f"/serviceorderview/line/{service.id}/add").get_data(as_text=True)
    assert "Managed firewall" in form and "Laptop" not in form
    product = draft(account, OrderType.PRODUCT)
    form = agent.get(f"/customerorderview/line/{product.id}/add").get_data(as_text=True)
    assert "Laptop" in form and "Managed firewall" not in form


def test_the_rest_api_refuses_an_offering_of_the_other_kind(rest_as, account, catalog):
    laptop, _firewall = catalog
    service = draft(account, OrderType.SERVICE)
    response = rest_as("agent").post("/order-lines", {
        "order_id": service.id, "order_version": service.version, "offering_id": laptop.id,
        "location_id": account.shipping_location_id})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"offering_id": "Not a service offering"}
    assert db.session.get(CustomerOrder, service.id).lines == []


def test_a_tmf_service_order_naming_a_product_offering_keeps_it_as_an_enrichment_issue(client_for, users, account,
                                                                                          catalog):
    laptop, firewall = catalog
    tmf = Tmf(client_for(None), api_key_for(users["integrator"]))
    body = {"relatedParty": [{"id": account.number, "@referredType": "Organization", "role": "customer"}],
            "serviceOrderItem": [
                {"id": "1", "action": "add", "service": {"serviceType": "CFS"},
                 "productOffering": {"id": laptop.number}},
                {"id": "2", "action": "add", "service": {"serviceType": "CFS"},
                 "productOffering": {"id": firewall.number}}]}
    response = tmf.post(f"{S641}/serviceOrder", body)
    assert response.status_code == 201, response.get_json()
    order = db.session.query(CustomerOrder).filter_by(tmf_id=response.get_json()["id"]).one()
    assert [line.offering_id for line in order.lines] == [None, firewall.id]
    (issue,) = db.session.query(EnrichmentIssue).filter_by(order_id=order.id, kind="offering").all()
    assert "Laptop is a product offering; a service order takes service offerings" in issue.description
    assert issue.order_line_id == order.lines[0].id
    # The desk fixes it with a service offering; a product offering is refused there too.
    manager = as_user(users, "manager")
    refused(wf.resolve_enrichment_issue, InvalidInput, manager, issue.id, order.version, laptop.id,
            fragment="a service order takes service offerings")
    wf.resolve_enrichment_issue(manager, issue.id, order.version, firewall.id)
    assert db.session.get(CustomerOrder, order.id).lines[0].offering_id == firewall.id
    assert order.lines[0].state in (OrderLineState.NEW, OrderLineState.DRAFT)


# ----------------------------------------------------------------------------------------------------
# Quotes: a quote becomes one order, so it holds offerings of one kind


def test_a_quote_keeps_to_one_kind_and_becomes_an_order_of_that_type(users, account, catalog):
    laptop, firewall = catalog
    agent, manager = as_user(users, "agent"), as_user(users, "manager")
    quote = qwf.create_quote(agent, {"account_id": account.id})
    qwf.add_quote_line(agent, quote.id, quote.version, firewall.id, 2)
    message = refused(qwf.add_quote_line, InvalidInput, agent, quote.id, db.session.get(Quote, quote.id).version,
                      laptop.id, 1)
    assert message == (f"Offering Laptop is a product offering; quote {quote.number} holds service offerings and "
                       "becomes one service order: quote the products separately.")
    for action, user in (("Submit for review", agent), ("Approve quote", manager)):
        qwf.change_quote_state(user, quote.id, db.session.get(Quote, quote.id).version, action)
    order = qwf.create_order_from_quote(agent, quote.id, db.session.get(Quote, quote.id).version)
    assert order.order_type == OrderType.SERVICE
    wf.submit_order(agent, order.id, db.session.get(CustomerOrder, order.id).version)
    assert db.session.get(CustomerOrder, order.id).state == OrderState.NEW


def test_a_quote_mixing_both_kinds_is_not_converted(users, account, catalog):
    laptop, firewall = catalog
    # Lines saved before quotes kept to one kind.
    quote = Quote(account=account, contact=account.primary_contact, state=QuoteState.ACCEPTED, lines=[
        QuoteLine(offering=laptop, quantity=1, unit_price=laptop.unit_price),
        QuoteLine(offering=firewall, quantity=1, unit_price=firewall.unit_price)])
    db.session.add(quote)
    db.session.commit()
    agent = as_user(users, "agent")
    refused(qwf.create_order_from_quote, StateConflict, agent, quote.id, quote.version,
            fragment="mixes products and services")
    assert not qwf.may_convert(agent, db.session.get(Quote, quote.id))
    assert db.session.query(CustomerOrder).count() == 0


def test_the_quote_pages_offer_only_the_kind_the_quote_holds(client_for, users, account, catalog):
    laptop, firewall = catalog
    agent = client_for("agent")
    quote = qwf.create_quote(as_user(users, "agent"), {"account_id": account.id})
    page = agent.get(f"/quoteview/show/{quote.id}").get_data(as_text=True)
    assert "Laptop" in page and "Managed firewall" in page
    agent.submit(f"/quoteview/line/{quote.id}?offering_id={firewall.id}",
                 {"version": quote.version, "offering_id": firewall.id, "quantity": "1"})
    db.session.expire_all()
    version = db.session.get(Quote, quote.id).version
    page = agent.get(f"/quoteview/show/{quote.id}").get_data(as_text=True)
    assert f'<option value="{firewall.id}">' in page and f'<option value="{laptop.id}">' not in page
    # The line form's type-ahead asks only for the quote's kind too.
    form = html.unescape(agent.get(f"/quoteview/line/{quote.id}").get_data(as_text=True))
    lookup = re.search(r'data-typeahead="([^"]+)"', form).group(1)
    assert "order_type=service" in lookup
    found = agent.get(lookup + "&q=a").get_data(as_text=True)
    assert "Managed firewall" in found and "Laptop" not in found
    refusal = agent.submit(f"/quoteview/line/{quote.id}?offering_id={laptop.id}",
                           {"version": version, "offering_id": laptop.id, "quantity": "1"})
    assert refusal.status_code == 422
    assert "quote the products separately" in refusal.get_data(as_text=True)
    assert [line.offering_id for line in db.session.get(Quote, quote.id).lines] == [firewall.id]

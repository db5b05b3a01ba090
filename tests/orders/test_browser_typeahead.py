"""Type-ahead account, contact and offering fields on the order forms, and the contact and site fields that
follow the account in place, in headless Chromium at desktop and phone size."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.core.choices import OrderState, SpecKind
from app.core.extensions import db
from app.models import Contact, CustomerOrder, Location
from tests import factories
from tests.accessibility import axe_violations, blocking
from tests.orders.typeahead import open_type_ahead, type_ahead

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", SIZES)
def test_agent_types_an_account_and_its_contacts_follow_without_a_page_load(page_as, live_server, size):
    factories.make_account("Contoso")
    northwind = factories.make_account("Northwind Traders")
    db.session.add_all([Contact(account=northwind, first_name="Nora", last_name="Quill"),
                        Location(name="Depot", city="Leeds", account=northwind)])
    db.session.commit()

    agent = page_as("agent", SIZES[size])
    agent.goto(f"{live_server}/customerorderview/add")
    agent.fill("#description", "Typed ahead")
    # Survives only as long as the page is not loaded again.
    agent.evaluate("window.pageMarker = 'same page'")
    assert agent.locator("#contact_id").is_disabled()

    search = open_type_ahead(agent, "account_id")
    search.press_sequentially("northw", delay=20)
    expect(agent.locator(".select2-results__option", has_text="Northwind Traders")).to_have_count(1)
    expect(agent.locator(".select2-results__option", has_text="Contoso")).to_have_count(0)
    assert search.get_attribute("aria-label") == "Search: Account"
    found = blocking(axe_violations(agent))
    assert not found, '\n'.join(f"{v['rule']}: {n}" for v in found for n in v['nodes'])
    agent.keyboard.press("Enter")

    # The contact and site fields are those of Northwind now, its primary contact and site chosen.
    expect(agent.locator("#contact_id option", has_text="Nora Quill")).to_have_count(1)
    assert agent.locator("#contact_id").input_value() == str(northwind.primary_contact_id)
    assert agent.locator("#shipping_location_id").input_value() == str(northwind.shipping_location_id)
    expect(agent.locator("#shipping_location_id option", has_text="Depot, Leeds")).to_have_count(1)
    assert agent.evaluate("window.pageMarker") == "same page"
    assert agent.input_value("#description") == "Typed ahead"

    type_ahead(agent, "contact_id", "qui", "Nora Quill")
    assert agent.evaluate("window.pageMarker") == "same page"
    with agent.expect_navigation():
        agent.locator("#save-order").click()
    assert "created. Add its lines" in agent.content()
    order = db.session.query(CustomerOrder).filter_by(description="Typed ahead").one()
    assert (order.account_id, order.contact.name) == (northwind.id, "Nora Quill")


def test_the_offering_of_a_line_is_typed_ahead_among_those_of_the_order_type(page_as, live_server):
    account = factories.make_account("Offering Co")
    desk = factories.make_offering("Standing desk")
    factories.make_offering("Managed LAN", kind=SpecKind.SERVICE)
    order = factories.make_order(account, lines=0, state=OrderState.DRAFT, offering=desk)
    agent = page_as("agent", SIZES["phone"])
    agent.goto(f"{live_server}/customerorderview/line/{order.id}/add")
    search = open_type_ahead(agent, "offering_id")
    search.press_sequentially("man", delay=20)
    # A product order offers no service: Managed LAN is not found.
    expect(agent.locator(".select2-results__option")).to_have_text(["No results found"])
    search.fill("")
    search.press_sequentially("stand", delay=20)
    agent.locator(".select2-results__option", has_text="Standing desk").wait_for()
    found = blocking(axe_violations(agent))
    assert not found, found
    agent.keyboard.press("Enter")
    # Choosing the offering shows its characteristics, swapped in place (tests/orders/test_browser_dependent_fields.py).
    expect(agent.locator("[name='char:Colour']")).to_have_count(1)
    assert agent.locator("#offering_id").input_value() == str(desk.id)


def test_without_script_the_account_is_found_by_name_and_the_order_saved(page_as, live_server):
    factories.make_account("Contoso")
    northwind = factories.make_account("Northwind Traders")
    agent = page_as("agent", SIZES["desktop"], javascript=False)
    agent.goto(f"{live_server}/customerorderview/add")
    agent.fill("#account_search", "northwind")
    agent.get_by_role("button", name="Find").click()
    assert agent.locator("#account_id option", has_text="Contoso").count() == 0
    agent.select_option("#account_id", str(northwind.id))
    agent.get_by_role("button", name="Load contacts and locations").click()
    assert agent.locator("#contact_id").input_value() == ""
    agent.select_option("#contact_id", str(northwind.primary_contact_id))
    agent.fill("#description", "No script")
    agent.locator("#save-order").click()
    assert "created. Add its lines" in agent.content()
    order = db.session.query(CustomerOrder).filter_by(description="No script").one()
    assert order.contact_id == northwind.primary_contact_id

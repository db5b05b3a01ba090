"""Order capture and quote conversion in headless Chromium, as the agent and the manager click through."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from app.core.choices import InventoryState, OrderState, PriceType, SpecKind
from app.core.extensions import db
from app.models import (
    CharacteristicDefinition,
    CustomerOrder,
    Location,
    ProductInventory,
    ProductOffering,
    ProductSpecification,
    Quote,
)
from tests import factories
from tests.orders.typeahead import type_ahead

pytestmark = pytest.mark.browser


@pytest.fixture
def catalog():
    spec = ProductSpecification(name="Managed LAN", kind=SpecKind.SERVICE)
    spec.characteristics = [CharacteristicDefinition(name="Ports", value_type="number", allowed_values="8,24,48",
                                                     required=True)]
    lan = ProductOffering(name="Managed LAN", specification=spec, unit_price=Decimal("45.00"),
                          price_type=PriceType.RECURRING)
    desk_spec = ProductSpecification(name="Desk", kind=SpecKind.PRODUCT)
    desk = ProductOffering(name="Standing desk", specification=desk_spec, unit_price=Decimal("300.00"))
    db.session.add_all([lan, desk])
    db.session.commit()
    return {"lan": lan, "desk": desk}


def choose(page, selector, value):
    """Pick an option in a select whose dependent fields are fetched and swapped in place (the group is busy
    from the change until its fresh copy is in)."""
    page.select_option(selector, str(value))
    expect(page.locator("[data-refresh-url][aria-busy]")).to_have_count(0)


def click_and_wait(page, locator):
    with page.expect_navigation():
        locator.click()


def test_service_order_for_two_sites_to_inventory(page_as, live_server, catalog):
    account = factories.make_account("Umbrella Corp")
    branch = Location(name="Branch office", street="9 Elm St", city="Shelbyville", country="US", account=account)
    db.session.add(branch)
    db.session.commit()
    sites = [(account.shipping_location_id, "24"), (branch.id, "48")]

    agent = page_as("agent")
    agent.goto(f"{live_server}/serviceorderview/list/")
    click_and_wait(agent, agent.locator("a[href*='/serviceorderview/add']").first)
    type_ahead(agent, "account_id", "umbre", "Umbrella Corp")
    expect(agent.locator("#shipping_location_id option", has_text="Branch office")).to_have_count(1)
    click_and_wait(agent, agent.locator("#save-order"))
    assert "created. Add its lines" in agent.content()
    order_url = agent.url

    for location_id, ports in sites:
        click_and_wait(agent, agent.locator("#add-line"))
        choose(agent, "#offering_id", catalog["lan"].id)
        agent.select_option("[name='char:Ports']", ports)
        agent.select_option("#location_id", str(location_id))
        agent.fill("#quantity", "1")
        click_and_wait(agent, agent.locator("#save-line"))
        assert "saved." in agent.content()
    assert agent.locator("#lines-table tbody tr").count() == 2
    assert "90.00 USD" in agent.locator("#total-recurring").inner_text()
    click_and_wait(agent, agent.get_by_role("button", name="Submit"))
    assert "submitted." in agent.content()
    assert agent.locator("#order-state").inner_text().strip() == OrderState.NEW

    manager = page_as("manager")
    manager.goto(order_url)
    click_and_wait(manager, manager.get_by_role("button", name="Approve"))
    assert "approved for fulfilment" in manager.content()
    assert manager.locator("#order-state").inner_text().strip() == OrderState.IN_PROGRESS

    agent.goto(order_url)
    for button in ("Start", "Complete", "Start", "Complete"):
        click_and_wait(agent, agent.get_by_role("button", name=button).first)
        assert "danger" not in (agent.locator(".alert").first.get_attribute("class") or "")
    assert agent.locator("#order-state").inner_text().strip() == OrderState.COMPLETED

    db.session.expire_all()
    items = db.session.query(ProductInventory).filter_by(account_id=account.id).order_by(ProductInventory.number).all()
    assert [(item.state, item.location_id) for item in items] == [
        (InventoryState.ACTIVE, account.shipping_location_id), (InventoryState.ACTIVE, branch.id),
    ]
    assert [{c.name: c.value for c in item.characteristics} for item in items] == [{"Ports": "24"}, {"Ports": "48"}]
    # The account's page lists its product inventory.
    agent.goto(f"{live_server}/accountview/show/{account.id}")
    inventory_section = agent.locator("#account-inventory")
    for item in items:
        assert inventory_section.get_by_text(item.number).count() == 1
    # So does the order page.
    agent.goto(order_url)
    for item in items:
        assert agent.locator("#inventory").get_by_text(item.number).count() == 1


def test_accepted_quote_becomes_an_order(page_as, live_server, catalog):
    account = factories.make_account("Soylent Ltd")
    agent = page_as("agent")
    agent.goto(f"{live_server}/quoteview/add")
    type_ahead(agent, "account_id", "soyl", "Soylent Ltd")
    expect(agent.locator("#contact_id")).to_be_enabled()
    agent.fill("#description", "Office refit")
    click_and_wait(agent, agent.locator("#save-quote"))
    quote_url = agent.url
    agent.select_option("#quote-line-start [name=offering_id]", str(catalog["desk"].id))
    agent.fill("#quote-line-start [name=quantity]", "3")
    click_and_wait(agent, agent.locator("#quote-line-start button"))
    click_and_wait(agent, agent.locator("#save-quote-line"))
    assert "900.00 USD" in agent.locator("#quote-total").inner_text()
    assert agent.get_by_role("button", name="Create order").count() == 0
    click_and_wait(agent, agent.get_by_role("button", name="Submit for review"))
    assert agent.get_by_role("button", name="Approve quote").count() == 0

    manager = page_as("manager")
    manager.goto(quote_url)
    click_and_wait(manager, manager.get_by_role("button", name="Approve quote"))
    assert manager.locator("#quote-state").inner_text().strip() == "approved"

    agent.goto(quote_url)
    click_and_wait(agent, agent.get_by_role("button", name="Accept"))
    click_and_wait(agent, agent.get_by_role("button", name="Create order"))
    message = agent.locator(".alert-success").first.inner_text()
    number = re.search(r"Order (ORD\d{7}) created from quote (QUO\d{7})", message)
    assert number, message
    assert agent.locator("#order-number").inner_text().strip() == number.group(1)
    assert "quote" in agent.locator("#order-header").inner_text()
    assert agent.locator("#lines-table tbody tr").count() == 1
    assert "900.00 USD" in agent.locator("#total-amount").inner_text()

    agent.goto(quote_url)
    assert agent.locator("#quote-order").inner_text().strip() == number.group(1)
    assert agent.get_by_role("button", name="Create order").count() == 0
    db.session.expire_all()
    quote = db.session.query(Quote).one()
    assert quote.order.number == number.group(1)
    assert db.session.query(CustomerOrder).count() == 1

"""In the browser, the journey of issue 18: a quote with a configured line becomes an order that is
submitted without re-entering anything, approved (the customer is notified), fulfilled, and the resulting
inventory item shows its configuration and the order line that created it; a change order started
from the item shows its current values, and once fulfilled it shows up in the item's history as before →
after (desktop and phone)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.core.choices import OrderState
from app.core.extensions import db
from app.models import CharacteristicDefinition, Notification, ProductInventory, ProductOffering, ProductSpecification
from tests import factories
from tests.accessibility import axe_violations, blocking
from tests.orders.test_browser_orders import choose, click_and_wait


@pytest.fixture
def headset():
    spec = ProductSpecification(name="Headset", kind="product")
    spec.characteristics = [CharacteristicDefinition(name="Colour", allowed_values="Black,White", required=True)]
    offering = ProductOffering(name="Wireless headset", specification=spec, unit_price=Decimal("80.00"))
    db.session.add(offering)
    db.session.commit()
    return offering


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}])
def test_configured_quote_to_order_to_inventory_history(page_as, live_server, headset, viewport):
    account = factories.make_account("Journey 18")
    agent = page_as("agent", viewport)
    agent.goto(f"{live_server}/quoteview/add?account_id={account.id}")
    agent.fill("#description", "Headsets for the call centre")
    click_and_wait(agent, agent.locator("#save-quote"))
    quote_url = agent.url
    assert "Being prepared" in agent.locator("#quote-explanation").inner_text()
    agent.select_option("#quote-line-start [name=offering_id]", str(headset.id))
    agent.fill("#quote-line-start [name=quantity]", "4")
    click_and_wait(agent, agent.locator("#quote-line-start button"))
    # The characteristic is asked for, and required.
    click_and_wait(agent, agent.locator("#save-quote-line"))
    assert "Colour: a value is required" in agent.content()
    agent.select_option("[name='char:Colour']", "White")
    click_and_wait(agent, agent.locator("#save-quote-line"))
    assert "Colour: White" in agent.locator("#quote-lines").inner_text()
    click_and_wait(agent, agent.get_by_role("button", name="Submit for review"))

    manager = page_as("manager", viewport)
    manager.goto(quote_url)
    click_and_wait(manager, manager.get_by_role("button", name="Approve quote"))
    assert "Create order records their acceptance" in manager.locator("#quote-explanation").inner_text()

    agent.goto(quote_url)
    click_and_wait(agent, agent.get_by_role("button", name="Create order"))
    order_url = agent.url
    assert "White" in agent.locator("#lines-table").inner_text()
    click_and_wait(agent, agent.get_by_role("button", name="Submit"))
    assert agent.locator("#order-state").inner_text().strip() == OrderState.NEW

    manager.goto(order_url)
    assert "shown to the customer" in manager.locator(".reject-visibility").inner_text()
    click_and_wait(manager, manager.get_by_role("button", name="Approve"))
    db.session.expire_all()
    events = [n.event for n in db.session.query(Notification).filter_by(record_type="customer_order")]
    assert events == ["order submitted", "order approved"]

    agent.goto(order_url)
    for button in ("Start", "Complete"):
        click_and_wait(agent, agent.get_by_role("button", name=button).first)
    assert agent.locator("#order-state").inner_text().strip() == OrderState.COMPLETED

    db.session.expire_all()
    item = db.session.query(ProductInventory).filter_by(account_id=account.id).one()
    agent.goto(f"{live_server}/productinventoryview/show/{item.id}")
    assert "White" in agent.locator("#inventory-characteristics").inner_text()
    history = agent.locator("#inventory-history").inner_text()
    assert "created it (add)" in history and "state: — → active" in history
    agent.goto(f"{live_server}/accountview/show/{account.id}")
    assert item.number in agent.locator("#account-inventory").inner_text()
    assert agent.locator("#figure-open-quotes .figure").inner_text() == "0"

    # A change order started from the item: its form shows the current values, and once fulfilled the
    # item's history shows the change as before → after.
    agent.goto(f"{live_server}/productinventoryview/show/{item.id}")
    click_and_wait(agent, agent.get_by_role("link", name="Change or disconnect (new order)"))
    click_and_wait(agent, agent.locator("#save-order"))
    change_url = agent.url
    click_and_wait(agent, agent.locator("#add-line"))
    choose(agent, "#action", "change")
    choose(agent, "#inventory_id", item.id)
    assert "Current value: White" in agent.locator("#line-form").inner_text()
    assert "Current quantity: 4" in agent.locator("#line-form").inner_text()
    agent.select_option("[name='char:Colour']", "Black")
    agent.fill("#quantity", "6")
    click_and_wait(agent, agent.locator("#save-line"))
    click_and_wait(agent, agent.get_by_role("button", name="Submit"))
    manager.goto(change_url)
    click_and_wait(manager, manager.get_by_role("button", name="Approve"))
    agent.goto(change_url)
    for button in ("Start", "Complete"):
        click_and_wait(agent, agent.get_by_role("button", name=button).first)
    assert agent.locator("#order-state").inner_text().strip() == OrderState.COMPLETED
    agent.goto(f"{live_server}/productinventoryview/show/{item.id}")
    assert "Black" in agent.locator("#inventory-characteristics").inner_text()
    rows = agent.locator("#inventory-history .inventory-change")
    assert rows.count() == 2
    assert "Colour: White → Black" in rows.nth(1).inner_text() and "quantity: 4 → 6" in rows.nth(1).inner_text()
    assert not blocking(axe_violations(agent))

"""A consumer's customer orders a provider's published offering from the portal (headless Chromium, phone
size); the order waits in the outbox as a TMF622 order for the provider, and the administrator sees it
waiting on the connection's health (desktop)."""
from __future__ import annotations

import pytest

from app.core.choices import OrderChannel, OrderState
from app.core.extensions import db
from app.exchange.models import ExchangeMessage, ExchangeOrder
from app.models import CustomerOrder, ProductOffering
from tests import factories
from tests.exchange.conftest import make_connection, offering_document

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def click_and_wait(page, locator):
    with page.expect_navigation():
        locator.click()


def test_customer_orders_a_published_offering_from_the_portal(page_as, live_server, users, peer):
    account = factories.make_account("Plant Operations")
    account.primary_contact.user_id = users["customer"].id
    db.session.commit()
    factories.make_offering("Our own widget")
    connection = make_connection("consumer")
    assert peer.send("productOffering", offering_document()).status_code == 200
    published = db.session.query(ProductOffering).filter_by(provider="Fibre Provider Inc").one()
    bandwidth = published.specification.characteristics[0]

    customer = page_as("customer", viewport=PHONE)
    click_and_wait(customer, customer.locator(".portal-nav").get_by_role("link", name="Catalog"))
    card = customer.locator(f"fieldset.offering[data-offering='Fibre 1G']")
    assert "Provided by Fibre Provider Inc" in card.inner_text()
    assert customer.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    customer.fill(f"#qty-{published.id}", "2")
    customer.select_option(f"#char-{published.id}-{bandwidth.id}", "1000")
    click_and_wait(customer, customer.get_by_role("button", name="Add Fibre 1G to cart"))
    click_and_wait(customer, customer.locator(".portal-nav").get_by_role("link", name="Cart (1)"))
    click_and_wait(customer, customer.get_by_role("button", name="Place order"))

    order = db.session.query(CustomerOrder).one()
    assert (order.state, order.channel) == (OrderState.NEW, OrderChannel.PORTAL)
    assert "Fibre Provider Inc" in customer.locator("#exchange-status").inner_text()
    assert "waiting for the provider" in customer.locator("#exchange-status").inner_text()
    message = db.session.query(ExchangeMessage).filter_by(kind="productOrder").one()
    document = message.payload
    assert document["externalId"] == order.tmf_id
    assert document["productOrderItem"] == [{
        "id": order.lines[0].number, "action": "add", "quantity": 2,
        "productOffering": {"id": "PO0000042", "name": "Fibre 1G"},
        "product": {"productCharacteristic": [{"name": "Bandwidth", "value": "1000"}]}}]
    assert db.session.query(ExchangeOrder).filter_by(order_id=order.id).one().remote_id is None

    admin = page_as("admin")
    admin.goto(f"{live_server}/exchange/connections/{connection.id}")
    admin.wait_for_function("() => document.querySelector('#last-error').innerText !== 'none'", timeout=20000)
    assert admin.locator("#messages-waiting").inner_text() == "1"
    assert "productOrder" in admin.locator("#messages").inner_text()

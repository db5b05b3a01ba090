"""Ordering from the portal catalog over HTTP: search, categories, a cart (add, change, remove) placed as
its orders (one per kind of offering), errors at the item they concern and nothing written on a refusal."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from app.core.choices import OrderChannel, OrderState, OrderType, SpecKind, ValueType
from app.core.extensions import db
from app.models import CartItem, CharacteristicDefinition, CustomerOrder, Location, ProductOffering
from tests import factories
from tests.portal.shopping import order_through_the_cart


def body(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def account(users):
    account = factories.make_account("Acme Cart Co")
    account.primary_contact.user_id = users["customer"].id
    db.session.add(Location(name="Warehouse 2", city="Shelbyville", account=account))
    db.session.commit()
    return account


@pytest.fixture
def catalog(account):
    """A modem (Colour: Red or Blue, optional) and a cable whose Length is required."""
    modem = factories.make_offering("Portal Modem", price="40.00")
    cable = factories.make_offering("Portal Cable", price="5.00")
    cable.specification.characteristics.append(
        CharacteristicDefinition(name="Length", value_type=ValueType.NUMBER, required=True))
    db.session.commit()
    return {"modem": modem, "cable": cable, "colour": modem.specification.characteristics[0],
            "length": cable.specification.characteristics[-1]}


def cart_rows() -> list[tuple[str, int, dict]]:
    db.session.expire_all()
    return sorted((item.offering.name, item.quantity, item.characteristics) for item in db.session.query(CartItem))


def offering_names(html: str) -> list[str]:
    return re.findall(r'data-offering="([^"]+)"', html)


def test_the_catalog_searches_and_narrows_by_category(client_for, account):
    laptop = factories.make_offering("Travel Laptop", price="900.00")
    laptop.description = "Light and quiet"
    factories.make_offering("Office Monitor", price="200.00")
    internet = factories.make_offering("Fibre Internet", price="99.00", kind=SpecKind.SERVICE)
    retired = factories.make_offering("Retired Modem")
    retired.active = False
    db.session.commit()
    client = client_for("customer")

    everything = body(client.get("/portal/catalog/"))
    assert offering_names(everything) == ["Fibre Internet", "Office Monitor", "Travel Laptop"]
    # Categories come from the specifications, grouped as products and services, with their counts.
    assert re.search(r'<optgroup label="Products">.*Office Monitor spec \(1\).*Travel Laptop spec \(1\)',
                     everything, re.S)
    assert re.search(r'<optgroup label="Services">.*Fibre Internet spec \(1\)', everything, re.S)
    assert "Retired Modem" not in everything

    assert offering_names(body(client.get("/portal/catalog/?q=quiet"))) == ["Travel Laptop"]
    assert offering_names(body(client.get("/portal/catalog/?q=laptop+light"))) == ["Travel Laptop"]
    assert offering_names(body(client.get("/portal/catalog/?category=service"))) == ["Fibre Internet"]
    by_spec = body(client.get(f"/portal/catalog/?category={laptop.specification_id}"))
    assert offering_names(by_spec) == ["Travel Laptop"]
    nothing = client.get("/portal/catalog/?q=zeppelin")
    assert nothing.status_code == 200 and "Nothing in the catalog matches" in body(nothing)
    for odd in ("?category=999999", "?category=x-1", "?page=-3", "?page=99999999999", "?q=" + "%25" * 300):
        assert client.get("/portal/catalog/" + odd).status_code == 200, odd


def test_the_catalog_is_paged_so_a_phone_page_stays_short(client_for, account):
    for number in range(14):
        factories.make_offering(f"Gadget {number:02}")
    client = client_for("customer")
    first = body(client.get("/portal/catalog/"))
    assert len(offering_names(first)) == 12 and "Page 1 of 2" in first
    second = body(client.get("/portal/catalog/?page=2"))
    assert offering_names(second) == ["Gadget 12", "Gadget 13"]


def test_a_cart_collects_changes_and_is_placed_as_one_order(client_for, account, catalog):
    modem, cable, colour, length = catalog["modem"], catalog["cable"], catalog["colour"], catalog["length"]
    client = client_for("customer")
    # Add to cart, one card at a time; the cable's required Length is asked only for the cable.
    added = client.submit("/portal/catalog/", {f"qty-{modem.id}": "2", f"char-{modem.id}-{colour.id}": "Blue"},
                          post_url="/portal/cart/add")
    assert added.status_code == 302 and "#offering-" in added.headers["Location"]
    client.submit("/portal/catalog/", {f"qty-{cable.id}": "3", f"char-{cable.id}-{length.id}": "1.5"},
                  post_url="/portal/cart/add")
    # The same offering with the same choices adds up; other choices are another item.
    client.submit("/portal/catalog/", {f"qty-{modem.id}": "1", f"char-{modem.id}-{colour.id}": "Blue"},
                  post_url="/portal/cart/add")
    client.submit("/portal/catalog/", {f"qty-{modem.id}": "1", f"char-{modem.id}-{colour.id}": "Red"},
                  post_url="/portal/cart/add")
    assert cart_rows() == [("Portal Cable", 3, {"Length": "1.5"}), ("Portal Modem", 1, {"Colour": "Red"}),
                           ("Portal Modem", 3, {"Colour": "Blue"})]
    assert db.session.query(CustomerOrder).count() == 0

    page = body(client.get("/portal/cart/"))
    assert "Cart <span class=\"cart-count\">(3)</span>" in page
    assert re.search(r'class="cart-total">\s*175\.00 USD', page)  # 3×40 + 40 + 3×5
    items = {(item.offering.name, item.quantity): item for item in db.session.query(CartItem)}
    red, blue, cables = items[("Portal Modem", 1)], items[("Portal Modem", 3)], items[("Portal Cable", 3)]

    # Change a quantity, and remove an item (0 removes too).
    assert client.submit("/portal/cart/", {f"qty-item-{cables.id}": "5"},
                         post_url="/portal/cart/update").status_code == 302
    removed = client.submit("/portal/cart/", {}, post_url=f"/portal/cart/{red.id}/remove")
    assert removed.status_code == 302
    assert "Portal Modem was removed from your cart." in body(client.get("/portal/cart/"))
    assert cart_rows() == [("Portal Cable", 5, {"Length": "1.5"}), ("Portal Modem", 3, {"Colour": "Blue"})]

    # Place order: the quantities on the page count, the order is New on the portal channel, the cart empties.
    warehouse = db.session.query(Location).filter_by(name="Warehouse 2").one()
    placed = client.submit("/portal/cart/", {f"qty-item-{blue.id}": "4", "shipping_location_id": warehouse.id},
                           post_url="/portal/cart/order")
    assert placed.status_code == 302, body(placed)
    order = db.session.query(CustomerOrder).one()
    assert (order.state, order.channel, order.account_id, order.shipping_location_id) == (
        OrderState.NEW, OrderChannel.PORTAL, account.id, warehouse.id)
    assert sorted((line.offering.name, line.quantity, {c.name: c.value for c in line.characteristics})
                  for line in order.lines) == [("Portal Cable", 5, {"Length": "1.5"}),
                                               ("Portal Modem", 4, {"Colour": "Blue"})]
    assert order.total_amount == Decimal("185.00")
    assert placed.headers["Location"].endswith(f"/portal/orders/{order.id}/")
    assert cart_rows() == []
    assert "Your cart is empty" in body(client.get("/portal/cart/"))


def test_a_cart_of_products_and_services_becomes_one_order_of_each(client_for, account, catalog):
    modem, colour = catalog["modem"], catalog["colour"]
    internet = factories.make_offering("Portal Internet", price="99.00", kind=SpecKind.SERVICE)
    client = client_for("customer")
    for fields in ({f"qty-{modem.id}": "2", f"char-{modem.id}-{colour.id}": "Red"}, {f"qty-{internet.id}": "1"}):
        assert client.submit("/portal/catalog/", fields, post_url="/portal/cart/add").status_code == 302
    page = body(client.get("/portal/cart/"))
    # The customer is told before placing it: the cart becomes two orders.
    assert ("Your cart becomes 2 orders, placed together: one for your products; one for your services."
            in " ".join(page.split()))
    assert re.search(r'aria-describedby="cart-orders">Place orders</button>', page)
    assert db.session.query(CustomerOrder).count() == 0

    warehouse = db.session.query(Location).filter_by(name="Warehouse 2").one()
    placed = client.submit("/portal/cart/", {"shipping_location_id": warehouse.id}, post_url="/portal/cart/order")
    assert placed.status_code == 302 and placed.headers["Location"].endswith("/portal/orders/"), re.findall(
        r'field-error"[^>]*>([^<]*)<', body(placed))
    orders = {order.order_type: order for order in db.session.query(CustomerOrder)}
    assert sorted(orders) == [OrderType.PRODUCT, OrderType.SERVICE]
    for order_type, (name, quantity) in {OrderType.PRODUCT: ("Portal Modem", 2),
                                         OrderType.SERVICE: ("Portal Internet", 1)}.items():
        order = orders[order_type]
        assert (order.state, order.channel, order.shipping_location_id) == (OrderState.NEW, OrderChannel.PORTAL,
                                                                            warehouse.id)
        assert [(line.offering.name, line.quantity) for line in order.lines] == [(name, quantity)]
    listing = body(client.get(placed.headers["Location"]))
    assert (f"your cart became 2 orders: {orders[OrderType.PRODUCT].number} for your products; "
            f"{orders[OrderType.SERVICE].number} for your services.") in listing
    assert cart_rows() == []


def test_add_to_cart_shows_each_error_at_its_item_and_writes_nothing(client_for, account, catalog):
    modem, cable, colour, length = catalog["modem"], catalog["cable"], catalog["colour"], catalog["length"]
    client = client_for("customer")
    for form, field, error_id in (
        ({f"qty-{modem.id}": "-1"}, f"qty-{modem.id}", f"qty-{modem.id}-error"),
        ({f"qty-{modem.id}": "two"}, f"qty-{modem.id}", f"qty-{modem.id}-error"),
        ({f"qty-{modem.id}": "1", f"char-{modem.id}-{colour.id}": "Green"}, f"char-{modem.id}-{colour.id}",
         f"char-{modem.id}-{colour.id}-error"),
        ({f"qty-{cable.id}": "1"}, f"char-{cable.id}-{length.id}", f"char-{cable.id}-{length.id}-error"),
        ({f"qty-{cable.id}": "1", f"char-{cable.id}-{length.id}": "long"}, f"char-{cable.id}-{length.id}",
         f"char-{cable.id}-{length.id}-error"),
    ):
        response = client.submit("/portal/catalog/", form, post_url="/portal/cart/add")
        html = body(response)
        assert response.status_code == 422, form
        # The field is marked invalid and points at its own message, inside its offering's card.
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true" aria-describedby="{error_id}"', html), form
        assert re.search(rf'<span class="field-error" id="{error_id}">[^<]+</span>', html), form
        card = re.search(r'<form class="offering-form" id="offering-(\d+)"(?:(?!</form>).)*id="%s"' % error_id,
                         html, re.S)
        assert card and int(card.group(1)) in (modem.id, cable.id), form
        assert cart_rows() == []
    assert client.submit("/portal/catalog/", {}, post_url="/portal/cart/add").status_code == 422

    # A quantity of 0 (or none) asks for nothing: the cable's required Length is not needed then.
    response = client.submit("/portal/catalog/", {f"qty-{modem.id}": "1", f"qty-{cable.id}": "0"},
                             post_url="/portal/cart/add")
    assert response.status_code == 302
    assert cart_rows() == [("Portal Modem", 1, {})]


def test_a_refused_order_keeps_the_cart_and_points_at_the_item(client_for, account, catalog, users):
    modem = catalog["modem"]
    client = client_for("customer")
    empty = client.submit("/portal/catalog/", {}, post_url="/portal/cart/order")
    assert empty.status_code == 422 and "Your cart is empty" in body(empty)

    euro = ProductOffering(name="Euro Widget", specification=modem.specification, unit_price=Decimal("3.00"),
                           currency="EUR")
    db.session.add(euro)
    db.session.commit()
    for offering in (modem, euro):
        assert client.submit("/portal/catalog/", {f"qty-{offering.id}": "1"},
                             post_url="/portal/cart/add").status_code == 302
    refused = client.submit("/portal/cart/", {}, post_url="/portal/cart/order")
    assert refused.status_code == 422 and "one currency" in body(refused)
    assert db.session.query(CustomerOrder).count() == 0 and len(cart_rows()) == 2

    # An offering withdrawn after it went into the cart: the refusal names it at its row.
    euro_item = db.session.query(CartItem).filter_by(offering_id=euro.id).one()
    client.submit("/portal/cart/", {}, post_url=f"/portal/cart/{euro_item.id}/remove")
    db.session.get(ProductOffering, modem.id).active = False
    db.session.commit()
    modem_item = db.session.query(CartItem).one()
    refused = client.submit("/portal/cart/", {}, post_url="/portal/cart/order")
    html = body(refused)
    assert refused.status_code == 422
    assert re.search(rf'<span class="field-error" id="item-{modem_item.id}-error">Portal Modem is no longer sold',
                     html)
    assert re.search(rf'id="qty-item-{modem_item.id}"[^>]*aria-invalid="true"', html)
    assert db.session.query(CustomerOrder).count() == 0 and len(cart_rows()) == 1

    # A bad quantity on the cart page is refused at its row, and changes nothing.
    bad = client.submit("/portal/cart/", {f"qty-item-{modem_item.id}": "-2"}, post_url="/portal/cart/update")
    assert bad.status_code == 422 and f'id="item-{modem_item.id}-error"' in body(bad)
    assert cart_rows() == [("Portal Modem", 1, {})]


def test_the_helper_places_an_order_through_the_cart(client_for, account, catalog):
    response = order_through_the_cart(client_for("customer"), {f"qty-{catalog['modem'].id}": "2"})
    assert response.status_code == 302
    assert db.session.query(CustomerOrder).one().lines[0].quantity == 2

"""The customer portal in headless Chromium on a phone-sized screen, with an agent in the back office."""
from __future__ import annotations

import datetime as dt

import pytest

from app.core.choices import CaseOrigin, CaseState, LineState, OrderChannel, OrderState, RequestType
from app.core.extensions import db
from app.models import CharacteristicDefinition, CustomerOrder, OrderCase
from tests import factories
from tests.accessibility import axe_violations, blocking

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def account(users):
    account = factories.make_account("Mobile Buyer Co")
    account.primary_contact.user_id = users["customer"].id
    db.session.commit()
    factories.make_service()
    return account


def expect_text(page, selector: str, text: str):
    page.wait_for_function(
        "([sel, txt]) => { const el = document.querySelector(sel); return el && el.innerText.includes(txt); }",
        arg=[selector, text],
    )


def click_and_wait(page, locator):
    with page.expect_navigation():
        locator.click()


def the_case() -> OrderCase:
    db.session.expire_all()
    return db.session.query(OrderCase).one()


def fits_the_screen(page) -> bool:
    """Nothing scrolls sideways on the phone."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_customer_and_agent_work_a_case_to_closed(page_as, live_server, account):
    order = factories.make_order(account, lines=3, quantity=5)
    first, second = order.lines[0], order.lines[1]
    wanted = dt.date.today() + dt.timedelta(days=30)
    customer = page_as("customer", viewport=PHONE)

    # After sign-in the customer is on the portal, not the back office.
    assert customer.url.rstrip("/").endswith("/portal")
    assert fits_the_screen(customer)
    click_and_wait(customer, customer.get_by_role("link", name="Submit an order case"))

    # 1. Details → Next creates the Draft.
    assert customer.locator("#account").inner_text() == "Mobile Buyer Co"
    customer.select_option("#scope", "Specific line items, Single order")
    customer.fill("#order_number", order.number)
    assert customer.locator("#priority").input_value() == "4"
    customer.fill("#short_description", "More units and a later date")
    click_and_wait(customer, customer.get_by_role("button", name="Next"))
    expect_text(customer, ".case-state-line", "Draft")
    assert fits_the_screen(customer)

    # 2. Add two order lines, then say what should change on each.
    click_and_wait(customer, customer.get_by_role("link", name="Add order lines"))
    customer.get_by_label(f"Select {first.number}").check()
    customer.get_by_label(f"Select {second.number}").check()
    click_and_wait(customer, customer.get_by_role("button", name="Add"))
    assert customer.locator("tr.case-line").count() == 2
    lines = [line.number for line in the_case().lines]

    click_and_wait(customer, customer.locator(f"tr[data-line-number='{lines[0]}']").get_by_role("link", name="Edit"))
    customer.select_option("#request_type", RequestType.QUANTITY)
    customer.fill("#requested_quantity", "8")
    click_and_wait(customer, customer.get_by_role("button", name="Save"))
    click_and_wait(customer, customer.locator(f"tr[data-line-number='{lines[1]}']").get_by_role("link", name="Edit"))
    customer.select_option("#request_type", RequestType.DELIVERY_DATE)
    customer.fill("#requested_delivery_date", wanted.isoformat())
    click_and_wait(customer, customer.get_by_role("button", name="Save"))
    expect_text(customer, f"tr[data-line-number='{lines[0]}'] .line-change", "Quantity 5 → 8")
    expect_text(customer, f"tr[data-line-number='{lines[1]}'] .line-change", wanted.isoformat())

    # 3. Review and submit → New.
    click_and_wait(customer, customer.get_by_role("link", name="Next: Review and submit"))
    assert fits_the_screen(customer)
    click_and_wait(customer, customer.get_by_role("button", name="Submit"))
    expect_text(customer, ".case-state-line", "New")
    case = the_case()
    assert (case.state, case.origin) == (CaseState.NEW, CaseOrigin.PORTAL)

    # The agent, in another browser, takes the case and asks a question.
    agent = page_as("agent")
    agent.goto(f"{live_server}/ordercases/{case.id}")
    click_and_wait(agent, agent.locator(".case-actions").get_by_role("button", name="Assign to me"))
    expect_text(agent, ".case-state", "Work in Progress")
    agent.locator(".case-actions").get_by_role("link", name="Request Information").click()  # opens a dialog
    agent.fill("#question", "Should the extra units ship with the first delivery?")
    click_and_wait(agent, agent.get_by_role("button", name="Request Information"))
    expect_text(agent, ".case-state", "Awaiting Info")

    # The customer sees the question and answers it: work resumes.
    customer.reload()
    expect_text(customer, ".case-state-line", "Awaiting Info")
    expect_text(customer, ".question-text", "Should the extra units ship with the first delivery?")
    customer.fill("#answer", "Yes, together please.")
    click_and_wait(customer, customer.get_by_role("button", name="Send answer"))
    expect_text(customer, ".case-state-line", "Work in Progress")
    expect_text(customer, ".conversation", "Yes, together please.")
    assert the_case().state == CaseState.WORK_IN_PROGRESS

    # The agent resolves the case, accepting both lines.
    agent.reload()
    expect_text(agent, ".case-state", "Work in Progress")
    agent.locator(".case-actions").get_by_role("link", name="Resolve Case").click()  # opens a dialog
    agent.select_option("#resolution_code", "Change approved")
    agent.fill("#resolution_notes", "Both changes approved")
    click_and_wait(agent, agent.get_by_role("button", name="Resolve Case"))
    expect_text(agent, ".case-state", "Resolved")

    # The customer accepts the solution: Closed.
    customer.reload()
    expect_text(customer, ".case-state-line", "Resolved")
    expect_text(customer, f"tr[data-line-number='{lines[0]}'] .line-outcome", "Accepted")
    click_and_wait(customer, customer.get_by_role("button", name="Accept solution"))
    expect_text(customer, ".case-state-line", "Closed")
    case = the_case()
    assert case.state == CaseState.CLOSED
    assert [line.state for line in case.lines] == [LineState.ACCEPTED, LineState.ACCEPTED]
    click_and_wait(customer, customer.get_by_role("link", name="My Order Cases"))
    expect_text(customer, f"tr[data-number='{case.number}']", "Closed")
    assert fits_the_screen(customer)


DESKTOP = {"width": 1440, "height": 900}


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_customer_fills_a_cart_from_the_catalog_and_orders_it(page_as, live_server, account, viewport):
    router = factories.make_offering("Branch Router", price="120.00")
    cable = factories.make_offering("Patch Cable", price="4.50")
    cable.specification.characteristics.append(CharacteristicDefinition(name="Length", value_type="number",
                                                                         required=True))
    internet = factories.make_offering("Office Internet", price="99.00", kind="service")
    db.session.add(factories.make_offering("Retired Gadget"))
    db.session.commit()
    db.session.query(type(router)).filter_by(name="Retired Gadget").update({"active": False})
    db.session.commit()
    colour = router.specification.characteristics[0]
    length = cable.specification.characteristics[-1]

    customer = page_as("customer", viewport=viewport)
    click_and_wait(customer, customer.locator(".portal-nav").get_by_role("link", name="Catalog"))
    names = customer.locator("fieldset.offering legend").all_inner_texts()
    assert {"Branch Router", "Patch Cable", "Office Internet"} <= set(names) and "Retired Gadget" not in names
    assert fits_the_screen(customer)

    # Categories (from the specifications) and search narrow the catalog.
    with customer.expect_navigation():
        customer.select_option("#catalog-category", label="All services")
    assert customer.locator("fieldset.offering legend").all_inner_texts() == ["Office Internet"]
    customer.fill("#catalog-q", "cable")
    customer.select_option("#catalog-category", "")  # submits on change: the whole catalog, searched
    customer.wait_for_url("**/portal/catalog/?q=cable*")
    assert customer.locator("fieldset.offering legend").all_inner_texts() == ["Patch Cable"]

    # A required characteristic left empty: the error is at the item, and the field points at it.
    customer.fill(f"#qty-{cable.id}", "10")
    click_and_wait(customer, customer.get_by_role("button", name="Add Patch Cable to cart"))
    field = customer.locator(f"#char-{cable.id}-{length.id}")
    assert field.get_attribute("aria-invalid") == "true"
    message = customer.locator("#" + field.get_attribute("aria-describedby"))
    assert "required" in message.inner_text()
    assert customer.locator(f"fieldset[data-offering='Patch Cable'] #{message.get_attribute('id')}").count() == 1
    assert fits_the_screen(customer)
    customer.fill(f"#char-{cable.id}-{length.id}", "2")
    click_and_wait(customer, customer.get_by_role("button", name="Add Patch Cable to cart"))
    expect_text(customer, ".portal-nav", "Cart (1)")

    customer.goto(f"{live_server}/portal/catalog/?q=router")
    customer.fill(f"#qty-{router.id}", "2")
    customer.select_option(f"#char-{router.id}-{colour.id}", "Blue")
    click_and_wait(customer, customer.get_by_role("button", name="Add Branch Router to cart"))
    customer.goto(f"{live_server}/portal/catalog/?q=internet")
    click_and_wait(customer, customer.get_by_role("button", name="Add Office Internet to cart"))

    # Review: change a quantity, remove the service, place the order.
    click_and_wait(customer, customer.locator(".portal-nav").get_by_role("link", name="Cart (3)"))
    assert customer.locator("tr.cart-item").count() == 3
    assert fits_the_screen(customer)
    customer.get_by_label("Quantity of Patch Cable").fill("12")
    click_and_wait(customer, customer.get_by_role("button", name="Update cart"))
    expect_text(customer, ".cart-total", "393.00 USD")  # 2 × 120 + 12 × 4.50 + 99
    click_and_wait(customer, customer.get_by_role("button", name="Remove Office Internet"))
    expect_text(customer, ".cart-total", "294.00 USD")
    assert customer.locator("tr.cart-item").count() == 2
    for target in customer.locator(".cart button, .portal-tabs a").all():
        assert target.bounding_box()["height"] >= 44 or "small" in (target.get_attribute("class") or "")
    click_and_wait(customer, customer.get_by_role("button", name="Place order"))
    order = db.session.query(CustomerOrder).one()
    assert (order.state, order.channel) == (OrderState.NEW, OrderChannel.PORTAL)
    expect_text(customer, ".order-number", order.number)
    assert customer.locator("tr.order-line").count() == 2
    expect_text(customer, ".portal-nav", "Cart (0)")

    click_and_wait(customer, customer.locator(".portal-nav").get_by_role("link", name="My Orders"))
    expect_text(customer, f"tr[data-number='{order.number}']", "New")
    expect_text(customer, f"tr[data-number='{order.number}']", "294.00")
    assert fits_the_screen(customer)

    # The order desk sees it among the Customer Orders.
    agent = page_as("agent")
    agent.goto(f"{live_server}/customerorderview/show/{order.id}")
    expect_text(agent, "body", "Branch Router")
    expect_text(agent, "body", "Patch Cable")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_cart_of_products_and_services_is_placed_as_one_order_of_each(page_as, live_server, account, viewport):
    router = factories.make_offering("Branch Router", price="120.00")
    internet = factories.make_offering("Office Internet", price="99.00", kind="service")
    customer = page_as("customer", viewport=viewport)
    for offering in (router, internet):
        customer.goto(f"{live_server}/portal/catalog/?q={offering.name.split()[1]}")
        click_and_wait(customer, customer.get_by_role("button", name=f"Add {offering.name} to cart"))
    click_and_wait(customer, customer.locator(".portal-nav").get_by_role("link", name="Cart (2)"))
    # Before placing it, the customer reads that the cart becomes two orders; the button says so too.
    expect_text(customer, "#cart-orders", "Your cart becomes 2 orders, placed together: one for your products; "
                                          "one for your services.")
    place = customer.get_by_role("button", name="Place orders")
    assert place.get_attribute("aria-describedby") == "cart-orders"
    assert fits_the_screen(customer)
    assert not blocking(axe_violations(customer))
    assert db.session.query(CustomerOrder).count() == 0

    click_and_wait(customer, place)
    db.session.expire_all()
    orders = {order.order_type: order for order in db.session.query(CustomerOrder)}
    assert sorted(orders) == ["product", "service"]
    assert all((order.state, order.channel) == (OrderState.NEW, OrderChannel.PORTAL) for order in orders.values())
    expect_text(customer, "body", f"your cart became 2 orders: {orders['product'].number} for your products; "
                                  f"{orders['service'].number} for your services.")
    for order in orders.values():
        assert customer.locator(f"tr[data-number='{order.number}']").count() == 1
    expect_text(customer, ".portal-nav", "Cart (0)")
    assert fits_the_screen(customer)
    assert not blocking(axe_violations(customer))


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_change_form_shows_only_the_chosen_changes_fields(page_as, live_server, account, viewport):
    order = factories.make_order(account, lines=1, quantity=5)
    case = factories.make_case(account, order=order, order_lines=list(order.lines))
    line = case.lines[0]
    customer = page_as("customer", viewport=viewport)
    customer.goto(f"{live_server}/portal/cases/{case.id}/lines/{line.id}/edit")
    visible = lambda: [field for field in ("#requested_quantity", "#requested_delivery_date", "#requested_location_id")
                       if customer.locator(field).is_visible()]
    assert visible() == []  # an inquiry needs none of them
    customer.select_option("#request_type", RequestType.QUANTITY)
    assert visible() == ["#requested_quantity"]
    customer.select_option("#request_type", RequestType.DELIVERY_DATE)
    assert visible() == ["#requested_delivery_date"]
    customer.select_option("#request_type", RequestType.ADDRESS)
    assert visible() == ["#requested_location_id"]
    assert fits_the_screen(customer)

    # The server still checks: a quantity change needs its quantity, and says so at the field.
    customer.select_option("#request_type", RequestType.QUANTITY)
    click_and_wait(customer, customer.get_by_role("button", name="Save"))
    assert visible() == ["#requested_quantity"]
    expect_text(customer, ".field-error", "Required")
    assert customer.locator("#requested_quantity").get_attribute("aria-describedby") == "requested_quantity-error"
    assert customer.locator("#requested_quantity-error").inner_text() == "Required"
    customer.fill("#requested_quantity", "9")
    click_and_wait(customer, customer.get_by_role("button", name="Save"))
    expect_text(customer, f"tr[data-line-number='{line.number}'] .line-change", "Quantity 5 → 9")


def test_without_script_the_change_form_shows_every_field_and_still_works(page_as, live_server, account):
    order = factories.make_order(account, lines=1, quantity=5)
    case = factories.make_case(account, order=order, order_lines=list(order.lines))
    line = case.lines[0]
    wanted = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    customer = page_as("customer", viewport=PHONE, javascript=False)
    customer.goto(f"{live_server}/portal/cases/{case.id}/lines/{line.id}/edit")
    for field in ("#requested_quantity", "#requested_delivery_date", "#requested_location_id"):
        assert customer.locator(field).is_visible(), field
    customer.select_option("#request_type", RequestType.DELIVERY_DATE)
    customer.fill("#requested_quantity", "7")  # filled, but not what was chosen: ignored
    customer.fill("#requested_delivery_date", wanted)
    click_and_wait(customer, customer.get_by_role("button", name="Save"))
    db.session.expire_all()
    saved = the_case().lines[0]
    assert (saved.request_type, str(saved.requested_delivery_date), saved.requested_quantity) == (
        RequestType.DELIVERY_DATE, wanted, None)


def test_on_a_phone_every_tab_is_on_screen_and_case_rows_read_well(page_as, live_server, account):
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.NEW,
                               line_state=LineState.NEW)
    case.short_description = "Please move the delivery of the second batch to the new warehouse"
    db.session.commit()
    customer = page_as("customer", viewport=PHONE)
    tabs = customer.locator(".portal-tabs a")
    assert tabs.all_inner_texts() == ["Home", "My Order Cases", "My Orders", "Catalog", "Cart (0)", "My Products"]
    for tab in tabs.all():
        box = tab.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], tab.inner_text()
        assert box["height"] >= 44, tab.inner_text()
    for link in customer.locator(".portal-bar a").all():
        assert link.bounding_box()["height"] >= 44, link.inner_text()
    row = customer.locator(".row-link", has_text=case.number)
    description = row.locator(".grow")
    # The description has the row's full width on a line of its own, not a few letters beside the state.
    assert description.bounding_box()["width"] >= row.bounding_box()["width"] - 2
    assert "Please move the delivery" in description.inner_text()
    assert fits_the_screen(customer)
    click_and_wait(customer, tabs.filter(has_text="My Products"))
    assert customer.url.endswith("/portal/products/")

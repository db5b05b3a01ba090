"""Orders through the browser-facing HTTP surface: real logins, CSRF on, forms, action buttons, refusals.

A refused request shows its reason (form error or flash message), writes nothing and is never a 500.
"""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import event

from app.core.choices import InventoryState, LineAction, OrderLineState, OrderState, OrderType, PriceType, SpecKind
from app.core.extensions import db
from app.models import (
    CharacteristicDefinition,
    CustomerOrder,
    EnrichmentIssue,
    InventoryCharacteristic,
    OrderChange,
    OrderLineItem,
    ProductInventory,
    ProductOffering,
    ProductSpecification,
)
from tests import factories
from tests.orders.test_order_workflows import dump

S = OrderState
L = OrderLineState


@pytest.fixture
def account():
    return factories.make_account("Globex")


@pytest.fixture
def internet():
    return _internet(SpecKind.SERVICE)


@pytest.fixture
def fibre():
    """The same offering sold as a product (product orders take product offerings only)."""
    return _internet(SpecKind.PRODUCT)


def _internet(kind: str) -> ProductOffering:
    spec = ProductSpecification(name="Internet access", kind=kind)
    spec.characteristics = [CharacteristicDefinition(name="Bandwidth", value_type="number",
                                                     allowed_values="100,500", required=True)]
    offering = ProductOffering(name="Fibre Internet", specification=spec, unit_price=Decimal("80.00"),
                               price_type=PriceType.RECURRING)
    db.session.add(offering)
    db.session.commit()
    return offering


def text(response) -> str:
    return response.get_data(as_text=True)


def order_page(order) -> str:
    view = "serviceorderview" if order.order_type == OrderType.SERVICE else "customerorderview"
    return f"/{view}/show/{order.id}"


def press(client, order, path, data=None, follow=True):
    """Press a button of the order page: POST with the page's CSRF token, follow to the flash message."""
    base = order_page(order).rsplit("/show/", 1)[0]
    return client.submit(order_page(order), data or {}, post_url=f"{base}/{path}", follow_redirects=follow)


def reload(record):
    db.session.expire_all()
    return db.session.get(type(record), record.id)


# ---------------------------------------------------------------------------------------------
# Capture through the forms
# ---------------------------------------------------------------------------------------------

def test_account_page_link_prefills_the_account(client_for, account):
    page = text(client_for("agent").get(f"/customerorderview/add?account_id={account.id}"))
    assert re.search(rf'<option value="{account.id}"\s+selected>', page)
    assert re.search(rf'<option value="{account.primary_contact_id}"\s+selected>', page)
    # The related list on the account page links with its filter instead.
    page = text(client_for("agent").get(f"/serviceorderview/add?_flt_0_account={account.id}"))
    assert re.search(rf'<option value="{account.id}"\s+selected>', page)


def test_agent_creates_order_with_lines_and_submits(client_for, account, internet):
    agent = client_for("agent")
    response = agent.submit("/serviceorderview/add", {
        "account_id": account.id, "contact_id": account.primary_contact_id, "description": "Two sites",
        "currency": "USD", "shipping_location_id": "",
    })
    assert response.status_code == 302
    order = db.session.query(CustomerOrder).one()
    assert order.order_type == OrderType.SERVICE and order.state == S.DRAFT
    assert response.headers["Location"].endswith(f"/serviceorderview/show/{order.id}")

    line_form = f"/serviceorderview/line/{order.id}/add"
    form_page = agent.get(line_form + "?action=add")
    assert form_page.status_code == 200
    response = agent.submit(line_form, {
        "version": order.version, "action": "add", "offering_id": internet.id, "quantity": "2",
        "location_id": account.shipping_location_id, "char:Bandwidth": "500", "expected_delivery_date": "2030-03-01",
    })
    assert response.status_code == 302, text(response)
    order = reload(order)
    line = order.lines[0]
    assert (line.quantity, line.unit_price, line.state) == (2, Decimal("80.00"), L.DRAFT)
    assert [(c.name, c.value) for c in line.characteristics] == [("Bandwidth", "500")]
    assert order.total_recurring == Decimal("160.00") and order.total_amount == Decimal("160.00")

    page = press(agent, order, f"submit/{order.id}", {"version": order.version})
    assert f"Order {order.number} submitted." in text(page)
    assert reload(order).state == S.NEW


def test_offering_choice_shows_its_characteristics(client_for, account, fibre):
    agent = client_for("agent")
    order = factories.make_order(account, lines=0, state=S.DRAFT)
    response = agent.submit(f"/customerorderview/line/{order.id}/add", {
        "version": order.version, "action": "add", "offering_id": fibre.id, "refresh": "1",
    })
    assert response.status_code == 200
    assert 'name="char:Bandwidth"' in text(response) and '<option value="500"' in text(response)
    assert reload(order).lines == []


@pytest.mark.parametrize("data,message", [
    ({"char:Bandwidth": "200"}, "&#39;200&#39; is not allowed (allowed: 100, 500)"),
    ({"char:Bandwidth": "100", "quantity": "0"}, "Quantity must be at least 1 (got 0)."),
    ({"char:Bandwidth": "100", "quantity": "lots"}, "Quantity must be a whole number"),
    ({"action": "change", "offering_id": ""}, "A change line must reference an inventory item of the account."),
    ({"char:Bandwidth": "100", "expected_delivery_date": "tomorrow"}, "must be a date"),
    ({"char:Bandwidth": "100", "offering_id": "999999"}, "Offering 999999 does not exist."),
])
def test_bad_line_input_gets_a_clear_error_and_writes_nothing(client_for, account, fibre, data, message):
    agent = client_for("agent")
    order = factories.make_order(account, lines=0, state=S.DRAFT)
    before = dump()
    response = agent.submit(f"/customerorderview/line/{order.id}/add", {
        "version": order.version, "action": "add", "offering_id": fibre.id, "quantity": "1", **data,
    })
    assert response.status_code == 422
    assert message in text(response)
    assert dump() == before


def test_bad_header_input_gets_a_clear_error(client_for, account):
    other = factories.make_account("Initech")
    before = dump()
    response = client_for("agent").submit("/customerorderview/add", {
        "account_id": account.id, "contact_id": other.primary_contact_id, "currency": "USD",
    })
    assert response.status_code == 422 and "does not belong to Globex" in text(response)
    response = client_for("agent").submit("/customerorderview/add", {"account_id": "", "currency": "USD"})
    assert response.status_code == 422 and "An order needs an account." in text(response)
    assert dump() == before


def test_change_line_against_inventory(client_for, account, fibre):
    item = ProductInventory(name="Fibre", account=account, offering=fibre, specification=fibre.specification,
                            location=account.shipping_location, quantity=1, state=InventoryState.ACTIVE)
    item.characteristics = [InventoryCharacteristic(name="Bandwidth", value="100")]
    db.session.add(item)
    db.session.commit()
    agent = client_for("agent")
    order = factories.make_order(account, lines=0, state=S.DRAFT, order_type=OrderType.SERVICE)
    form = f"/serviceorderview/line/{order.id}/add"
    assert item.number in text(agent.get(form + "?action=change"))
    response = agent.submit(form, {"version": order.version, "action": "change", "inventory_id": item.id,
                                   "quantity": "1", "char:Bandwidth": "500"})
    assert response.status_code == 302, text(response)
    line = reload(order).lines[0]
    assert line.action == LineAction.CHANGE and line.inventory_id == item.id
    assert [(c.name, c.value) for c in line.characteristics] == [("Bandwidth", "500")]


# ---------------------------------------------------------------------------------------------
# Action buttons
# ---------------------------------------------------------------------------------------------

def test_buttons_follow_state_and_role(client_for, account):
    order = factories.make_order(account, lines=1, state=S.NEW, line_state=L.NEW)
    agent_page = text(client_for("agent").get(order_page(order)))
    manager_page = text(client_for("manager").get(order_page(order)))
    assert ">Approve<" not in agent_page and ">Reject<" not in agent_page
    assert ">Approve<" in manager_page and ">Reject<" in manager_page and ">Cancel order<" in manager_page
    assert ">Submit<" not in manager_page and ">Start<" not in manager_page


def test_approve_reject_are_manager_only(client_for, account):
    order = factories.make_order(account, lines=1, state=S.NEW, line_state=L.NEW)
    agent = client_for("agent")
    before = dump()
    assert press(agent, order, f"approve/{order.id}", {"version": order.version}, follow=False).status_code == 403
    assert press(agent, order, f"reject/{order.id}", {"version": order.version, "reason": "x"},
                 follow=False).status_code == 403
    assert dump() == before


def test_reject_needs_a_reason_then_rejects(client_for, account):
    order = factories.make_order(account, lines=2, state=S.NEW, line_state=L.NEW)
    manager = client_for("manager")
    before = dump()
    page = press(manager, order, f"reject/{order.id}", {"version": order.version, "reason": ""})
    assert page.status_code == 200 and "Reject needs a reason." in text(page)
    assert dump() == before
    page = press(manager, order, f"reject/{order.id}", {"version": order.version, "reason": "Duplicate order"})
    assert f"Order {order.number} rejected." in text(page) and "Duplicate order" in text(page)
    order = reload(order)
    assert order.state == S.REJECTED and {line.state for line in order.lines} == {L.CANCELLED}


def test_approve_then_fulfil_every_line_through_buttons(client_for, account):
    order = factories.make_order(account, lines=2, state=S.NEW, line_state=L.NEW)
    page = press(client_for("manager"), order, f"approve/{order.id}", {"version": order.version})
    assert f"Order {order.number} approved for fulfilment." in text(page)
    agent = client_for("agent")
    first, second = reload(order).lines
    for action, done in (("start", "started"), ("complete", "completed")):
        line = reload(first)
        page = press(agent, order, f"line/{order.id}/{action}/{line.id}", {"version": line.version})
        assert f"Line {line.number} {done}." in text(page)
    line = reload(second)
    page = press(agent, order, f"line/{order.id}/cancel/{line.id}", {"version": line.version})
    assert f"Line {line.number} cancelled." in text(page)
    order = reload(order)
    assert order.state == S.COMPLETED
    items = db.session.query(ProductInventory).filter_by(account_id=account.id).all()
    assert [(item.state, item.order_line_id) for item in items] == [(InventoryState.ACTIVE, first.id)]
    assert items[0].number in text(agent.get(order_page(order)))


def test_cancel_order_button(client_for, account):
    order = factories.make_order(account, lines=1, state=S.DRAFT, line_state=L.DRAFT)
    page = press(client_for("agent"), order, f"cancel/{order.id}", {"version": order.version, "reason": "Dup"})
    assert f"Order {order.number} cancelled." in text(page)
    assert reload(order).state == S.CANCELLED


def test_refused_action_is_a_flash_message(client_for, account):
    order = factories.make_order(account, lines=0, state=S.DRAFT)
    before = dump()
    page = press(client_for("agent"), order, f"submit/{order.id}", {"version": order.version})
    assert page.status_code == 200 and f"Submit is not allowed: {order.number} has no lines" in text(page)
    assert dump() == before


def test_version_conflict_is_refused(client_for, account):
    order = factories.make_order(account, lines=1, state=S.DRAFT, line_state=L.DRAFT)
    stale = order.version
    agent = client_for("agent")
    response = agent.submit(f"/customerorderview/edit/{order.id}", {
        "version": stale, "account_id": account.id, "contact_id": account.primary_contact_id,
        "description": "Changed by someone else", "currency": "USD",
        "shipping_location_id": account.shipping_location_id,
    })
    assert response.status_code == 302
    before = dump()
    page = press(client_for("manager"), order, f"submit/{order.id}", {"version": stale})
    assert "after you opened it; nothing was saved" in text(page)
    assert dump() == before
    response = agent.submit(f"/customerorderview/edit/{order.id}", {
        "version": stale, "account_id": account.id, "description": "Lost update", "currency": "USD",
    })
    assert response.status_code == 409 and "after you opened it" in text(response)
    assert dump() == before


def test_malformed_requests_never_500(client_for, account):
    order = factories.make_order(account, lines=1, state=S.DRAFT, line_state=L.DRAFT)
    agent = client_for("agent")
    assert agent.get("/customerorderview/show/999999").status_code == 404
    assert agent.get("/customerorderview/show/abc").status_code == 404
    assert agent.get(f"/customerorderview/line/{order.id}/edit/999999").status_code == 404
    page = press(agent, order, f"submit/{order.id}", {"version": "abc"})
    assert page.status_code == 200 and "invalid record version" in text(page)
    assert press(agent, order, f"line/{order.id}/explode/{order.lines[0].id}", {}, follow=False).status_code == 404
    # A product order opened through the service orders list goes to its own page.
    response = agent.get(f"/serviceorderview/show/{order.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/customerorderview/show/{order.id}")
    # Lines are never edited through the generic forms, which bypass the workflows.
    response = agent.get(f"/orderlineitemview/edit/{order.lines[0].id}")
    assert response.status_code == 302 and f"/customerorderview/show/{order.id}" in response.headers["Location"]


def test_customer_cannot_reach_order_pages(client_for, account):
    order = factories.make_order(account, lines=1)
    customer = client_for("customer")
    assert customer.get(order_page(order)).status_code == 403
    assert customer.get("/customerorderview/add").status_code == 403


# ---------------------------------------------------------------------------------------------
# The order page
# ---------------------------------------------------------------------------------------------

def test_order_page_shows_cases_badges_and_create_case_entry_points(client_for, account):
    order = factories.make_order(account, lines=3)
    first, second, third = order.lines
    open_case = factories.make_case(account, order=order, order_lines=[first, third])
    closed_case = factories.make_case(account, order=order, order_lines=[second], state="Closed",
                                      line_state="Resolved - Accepted")
    header_case = factories.make_case(account, order=order)
    page = text(client_for("agent").get(order_page(order)))
    # The cases table: each case once (a case with two of the order's lines too), newest first.
    listed = re.findall(r'<tr><td><a href="[^"]+">(\w+)</a></td><td>Test case</td>',
                        re.search(r'<section class="order-section" id="cases">.*?</section>', page, re.S).group(0))
    assert listed == sorted({open_case.number, closed_case.number, header_case.number}, reverse=True)
    assert page.count(f"Open case {open_case.number}") == 2
    assert f"Open case {header_case.number}" in page
    row = re.search(rf'<tr data-line="{first.number}">.*?</tr>', page, re.S).group(0)
    assert f"Open case {open_case.number}" in row
    row = re.search(rf'<tr data-line="{third.number}">.*?</tr>', page, re.S).group(0)
    assert row.count(f"Open case {open_case.number}") == 1
    row = re.search(rf'<tr data-line="{second.number}">.*?</tr>', page, re.S).group(0)
    assert "Open case" not in row
    assert f'href="/ordercases/create/?origin=customer_order&amp;order_id={order.id}"' in page
    form = re.search(r'<form method="get" action="/ordercases/create/" id="line-case-form">.*?</form>', page, re.S)
    assert 'name="origin" value="order_line_items"' in form.group(0)
    assert f'name="order_id" value="{order.id}"' in form.group(0)
    assert re.search(r'id="create-case-lines" disabled', form.group(0))
    assert page.count('name="order_line_id"') == 3


# Sign-in (user, permissions), the order with its account, contact, site and issues, its lines, their
# characteristics, the case lines that refer to it (badges), the cases, inventory, audit trail, journal,
# change ledger, the Service Exchange status and the attachments. A new statement here is a regression: make it cost nothing per
# request, or say why it must, and raise the figure.
ORDER_PAGE_STATEMENTS = 13


def test_order_page_query_count_does_not_grow_with_lines(client_for, account):
    agent = client_for("agent")
    small = factories.make_order(account, lines=2)
    large = factories.make_order(account, lines=15)
    for order in (small, large):
        factories.make_case(account, order=order, order_lines=[order.lines[0]])
        db.session.add(ProductInventory(account=account, name="x", order_line=order.lines[1],
                                        state=InventoryState.ACTIVE))
    db.session.commit()

    def queries(order) -> int:
        url = order_page(order)
        count = []
        listener = lambda *args: count.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert agent.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(count)

    queries(small)  # warm-up: first-request caches
    assert queries(large) == queries(small) == ORDER_PAGE_STATEMENTS


@pytest.mark.parametrize("history_limit", [200, 2], ids=["ledger on the page", "ledger beyond the page"])
def test_order_page_counts_each_lines_changes_by_cases(client_for, account, monkeypatch, history_limit):
    # The counts come from the ledger rows the page shows when they are all of them, else from the database.
    from app.orders import pages

    monkeypatch.setattr(pages, "HISTORY_LIMIT", history_limit)
    order = factories.make_order(account, lines=2)
    first, second = order.lines
    db.session.add_all([OrderChange(order=order, order_line=first, field="quantity", old_value=str(n),
                                    new_value=str(n + 1)) for n in range(3)]
                       + [OrderChange(order=order, order_line=second, field="quantity", old_value="5", new_value="6"),
                          OrderChange(order=order, field="description", old_value="a", new_value="b")])
    db.session.commit()
    page = client_for("agent").get(order_page(order)).get_data(as_text=True)
    for line, count in ((first, 3), (second, 1)):
        row = re.search(rf'<tr data-line="{line.number}">.*?</tr>', page, re.S).group(0)
        assert f"{count} change(s) by cases" in row


def test_enrichment_issue_fixed_on_the_order_page(client_for, account, fibre):
    order = factories.make_order(account, lines=1, state=S.NEW, line_state=L.NEW)
    issue = EnrichmentIssue(order=order, order_line=order.lines[0], kind="offering", reference="SKU-1",
                            description="Offering SKU-1 could not be matched")
    db.session.add(issue)
    db.session.commit()
    manager = client_for("manager")
    page = press(manager, order, f"approve/{order.id}", {"version": order.version})
    assert "1 unresolved enrichment issue: Offering SKU-1 could not be matched" in text(page)
    page = press(client_for("agent"), order, f"issue/{order.id}/{issue.id}",
                 {"version": order.version, "value_id": fibre.id})
    assert "Enrichment issue resolved" in text(page)
    order = reload(order)
    assert order.lines[0].offering_id == fibre.id
    page = press(manager, order, f"approve/{order.id}", {"version": order.version})
    assert reload(order).state == S.IN_PROGRESS


def test_journal_entries_on_the_order(client_for, account):
    order = factories.make_order(account, lines=1)
    agent = client_for("agent")
    page = press(agent, order, f"journal/{order.id}", {"kind": "work note", "text": "Called the warehouse"})
    assert "Work note added." in text(page) and "Called the warehouse" in text(page)
    page = press(agent, order, f"journal/{order.id}", {"kind": "comment", "text": ""})
    assert "needs some text" in text(page)


def test_audit_trail_on_the_order_page(client_for, account):
    order = factories.make_order(account, lines=1, state=S.DRAFT, line_state=L.DRAFT)
    agent = client_for("agent")
    press(agent, order, f"submit/{order.id}", {"version": order.version})
    page = text(agent.get(order_page(order)))
    assert "Draft → New" in page and order.lines[0].number in page


def test_line_edit_and_delete(client_for, account):
    order = factories.make_order(account, lines=2, state=S.DRAFT, line_state=L.DRAFT, quantity=1)
    agent = client_for("agent")
    line = order.lines[0]
    form = f"/customerorderview/line/{order.id}/edit/{line.id}"
    assert 'value="Red" selected' in text(agent.get(form))
    response = agent.submit(form, {"version": line.version, "offering_id": line.offering_id, "quantity": "4",
                                   "char:Colour": "Blue"})
    assert response.status_code == 302, text(response)
    order = reload(order)
    assert order.total_amount == Decimal("50.00")
    second = order.lines[1]
    page = press(agent, order, f"line/{order.id}/delete/{second.id}", {"version": second.version})
    assert f"Line {second.number} deleted." in text(page)
    assert len(reload(order).lines) == 1
    assert db.session.query(OrderLineItem).count() == 1


def test_closed_order_header_is_not_offered_for_edit(client_for, account):
    order = factories.make_order(account, lines=1, state=S.COMPLETED, line_state=L.COMPLETED)
    response = client_for("agent").get(f"/customerorderview/edit/{order.id}", follow_redirects=True)
    assert response.status_code == 200
    assert f"Order {order.number} is Completed; its header can no longer be edited." in text(response)

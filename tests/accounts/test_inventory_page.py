"""The inventory page shows what the item is (characteristics), the order lines that created, changed or
disconnected it with before → after, and the open cases about them; the change form shows the current
values next to the inputs it may leave empty."""
from __future__ import annotations

import html

from flask_appbuilder.security.sqla.models import User

from app.core.choices import CaseState, InventoryState, LineAction, LineState
from app.core.extensions import db
from app.models import Location, ProductInventory
from app.orders import workflows as wf
from tests import factories


def person(users, role) -> User:
    return db.session.get(User, users[role].id)


def fulfilled_item(users):
    """An account whose laptop was ordered (add), then changed (8 instead of 5, Blue instead of Red)."""
    agent, manager = person(users, "agent"), person(users, "manager")
    account = factories.make_account("History Co")
    first = factories.make_order(account, lines=1)
    line = first.lines[0]
    wf.complete_line(agent, line.id, line.version)
    item = db.session.query(ProductInventory).one()
    depot = Location(name="Depot", street="9 Dock Rd", city="Springfield", country="US", account_id=account.id)
    db.session.add(depot)
    db.session.commit()
    change = wf.create_order(agent, {"account_id": account.id, "order_type": "product"})
    wf.add_line(agent, change.id, change.version, {
        "action": LineAction.CHANGE, "inventory_id": item.id, "quantity": 8, "location_id": depot.id,
        "characteristics": {"Colour": "Blue"}})
    wf.submit_order(agent, change.id, db.session.get(type(change), change.id).version)
    wf.approve_order(manager, change.id, db.session.get(type(change), change.id).version)
    change_line = db.session.get(type(change), change.id).lines[0]
    wf.start_line(agent, change_line.id, change_line.version)
    wf.complete_line(agent, change_line.id, change_line.version)
    return account, first, change, item, change_line


def test_the_item_shows_its_configuration_and_the_lines_that_made_and_changed_it(users, client_for):
    account, first, change, item, change_line = fulfilled_item(users)
    case = factories.make_case(account, order=change, order_lines=[change_line], state=CaseState.NEW,
                               line_state=LineState.NEW)
    page = html.unescape(client_for("agent").get(f"/productinventoryview/show/{item.id}").get_data(as_text=True))
    assert "<td>Colour</td><td>Blue</td>" in page
    assert first.lines[0].number in page and "created it (add)" in page
    assert change_line.number in page
    assert "Colour: Red → Blue" in page
    assert "quantity: 5 → 8" in page
    assert "Location: HQ → Depot" in page
    assert case.number in page
    # The history lists the lines in the order they took effect.
    assert page.index(first.lines[0].number) < page.index(change_line.number)


def test_a_disconnect_shows_the_state_change(users, client_for):
    account, _first, _change, item, _line = fulfilled_item(users)
    agent, manager = person(users, "agent"), person(users, "manager")
    order = wf.create_order(agent, {"account_id": account.id, "order_type": "product"})
    wf.add_line(agent, order.id, order.version, {"action": LineAction.DISCONNECT, "inventory_id": item.id})
    for call, who in ((wf.submit_order, agent), (wf.approve_order, manager)):
        call(who, order.id, db.session.get(type(order), order.id).version)
    line = db.session.get(type(order), order.id).lines[0]
    wf.start_line(agent, line.id, line.version)
    wf.complete_line(agent, line.id, db.session.get(type(line), line.id).version)
    page = html.unescape(client_for("agent").get(f"/productinventoryview/show/{item.id}").get_data(as_text=True))
    assert "disconnect" in page and "state: active → inactive" in page
    assert db.session.get(ProductInventory, item.id).state == InventoryState.INACTIVE


def test_the_change_form_shows_the_current_values(users, client_for):
    account, _first, _change, item, _line = fulfilled_item(users)
    order = wf.create_order(person(users, "agent"), {"account_id": account.id, "order_type": "product"})
    form = html.unescape(client_for("agent").get(
        f"/customerorderview/line/{order.id}/add?action=change").get_data(as_text=True))
    assert "Current value" not in form
    form = html.unescape(client_for("agent").submit(f"/customerorderview/line/{order.id}/add", {
        "version": order.version, "action": LineAction.CHANGE, "inventory_id": item.id, "refresh": "1",
        "offering_id": "", "quantity": "1"}).get_data(as_text=True))
    assert "Current value: <strong>Blue</strong>" in form
    assert "Current quantity: <strong>8</strong>" in form
    assert "Current location: <strong>Depot" in form


def test_an_unknown_item_is_404(client_for):
    agent = client_for("agent")
    assert agent.get("/productinventoryview/show/999999").status_code == 404
    assert agent.get("/productinventoryview/show/abc").status_code == 404

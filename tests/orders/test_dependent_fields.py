"""The fields of the order and quote line forms that follow the line's action, inventory item and offering,
fetched as a fragment (``<order view>/line/<order>/characteristics[/<line>]``,
``quoteview/line/<quote>/characteristics``) and swapped in by orderdesk.js; and the same forms without script,
sent again with refresh=1. Through HTTP with real logins and CSRF on."""
from __future__ import annotations

import pytest

from app.core.choices import LineAction, OrderState, OrderType, SpecKind
from app.core.extensions import db
from app.models import Quote
from tests import factories


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def draft():
    return factories.make_line_choices("Fields Co", lines=1)


def test_a_new_lines_fields_follow_its_offering_and_action(client_for, draft):
    agent = client_for("agent")
    url = f"/customerorderview/line/{draft['order'].id}/characteristics"
    chair = agent.get(url, query_string={"action": "add", "offering_id": draft["chair"].id, "quantity": "3",
                                         "char:Fabric": "Mesh", "description": "not in the fragment"})
    html = text(chair)
    assert chair.status_code == 200 and "<html" not in html and 'id="line-choices"' in html
    assert 'name="char:Fabric"' in html and '<option value="Mesh" selected>' in html
    assert 'name="inventory_id" value=""' in html and 'value="3"' in html
    assert "not in the fragment" not in html

    # A change line: the account's items are offered, the chosen one's current values shown.
    change = text(agent.get(url, query_string={"action": "change", "inventory_id": draft["item"].id}))
    assert '<select class="form-control" id="inventory_id"' in change
    assert f'<option value="{draft["item"].id}" selected>' in change
    assert "Current value: <strong>Blue</strong>" in change and "Current quantity: <strong>4</strong>" in change
    # A disconnect keeps the item's quantity.
    assert "readonly" in text(agent.get(url, query_string={"action": "disconnect"}))


def test_a_saved_lines_fields_keep_its_action(client_for, draft):
    order, line = draft["order"], draft["order"].lines[0]
    agent = client_for("agent")
    html = text(agent.get(f"/customerorderview/line/{order.id}/characteristics/{line.id}",
                          query_string={"action": "disconnect", "offering_id": draft["chair"].id}))
    assert f'<input type="hidden" name="action" value="{LineAction.ADD}">' in html
    assert 'name="char:Fabric"' in html and "readonly" not in html
    edit = text(agent.get(f"/customerorderview/line/{order.id}/edit/{line.id}"))
    assert f'data-refresh-url="/customerorderview/line/{order.id}/characteristics/{line.id}"' in edit


def test_a_service_order_offers_its_own_offerings(client_for):
    account = factories.make_account("Service Co")
    factories.make_offering("Standing desk")
    lan = factories.make_offering("Managed LAN", kind=SpecKind.SERVICE)
    order = factories.make_order(account, lines=0, state=OrderState.DRAFT, order_type=OrderType.SERVICE, offering=lan)
    html = text(client_for("agent").get(f"/serviceorderview/line/{order.id}/characteristics?action=add"))
    assert "Managed LAN" in html and "Standing desk" not in html and "Service location" in html


def test_a_quote_lines_characteristics_follow_its_offering(client_for, draft):
    account = draft["order"].account
    quote = factories.make_draft_quote(account)
    agent = client_for("agent")
    html = text(agent.get(f"/quoteview/line/{quote.id}/characteristics",
                          query_string={"offering_id": draft["chair"].id, "char:Colour": "Red"}))
    assert 'id="quote-line-choices"' in html and 'name="char:Fabric"' in html
    assert '<option value="Red" selected>' in html and "<html" not in html
    form = text(agent.get(f"/quoteview/line/{quote.id}"))
    assert f'data-refresh-url="/quoteview/line/{quote.id}/characteristics"' in form
    # Without script the form is sent again with refresh=1 and shows the same fields, nothing saved.
    refreshed = agent.submit(f"/quoteview/line/{quote.id}", {"version": quote.version, "quantity": "2",
                                                              "offering_id": draft["chair"].id, "refresh": "1"})
    assert refreshed.status_code == 200 and 'name="char:Fabric"' in text(refreshed)
    db.session.expire_all()
    assert db.session.get(Quote, quote.id).lines == []


def test_without_script_the_line_form_is_sent_again_to_show_the_fields(client_for, draft):
    order = draft["order"]
    agent = client_for("agent")
    form = text(agent.get(f"/customerorderview/line/{order.id}/add"))
    assert "data-refresh-on-change" not in form and "<noscript><button type=\"submit\" name=\"refresh\"" in form
    refreshed = agent.submit(f"/customerorderview/line/{order.id}/add", {
        "version": order.version, "action": "change", "inventory_id": draft["item"].id, "offering_id": "",
        "description": "Typed before the refresh", "refresh": "1"})
    html = text(refreshed)
    assert refreshed.status_code == 200 and "Current value: <strong>Blue</strong>" in html
    assert 'value="Typed before the refresh"' in html
    db.session.expire_all()
    assert len(order.lines) == 1


@pytest.mark.parametrize("path, status", [
    ("/customerorderview/line/abc/characteristics", 422),
    ("/customerorderview/line/1e3/characteristics", 422),
    ("/customerorderview/line/99999999999999999999/characteristics", 422),
    ("/customerorderview/line/999999/characteristics", 404),
    ("/customerorderview/line/{order}/characteristics/abc", 422),
    ("/customerorderview/line/{order}/characteristics/999999", 404),
    ("/serviceorderview/line/-1/characteristics", 422),
    ("/quoteview/line/x/characteristics", 422),
    ("/quoteview/line/999999/characteristics", 404),
])
def test_a_bad_or_unknown_id_is_refused_with_a_reason_never_a_server_error(client_for, draft, path, status):
    response = client_for("agent").get(path.format(order=draft["order"].id), query_string={"offering_id": "x"})
    assert response.status_code == status
    if status == 422:
        assert "must be a record id" in text(response)


def test_bad_choices_in_the_query_string_are_ignored_not_a_server_error(client_for, draft):
    url = f"/customerorderview/line/{draft['order'].id}/characteristics"
    for query in ({"action": "rocket"}, {"offering_id": "99999999999999999999"}, {"inventory_id": "-1"},
                  {"char:Colour": "x" * 5000}):
        assert client_for("agent").get(url, query_string=query).status_code == 200


@pytest.mark.parametrize("role, status", [("agent", 200), ("manager", 200), ("customer", 403)])
def test_only_who_may_edit_orders_reaches_the_fragments(client_for, draft, role, status):
    client = client_for(role)
    order = draft["order"]
    assert client.get(f"/customerorderview/line/{order.id}/characteristics").status_code == status
    assert client.get(f"/customerorderview/line/{order.id}/characteristics/{order.lines[0].id}").status_code == status
    anonymous = client_for(None).get(f"/customerorderview/line/{order.id}/characteristics")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]

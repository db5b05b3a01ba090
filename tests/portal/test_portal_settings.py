"""A customer's own time zone: chosen in the portal, every portal time shown in it and named."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from app.core.extensions import db
from app.models import OrderCase, UserPreference
from tests import factories


def body(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def case(users):
    account = factories.make_account("Zone Buyer Co")
    account.primary_contact.user_id = users["customer"].id
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=list(order.lines))
    # Opened at 23:30 UTC on 1 July: 1 July in UTC, already 2 July in Tokyo.
    db.session.get(OrderCase, case.id).opened_at = dt.datetime(2026, 7, 1, 23, 30)
    order.order_date = dt.datetime(2026, 7, 1, 23, 30)
    db.session.commit()
    return case


def test_a_customer_chooses_a_time_zone_and_the_portal_shows_times_in_it(client_for, users, case):
    client = client_for("customer")
    page = body(client.get(f"/portal/cases/{case.id}/"))
    assert "Times in UTC" in page and "2026-07-01 23:30 UTC" in page

    settings = body(client.get("/portal/settings"))
    assert "<option selected>UTC</option>" in settings and 'href="/portal/settings"' in settings
    saved = client.submit("/portal/settings", {"time_zone": "Asia/Tokyo"})
    assert saved.status_code == 302
    assert db.session.get(UserPreference, users["customer"].id).time_zone == "Asia/Tokyo"

    page = body(client.get(f"/portal/cases/{case.id}/"))
    assert "Times in Asia/Tokyo" in page
    assert re.search(r'<time datetime="2026-07-02T08:30:00\+09:00">2026-07-02 08:30 JST</time>', page)
    listing = body(client.get("/portal/cases/"))
    assert '<time datetime="2026-07-02">2026-07-02</time>' in listing  # the day in Tokyo
    assert "2026-07-02" in body(client.get("/portal/orders/"))
    assert "<option selected>Asia/Tokyo</option>" in body(client.get("/portal/settings"))

    # The choice is the user's: it holds after signing in again.
    again = client_for("customer")
    assert "Times in Asia/Tokyo" in body(again.get("/portal/"))


def test_an_unknown_time_zone_is_refused_at_the_field_and_nothing_is_saved(client_for, users, case):
    client = client_for("customer")
    for bad in ("Mars/Olympus", "", "x" * 500):
        response = client.submit("/portal/settings", {"time_zone": bad})
        html = body(response)
        assert response.status_code == 422, bad
        assert re.search(r'aria-describedby="time-zone-help time_zone-error" aria-invalid="true"', html), bad
        assert '<span class="field-error" id="time_zone-error">Choose a time zone from the list</span>' in html
    # A control character is refused before the page sees it (the app's own bad-input answer).
    assert client.submit("/portal/settings", {"time_zone": "UTC\x00"}).status_code in (400, 422)
    assert db.session.get(UserPreference, users["customer"].id) is None

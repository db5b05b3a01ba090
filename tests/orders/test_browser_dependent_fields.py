"""Choosing a line's action, item or offering swaps the fields that follow it in place, with no full page
load, and what was typed elsewhere in the form stays; in headless Chromium at desktop and phone size, with
axe-core checking the pages."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.core.extensions import db
from app.models import OrderLineItem, QuoteLine
from tests import factories
from tests.accessibility import axe_violations, blocking, impact_counts
from tests.orders.typeahead import type_ahead

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


class PageLoads:
    """Counts the page's full loads from now on."""

    def __init__(self, page):
        self.count = 0
        page.on("load", lambda _page: self._loaded())

    def _loaded(self):
        self.count += 1


def no_blocking_violations(page) -> None:
    violations = axe_violations(page)
    print(f"\naxe on {page.url}: {impact_counts(violations)}")
    found = blocking(violations)
    assert not found, "\n".join(f"{v['rule']}: {n}" for v in found for n in v["nodes"])


@pytest.fixture
def draft():
    return factories.make_line_choices("Swap Co")


@pytest.mark.parametrize("size", SIZES)
def test_the_line_fields_follow_the_offering_and_the_action_without_a_page_load(page_as, live_server, draft, size):
    order = draft["order"]
    agent = page_as("agent", SIZES[size])
    agent.goto(f"{live_server}/customerorderview/line/{order.id}/add")
    loads = PageLoads(agent)
    agent.fill("#description", "Typed before the choices")
    agent.fill("#quantity", "3")

    type_ahead(agent, "offering_id", "chair", "Office chair")
    expect(agent.locator("[name='char:Fabric']")).to_have_count(1)
    # Focus stays on the offering the agent just chose, in its fresh copy.
    expect(agent.locator("#offering_id + .select2 .select2-selection")).to_be_focused()
    agent.select_option("[name='char:Fabric']", "Mesh")
    no_blocking_violations(agent)

    agent.select_option("#action", "change")
    expect(agent.locator("#inventory_id")).to_have_count(1)
    agent.select_option("#inventory_id", str(draft["item"].id))
    expect(agent.locator(".current-value", has_text="Current value: Blue")).to_have_count(1)
    expect(agent.locator(".current-value", has_text="Current quantity: 4")).to_have_count(1)
    assert agent.input_value("#description") == "Typed before the choices"
    assert agent.input_value("#quantity") == "3"
    no_blocking_violations(agent)

    agent.select_option("#action", "add")
    expect(agent.locator("#inventory_id")).to_have_count(0)
    assert agent.input_value("[name='char:Fabric']") == "Mesh"
    assert loads.count == 0, f"{loads.count} full page loads while choosing"

    with agent.expect_navigation():
        agent.locator("#save-line").click()
    line = db.session.query(OrderLineItem).filter_by(order_id=order.id).one()
    assert (line.offering_id, line.quantity, line.description) == (draft["chair"].id, 3, "Typed before the choices")
    assert {c.name: c.value for c in line.characteristics}["Fabric"] == "Mesh"


@pytest.mark.parametrize("size", SIZES)
def test_a_quote_lines_characteristics_follow_its_offering_without_a_page_load(page_as, live_server, draft, size):
    account = draft["order"].account
    quote = factories.make_draft_quote(account)
    agent = page_as("agent", SIZES[size])
    agent.goto(f"{live_server}/quoteview/line/{quote.id}")
    loads = PageLoads(agent)
    agent.fill("#quantity", "2")
    type_ahead(agent, "offering_id", "chair", "Office chair")
    expect(agent.locator("[name='char:Fabric']")).to_have_count(1)
    agent.select_option("[name='char:Fabric']", "Wool")
    assert agent.input_value("#quantity") == "2" and loads.count == 0
    no_blocking_violations(agent)
    with agent.expect_navigation():
        agent.locator("#save-quote-line").click()
    line = db.session.query(QuoteLine).filter_by(quote_id=quote.id).one()
    assert (line.offering_id, line.quantity) == (draft["chair"].id, 2)


def test_without_script_the_refresh_button_shows_the_fields(page_as, live_server, draft):
    agent = page_as("agent", SIZES["desktop"], javascript=False)
    agent.goto(f"{live_server}/customerorderview/line/{draft['order'].id}/add")
    agent.select_option("#offering_id", str(draft["chair"].id))
    agent.fill("#description", "No script")
    with agent.expect_navigation():
        agent.get_by_role("button", name="Show the characteristics of this choice").click()
    expect(agent.locator("[name='char:Fabric']")).to_have_count(1)
    assert agent.input_value("#description") == "No script"


@pytest.mark.parametrize("size", SIZES)
def test_a_slow_fetch_shows_that_the_fields_are_updating_and_a_failed_one_says_so(page_as, live_server, draft, size):
    agent = page_as("agent", SIZES[size])
    agent.goto(f"{live_server}/customerorderview/line/{draft['order'].id}/add")
    held = []
    agent.route("**/characteristics*", lambda route: held.append(route))

    agent.select_option("#action", "change")
    updating = agent.locator(".od-refreshing[role='status']")
    expect(updating).to_have_text("Updating the fields that follow Action…")
    expect(agent.locator("#inventory_id")).to_have_count(0)
    no_blocking_violations(agent)
    held.pop().continue_()
    expect(agent.locator("#inventory_id")).to_have_count(1)
    expect(updating).to_have_count(0)

    agent.select_option("#action", "add")
    expect(updating).to_have_count(1)
    held.pop().abort()
    failed = agent.locator(".od-refreshing[role='alert']")
    expect(failed).to_contain_text("The fields that follow Action could not be updated (no answer)")
    # The fields stay as they were: nothing half-swapped.
    expect(agent.locator("#inventory_id")).to_have_count(1)
    no_blocking_violations(agent)

    agent.unroute("**/characteristics*")
    agent.select_option("#action", "change")
    agent.select_option("#action", "add")
    expect(agent.locator("#inventory_id")).to_have_count(0)
    expect(failed).to_have_count(0)

"""The intake form in headless Chromium at desktop and phone size: the account typed ahead, its contacts
following in place without a page load, axe-core finding nothing critical or serious."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.core.choices import Scope
from app.core.extensions import db
from app.models import Contact, OrderCase
from tests import factories
from tests.accessibility import axe_violations, blocking, impact_counts

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", SIZES)
def test_agent_types_the_account_and_its_contacts_follow_without_a_page_load(page_as, live_server, size):
    service = factories.make_service()
    factories.make_account("Contoso")
    northwind = factories.make_account("Northwind Traders")
    db.session.add(Contact(account=northwind, first_name="Nora", last_name="Quill"))
    db.session.commit()
    agent = page_as("agent", SIZES[size])
    agent.goto(f"{live_server}/ordercases/create/intake?service_id={service.id}&origin=list")
    loads = []
    agent.on("load", lambda page: loads.append(page.url))
    agent.fill("#short_description", "Typed before the account")
    assert agent.locator("#contact_id").is_disabled()

    # Typing on the closed field opens it and searches.
    agent.locator("#account_id + .select2 .select2-selection").press_sequentially("northw", delay=20)
    option = agent.locator(".select2-results__option", has_text="Northwind Traders")
    expect(option).to_have_count(1)
    expect(agent.locator(".select2-results__option", has_text="Contoso")).to_have_count(0)
    violations = axe_violations(agent)
    print(f"\naxe on the intake form, account search open: {impact_counts(violations)}")
    assert not blocking(violations), blocking(violations)
    option.click()

    expect(agent.locator("#contact_id option", has_text="Nora Quill")).to_have_count(1)
    assert agent.locator("#contact_id").input_value() == str(northwind.primary_contact_id)
    assert agent.input_value("#short_description") == "Typed before the account"
    agent.locator("#contact_id").select_option(label="Nora Quill")
    violations = axe_violations(agent)
    print(f"axe on the intake form, contact chosen: {impact_counts(violations)}")
    assert not blocking(violations), blocking(violations)
    assert loads == []

    agent.select_option("#scope", Scope.MULTIPLE_ORDERS)
    with agent.expect_navigation():
        agent.get_by_role("button", name="Save").click()
    case = db.session.query(OrderCase).one()
    assert (case.account_id, case.contact.name) == (northwind.id, "Nora Quill")

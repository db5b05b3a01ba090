"""An agent's whole order case journey in headless Chromium, clicking through the real pages."""
from __future__ import annotations

import re

import pytest

from app.core.choices import CaseOrigin, CaseState, LineState, ResolutionCode, Scope
from app.core.extensions import db
from app.models import Interaction, OrderCase, ServiceDefinition
from tests import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def services():
    db.session.add_all([
        ServiceDefinition(name="Sales Order Dispute", active=True, sort_order=20),
        ServiceDefinition(name="Sales Order Change Request", active=True, sort_order=10),
    ])
    db.session.commit()


def the_case() -> OrderCase:
    db.session.expire_all()
    return db.session.query(OrderCase).one()


def expect_text(page, selector: str, text: str):
    page.wait_for_function(
        "([sel, txt]) => { const el = document.querySelector(sel); return el && el.innerText.includes(txt); }",
        arg=[selector, text],
    )
    # The text shows as soon as the new page is parsed; its scripts (the dialogs) run at its end. A click
    # before they ran would follow the link to the form's own page, as without script.
    page.wait_for_load_state("load")


def line_row(page, number: str):
    return page.locator(f"tr[data-line-number='{number}']")


def test_agent_journey_from_order_lines_to_a_closed_case(page_as, live_server, services):
    account = factories.make_account("Journey Co")
    order = factories.make_order(account, lines=3)
    first, second, third = (line.number for line in order.lines)
    page = page_as("agent")

    # The customer order page: select two order lines, then Create case (disabled with none selected).
    page.goto(f"{live_server}/customerorderview/show/{order.id}")
    create = page.locator("#create-case-lines")
    assert create.is_disabled()
    page.get_by_label(f"Select {first}").check()
    page.get_by_label(f"Select {second}").check()
    create.click()

    # The case type selector lists the active services in their order.
    page.wait_for_selector(".case-type-selector")
    types = page.locator(".case-type-name").all_inner_texts()
    assert types == ["Sales Order Change Request", "Sales Order Dispute"]
    page.get_by_role("button", name="Sales Order Change Request").click()

    # The intake form, pre-filled for the Order Line Items path.
    page.wait_for_selector(".case-intake")
    assert page.locator("#scope").input_value() == Scope.SINGLE_ORDER
    assert page.locator("#order_number").input_value() == order.number
    assert page.locator("#account_id option:checked").inner_text().startswith("Journey Co")
    page.fill("#short_description", "Customer wants changes on two lines")
    page.get_by_role("button", name="Save").click()

    # The Draft case with its two Draft lines; Add a third line through the picker.
    page.wait_for_selector(".order-case")
    expect_text(page, ".case-state", "Draft")
    assert page.locator("tr.case-line").count() == 2
    page.locator(".line-toolbar").get_by_role("link", name="Add").click()
    expect_text(page, ".od-dialog .modal-title", "Add order lines to case")
    assert page.locator(".picker-number").all_inner_texts() == [third]
    page.get_by_label(f"Select {third}").check()
    page.get_by_role("button", name="Add").click()
    page.wait_for_selector(".order-case")
    assert page.locator("tr.case-line").count() == 3

    # Submit is refused while the lines do not say what the customer wants; classified, it goes through.
    page.locator(".case-actions").get_by_role("button", name="Submit").click()
    expect_text(page, ".alert-danger", "needs a request type")
    expect_text(page, ".case-state", "Draft")
    factories.classify_lines(the_case().id)
    page.reload()
    page.locator(".case-actions").get_by_role("button", name="Submit").click()
    expect_text(page, ".case-state", "New")
    page.locator(".case-actions").get_by_role("button", name="Assign to me").click()
    expect_text(page, ".case-state", "Work in Progress")
    assert page.locator(".case-assignee").inner_text().strip() != "—"
    case = the_case()
    numbers = [line.number for line in case.lines]
    assert [line.state for line in case.lines] == [LineState.WORK_IN_PROGRESS] * 3

    # Accept one line, Deny one, Cancel one: each action's form opens in a dialog over the case page.
    line_row(page, numbers[0]).get_by_role("link", name="Accept").click()
    dialog = page.get_by_role("dialog")
    dialog.locator(".case-action-form").wait_for()
    dialog.get_by_role("button", name="Accept").click()
    expect_text(page, f"tr[data-line-number='{numbers[0]}'] .line-state", "Resolved - Accepted")

    line_row(page, numbers[1]).get_by_role("link", name="Deny").click()
    page.fill("#resolution_notes", "Not possible at this price")
    dialog.get_by_role("button", name="Deny").click()
    expect_text(page, f"tr[data-line-number='{numbers[1]}'] .line-state", "Resolved - Denied")

    line_row(page, numbers[2]).get_by_role("link", name="Cancel line").click()
    page.fill("#reason", "Customer withdrew the request")
    dialog.get_by_role("button", name="Cancel line").click()
    expect_text(page, f"tr[data-line-number='{numbers[2]}'] .line-state", "Cancelled")

    # Every line is terminal: the case resolved itself.
    expect_text(page, ".case-state", "Resolved")
    expect_text(page, ".case-resolution-code", ResolutionCode.PARTIALLY_APPROVED)
    assert re.findall(r"[A-Za-z ]+", page.locator(".case-actions .case-action").inner_text())[0] == "Close Case"

    page.locator(".case-actions").get_by_role("button", name="Close Case").click()
    expect_text(page, ".case-state", "Closed")
    assert page.locator(".case-actions .case-action").count() == 0
    case = the_case()
    assert (case.state, case.origin, case.scope) == (CaseState.CLOSED, CaseOrigin.ORDER_LINE_ITEMS, Scope.SINGLE_ORDER)
    assert [line.state for line in case.lines] == [LineState.ACCEPTED, LineState.DENIED, LineState.CANCELLED]
    # The activity stream tells the story, newest first.
    stream = page.locator(".activity-stream").inner_text()
    assert stream.index("Close Case") < stream.index("Assign to me") < stream.index("Submit")


def test_agent_cancels_a_draft_case_created_from_an_interaction(page_as, live_server, services, users):
    account = factories.make_account("Caller Co")
    interaction = Interaction(channel="phone", account=account, contact=account.primary_contact,
                              short_description="Asked about a late delivery", agent_id=users["agent"].id)
    db.session.add(interaction)
    db.session.commit()
    page = page_as("agent")

    page.goto(f"{live_server}/interactionview/show/{interaction.id}")
    page.get_by_role("link", name="Create case").click()
    page.get_by_role("button", name="Sales Order Dispute").click()
    page.wait_for_selector(".case-intake")
    assert page.locator("#short_description").input_value() == "Asked about a late delivery"
    assert page.locator("#account_id option:checked").inner_text().startswith("Caller Co")
    page.select_option("#scope", Scope.MULTIPLE_ORDERS)
    page.get_by_role("button", name="Save").click()

    page.wait_for_selector(".order-case")
    expect_text(page, ".case-state", "Draft")
    # Cancel case is irreversible: a dialog says what will happen, and going back changes nothing.
    page.locator(".case-actions").get_by_role("link", name="Cancel case…").click()
    expect_text(page, ".od-dialog .action-confirmation", "will be cancelled")
    page.locator(".od-dialog").get_by_role("link", name="Keep the case").click()
    page.wait_for_selector(".od-dialog", state="detached")
    assert the_case().state == CaseState.DRAFT
    page.locator(".case-actions").get_by_role("link", name="Cancel case…").click()
    page.locator(".od-dialog").get_by_role("button", name="Cancel case").click()
    expect_text(page, ".case-state", "Cancelled")
    case = the_case()
    assert (case.state, case.origin, case.interaction_id) == (CaseState.CANCELLED, CaseOrigin.INTERACTION,
                                                               interaction.id)

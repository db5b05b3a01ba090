"""The order case pages over HTTP with real logins and CSRF on: the four creation paths, the record page,
every case and line action, the line forms, version conflicts and refusals."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import event

from app.core.choices import CaseOrigin, CaseState, JournalKind, LineState, RequestType, ResolutionCode, Scope
from app.core.extensions import db
from app.models import (
    AuditEvent,
    Interaction,
    JournalEntry,
    OrderCase,
    OrderCaseLine,
    ServiceDefinition,
)
from tests import factories
from tests.conftest import csrf_from


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def version_on(page_html: str) -> int:
    return int(re.search(r'data-version="(\d+)"', page_html).group(1))


def fresh(model, record_id):
    db.session.expire_all()
    return db.session.get(model, record_id)


def states(case_id) -> list[str]:
    db.session.expire_all()
    return [line.state for line in db.session.query(OrderCaseLine).filter_by(case_id=case_id).order_by(OrderCaseLine.id)]


@pytest.fixture
def services():
    dispute = ServiceDefinition(name="Sales Order Dispute", active=True, sort_order=20)
    change = ServiceDefinition(name="Sales Order Change Request", active=True, sort_order=10)
    retired = ServiceDefinition(name="Retired service", active=False, sort_order=1)
    db.session.add_all([dispute, change, retired])
    db.session.commit()
    return change, dispute


def record_url(case_id) -> str:
    return f"/ordercases/{case_id}"


def act(client, case_id, path, data=None, version=None):
    """Press a button of the record page: GET the page (CSRF, version), POST the button's form."""
    page = client.get(record_url(case_id))
    payload = {"version": version if version is not None else version_on(page.get_data(as_text=True))}
    payload.update(data or {})
    return client.submit(record_url(case_id), payload, post_url=path, follow_redirects=True)


def line_act(client, line, slug, data=None):
    return client.submit(record_url(line.case_id), {"version": fresh(OrderCaseLine, line.id).version, **(data or {})},
                         post_url=f"/ordercases/line/{line.id}/action/{slug}", follow_redirects=True)


# ----------------------------------------------------------------------------------------------------
# The four creation paths


def test_create_case_from_a_customer_order(client_for, services):
    account = factories.make_account("Acme")
    order = factories.make_order(account)
    agent = client_for("agent")
    selector = agent.get(f"/ordercases/create/?origin=customer_order&order_id={order.id}")
    body = text_of(selector)
    assert selector.status_code == 200 and "Select a case type" in body
    assert body.index("Sales Order Change Request") < body.index("Sales Order Dispute")
    assert "Retired service" not in body
    intake_url = f"/ordercases/create/intake?origin=customer_order&order_id={order.id}&service_id={services[0].id}"
    intake = text_of(agent.get(intake_url))
    assert "Create New Order Case" in intake
    assert re.search(rf'<option value="{account.id}" selected>', intake)
    assert f'<option selected>{Scope.MULTIPLE_ORDERS}</option>' in intake
    response = agent.submit(intake_url, {"service_id": services[0].id, "origin": "customer_order",
                                         "order_id": order.id, "account_id": account.id,
                                         "scope": Scope.MULTIPLE_ORDERS, "order_number": "",
                                         "short_description": "Deliver sooner"})
    assert response.status_code == 302
    case = db.session.query(OrderCase).one()
    assert response.headers["Location"].endswith(record_url(case.id))
    assert (case.state, case.scope, case.origin, case.contact_id, case.service_id) == (
        CaseState.DRAFT, Scope.MULTIPLE_ORDERS, CaseOrigin.CUSTOMER_ORDER, account.primary_contact_id, services[0].id)
    assert [(l.order_id, l.order_line_id, l.state) for l in case.lines] == [(order.id, None, LineState.DRAFT)]


def test_create_case_from_selected_order_line_items(client_for, services):
    account = factories.make_account()
    order = factories.make_order(account, lines=3)
    first, second = order.lines[0], order.lines[1]
    agent = client_for("agent")
    query = f"origin=order_line_items&order_id={order.id}&order_line_id={first.id}&order_line_id={second.id}"
    selector = text_of(agent.get(f"/ordercases/create/?{query}"))
    assert f'name="order_line_id" value="{second.id}"' in selector
    intake_url = f"/ordercases/create/intake?{query}&service_id={services[1].id}"
    intake = text_of(agent.get(intake_url))
    assert f'value="{order.number}"' in intake and f"<option selected>{Scope.SINGLE_ORDER}</option>" in intake
    response = agent.submit(intake_url, {
        "service_id": services[1].id, "origin": "order_line_items", "order_id": order.id,
        "order_line_id": [first.id, second.id], "account_id": account.id, "scope": Scope.SINGLE_ORDER,
        "order_number": order.number, "short_description": "Two lines wrong"}, follow_redirects=True)
    assert response.status_code == 200
    case = db.session.query(OrderCase).one()
    assert f"Order case {case.number} created in Draft." in text_of(response)
    assert (case.scope, case.order_id, case.origin) == (Scope.SINGLE_ORDER, order.id, CaseOrigin.ORDER_LINE_ITEMS)
    assert [l.order_line_id for l in case.lines] == [first.id, second.id]
    assert [c.value for c in case.lines[0].characteristics] == ["Red"]


def test_create_case_from_an_interaction(client_for, services, users):
    account = factories.make_account()
    interaction = Interaction(channel="phone", account=account, contact=account.primary_contact,
                              short_description="Customer called about order", agent_id=users["agent"].id)
    db.session.add(interaction)
    db.session.commit()
    agent = client_for("agent")
    intake_url = f"/ordercases/create/intake?origin=interaction&interaction_id={interaction.id}&service_id={services[0].id}"
    intake = text_of(agent.get(intake_url))
    assert re.search(rf'<option value="{account.id}" selected>', intake)
    assert 'value="Customer called about order"' in intake
    agent.submit(intake_url, {"service_id": services[0].id, "origin": "interaction",
                              "interaction_id": interaction.id, "account_id": account.id,
                              "scope": Scope.MULTIPLE_ORDERS, "order_number": "",
                              "short_description": "Customer called about order"})
    case = db.session.query(OrderCase).one()
    assert (case.interaction_id, case.origin, case.contact_id, case.lines) == (
        interaction.id, CaseOrigin.INTERACTION, account.primary_contact_id, [])


def test_new_on_the_order_cases_list_and_intake_refusals(client_for, services):
    account = factories.make_account()
    other_order = factories.make_order(factories.make_account())
    agent = client_for("agent")
    new = agent.get("/ordercaseview/add")
    assert new.status_code == 302 and new.headers["Location"].endswith("/ordercases/create/")
    intake_url = f"/ordercases/create/intake?service_id={services[0].id}"
    intake = text_of(agent.get(intake_url))
    assert not re.search(r'<option value="\d+" selected>', intake)
    refused = agent.submit(intake_url, {"service_id": services[0].id, "origin": "list", "account_id": "",
                                        "scope": Scope.SINGLE_ORDER, "short_description": ""})
    assert refused.status_code == 422 and "Create case needs: Account, Short description." in text_of(refused)
    refused = agent.submit(intake_url, {"service_id": services[0].id, "origin": "list", "account_id": account.id,
                                        "scope": Scope.SINGLE_ORDER, "order_number": other_order.number,
                                        "short_description": "x"})
    assert refused.status_code == 422 and f"order {other_order.number} belongs to another account" in text_of(refused)
    assert db.session.query(OrderCase).count() == 0
    created = agent.submit(intake_url, {"service_id": services[0].id, "origin": "list", "account_id": account.id,
                                        "scope": Scope.MULTIPLE_ORDERS, "short_description": "From the list"})
    assert created.status_code == 302
    case = db.session.query(OrderCase).one()
    assert (case.origin, case.lines) == (CaseOrigin.LIST, [])


def test_intake_without_a_case_type_goes_back_to_the_selector(client_for):
    response = client_for("agent").get("/ordercases/create/intake?origin=list")
    assert response.status_code == 302 and "/ordercases/create/" in response.headers["Location"]


# ----------------------------------------------------------------------------------------------------
# The record page


def test_record_page_shows_header_banner_lines_and_the_actions_the_state_allows(client_for):
    account = factories.make_account("Critical Co")
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    case.priority = 1
    db.session.commit()
    page = text_of(client_for("agent").get(record_url(case.id)))
    assert "This case is critical. Follow up immediately." in page
    for text in (case.number, "Critical Co", "Pat Buyer", Scope.SINGLE_ORDER, "Sales Order Change Request", "Draft",
                 case.lines[0].number, case.lines[1].number, "Order Case Line"):
        assert text in page
    buttons = re.findall(r'class="btn btn-primary btn-sm case-action">([^<]+)<', page)
    assert buttons == ["Submit"]
    # Cancel is irreversible: set apart, named for what it does, and it asks first (a dialog or a page).
    assert re.findall(r'case-action-irreversible" data-dialog\s+href="([^"]+)">Cancel case…<', page) == [
        f"/ordercases/{case.id}/action/cancel"]
    assert ">Add</a>" in page and ">New</a>" in page and ">Assign to me</button>" in page


def test_line_buttons_follow_the_state_and_the_role(client_for):
    account = factories.make_account()
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.RESOLVED,
                               line_state=LineState.ACCEPTED)
    agent_page = text_of(client_for("agent").get(record_url(case.id)))
    manager_page = text_of(client_for("manager").get(record_url(case.id)))
    assert "Reopen" not in agent_page
    assert manager_page.count(">Reopen</button>") == 2
    assert re.findall(r'case-action">([^<]+)<', agent_page) == ["Close Case"]
    assert client_for("customer").get(record_url(case.id)).status_code == 403
    assert client_for("agent").get("/ordercases/999999").status_code == 404


def test_the_record_page_of_3_lines_costs_no_more_queries_than_one_of_60(client_for, app):
    # A case whose lines all fit on the page takes its side panel's orders from them (two statements
    # fewer); beyond one page the count stays fixed (test_case_page_paging, 60 or 600 lines).
    agent = client_for("agent")
    counts = []
    for size in (3, 60):
        account = factories.make_account()
        order = factories.make_order(account, lines=size)
        case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.WORK_IN_PROGRESS,
                                   line_state=LineState.WORK_IN_PROGRESS)
        for line in case.lines:
            db.session.add(AuditEvent(record_type="order_case_line", record_id=line.id, record_number=line.number,
                                      case_id=case.id, action="Start work", field="state", old_value="New",
                                      new_value="Work in Progress", user_id=None))
        db.session.commit()
        statements = []
        listener = lambda *args: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert agent.get(record_url(case.id)).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        counts.append(len(statements))
    assert counts[0] <= counts[1], counts


# ----------------------------------------------------------------------------------------------------
# Every case and line action through the pages


def test_the_whole_case_lifecycle_through_the_buttons(client_for, users):
    account = factories.make_account()
    order = factories.make_order(account, lines=4)
    case = factories.make_case(account, order=order, order_lines=order.lines[:3])
    agent = client_for("agent")
    one, two, three = sorted(case.lines, key=lambda l: l.id)

    page = act(agent, case.id, f"/ordercases/{case.id}/action/submit")
    assert f"{case.number} submitted." in text_of(page)
    assert (fresh(OrderCase, case.id).state, states(case.id)) == (CaseState.NEW, [LineState.NEW] * 3)

    act(agent, case.id, f"/ordercases/{case.id}/action/assign-to-me")
    after = fresh(OrderCase, case.id)
    assert (after.state, after.assigned_to_id) == (CaseState.WORK_IN_PROGRESS, users["agent"].id)
    assert states(case.id) == [LineState.WORK_IN_PROGRESS] * 3

    form = agent.get(f"/ordercases/{case.id}/action/request-information")
    assert "Question for the customer" in text_of(form)
    refused = agent.submit(f"/ordercases/{case.id}/action/request-information",
                           {"version": fresh(OrderCase, case.id).version, "question": " "})
    assert refused.status_code == 422 and "Request Information needs the question" in text_of(refused)
    agent.submit(f"/ordercases/{case.id}/action/request-information",
                 {"version": fresh(OrderCase, case.id).version, "question": "Which address?"})
    assert fresh(OrderCase, case.id).state == CaseState.AWAITING_INFO
    page = text_of(agent.get(record_url(case.id)))
    assert "Which address?" in page and "Work in Progress → Awaiting Info" in page

    act(agent, case.id, f"/ordercases/{case.id}/action/information-received")
    assert fresh(OrderCase, case.id).state == CaseState.WORK_IN_PROGRESS

    # Line actions: Request Information / Information Received / Accept / Deny / Cancel line.
    line_act(agent, one, "request-information", {"question": "Which colour?"})
    assert fresh(OrderCaseLine, one.id).state == LineState.AWAITING_INFO
    line_act(agent, one, "information-received")
    assert fresh(OrderCaseLine, one.id).state == LineState.WORK_IN_PROGRESS
    accept_form = text_of(agent.get(f"/ordercases/line/{one.id}/action/accept"))
    assert f"Accept: {one.number}" in accept_form
    page = line_act(agent, one, "accept", {"resolution_notes": "Fine"})
    assert f"Line {one.number} accepted." in text_of(page)
    refused = agent.submit(f"/ordercases/line/{two.id}/action/deny", {"version": fresh(OrderCaseLine, two.id).version})
    assert refused.status_code == 422 and "Deny needs resolution notes" in text_of(refused)
    line_act(agent, two, "deny", {"resolution_notes": "Out of stock"})
    line_act(agent, three, "cancel", {"reason": "Customer withdrew"})
    after = fresh(OrderCase, case.id)
    assert states(case.id) == [LineState.ACCEPTED, LineState.DENIED, LineState.CANCELLED]
    assert (after.state, after.resolution_code) == (CaseState.RESOLVED, ResolutionCode.PARTIALLY_APPROVED)

    # Reopen (manager) brings the case back to Work in Progress; Resolve Case then closes it out.
    manager = client_for("manager")
    refused = line_act(agent, two, "reopen")
    assert "Reopen is not allowed: it needs the manager role." in text_of(refused)
    line_act(manager, two, "reopen")
    assert (fresh(OrderCaseLine, two.id).state, fresh(OrderCase, case.id).state) == (
        LineState.WORK_IN_PROGRESS, CaseState.WORK_IN_PROGRESS)
    resolve_url = f"/ordercases/{case.id}/action/resolve"
    assert "Accept all" in text_of(agent.get(resolve_url))
    refused = agent.submit(resolve_url, {"version": fresh(OrderCase, case.id).version, "resolution_code": "",
                                         "resolution_notes": "x", "outcome": "accept"})
    assert refused.status_code == 422 and "Resolve Case needs a resolution code." in text_of(refused)
    agent.submit(resolve_url, {"version": fresh(OrderCase, case.id).version,
                               "resolution_code": ResolutionCode.SOLVED, "resolution_notes": "Agreed",
                               "outcome": "deny"})
    after = fresh(OrderCase, case.id)
    assert (after.state, after.resolution_code, fresh(OrderCaseLine, two.id).state) == (
        CaseState.RESOLVED, ResolutionCode.SOLVED, LineState.DENIED)

    token = csrf_from(agent.get(record_url(case.id)).get_data(as_text=True))
    page = act(agent, case.id, f"/ordercases/{case.id}/action/close")
    assert f"{case.number} closed." in text_of(page)
    assert fresh(OrderCase, case.id).state == CaseState.CLOSED
    # Read-only now: no buttons, and a forged POST is refused.
    page = text_of(agent.get(record_url(case.id)))
    assert not re.findall(r'case-action">', page) and ">Add</a>" not in page
    refused = agent.post(f"/ordercases/{case.id}/journal", follow_redirects=True,
                         data={"csrf_token": token, "kind": JournalKind.COMMENT, "text": "late"})
    assert "closed and cancelled cases are read-only" in text_of(refused)


def test_start_work_and_cancel_through_the_buttons(client_for):
    account = factories.make_account()
    order = factories.make_order(account, lines=2)
    submitted = factories.make_case(account, order=order, order_lines=[order.lines[0]], state=CaseState.NEW,
                                    line_state=LineState.NEW)
    agent = client_for("agent")
    line = submitted.lines[0]
    page = text_of(agent.get(record_url(submitted.id)))
    # The button posts the page's one shared line-action form to its own address with its line's version.
    button = re.search(r'<button type="submit" class="btn btn-default btn-xs line-action" form="line-action" '
                       r'formaction="([^"]+)" name="version" value="(\d+)">Start work</button>', page)
    assert button and button.groups() == (f"/ordercases/line/{line.id}/action/start-work", str(line.version))
    assert page.count('id="line-action"') == 1
    agent.post(button.group(1), data={"csrf_token": csrf_from(page), "version": button.group(2)})
    assert (fresh(OrderCaseLine, line.id).state, fresh(OrderCase, submitted.id).state) == (
        LineState.WORK_IN_PROGRESS, CaseState.WORK_IN_PROGRESS)

    draft = factories.make_case(account, order=order, order_lines=[order.lines[1]])
    refused = act(agent, draft.id, f"/ordercases/{draft.id}/action/close")
    assert f"Close Case is not allowed: {draft.number} is Draft" in text_of(refused)
    act(agent, draft.id, f"/ordercases/{draft.id}/action/cancel")
    assert (fresh(OrderCase, draft.id).state, states(draft.id)) == (CaseState.CANCELLED, [LineState.CANCELLED])


def test_a_stale_page_gets_the_conflict_message_and_nothing_is_written(client_for, users):
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.NEW,
                               line_state=LineState.NEW)
    first, second = client_for("agent"), client_for("manager")
    seen_by_first = version_on(first.get(record_url(case.id)).get_data(as_text=True))
    seen_by_second = version_on(second.get(record_url(case.id)).get_data(as_text=True))
    act(first, case.id, f"/ordercases/{case.id}/action/assign-to-me", version=seen_by_first)
    events_before = db.session.query(AuditEvent).count()
    page = act(second, case.id, f"/ordercases/{case.id}/action/assign-to-me", version=seen_by_second)
    message = text_of(page)
    assert f"{case.number} was changed by {users['agent'].username} at" in message
    assert "nothing was saved. Reload to see the current values." in message
    after = fresh(OrderCase, case.id)
    assert (after.assigned_to_id, after.version) == (users["agent"].id, seen_by_first + 1)
    assert db.session.query(AuditEvent).count() == events_before


def test_a_post_without_csrf_token_is_refused(client_for):
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    agent = client_for("agent")
    response = agent.post(f"/ordercases/{case.id}/action/submit", data={"version": case.version})
    assert response.status_code == 400
    assert fresh(OrderCase, case.id).state == CaseState.DRAFT


def test_customers_cannot_reach_the_pages_or_the_actions(client_for):
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    customer = client_for("customer")
    for url in (record_url(case.id), "/ordercases/create/", f"/ordercases/{case.id}/add-lines"):
        assert customer.get(url).status_code == 403
    assert customer.post(f"/ordercases/{case.id}/action/submit").status_code in (400, 403)
    assert fresh(OrderCase, case.id).state == CaseState.DRAFT


# ----------------------------------------------------------------------------------------------------
# Lines: Add, New, Edit, Delete, Assign to me; journal


def test_add_picker_offers_only_rows_not_on_the_case(client_for):
    account = factories.make_account()
    order = factories.make_order(account, lines=3)
    case = factories.make_case(account, order=order, order_lines=[order.lines[0]])
    other = factories.make_case(account, order=order, order_lines=[order.lines[1]])
    agent = client_for("agent")
    picker = text_of(agent.get(f"/ordercases/{case.id}/add-lines"))
    assert "Add order lines to case" in picker
    assert order.lines[0].number not in picker
    assert f"already on {other.number}" in picker
    refused = agent.submit(f"/ordercases/{case.id}/add-lines", {"order_line_id": order.lines[1].id,
                                                                  "version": case.version}, follow_redirects=True)
    assert f"order line {order.lines[1].number} is already on open case {other.number}" in text_of(refused)
    agent.submit(f"/ordercases/{case.id}/add-lines", {"order_line_id": order.lines[2].id, "version": case.version})
    assert [l.order_line_id for l in fresh(OrderCase, case.id).lines] == [order.lines[0].id, order.lines[2].id]

    multi = factories.make_case(account, order=factories.make_order(account))
    another = factories.make_order(account)
    picker = text_of(agent.get(f"/ordercases/{multi.id}/add-lines"))
    assert "Add orders to case" in picker and another.number in picker
    assert multi.lines[0].order.number not in picker


def test_new_edit_delete_and_assign_lines_through_the_forms(client_for, users):
    account = factories.make_account()
    first_order, second_order = factories.make_order(account), factories.make_order(account)
    case = factories.make_case(account, order=first_order)
    agent = client_for("agent")
    form = text_of(agent.get(f"/ordercases/{case.id}/new-line"))
    assert "Create New Order Case Line" in form and RequestType.QUANTITY not in form
    agent.submit(f"/ordercases/{case.id}/new-line", {
        "version": case.version, "order_id": second_order.id, "request_type": RequestType.DELIVERY_DATE,
        "reason_code": "Other", "requested_delivery_date": "2031-05-06", "priority": "3"})
    line = db.session.query(OrderCaseLine).filter_by(order_id=second_order.id).one()
    assert (line.request_type, str(line.requested_delivery_date), line.priority) == (
        RequestType.DELIVERY_DATE, "2031-05-06", 3)

    edit_url = f"/ordercases/line/{line.id}/edit"
    stale_version = line.version
    refused = agent.submit(edit_url, {"version": line.version, "request_type": RequestType.QUANTITY})
    assert refused.status_code == 422 and "only header-level changes" in text_of(refused)
    agent.submit(edit_url, {"version": line.version, "request_type": RequestType.ORDER_CANCELLATION,
                            "requested_delivery_date": ""})
    assert fresh(OrderCaseLine, line.id).request_type == RequestType.ORDER_CANCELLATION
    stale = agent.submit(edit_url, {"version": stale_version, "short_description": "stale"})
    assert stale.status_code == 409 and "was changed by" in text_of(stale)

    header = case.lines[0]
    act(agent, case.id, f"/ordercases/{case.id}/lines/selected", {
        "operation": "assign-to-me", "line_id": [header.id, line.id]})
    assert {l.assigned_to_id for l in fresh(OrderCase, case.id).lines} == {users["agent"].id}
    act(agent, case.id, f"/ordercases/{case.id}/lines/selected", {"operation": "delete", "line_id": [line.id]})
    assert [l.id for l in fresh(OrderCase, case.id).lines] == [header.id]

    act(agent, case.id, f"/ordercases/{case.id}/journal", {"kind": JournalKind.WORK_NOTE, "text": "Called DC"})
    entry = db.session.query(JournalEntry).one()
    assert (entry.kind, entry.case_id) == (JournalKind.WORK_NOTE, case.id)
    assert "Called DC" in text_of(agent.get(record_url(case.id)))


def test_agents_delete_draft_cases_only_admins_any(client_for):
    account = factories.make_account()
    order = factories.make_order(account, lines=2)
    submitted = factories.make_case(account, order=order, order_lines=[order.lines[0]], state=CaseState.NEW,
                                    line_state=LineState.NEW)
    draft = factories.make_case(account, order=order, order_lines=[order.lines[1]])
    agent = client_for("agent")
    refused = act(agent, submitted.id, f"/ordercases/{submitted.id}/delete")
    assert f"{submitted.number} is New; only an admin deletes a submitted case" in text_of(refused)
    act(agent, draft.id, f"/ordercases/{draft.id}/delete")
    act(client_for("admin"), submitted.id, f"/ordercases/{submitted.id}/delete")
    assert db.session.query(OrderCase).count() == 0


def test_generic_list_routes_lead_to_the_case_pages(client_for):
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    agent = client_for("agent")
    assert agent.get(f"/ordercaseview/show/{case.id}").headers["Location"].endswith(record_url(case.id))
    line = case.lines[0]
    assert agent.get(f"/ordercaselineview/edit/{line.id}").headers["Location"].endswith(
        f"/ordercases/line/{line.id}/edit")
    assert agent.get(f"/ordercaseview/delete/{case.id}").status_code == 302
    assert fresh(OrderCase, case.id) is not None, "a GET must never delete"


def test_edit_case_form_saves_the_header_and_refuses_a_stale_version(client_for, users):
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    agent = client_for("agent")
    assert agent.get(f"/ordercaseview/edit/{case.id}").headers["Location"].endswith(f"/ordercases/{case.id}/edit")
    form = text_of(agent.get(f"/ordercases/{case.id}/edit"))
    assert f"Edit case {case.number}" in form
    seen = case.version
    response = agent.submit(f"/ordercases/{case.id}/edit", {
        "version": seen, "short_description": "Urgent change", "description": "", "priority": "1",
        "contact_id": account.primary_contact_id, "assignment_group_id": "", "assigned_to_id": users["agent"].id,
        "needs_attention": "1"}, follow_redirects=True)
    page = text_of(response)
    assert "This case is critical. Follow up immediately." in page and "Urgent change" in page
    stale = agent.submit(f"/ordercases/{case.id}/edit", {"version": seen, "short_description": "Lost update",
                                                         "priority": "4"})
    assert stale.status_code == 409 and "was changed by" in text_of(stale)
    after = fresh(OrderCase, case.id)
    assert (after.short_description, after.priority, after.needs_attention) == ("Urgent change", 1, True)


def test_tasks_show_on_the_case_page_with_create_task_links(client_for):
    from app.models import CaseLineTask, CaseTask

    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    line = case.lines[0]
    db.session.add_all([CaseTask(case=case, subject="Call the carrier"),
                        CaseLineTask(case_line=line, case_id=case.id, subject="Check stock")])
    db.session.commit()
    agent = client_for("agent")
    page = text_of(agent.get(record_url(case.id)))
    assert "Call the carrier" in page and "Check stock" in page
    add_url = f"/tasks/new/line/{line.id}"
    assert add_url in page and f"/tasks/new/case/{case.id}" in page
    agent.submit(add_url, {"subject": "Ask the warehouse", "priority": "4"})
    created = db.session.query(CaseLineTask).filter_by(subject="Ask the warehouse").one()
    assert (created.case_line_id, created.case_id) == (line.id, case.id)
    refused = line_act(agent, line, "accept")
    assert f"Accept is not allowed: line {line.number} has open tasks" in text_of(refused)


def test_a_stale_line_form_offers_a_reload(client_for):
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    line = case.lines[0]
    agent = client_for("agent")
    stale = line.version
    agent.submit(f"/ordercases/line/{line.id}/edit", {"version": stale, "short_description": "first"})
    response = agent.submit(f"/ordercases/line/{line.id}/edit", {"version": stale, "short_description": "second"})
    page = text_of(response)
    assert response.status_code == 409 and "Reload the current values" in page
    assert fresh(OrderCaseLine, line.id).short_description == "first"


@pytest.mark.parametrize("field,value", [
    ("account_id", "abc"), ("account_id", "99999999999999999999"), ("scope", "Everything"),
    ("order_number", "ORD9999999"), ("order_line_id", "x"), ("interaction_id", "-1"), ("short_description", "x" * 5000),
], ids=lambda value: str(value)[:20])
def test_bad_intake_input_gets_a_message_never_a_500(client_for, services, field, value):
    account = factories.make_account()
    agent = client_for("agent")
    data = {"service_id": services[0].id, "origin": "list", "account_id": account.id,
            "scope": Scope.MULTIPLE_ORDERS, "short_description": "ok", field: value}
    response = agent.submit(f"/ordercases/create/intake?service_id={services[0].id}", data)
    assert response.status_code in (302, 422), response.status_code
    if response.status_code == 422:
        assert db.session.query(OrderCase).count() == 0


@pytest.mark.parametrize("slug,data", [
    ("accept", {"approved_quantity": "abc"}), ("accept", {"approved_quantity": "1e400"}),
    ("accept", {"approved_delivery_date": "2031-13-45"}), ("accept", {"approved_unit_price": "NaN"}),
    ("accept", {"approved_unit_price": "1e309"}), ("accept", {"version": "abc"}),
    ("deny", {"resolution_notes": "x" * 20000}), ("cancel", {"reason": ""}), ("nonsense", {}),
], ids=lambda value: str(value)[:20])
def test_bad_action_input_gets_a_message_never_a_500(client_for, slug, data):
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    line = case.lines[0]
    line.request_type = {"approved_quantity": RequestType.QUANTITY, "approved_delivery_date": RequestType.DELIVERY_DATE,
                         "approved_unit_price": RequestType.PRICE}.get(next(iter(data), ""), None)
    db.session.commit()
    agent = client_for("agent")
    response = agent.submit(record_url(case.id), {"version": line.version, **data},
                            post_url=f"/ordercases/line/{line.id}/action/{slug}")
    assert response.status_code < 500, response.status_code
    if slug != "deny":
        assert fresh(OrderCaseLine, line.id).state == LineState.WORK_IN_PROGRESS


@pytest.mark.parametrize("field,value", [
    ("requested_quantity", "0"), ("requested_quantity", "abc"), ("requested_delivery_date", "tomorrow"),
    ("disputed_unit_price", "-1"), ("requested_location_id", "999999"), ("replacement_offering_id", "x"),
    ("priority", "9"), ("request_type", "Anything"), ("reason_code", "Because"), ("short_description", "y" * 201),
])
def test_bad_line_input_gets_a_message_never_a_500(client_for, field, value):
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    line = case.lines[0]
    response = client_for("agent").submit(f"/ordercases/line/{line.id}/edit", {"version": line.version, field: value})
    assert response.status_code == 422
    assert fresh(OrderCaseLine, line.id).version == line.version


def test_out_of_range_ids_in_urls_are_not_found(client_for):
    agent = client_for("agent")
    huge = 10**30
    for url in (f"/ordercases/{huge}", f"/ordercases/line/{huge}/edit", f"/ordercases/line/{huge}/action/accept",
                f"/ordercases/{huge}/add-lines", f"/ordercases/{huge}/edit", f"/ordercaseview/show/{huge}",
                f"/ordercaselineview/show/{huge}", f"/ordercases/create/intake?service_id={huge}",
                f"/ordercases/create/intake?service_id=1&origin=order_line_items&order_line_id={huge}"):
        assert agent.get(url).status_code in (302, 404), url


def test_the_case_page_shows_each_sla_with_its_time_left(client_for, users):
    from flask_appbuilder.security.sqla.models import User

    from app import workflows as wf
    from app.sla.clocks import seed_default_sla_definitions

    seed_default_sla_definitions()
    db.session.commit()
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    wf.submit_case(case.id, db.session.get(User, users["agent"].id))
    page = text_of(client_for("agent").get(record_url(case.id)))
    assert "SLAs" in page and re.search(r'class="sla-time-left">\d+ (d|h|min)', page), page[-3000:]

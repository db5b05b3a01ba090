"""The customer portal over HTTP: real logins, CSRF on, the same workflows as the back office."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from flask_appbuilder.security.sqla.models import User

from app import workflows as wf
from app.core.choices import (
    CaseOrigin,
    CaseState,
    JournalKind,
    LineState,
    RequestType,
    ResolutionCode,
    Scope,
)
from app.core.exceptions import PermissionDenied
from app.core.extensions import db
from app.models import (
    CaseLineTask,
    CaseTask,
    CustomerOrder,
    JournalEntry,
    Location,
    OrderCase,
    OrderChange,
)
from tests import factories


def body(response) -> str:
    return response.get_data(as_text=True)


def user(login) -> User:
    return db.session.get(User, login.id)


@pytest.fixture
def account(users):
    """The portal customer's account: the session's customer user signs in as its primary contact."""
    account = factories.make_account("Acme Portal Co")
    account.primary_contact.user_id = users["customer"].id
    db.session.add(Location(name="Warehouse 2", city="Shelbyville", account=account))
    db.session.commit()
    return account


@pytest.fixture
def service():
    return factories.make_service()


def the_case() -> OrderCase:
    db.session.expire_all()
    return db.session.query(OrderCase).one()


def submit_case_through_the_portal(client, order, quantity="7", date="2030-01-15") -> OrderCase:
    """Steps 1–3 of the portal flow for the order's first two lines: quantity on one, date on the other."""
    response = client.submit("/portal/cases/new", {
        "scope": Scope.SINGLE_ORDER, "order_number": order.number, "priority": "4",
        "short_description": "Change two lines",
    })
    assert response.status_code == 302, body(response)
    case = the_case()
    assert response.headers["Location"].endswith(f"/portal/cases/{case.id}/")
    first, second = order.lines[0], order.lines[1]
    response = client.submit(f"/portal/cases/{case.id}/add", {"pick": [first.id, second.id],
                                                              "version": case.version})
    assert response.status_code == 302, body(response)
    case = the_case()
    line_one, line_two = case.lines
    assert client.submit(f"/portal/cases/{case.id}/lines/{line_one.id}/edit", {
        "request_type": RequestType.QUANTITY, "requested_quantity": quantity, "version": line_one.version,
    }).status_code == 302
    assert client.submit(f"/portal/cases/{case.id}/lines/{line_two.id}/edit", {
        "request_type": RequestType.DELIVERY_DATE, "requested_delivery_date": date, "version": line_two.version,
    }).status_code == 302
    review = client.get(f"/portal/cases/{case.id}/review")
    assert "Quantity 5 → 7" in body(review)
    response = client.submit(f"/portal/cases/{case.id}/review", {"version": the_case().version},
                             post_url=f"/portal/cases/{case.id}/submit")
    assert response.status_code == 302
    return the_case()


def test_a_customer_lands_on_the_portal_and_never_sees_the_back_office(client_for, account):
    client = client_for("customer")
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/")
    html = body(client.get("/portal/"))
    assert "Welcome, Pat" in html and "Acme Portal Co" in html
    for label in ("Customer Order Management", "Order Cases", "Customer Orders", "Administration"):
        assert not re.search(r">\s*" + label + r"\s*<", html), f"the portal shows the back-office menu {label}"
    assert '<meta name="viewport"' in html
    assert client.get("/ordercaseview/list/").status_code == 403
    # Back-office users have no portal.
    assert client_for("agent").get("/portal/").status_code == 403
    # The integrator is API-only: it holds no web session, so the portal sends it to the login page.
    refused = client_for("integrator").get("/portal/cases/")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]


def test_a_customer_without_a_linked_contact_is_told_so(client_for):
    client = client_for("customer")
    assert "not linked" in body(client.get("/portal/"))
    response = client.get("/portal/orders/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/")


def test_the_whole_case_conversation_through_the_portal(client_for, users, account, service):
    order = factories.make_order(account, lines=3)
    client = client_for("customer")
    case = submit_case_through_the_portal(client, order)
    assert (case.state, case.origin, case.contact_id, case.priority) == (
        CaseState.NEW, CaseOrigin.PORTAL, account.primary_contact_id, 4)
    line_one, line_two = case.lines
    assert [line.state for line in case.lines] == [LineState.NEW, LineState.NEW]
    assert (line_one.request_type, line_one.requested_quantity) == (RequestType.QUANTITY, 7)
    assert (line_two.request_type, line_two.requested_delivery_date) == (RequestType.DELIVERY_DATE,
                                                                          dt.date(2030, 1, 15))

    agent = user(users["agent"])
    wf.assign_case_to_me(case.id, agent)
    wf.add_case_journal_entry(case.id, agent, JournalKind.WORK_NOTE, "Internal: margin is thin")
    wf.request_case_information(case.id, agent, question="Which warehouse should ship the extra units?")
    page = body(client.get(f"/portal/cases/{case.id}/"))
    assert "Awaiting Info" in page and "We need more information from you" in page
    assert "Which warehouse should ship the extra units?" in page
    assert "margin is thin" not in page

    response = client.submit(f"/portal/cases/{case.id}/", {"text": "Warehouse 2, please."},
                             post_url=f"/portal/cases/{case.id}/comment")
    assert response.status_code == 302
    assert the_case().state == CaseState.WORK_IN_PROGRESS
    assert "Warehouse 2, please." in body(client.get(f"/portal/cases/{case.id}/"))

    case = the_case()
    wf.resolve_case(case.id, agent, case.version, resolution_code=ResolutionCode.CHANGE_APPROVED,
                    resolution_notes="Both changes approved", outcome=wf.OUTCOME_ACCEPT)
    page = body(client.get(f"/portal/cases/{case.id}/"))
    assert "Accept solution" in page and "Reject solution" in page and "Both changes approved" in page

    # Reject with a reason: back to the desk, the reason is a comment.
    response = client.submit(f"/portal/cases/{case.id}/reject", {"reason": "The date is still too late"})
    assert response.status_code == 302
    case = the_case()
    assert case.state == CaseState.WORK_IN_PROGRESS
    assert db.session.query(JournalEntry).filter_by(case_id=case.id, text="The date is still too late").one()

    wf.resolve_case(case.id, agent, case.version, resolution_code=ResolutionCode.CHANGE_APPROVED,
                    resolution_notes="Delivery moved earlier")
    response = client.submit(f"/portal/cases/{case.id}/", {"version": the_case().version},
                             post_url=f"/portal/cases/{case.id}/accept")
    assert response.status_code == 302
    assert the_case().state == CaseState.CLOSED
    page = body(client.get(f"/portal/cases/{case.id}/"))
    assert "Closed: you accepted the solution." in page and "Add comment" not in page


def test_my_order_cases_explains_each_state(client_for, account, service):
    order = factories.make_order(account, lines=1)
    factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.NEW,
                        line_state=LineState.NEW)
    html = body(client_for("customer").get("/portal/cases/"))
    assert "We have received your request" in html
    assert "Nothing" not in html


def test_only_customer_visible_comments_and_tasks_show(client_for, users, account, service):
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.NEW,
                               line_state=LineState.NEW)
    line = case.lines[0]
    db.session.add_all([
        JournalEntry(record_type="order_case", record_id=case.id, case_id=case.id, kind=JournalKind.COMMENT,
                     text="We are on it"),
        JournalEntry(record_type="order_case", record_id=case.id, case_id=case.id, kind=JournalKind.WORK_NOTE,
                     text="Secret work note"),
        CaseTask(case=case, subject="Call the warehouse", visible_to_customer=True),
        CaseTask(case=case, subject="Hidden supplier task", visible_to_customer=False),
        CaseLineTask(case=case, case_line=line, subject="Hidden line task"),
    ])
    db.session.commit()
    html = body(client_for("customer").get(f"/portal/cases/{case.id}/"))
    assert "We are on it" in html and "Call the warehouse" in html
    for hidden in ("Secret work note", "Hidden supplier task", "Hidden line task"):
        assert hidden not in html


def test_a_customer_only_changes_their_own_draft_cases(client_for, users, account, service):
    order = factories.make_order(account, lines=2)
    customer = user(users["customer"])
    case = wf.create_case(customer, service_id=service.id, account_id=account.id, scope=Scope.SINGLE_ORDER,
                          origin=CaseOrigin.PORTAL, short_description="Mine", order_id=order.id,
                          order_line_ids=[order.lines[0].id])
    line = case.lines[0]
    # The desk's fields are not the customer's.
    with pytest.raises(PermissionDenied):
        wf.edit_case_line(line.id, customer, line.version, disputed_unit_price="1.00")
    with pytest.raises(PermissionDenied):
        wf.edit_case_line(line.id, customer, line.version, priority=1)
    wf.edit_case_line(line.id, customer, line.version, request_type=RequestType.QUANTITY, requested_quantity=3)
    wf.submit_case(case.id, customer, case.version)
    db.session.expire_all()
    line = db.session.get(OrderCase, case.id).lines[0]
    # Submitted: the desk owns it now.
    with pytest.raises(PermissionDenied):
        wf.edit_case_line(line.id, customer, line.version, requested_quantity=3)
    with pytest.raises(PermissionDenied):
        wf.add_case_lines(case.id, customer, order_line_ids=[order.lines[1].id])
    with pytest.raises(PermissionDenied):
        wf.assign_case_to_me(case.id, customer)
    client = client_for("customer")
    response = client.get(f"/portal/cases/{case.id}/lines/{line.id}/edit")
    assert response.status_code == 302
    # Another account: refused, whatever the ids.
    other = factories.make_account("Other Co")
    with pytest.raises(PermissionDenied):
        wf.create_case(customer, service_id=service.id, account_id=other.id, scope=Scope.MULTIPLE_ORDERS,
                       origin=CaseOrigin.PORTAL, short_description="Not mine")


def test_agents_still_create_cases_for_any_account(users, account, service):
    other = factories.make_account("Agent Co")
    case = wf.create_case(user(users["agent"]), service_id=service.id, account_id=other.id,
                          scope=Scope.MULTIPLE_ORDERS, origin=CaseOrigin.LIST, short_description="Agent case")
    assert case.account_id == other.id and case.contact_id == other.primary_contact_id


def test_line_form_refuses_a_missing_value_and_writes_nothing(client_for, account, service):
    order = factories.make_order(account, lines=1)
    client = client_for("customer")
    client.submit("/portal/cases/new", {"scope": Scope.SINGLE_ORDER, "order_number": order.number,
                                        "short_description": "Quantity"})
    case = the_case()
    client.submit(f"/portal/cases/{case.id}/add", {"pick": order.lines[0].id, "version": case.version})
    line = the_case().lines[0]
    response = client.submit(f"/portal/cases/{case.id}/lines/{line.id}/edit", {
        "request_type": RequestType.QUANTITY, "requested_quantity": "", "version": line.version})
    assert response.status_code == 422 and "needs the new quantity" in body(response)
    response = client.submit(f"/portal/cases/{case.id}/lines/{line.id}/edit", {
        "request_type": RequestType.PRICE, "version": line.version})
    assert response.status_code == 422
    assert the_case().lines[0].request_type is None
    # Submitting without a specified change is allowed; an empty case is not.
    client.submit(f"/portal/cases/{case.id}/", {"version": line.version},
                  post_url=f"/portal/cases/{case.id}/lines/{line.id}/delete")
    assert the_case().lines == []
    response = client.submit(f"/portal/cases/{case.id}/review", {"version": the_case().version},
                             post_url=f"/portal/cases/{case.id}/submit")
    assert response.status_code == 302 and the_case().state == CaseState.DRAFT
    assert "has no lines" in body(client.get(response.headers["Location"]))


def test_intake_refuses_a_missing_order_number(client_for, account, service):
    response = client_for("customer").submit("/portal/cases/new", {
        "scope": Scope.SINGLE_ORDER, "order_number": "", "short_description": "No order"})
    assert response.status_code == 422 and "order number" in body(response)
    assert db.session.query(OrderCase).count() == 0


def test_my_orders_show_lines_and_applied_changes(client_for, users, account):
    order = factories.make_order(account, lines=2)
    db.session.add(OrderChange(order=order, order_line=order.lines[0], field="quantity", old_value="5",
                               new_value="9", user_id=users["agent"].id))
    db.session.commit()
    client = client_for("customer")
    listing = body(client.get("/portal/orders/"))
    assert order.number in listing
    page = body(client.get(f"/portal/orders/{order.id}/"))
    assert order.lines[0].number in page and order.lines[1].number in page
    assert re.search(r"quantity: 5 → 9", page)


def test_the_customer_answers_through_the_api_too(client_for, users, account, service):
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.NEW,
                               line_state=LineState.NEW)
    agent = user(users["agent"])
    wf.assign_case_to_me(case.id, agent)
    wf.request_case_information(case.id, agent, question="Which colour?")
    client = client_for(None)
    login = users["customer"]
    token = client.post("/api/v1/auth/token", json={"username": login.username, "password": login.password})
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}

    refused = client.post(f"/api/v1/cases/{case.id}/journal", json={"kind": JournalKind.WORK_NOTE, "text": "x"},
                          headers=headers)
    assert refused.status_code == 403
    answer = client.post(f"/api/v1/cases/{case.id}/journal", json={"kind": JournalKind.COMMENT, "text": "Blue"},
                         headers=headers)
    assert answer.status_code == 201 and answer.get_json()["text"] == "Blue"
    assert the_case().state == CaseState.WORK_IN_PROGRESS

    case = the_case()
    wf.resolve_case(case.id, agent, case.version, resolution_code=ResolutionCode.CHANGE_APPROVED,
                    resolution_notes="Done", outcome=wf.OUTCOME_ACCEPT)
    case = the_case()
    rejected = client.post(f"/api/v1/cases/{case.id}/actions/reject-solution",
                           json={"version": case.version, "reason": "Not blue enough"}, headers=headers)
    assert rejected.status_code == 200 and rejected.get_json()["state"] == CaseState.WORK_IN_PROGRESS
    case = the_case()
    before_resolving = case.version
    wf.resolve_case(case.id, agent, case.version, resolution_code=ResolutionCode.CHANGE_APPROVED,
                    resolution_notes="Bluer now")
    stale = client.post(f"/api/v1/cases/{case.id}/actions/accept-solution", json={"version": before_resolving},
                        headers=headers)
    assert stale.status_code == 409
    accepted = client.post(f"/api/v1/cases/{case.id}/actions/accept-solution",
                           json={"version": the_case().version}, headers=headers)
    assert accepted.status_code == 200 and accepted.get_json()["state"] == CaseState.CLOSED
    # The back office has no customer answers to give.
    agent_login = users["agent"]
    agent_token = client.post("/api/v1/auth/token", json={"username": agent_login.username,
                                                          "password": agent_login.password}).get_json()
    response = client.post(f"/api/v1/cases/{case.id}/actions/accept-solution", json={"version": 1},
                           headers={"Authorization": f"Bearer {agent_token['access_token']}"})
    assert response.status_code in (403, 409)

"""A case line says what the customer wants changed before the case goes to the desk: Submit refuses
unclassified or incomplete lines, a request for what the order already has is refused naming the
field, Accept never records an outcome that applies nothing, and Assign to me on the case hands the
lines it starts to the agent too."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app import workflows as wf
from app.core.choices import CaseState, LineState, RequestType
from app.core.exceptions import InvalidInput
from app.core.extensions import db
from app.models import AuditEvent, Location, OrderCase, OrderCaseLine
from tests import factories
from tests.cases.test_case_http import act, line_act, text_of
from tests.cases.test_case_workflows import reload, user_for


def draft_case(lines: int = 2, request_type=None):
    account = factories.make_account()
    order = factories.make_order(account, lines=lines)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), request_type=request_type)
    return account, order, case


def test_submit_refuses_a_line_without_a_request_type_and_writes_nothing(users):
    agent = user_for(users, "agent")
    _account, _order, case = draft_case()
    first, second = case.lines
    wf.edit_case_line(first.id, agent, request_type=RequestType.QUANTITY, requested_quantity=7)
    audit_rows = db.session.query(AuditEvent).count()
    with pytest.raises(InvalidInput) as refused:
        wf.submit_case(case.id, agent)
    assert f"line {second.number} needs a request type" in refused.value.message
    assert refused.value.field_errors == {"request_type": "Required"}
    assert reload(OrderCase, case.id).state == CaseState.DRAFT
    assert {line.state for line in reload(OrderCase, case.id).lines} == {LineState.DRAFT}
    assert db.session.query(AuditEvent).count() == audit_rows


def test_submit_refuses_a_request_type_without_the_value_it_needs(users):
    agent = user_for(users, "agent")
    _account, _order, case = draft_case(lines=1, request_type=RequestType.QUANTITY)
    (line,) = case.lines
    with pytest.raises(InvalidInput) as refused:
        wf.submit_case(case.id, agent)
    assert f"line {line.number} needs a requested quantity" in refused.value.message
    wf.edit_case_line(line.id, agent, request_type=RequestType.QUANTITY, requested_quantity=9)
    wf.submit_case(case.id, agent)
    assert reload(OrderCase, case.id).state == CaseState.NEW


@pytest.mark.parametrize("request_type, field, same_as_order", [
    (RequestType.QUANTITY, "requested_quantity", lambda ol: ol.quantity),
    (RequestType.DELIVERY_DATE, "requested_delivery_date", lambda ol: str(ol.expected_delivery_date)),
    (RequestType.ADDRESS, "requested_location_id", lambda ol: ol.location_id),
    (RequestType.PRICE, "disputed_unit_price", lambda ol: str(ol.unit_price)),
    (RequestType.WRONG_ITEM, "replacement_offering_id", lambda ol: ol.offering_id),
])
def test_a_request_for_what_the_order_already_has_is_refused_naming_the_field(users, request_type, field,
                                                                                 same_as_order):
    agent = user_for(users, "agent")
    _account, order, case = draft_case(lines=1)
    (line,) = case.lines
    with pytest.raises(InvalidInput) as refused:
        wf.edit_case_line(line.id, agent, request_type=request_type, **{field: same_as_order(order.lines[0])})
    assert field in refused.value.field_errors
    assert "what the order already has" in refused.value.message
    assert reload(OrderCaseLine, line.id).request_type is None


def test_an_empty_required_value_is_refused_on_save(users):
    agent = user_for(users, "agent")
    _account, _order, case = draft_case(lines=1)
    (line,) = case.lines
    with pytest.raises(InvalidInput) as refused:
        wf.edit_case_line(line.id, agent, request_type=RequestType.QUANTITY, requested_quantity="")
    assert refused.value.field_errors == {"requested_quantity": "Required"}
    with pytest.raises(InvalidInput) as refused:
        wf.edit_case_line(line.id, agent, request_type=RequestType.ADDRESS)
    assert "requested shipping location" in refused.value.message
    # A different address of the account is a real request.
    other = Location(name="Depot", street="9 Dock Rd", city="Springfield", country="US",
                     account_id=case.account_id)
    db.session.add(other)
    db.session.commit()
    wf.edit_case_line(line.id, agent, request_type=RequestType.ADDRESS, requested_location_id=other.id)
    assert reload(OrderCaseLine, line.id).requested_location_id == other.id


def test_accept_never_applies_a_line_that_asks_for_nothing(users):
    agent = user_for(users, "agent")
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS, request_type=None)
    (line,) = case.lines
    with pytest.raises(InvalidInput) as refused:
        wf.accept_line(line.id, agent)
    assert "has no request type" in refused.value.message
    with pytest.raises(InvalidInput):
        wf.resolve_case(case.id, agent, resolution_code="Change approved", resolution_notes="Done", outcome="accept")
    assert reload(OrderCaseLine, line.id).state == LineState.WORK_IN_PROGRESS
    # Denying it is still possible: it applies nothing by definition.
    wf.deny_line(line.id, agent, resolution_notes="The customer never said what they wanted")
    assert reload(OrderCaseLine, line.id).state == LineState.DENIED


def test_case_assign_to_me_assigns_the_lines_it_starts_unless_someone_has_them(users):
    agent, manager = user_for(users, "agent"), user_for(users, "manager")
    account = factories.make_account()
    order = factories.make_order(account, lines=3)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.NEW,
                               line_state=LineState.NEW)
    first, second, third = case.lines
    second.assigned_to_id = manager.id
    third.state = LineState.CANCELLED
    db.session.commit()
    wf.assign_case_to_me(case.id, agent)
    lines = {line.id: line for line in reload(OrderCase, case.id).lines}
    assert (lines[first.id].state, lines[first.id].assigned_to_id) == (LineState.WORK_IN_PROGRESS, agent.id)
    assert (lines[second.id].state, lines[second.id].assigned_to_id) == (LineState.WORK_IN_PROGRESS, manager.id)
    assert (lines[third.id].state, lines[third.id].assigned_to_id) == (LineState.CANCELLED, None)
    assigned = db.session.query(AuditEvent).filter_by(record_type="order_case_line", record_id=first.id, field="assigned_to_id").one()
    assert (assigned.action, assigned.new_value) == ("Assign to me", str(agent.id))
    assert not db.session.query(AuditEvent).filter_by(record_type="order_case_line", record_id=second.id, field="assigned_to_id").count()


# ----------------------------------------------------------------------------------------------------
# Through HTTP


def test_the_submit_button_explains_which_line_is_incomplete(client_for, users):
    _account, _order, case = draft_case(lines=1)
    agent = client_for("agent")
    page = text_of(act(agent, case.id, f"/ordercases/{case.id}/action/submit"))
    assert f"line {case.lines[0].number} needs a request type" in page
    assert reload(OrderCase, case.id).state == CaseState.DRAFT


def test_the_line_form_refuses_a_date_the_order_already_has(client_for, users):
    _account, order, case = draft_case(lines=1)
    line = case.lines[0]
    agent = client_for("agent")
    edit_url = f"/ordercases/line/{line.id}/edit"
    response = agent.submit(edit_url, {"version": line.version, "request_type": RequestType.DELIVERY_DATE,
                                       "requested_delivery_date": str(order.lines[0].expected_delivery_date)},
                            follow_redirects=True)
    assert "what the order already has" in text_of(response)
    assert reload(OrderCaseLine, line.id).request_type is None
    later = order.lines[0].expected_delivery_date + dt.timedelta(days=5)
    agent.submit(edit_url, {"version": line.version, "request_type": RequestType.DELIVERY_DATE,
                            "requested_delivery_date": str(later)}, follow_redirects=True)
    assert reload(OrderCaseLine, line.id).requested_delivery_date == later


def test_case_assign_to_me_button_assigns_the_lines(client_for, users):
    account = factories.make_account()
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.NEW,
                               line_state=LineState.NEW)
    act(client_for("agent"), case.id, f"/ordercases/{case.id}/action/assign-to-me")
    assert {line.assigned_to_id for line in reload(OrderCase, case.id).lines} == {users["agent"].id}


def test_the_accept_button_refuses_an_unclassified_line(client_for, users):
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS, request_type=None)
    line = case.lines[0]
    page = text_of(line_act(client_for("agent"), line, "accept"))
    assert "has no request type" in page
    assert reload(OrderCaseLine, line.id).state == LineState.WORK_IN_PROGRESS
    assert Decimal(order.lines[0].unit_price) == Decimal("10.00")

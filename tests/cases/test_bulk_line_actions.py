"""Assign to me / Accept / Deny on the lines ticked in the Order Case Line list: each line is its own
operation, so a refused line is reported with its reason and does not hold the others back."""
from __future__ import annotations

from decimal import Decimal

from app import workflows as wf
from app.core.choices import CaseState, LineState, OrderLineState, RequestType
from app.core.extensions import db
from app.models import CustomerOrder, OrderCase, OrderCaseLine, OrderChange
from tests import factories
from tests.cases.test_case_workflows import reload, user_for


def five_quantity_lines(completed_index: int = 2):
    """An order of five lines (5 × 10.00), one of them already completed, and a case asking 6 of each."""
    account = factories.make_account()
    order = factories.make_order(account, lines=5)
    order.lines[completed_index].state = OrderLineState.COMPLETED
    db.session.commit()
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    for line in case.lines:
        line.request_type, line.requested_quantity = RequestType.QUANTITY, 6
    db.session.commit()
    return order, case, sorted(case.lines, key=lambda l: l.id)


def test_bulk_accept_applies_four_lines_and_reports_the_refused_one(users):
    order, case, lines = five_quantity_lines()
    outcomes = wf.bulk_line_action(case.id, user_for(users, "agent"), wf.ACCEPT, [l.id for l in lines])
    refused = lines[2]
    assert [(number, ok) for number, ok, _message in outcomes] == [
        (line.number, line.id != refused.id) for line in lines]
    assert outcomes[2][2] == (f"Accept is not allowed: line {refused.number} refers to order line "
                              f"{order.lines[2].number}, which is Completed.")
    order = reload(CustomerOrder, order.id)
    assert [l.quantity for l in order.lines] == [6, 6, 5, 6, 6]
    assert order.total_amount == Decimal("290.00")
    assert db.session.query(OrderChange).count() == 4
    states = [reload(OrderCaseLine, l.id).state for l in lines]
    assert states == [LineState.ACCEPTED] * 2 + [LineState.WORK_IN_PROGRESS] + [LineState.ACCEPTED] * 2
    assert reload(OrderCase, case.id).state == CaseState.WORK_IN_PROGRESS


def test_bulk_accept_through_the_case_page_reports_each_line(users, client_for):
    order, case, lines = five_quantity_lines()
    agent = client_for("agent")
    data = {"operation": "accept", "line_id": [str(l.id) for l in lines]}
    data.update({f"version_{l.id}": str(l.version) for l in lines})
    response = agent.submit(f"/ordercases/{case.id}", data, post_url=f"/ordercases/{case.id}/lines/selected",
                            follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Accept: 4 of 5 line(s) done, 1 refused." in page
    for line in lines:
        expected = ("which is Completed" if line.id == lines[2].id else "accepted")
        assert f"{line.number}: " in page and expected in page
    assert f"{lines[2].number}: Accept is not allowed: line {lines[2].number} refers to order line" in page
    assert [l.quantity for l in reload(CustomerOrder, order.id).lines] == [6, 6, 5, 6, 6]


def test_bulk_deny_needs_notes_per_line_and_assign_to_me_skips_terminal_lines(users):
    order, case, lines = five_quantity_lines()
    agent = user_for(users, "agent")
    outcomes = wf.bulk_line_action(case.id, agent, wf.DENY, [lines[0].id, lines[1].id])
    assert [ok for _n, ok, _m in outcomes] == [False, False]
    assert "Deny needs resolution notes" in outcomes[0][2]
    outcomes = wf.bulk_line_action(case.id, agent, wf.DENY, [lines[0].id], resolution_notes="Out of stock")
    assert outcomes == [(lines[0].number, True, "denied")]
    outcomes = wf.bulk_line_action(case.id, agent, wf.LINE_ASSIGN_TO_ME, [l.id for l in lines[:3]])
    assert [ok for _n, ok, _m in outcomes] == [False, True, True]
    assert "is Resolved - Denied" in outcomes[0][2]
    assert {reload(OrderCaseLine, l.id).assigned_to_id for l in lines[1:3]} == {agent.id}
    # A stale version refuses that line only.
    outcomes = wf.bulk_line_action(case.id, agent, wf.ACCEPT, [lines[3].id, lines[4].id],
                                   versions={lines[3].id: "1"})
    assert [ok for _n, ok, _m in outcomes] == [False, True]
    assert "was changed by" in outcomes[0][2]


def test_lines_of_another_case_are_not_touched(users):
    _order, case, lines = five_quantity_lines()
    _other_order, other, other_lines = five_quantity_lines()
    outcomes = wf.bulk_line_action(case.id, user_for(users, "agent"), wf.ACCEPT, [other_lines[0].id, lines[0].id])
    assert outcomes == [(lines[0].number, True, "accepted"),
                        (f"#{other_lines[0].id}", False, "Not a line of this case (it may have been deleted).")]
    assert reload(OrderCaseLine, other_lines[0].id).state == LineState.WORK_IN_PROGRESS

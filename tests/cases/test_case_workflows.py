"""The order case lifecycle (SPEC §3–4) as plain workflow calls: every (state, action) pair of the case
and of the line, every synchronisation rule, every guard; refusals leave the database unchanged."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select, text

from app import workflows as wf
from app.core.choices import (
    CaseOrigin,
    CaseState,
    JournalKind,
    LineState,
    OrderLineState,
    RequestType,
    ResolutionCode,
    Scope,
    TaskState,
)
from app.core.exceptions import InvalidInput, PermissionDenied, StateConflict, VersionConflict
from app.core.extensions import db, metadata
from app.models import (
    AuditEvent,
    CaseLineCharacteristic,
    CaseLineTask,
    JournalEntry,
    Notification,
    OrderCase,
    OrderCaseLine,
)
from tests import factories


def user_for(users, role) -> User:
    return db.session.get(User, users[role].id)


def dump_business_tables() -> dict[str, list[tuple]]:
    """Every row of every business table, as plain tuples: the 'byte-for-byte' picture of the database."""
    db.session.rollback()
    tables = [t for t in metadata.sorted_tables if not t.name.startswith("ab_") and t.name != "alembic_version"]
    with db.engine.connect() as conn:
        return {
            t.name: sorted((tuple(row) for row in conn.execute(t.select())), key=repr)
            for t in tables
        }


def assert_refused(call, error_type, message_part: str):
    before = dump_business_tables()
    with pytest.raises(error_type) as info:
        call()
    assert message_part in info.value.message, info.value.message
    assert dump_business_tables() == before, "a refused action changed the database"
    return info.value


def case_with_lines(state: str, line_states: list[str], scope_single: bool = True) -> OrderCase:
    account = factories.make_account()
    order = factories.make_order(account, lines=max(len(line_states), 1))
    if scope_single:
        case = factories.make_case(account, order=order, order_lines=order.lines[: len(line_states)], state=state)
    else:
        case = factories.make_case(account, order=order, state=state)
    for line, line_state in zip(sorted(case.lines, key=lambda l: l.id), line_states):
        line.state = line_state
    db.session.commit()
    return case


def reload(model, record_id):
    db.session.expire_all()
    return db.session.get(model, record_id)


def line_states_of(case_id) -> list[str]:
    return list(db.session.execute(
        select(OrderCaseLine.state).where(OrderCaseLine.case_id == case_id).order_by(OrderCaseLine.id)
    ).scalars())


# ----------------------------------------------------------------------------------------------------
# Case actions: every (state, action) pair

CASE_SETUP = {
    # case state → the line states that go with it
    CaseState.DRAFT: [LineState.DRAFT, LineState.DRAFT],
    CaseState.NEW: [LineState.NEW, LineState.NEW],
    CaseState.WORK_IN_PROGRESS: [LineState.WORK_IN_PROGRESS, LineState.NEW],
    CaseState.AWAITING_INFO: [LineState.WORK_IN_PROGRESS, LineState.WORK_IN_PROGRESS],
    CaseState.RESOLVED: [LineState.ACCEPTED, LineState.DENIED],
    CaseState.CLOSED: [LineState.ACCEPTED, LineState.CANCELLED],
    CaseState.CANCELLED: [LineState.CANCELLED, LineState.CANCELLED],
}

CASE_INPUTS = {
    wf.REQUEST_INFORMATION: {"question": "Which delivery address?"},
    wf.RESOLVE_CASE: {"resolution_code": ResolutionCode.SOLVED, "resolution_notes": "Agreed by phone",
                      "outcome": "accept"},
}

# (action, from state) → (case state after, line states after)
CASE_ALLOWED = {
    (wf.SUBMIT, CaseState.DRAFT): (CaseState.NEW, [LineState.NEW, LineState.NEW]),
    (wf.ASSIGN_TO_ME, CaseState.NEW): (CaseState.WORK_IN_PROGRESS, [LineState.WORK_IN_PROGRESS] * 2),
    (wf.REQUEST_INFORMATION, CaseState.WORK_IN_PROGRESS): (
        CaseState.AWAITING_INFO, [LineState.WORK_IN_PROGRESS, LineState.NEW]),
    (wf.INFORMATION_RECEIVED, CaseState.AWAITING_INFO): (CaseState.WORK_IN_PROGRESS, [LineState.WORK_IN_PROGRESS] * 2),
    (wf.RESOLVE_CASE, CaseState.WORK_IN_PROGRESS): (CaseState.RESOLVED, [LineState.ACCEPTED] * 2),
    (wf.CLOSE_CASE, CaseState.RESOLVED): (CaseState.CLOSED, [LineState.ACCEPTED, LineState.DENIED]),
    (wf.CANCEL, CaseState.DRAFT): (CaseState.CANCELLED, [LineState.CANCELLED] * 2),
}

CASE_PAIRS = [(action, state) for action in wf.CASE_ACTIONS for state in CaseState.ALL]


@pytest.mark.parametrize("action,state", CASE_PAIRS, ids=[f"{a}-{s}" for a, s in CASE_PAIRS])
def test_case_action_in_every_state(users, action, state):
    case = case_with_lines(state, CASE_SETUP[state])
    agent = user_for(users, "agent")
    call = lambda: wf.CASE_ACTIONS[action](case.id, agent, version=case.version, **CASE_INPUTS.get(action, {}))
    expected = CASE_ALLOWED.get((action, state))
    if expected is None:
        assert_refused(call, StateConflict, f"{action} is not allowed: {case.number} is {state}")
        return
    version_before = case.version
    call()
    after = reload(OrderCase, case.id)
    assert (after.state, line_states_of(case.id)) == expected
    events = db.session.query(AuditEvent).filter_by(case_id=case.id, action=action, field="state").all()
    assert {(e.record_type, e.new_value) for e in events} >= {("order_case", expected[0])}
    # Every line that changed state has its own audit event, bulk-written with the case id.
    changed_lines = sum(1 for old, new in zip(CASE_SETUP[state], expected[1]) if old != new)
    assert sum(1 for e in events if e.record_type == "order_case_line") == changed_lines
    assert after.version == version_before + 1


def test_submit_needs_a_line(users):
    case = case_with_lines(CaseState.DRAFT, [])
    assert_refused(lambda: wf.submit_case(case.id, user_for(users, "agent")), StateConflict,
                   f"Submit is not allowed: {case.number} has no lines")


def test_assign_to_me_sets_assignee_and_respects_the_group(users):
    case = case_with_lines(CaseState.NEW, [LineState.NEW])
    outsider = factories.make_user("agent")
    group = factories.make_group("Order desk", [users["agent"].id])
    case.assignment_group_id = group.id
    db.session.commit()
    assert_refused(lambda: wf.assign_case_to_me(case.id, db.session.get(User, outsider.id)), PermissionDenied,
                   "not a member of the assignment group Order desk")
    wf.assign_case_to_me(case.id, user_for(users, "agent"))
    assert reload(OrderCase, case.id).assigned_to_id == users["agent"].id


def test_request_information_posts_the_question_and_notifies_the_contact(users):
    case = case_with_lines(CaseState.WORK_IN_PROGRESS, [LineState.WORK_IN_PROGRESS])
    agent = user_for(users, "agent")
    assert_refused(lambda: wf.request_case_information(case.id, agent, question="  "), InvalidInput,
                   "Request Information needs the question")
    wf.request_case_information(case.id, agent, question="Which address?")
    entry = db.session.query(JournalEntry).filter_by(case_id=case.id).one()
    assert (entry.kind, entry.text, entry.record_type) == (JournalKind.COMMENT, "Which address?", "order_case")
    note = db.session.query(Notification).one()
    assert note.recipient_email == case.contact.email and "Which address?" in note.body


def test_resolve_case_needs_code_notes_and_outcome(users):
    case = case_with_lines(CaseState.WORK_IN_PROGRESS, [LineState.WORK_IN_PROGRESS])
    agent = user_for(users, "agent")
    assert_refused(lambda: wf.resolve_case(case.id, agent, resolution_notes="x", outcome="accept"), InvalidInput,
                   "Resolve Case needs a resolution code")
    assert_refused(lambda: wf.resolve_case(case.id, agent, resolution_code=ResolutionCode.SOLVED, outcome="deny"),
                   InvalidInput, "Resolve Case needs resolution notes")
    assert_refused(lambda: wf.resolve_case(case.id, agent, resolution_code=ResolutionCode.SOLVED,
                                           resolution_notes="x"), InvalidInput, "accept all or deny all")


def test_resolve_case_deny_all_leaves_terminal_lines_alone(users):
    case = case_with_lines(CaseState.WORK_IN_PROGRESS,
                           [LineState.WORK_IN_PROGRESS, LineState.ACCEPTED, LineState.AWAITING_INFO])
    wf.resolve_case(case.id, user_for(users, "agent"), resolution_code=ResolutionCode.CHANGE_DENIED,
                    resolution_notes="Out of stock", outcome="deny")
    after = reload(OrderCase, case.id)
    assert after.state == CaseState.RESOLVED and after.resolution_code == ResolutionCode.CHANGE_DENIED
    assert line_states_of(case.id) == [LineState.DENIED, LineState.ACCEPTED, LineState.DENIED]
    notes = [line.resolution_notes for line in sorted(after.lines, key=lambda l: l.id)]
    assert notes == ["Out of stock", None, "Out of stock"]


def test_resolve_case_accept_all_records_approved_values_or_names_the_failing_line(users):
    case = case_with_lines(CaseState.WORK_IN_PROGRESS, [LineState.WORK_IN_PROGRESS, LineState.WORK_IN_PROGRESS])
    first, second = sorted(case.lines, key=lambda l: l.id)
    first.request_type, first.requested_quantity = RequestType.QUANTITY, 8
    second.request_type = RequestType.DELIVERY_DATE
    db.session.commit()
    agent = user_for(users, "agent")
    assert_refused(lambda: wf.resolve_case(case.id, agent, resolution_code=ResolutionCode.SOLVED,
                                           resolution_notes="ok", outcome="accept"),
                   InvalidInput, f"line {second.number} needs an approved delivery date")
    second = reload(OrderCaseLine, second.id)
    second.requested_delivery_date = dt.date(2031, 1, 2)
    db.session.commit()
    wf.resolve_case(case.id, agent, resolution_code=ResolutionCode.SOLVED, resolution_notes="ok", outcome="accept")
    first, second = reload(OrderCaseLine, first.id), reload(OrderCaseLine, second.id)
    assert (first.state, first.approved_quantity) == (LineState.ACCEPTED, 8)
    assert (second.state, second.approved_delivery_date) == (LineState.ACCEPTED, dt.date(2031, 1, 2))
    assert first.applied_at is not None and first.order_line.quantity == 8
    assert second.order_line.expected_delivery_date == dt.date(2031, 1, 2)


def test_resolve_case_refuses_a_line_with_open_tasks(users):
    case = case_with_lines(CaseState.WORK_IN_PROGRESS, [LineState.WORK_IN_PROGRESS])
    line = case.lines[0]
    db.session.add(CaseLineTask(case_line=line, case_id=case.id, subject="Check stock", state=TaskState.OPEN))
    db.session.commit()
    assert_refused(lambda: wf.resolve_case(case.id, user_for(users, "agent"), resolution_code=ResolutionCode.SOLVED,
                                           resolution_notes="x", outcome="deny"),
                   StateConflict, f"line {line.number} has open tasks")


def test_close_case_names_the_line_still_open(users):
    case = case_with_lines(CaseState.RESOLVED, [LineState.ACCEPTED, LineState.WORK_IN_PROGRESS])
    open_line = sorted(case.lines, key=lambda l: l.id)[1]
    assert_refused(lambda: wf.close_case(case.id, user_for(users, "agent")), StateConflict,
                   f"Close Case is not allowed: line {open_line.number} is still Work in Progress")


@pytest.mark.parametrize("role", ["customer", "integrator"])
@pytest.mark.parametrize("action", list(wf.CASE_ACTIONS))
def test_customers_and_integrators_may_not_act_on_cases(users, role, action):
    state = next(s for a, s in CASE_ALLOWED if a == action)
    case = case_with_lines(state, CASE_SETUP[state])
    assert_refused(lambda: wf.CASE_ACTIONS[action](case.id, user_for(users, role), **CASE_INPUTS.get(action, {})),
                   PermissionDenied, f"{action} is not allowed: it needs the agent role")


def test_a_stale_version_is_refused_naming_who_changed_it(users):
    case = case_with_lines(CaseState.NEW, [LineState.NEW])
    stale = case.version
    wf.assign_case_to_me(case.id, user_for(users, "manager"), version=stale)
    error = assert_refused(lambda: wf.request_case_information(case.id, user_for(users, "agent"), version=stale,
                                                              question="?"),
                           VersionConflict, f"{case.number} was changed by {users['manager'].username}")
    assert error.status_code == 409


# ----------------------------------------------------------------------------------------------------
# Line actions: every (line state, action) pair, with the case synchronisation

LINE_SETUP = {
    # target line state → (case state, the other line's state)
    LineState.DRAFT: (CaseState.DRAFT, LineState.DRAFT),
    LineState.NEW: (CaseState.NEW, LineState.NEW),
    LineState.WORK_IN_PROGRESS: (CaseState.WORK_IN_PROGRESS, LineState.WORK_IN_PROGRESS),
    LineState.AWAITING_INFO: (CaseState.AWAITING_INFO, LineState.WORK_IN_PROGRESS),
    LineState.ACCEPTED: (CaseState.RESOLVED, LineState.ACCEPTED),
    LineState.DENIED: (CaseState.RESOLVED, LineState.ACCEPTED),
    LineState.CANCELLED: (CaseState.RESOLVED, LineState.ACCEPTED),
}

LINE_INPUTS = {
    wf.REQUEST_INFORMATION: {"question": "Which colour?"},
    wf.DENY: {"resolution_notes": "Not possible"},
    wf.CANCEL_LINE: {"reason": "Customer withdrew"},
}

_RESOLVING = (wf.ACCEPT, wf.DENY, wf.CANCEL_LINE)
_RESULT = {wf.ACCEPT: LineState.ACCEPTED, wf.DENY: LineState.DENIED, wf.CANCEL_LINE: LineState.CANCELLED}

# (action, line state) → (line state after, case state after)
LINE_ALLOWED = {
    (wf.START_WORK, LineState.NEW): (LineState.WORK_IN_PROGRESS, CaseState.WORK_IN_PROGRESS),  # rule 1
    (wf.REQUEST_INFORMATION, LineState.WORK_IN_PROGRESS): (LineState.AWAITING_INFO, CaseState.WORK_IN_PROGRESS),
    (wf.INFORMATION_RECEIVED, LineState.AWAITING_INFO): (LineState.WORK_IN_PROGRESS, CaseState.WORK_IN_PROGRESS),
    **{(action, state): (_RESULT[action], LINE_SETUP[state][0])
       for action in _RESOLVING for state in (LineState.NEW, LineState.WORK_IN_PROGRESS, LineState.AWAITING_INFO)},
    **{(wf.REOPEN, state): (LineState.WORK_IN_PROGRESS, CaseState.WORK_IN_PROGRESS)  # rule 1 from Resolved
       for state in LineState.TERMINAL},
}

LINE_PAIRS = [(action, state) for action in wf.LINE_ACTIONS for state in LineState.ALL]


@pytest.mark.parametrize("action,state", LINE_PAIRS, ids=[f"{a}-{s}" for a, s in LINE_PAIRS])
def test_line_action_in_every_state(users, action, state):
    case_state, other_state = LINE_SETUP[state]
    case = case_with_lines(case_state, [state, other_state])
    line, other = sorted(case.lines, key=lambda l: l.id)
    actor = user_for(users, "manager" if action == wf.REOPEN else "agent")
    call = lambda: wf.LINE_ACTIONS[action](line.id, actor, version=line.version, **LINE_INPUTS.get(action, {}))
    expected = LINE_ALLOWED.get((action, state))
    if expected is None:
        message = (f"{action} is not allowed: {case.number} is Draft; submit the case first"
                   if case_state == CaseState.DRAFT else f"{action} is not allowed: line {line.number} is {state}")
        assert_refused(call, StateConflict, message)
        return
    call()
    after_line, after_case = reload(OrderCaseLine, line.id), reload(OrderCase, case.id)
    assert (after_line.state, after_case.state) == expected
    assert reload(OrderCaseLine, other.id).state == other_state
    assert db.session.query(AuditEvent).filter_by(record_type="order_case_line", record_id=line.id,
                                                  action=action, field="state").count() == 1


@pytest.mark.parametrize("outcomes,code", [
    ([wf.ACCEPT, wf.ACCEPT], ResolutionCode.CHANGE_APPROVED),
    ([wf.DENY, wf.DENY], ResolutionCode.CHANGE_DENIED),
    ([wf.ACCEPT, wf.DENY], ResolutionCode.PARTIALLY_APPROVED),
    ([wf.CANCEL_LINE, wf.CANCEL_LINE], ResolutionCode.CANCELLED_BY_CUSTOMER),
    ([wf.ACCEPT, wf.CANCEL_LINE], ResolutionCode.CHANGE_APPROVED),
])
def test_the_case_resolves_itself_when_every_line_is_terminal(users, outcomes, code):
    case = case_with_lines(CaseState.WORK_IN_PROGRESS, [LineState.WORK_IN_PROGRESS, LineState.AWAITING_INFO])
    agent = user_for(users, "agent")
    for line, action in zip(sorted(case.lines, key=lambda l: l.id), outcomes):
        assert reload(OrderCase, case.id).state == CaseState.WORK_IN_PROGRESS
        wf.LINE_ACTIONS[action](line.id, agent, **LINE_INPUTS.get(action, {}))
    after = reload(OrderCase, case.id)
    assert (after.state, after.resolution_code) == (CaseState.RESOLVED, code)
    assert after.resolved_at is not None


def test_reopen_is_for_managers_and_never_on_a_closed_case(users):
    case = case_with_lines(CaseState.RESOLVED, [LineState.ACCEPTED])
    line = case.lines[0]
    assert_refused(lambda: wf.reopen_line(line.id, user_for(users, "agent")), PermissionDenied,
                   "Reopen is not allowed: it needs the manager role")
    wf.close_case(case.id, user_for(users, "agent"))
    assert_refused(lambda: wf.reopen_line(line.id, user_for(users, "manager")), StateConflict,
                   f"Reopen is not allowed: {case.number} is Closed; closed and cancelled cases are read-only")
    assert_refused(lambda: wf.reopen_line(line.id, user_for(users, "admin")), StateConflict, "read-only")


@pytest.mark.parametrize("role", ["customer", "integrator"])
@pytest.mark.parametrize("action", list(wf.LINE_ACTIONS))
def test_customers_and_integrators_may_not_act_on_lines(users, role, action):
    state = next(s for a, s in LINE_ALLOWED if a == action)
    case_state, other_state = LINE_SETUP[state]
    case = case_with_lines(case_state, [state, other_state])
    line = sorted(case.lines, key=lambda l: l.id)[0]
    assert_refused(lambda: wf.LINE_ACTIONS[action](line.id, user_for(users, role), **LINE_INPUTS.get(action, {})),
                   PermissionDenied, f"{action} is not allowed: it needs the")


def test_accept_and_deny_are_refused_while_the_line_has_open_tasks(users):
    case = case_with_lines(CaseState.WORK_IN_PROGRESS, [LineState.WORK_IN_PROGRESS])
    line = case.lines[0]
    db.session.add(CaseLineTask(case_line=line, case_id=case.id, subject="Check", state=TaskState.WORK_IN_PROGRESS))
    db.session.commit()
    agent = user_for(users, "agent")
    for action in (wf.ACCEPT, wf.DENY):
        assert_refused(lambda: wf.LINE_ACTIONS[action](line.id, agent, **LINE_INPUTS.get(action, {})),
                       StateConflict, f"{action} is not allowed: line {line.number} has open tasks")


def test_deny_and_cancel_line_need_their_text(users):
    case = case_with_lines(CaseState.WORK_IN_PROGRESS, [LineState.WORK_IN_PROGRESS])
    line = case.lines[0]
    agent = user_for(users, "agent")
    assert_refused(lambda: wf.deny_line(line.id, agent), InvalidInput, "Deny needs resolution notes")
    assert_refused(lambda: wf.cancel_line(line.id, agent, reason=" "), InvalidInput, "Cancel line needs a reason")
    assert_refused(lambda: wf.request_line_information(line.id, agent), InvalidInput, "needs the question")


def test_accept_records_approved_values_by_request_type(users):
    case = case_with_lines(CaseState.WORK_IN_PROGRESS, [LineState.WORK_IN_PROGRESS] * 3)
    qty, price, wrong = sorted(case.lines, key=lambda l: l.id)
    qty.request_type, qty.requested_quantity = RequestType.QUANTITY, 7
    price.request_type, price.disputed_unit_price = RequestType.PRICE, Decimal("8.00")
    price.current_unit_price = price.order_line.unit_price
    wrong.request_type = RequestType.WRONG_ITEM
    db.session.commit()
    agent = user_for(users, "agent")
    assert_refused(lambda: wf.accept_line(qty.id, agent, approved_quantity=0), InvalidInput,
                   "Approved quantity must be a whole number of at least 1")
    assert_refused(lambda: wf.accept_line(wrong.id, agent), InvalidInput,
                   f"line {wrong.number} needs a replacement offering")
    wf.accept_line(qty.id, agent)
    wf.accept_line(price.id, agent)
    replacement = factories.make_offering("Gadget")
    wf.accept_line(wrong.id, agent, replacement_offering_id=replacement.id)
    qty, price, wrong = (reload(OrderCaseLine, l.id) for l in (qty, price, wrong))
    assert qty.approved_quantity == 7
    assert (price.approved_unit_price, price.credit_amount) == (Decimal("8.00"), Decimal("10.00"))
    assert (wrong.replacement_offering_id, wrong.approved_quantity) == (replacement.id, 5)


def test_accept_refuses_closed_order_lines_and_moved_order_lines(users):
    case = case_with_lines(CaseState.WORK_IN_PROGRESS, [LineState.WORK_IN_PROGRESS, LineState.WORK_IN_PROGRESS])
    closed, moved = sorted(case.lines, key=lambda l: l.id)
    closed.request_type, closed.requested_quantity = RequestType.QUANTITY, 2
    closed.order_line.state = OrderLineState.COMPLETED
    moved.order_line.quantity = 99
    db.session.commit()
    agent = user_for(users, "agent")
    assert_refused(lambda: wf.accept_line(closed.id, agent), StateConflict,
                   f"line {closed.number} refers to order line {closed.order_line.number}, which is Completed")
    assert_refused(lambda: wf.accept_line(moved.id, agent), StateConflict,
                   f"order line {moved.order_line.number} of line {moved.number} changed after the case line was saved")


# ----------------------------------------------------------------------------------------------------
# Creating cases and lines (SPEC §3)


def test_create_case_from_the_order_line_items_copies_current_values_and_characteristics(users):
    account = factories.make_account()
    order = factories.make_order(account, lines=3)
    service = factories.make_service()
    picked = order.lines[:2]
    case = wf.create_case(user_for(users, "agent"), service_id=service.id, account_id=account.id,
                          scope=Scope.SINGLE_ORDER, origin=CaseOrigin.ORDER_LINE_ITEMS, order_id=order.id,
                          order_line_ids=[l.id for l in picked], short_description="Change two lines")
    case = reload(OrderCase, case.id)
    assert (case.state, case.order_id, case.contact_id, case.priority) == (
        CaseState.DRAFT, order.id, account.primary_contact_id, 4)
    assert [(l.order_line_id, l.state, l.ordered_quantity, l.current_unit_price, l.order_line_version)
            for l in case.lines] == [(ol.id, LineState.DRAFT, 5, Decimal("10.00"), ol.version) for ol in picked]
    assert [(c.name, c.value) for c in case.lines[0].characteristics] == [("Colour", "Red")]
    assert case.lines[0].current_delivery_date == order.lines[0].expected_delivery_date


def test_create_case_from_a_customer_order_makes_one_header_line(users):
    account = factories.make_account()
    order = factories.make_order(account)
    case = wf.create_case(user_for(users, "agent"), service_id=factories.make_service().id, account_id=account.id,
                          scope=Scope.MULTIPLE_ORDERS, origin=CaseOrigin.CUSTOMER_ORDER, order_id=order.id,
                          short_description="Deliver earlier")
    case = reload(OrderCase, case.id)
    assert case.order_id is None
    assert [(l.order_id, l.order_line_id, l.current_location_id) for l in case.lines] == [
        (order.id, None, order.shipping_location_id)]


def test_create_case_validates_the_intake_form(users):
    account, other = factories.make_account(), factories.make_account()
    foreign_order = factories.make_order(other)
    service = factories.make_service()
    agent = user_for(users, "agent")
    base = dict(service_id=service.id, account_id=account.id, scope=Scope.SINGLE_ORDER, origin=CaseOrigin.LIST,
                short_description="x")
    assert_refused(lambda: wf.create_case(agent, **{**base, "short_description": " ", "account_id": None}),
                   InvalidInput, "Create case needs: Account, Short description")
    assert_refused(lambda: wf.create_case(agent, **base), InvalidInput, "needs an existing order number")
    assert_refused(lambda: wf.create_case(agent, **base, order_number=foreign_order.number), InvalidInput,
                   f"order {foreign_order.number} belongs to another account")
    assert_refused(lambda: wf.create_case(user_for(users, "customer"), **base), PermissionDenied, "agent role")


def test_a_line_already_on_another_open_case_is_refused_naming_that_case(users):
    account = factories.make_account()
    order = factories.make_order(account)
    first = factories.make_case(account, order=order, order_lines=[order.lines[0]])
    agent = user_for(users, "agent")
    service = factories.make_service()
    assert_refused(lambda: wf.create_case(agent, service_id=service.id, account_id=account.id,
                                          scope=Scope.SINGLE_ORDER, origin=CaseOrigin.ORDER_LINE_ITEMS,
                                          order_id=order.id, order_line_ids=[order.lines[0].id],
                                          short_description="again"),
                   InvalidInput, f"order line {order.lines[0].number} is already on open case {first.number}")
    assert_refused(lambda: wf.create_case(agent, service_id=service.id, account_id=account.id,
                                          scope=Scope.MULTIPLE_ORDERS, origin=CaseOrigin.CUSTOMER_ORDER,
                                          order_id=order.id, short_description="whole order"),
                   InvalidInput, f"order {order.number} is already on open case {first.number}")
    wf.cancel_case(first.id, agent)
    wf.create_case(agent, service_id=service.id, account_id=account.id, scope=Scope.SINGLE_ORDER,
                   origin=CaseOrigin.ORDER_LINE_ITEMS, order_id=order.id, order_line_ids=[order.lines[0].id],
                   short_description="after the first was cancelled")


def test_add_lines_after_submission_start_in_new_and_duplicates_are_refused(users):
    account = factories.make_account()
    order = factories.make_order(account, lines=3)
    case = factories.make_case(account, order=order, order_lines=[order.lines[0]])
    agent = user_for(users, "agent")
    wf.submit_case(case.id, agent)
    assert_refused(lambda: wf.add_case_lines(case.id, agent, order_line_ids=[order.lines[0].id]), InvalidInput,
                   f"order line {order.lines[0].number} is already on this case")
    wf.add_case_lines(case.id, agent, order_line_ids=[order.lines[1].id])
    assert line_states_of(case.id) == [LineState.NEW, LineState.NEW]
    other_order = factories.make_order(account)
    assert_refused(lambda: wf.add_case_lines(case.id, agent, order_line_ids=[other_order.lines[0].id]),
                   InvalidInput, f"is not a line of order {order.number}")
    assert_refused(lambda: wf.add_case_lines(case.id, agent, order_ids=[other_order.id]), InvalidInput,
                   "is a single-order case")


def test_new_and_edit_line_allow_only_header_level_changes_on_multiple_orders_cases(users):
    account = factories.make_account()
    first, second = factories.make_order(account), factories.make_order(account)
    case = factories.make_case(account, order=first)
    agent = user_for(users, "agent")
    assert_refused(lambda: wf.create_case_line(case.id, agent, order_id=second.id,
                                               request_type=RequestType.QUANTITY), InvalidInput,
                   "only header-level changes")
    line = wf.create_case_line(case.id, agent, order_id=second.id, request_type=RequestType.DELIVERY_DATE,
                               requested_delivery_date="2031-02-03", reason_code="Other")
    line = reload(OrderCaseLine, line.id)
    assert (line.state, line.requested_delivery_date, line.current_delivery_date) == (
        LineState.DRAFT, dt.date(2031, 2, 3), second.expected_delivery_date)
    assert_refused(lambda: wf.edit_case_line(line.id, agent, version=line.version, requested_quantity=3),
                   InvalidInput, "Requested quantity applies to an order line only")
    assert_refused(lambda: wf.edit_case_line(line.id, agent, version=line.version, requested_delivery_date="soon"),
                   InvalidInput, "Requested delivery date must be a date")
    stale = line.version
    wf.edit_case_line(line.id, agent, version=stale, request_type=RequestType.ORDER_CANCELLATION)
    assert_refused(lambda: wf.edit_case_line(line.id, agent, version=stale, short_description="stale"),
                   VersionConflict, "was changed by")


def test_delete_rules_for_agents_and_admins(users):
    account = factories.make_account()
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    agent, admin = user_for(users, "agent"), user_for(users, "admin")
    first, second = sorted(case.lines, key=lambda l: l.id)
    wf.delete_case_lines(case.id, agent, [first.id])
    wf.submit_case(case.id, agent)
    assert_refused(lambda: wf.delete_case_lines(case.id, agent, [second.id]), PermissionDenied,
                   f"line {second.number} is New; only an admin deletes a submitted line")
    assert_refused(lambda: wf.delete_case(case.id, agent), PermissionDenied,
                   f"{case.number} is New; only an admin deletes a submitted case")
    number = wf.delete_case(case.id, admin)
    assert number == case.number
    assert db.session.query(OrderCase).count() == 0 and db.session.query(OrderCaseLine).count() == 0
    assert db.session.query(CaseLineCharacteristic).count() == 0
    deleted = db.session.query(AuditEvent).filter_by(record_type="order_case", action="Delete").one()
    assert deleted.record_number == number


def test_closed_and_cancelled_cases_are_read_only(users):
    case = case_with_lines(CaseState.CANCELLED, [LineState.CANCELLED])
    line = case.lines[0]
    agent = user_for(users, "agent")
    assert_refused(lambda: wf.edit_case_line(line.id, agent, short_description="x"), StateConflict, "read-only")
    assert_refused(lambda: wf.add_case_journal_entry(case.id, agent, JournalKind.COMMENT, "hi"), StateConflict,
                   "read-only")
    assert_refused(lambda: wf.assign_lines_to_me(case.id, agent, [line.id]), StateConflict, "read-only")
    assert_refused(lambda: wf.delete_case_lines(case.id, agent, [line.id]), StateConflict, "read-only")
    assert_refused(lambda: wf.add_case_lines(case.id, agent, order_line_ids=[line.order_line_id]), StateConflict,
                   "read-only")


def test_bulk_sync_on_hundreds_of_lines_uses_a_constant_number_of_statements(users):
    account = factories.make_account()
    order = factories.make_order(account, lines=300)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    statements = []
    from sqlalchemy import event

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        wf.submit_case(case.id, user_for(users, "agent"))
        wf.assign_case_to_me(case.id, user_for(users, "agent"))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) < 40, len(statements)
    assert set(line_states_of(case.id)) == {LineState.WORK_IN_PROGRESS}
    versions = set(db.session.execute(text("SELECT version FROM order_case_line")).scalars())
    assert versions == {3}
    assert set(db.session.execute(text("SELECT assigned_to_id FROM order_case_line")).scalars()) == {
        user_for(users, "agent").id}
    # Per line: its state on Submit, then its state and its assignee on Assign to me.
    assert db.session.query(AuditEvent).filter_by(case_id=case.id, record_type="order_case_line").count() == 900


def test_edit_case_header_rules(users):
    case = case_with_lines(CaseState.NEW, [LineState.NEW])
    agent, manager = user_for(users, "agent"), user_for(users, "manager")
    colleague = factories.make_user("agent")
    assert_refused(lambda: wf.edit_case(case.id, agent, assigned_to_id=colleague.id), PermissionDenied,
                   f"handing {case.number} to someone else is a manager's reassignment")
    assert_refused(lambda: wf.edit_case(case.id, agent, short_description=" "), InvalidInput,
                   "Edit case needs a short description")
    group = factories.make_group("Desk A", [users["agent"].id])
    assert_refused(lambda: wf.edit_case(case.id, manager, assignment_group_id=group.id,
                                        assigned_to_id=colleague.id), InvalidInput, "not a member of Desk A")
    wf.edit_case(case.id, manager, assignment_group_id=group.id, assigned_to_id=users["agent"].id, priority="1",
                 needs_attention="on")
    after = reload(OrderCase, case.id)
    assert (after.assigned_to_id, after.priority, after.needs_attention) == (users["agent"].id, 1, True)
    events = {n.event for n in db.session.query(Notification)}
    assert events == {"case assigned", "needs attention set"}
    assert db.session.query(AuditEvent).filter_by(case_id=case.id, action="Edit case", field="priority").count() == 1
    wf.cancel_case(case_with_lines(CaseState.DRAFT, [LineState.DRAFT]).id, agent)
    closed = db.session.query(OrderCase).filter_by(state=CaseState.CANCELLED).one()
    assert_refused(lambda: wf.edit_case(closed.id, manager, priority=2), StateConflict, "read-only")


def test_the_customer_accepts_or_rejects_the_solution_and_answers_questions(users):
    customer = user_for(users, "customer")
    accepted = case_with_lines(CaseState.RESOLVED, [LineState.ACCEPTED])
    rejected = case_with_lines(CaseState.RESOLVED, [LineState.DENIED])
    stranger_case = case_with_lines(CaseState.RESOLVED, [LineState.ACCEPTED])
    accepted.contact.user_id = users["customer"].id
    db.session.commit()
    assert_refused(lambda: wf.accept_solution(accepted.id, user_for(users, "agent")), PermissionDenied,
                   "only a contact of")
    assert_refused(lambda: wf.accept_solution(stranger_case.id, customer), PermissionDenied, "only a contact of")
    wf.accept_solution(accepted.id, customer)
    after = reload(OrderCase, accepted.id)
    assert (after.state, db.session.query(Notification).one().event) == (CaseState.CLOSED, "case closed")

    # The portal user now belongs to the other case's account (a contact links to one user).
    reload(OrderCase, accepted.id).contact.user_id = None
    db.session.commit()
    reload(OrderCase, rejected.id).contact.user_id = users["customer"].id
    db.session.commit()
    assert_refused(lambda: wf.reject_solution(rejected.id, customer, reason=""), InvalidInput,
                   "Reject solution needs a reason")
    wf.reject_solution(rejected.id, customer, reason="The date still does not work")
    after = reload(OrderCase, rejected.id)
    assert (after.state, after.resolution_code, after.needs_attention) == (CaseState.WORK_IN_PROGRESS, None, True)
    assert db.session.query(JournalEntry).filter_by(case_id=rejected.id).one().text == "The date still does not work"

    wf.request_case_information(rejected.id, user_for(users, "agent"), question="Which date then?")
    wf.customer_reply(rejected.id, customer, "The 3rd of next month")
    assert reload(OrderCase, rejected.id).state == CaseState.WORK_IN_PROGRESS


@pytest.mark.parametrize("outcome", ["accept", "deny"])
def test_resolve_case_on_hundreds_of_lines_uses_a_constant_number_of_statements(users, outcome):
    account = factories.make_account()
    order = factories.make_order(account, lines=300)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    for index, line in enumerate(case.lines):
        line.request_type = (RequestType.QUANTITY, RequestType.INQUIRY)[index % 2]
        line.requested_quantity = 7
        line.resolution_notes = "Noted earlier" if index % 3 == 0 else None
    db.session.commit()
    statements = []
    from sqlalchemy import event

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        wf.resolve_case(case.id, user_for(users, "agent"), resolution_code=ResolutionCode.SOLVED,
                        resolution_notes="Done", outcome=outcome)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) < 40, len(statements)
    lines = sorted(reload(OrderCase, case.id).lines, key=lambda l: l.id)
    expected_state = LineState.ACCEPTED if outcome == "accept" else LineState.DENIED
    assert {line.state for line in lines} == {expected_state}
    assert [line.approved_quantity for line in lines[:4]] == ([7, None, 7, None] if outcome == "accept" else [None] * 4)
    assert [line.resolution_notes for line in lines[:3]] == ["Noted earlier", None if outcome == "accept" else "Done",
                                                              None if outcome == "accept" else "Done"]


def test_an_order_number_typed_on_a_multiple_orders_intake_becomes_its_first_line(users):
    account = factories.make_account()
    order = factories.make_order(account)
    case = wf.create_case(user_for(users, "agent"), service_id=factories.make_service().id, account_id=account.id,
                          scope=Scope.MULTIPLE_ORDERS, origin=CaseOrigin.LIST, order_number=order.number.lower(),
                          short_description="From the list")
    case = reload(OrderCase, case.id)
    assert (case.order_id, [(l.order_id, l.order_line_id) for l in case.lines]) == (None, [(order.id, None)])

"""Two people acting on the same order case at the same moment (PostgreSQL, real concurrent transactions):
exactly one wins, the other gets the conflict message, and the audit trail tells the final state's story."""
from __future__ import annotations

import threading

import pytest
from flask_appbuilder.security.sqla.models import User

from app import workflows as wf
from app.core.choices import CaseState, LineState, ResolutionCode
from app.core.exceptions import DomainError, StateConflict, VersionConflict
from app.core.extensions import db
from app.models import AuditEvent, OrderCase, OrderCaseLine
from tests import factories
from tests.conftest import IS_POSTGRES

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL) for real row locks")

ROUNDS = 50


def race(app, calls):
    """Run each (role user id, function) in its own thread, app context and session, released together."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, user_id, call):
        with app.app_context():
            user = db.session.get(User, user_id)
            barrier.wait()
            try:
                call(user)
                outcomes[index] = "ok"
            except DomainError as error:
                outcomes[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, uid, call)) for i, (uid, call) in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(outcome is not None for outcome in outcomes), "a thread hung"
    return outcomes


def case_state_trail(case_id) -> list[tuple[str | None, str]]:
    db.session.expire_all()
    return [(e.old_value, e.new_value) for e in db.session.query(AuditEvent).filter_by(
        case_id=case_id, record_type="order_case", field="state").order_by(AuditEvent.id)]


def assert_trail_matches(case_id):
    case = db.session.get(OrderCase, case_id)
    trail = case_state_trail(case_id)
    assert trail, "no state events"
    for (_old, new), (next_old, _next_new) in zip(trail, trail[1:]):
        assert next_old == new, f"broken audit trail {trail}"
    assert trail[-1][1] == case.state, f"trail {trail} does not end in {case.state}"
    lines = db.session.query(OrderCaseLine).filter_by(case_id=case_id).all()
    for line in lines:
        line_trail = [e.new_value for e in db.session.query(AuditEvent).filter_by(
            record_type="order_case_line", record_id=line.id, field="state").order_by(AuditEvent.id)]
        assert line_trail[-1] == line.state, f"line {line.number}: trail {line_trail}, state {line.state}"


def new_case(state=CaseState.NEW, line_state=LineState.NEW, lines=2):
    account = factories.make_account()
    order = factories.make_order(account, lines=lines)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=state, line_state=line_state)
    for line in case.lines:
        db.session.add(AuditEvent(record_type="order_case_line", record_id=line.id, record_number=line.number,
                                  case_id=case.id, field="state", new_value=line_state))
    db.session.add(AuditEvent(record_type="order_case", record_id=case.id, record_number=case.number,
                              case_id=case.id, field="state", new_value=state))
    db.session.commit()
    return case.id, case.version


def test_two_assign_to_me_from_the_same_page(app, users):
    agent, manager = users["agent"].id, users["manager"].id
    for _ in range(ROUNDS):
        case_id, version = new_case()
        outcomes = race(app, [
            (agent, lambda user: wf.assign_case_to_me(case_id, user, version=version)),
            (manager, lambda user: wf.assign_case_to_me(case_id, user, version=version)),
        ])
        winners = [i for i, outcome in enumerate(outcomes) if outcome == "ok"]
        assert len(winners) == 1, outcomes
        loser = outcomes[1 - winners[0]]
        assert isinstance(loser, VersionConflict) and "was changed by" in loser.message
        case = db.session.get(OrderCase, case_id)
        db.session.refresh(case)
        assert case.assigned_to_id == (agent, manager)[winners[0]]
        assert case.state == CaseState.WORK_IN_PROGRESS
        assert case_state_trail(case_id) == [(None, CaseState.NEW), (CaseState.NEW, CaseState.WORK_IN_PROGRESS)]
        assert_trail_matches(case_id)


def test_submit_against_cancel_without_versions(app, users):
    """No version sent (an API client): the row lock still serialises, the loser hears the state refusal."""
    agent, manager = users["agent"].id, users["manager"].id
    winners_seen = set()
    for _ in range(ROUNDS):
        case_id, _version = new_case(state=CaseState.DRAFT, line_state=LineState.DRAFT)
        outcomes = race(app, [
            (agent, lambda user: wf.submit_case(case_id, user)),
            (manager, lambda user: wf.cancel_case(case_id, user)),
        ])
        assert sorted(map(str, outcomes)).count("ok") == 1, outcomes
        loser = next(o for o in outcomes if o != "ok")
        assert isinstance(loser, StateConflict) and "is not allowed" in loser.message
        case = db.session.get(OrderCase, case_id)
        db.session.refresh(case)
        expected = CaseState.NEW if outcomes[0] == "ok" else CaseState.CANCELLED
        winners_seen.add(expected)
        assert case.state == expected
        line_states = {line.state for line in db.session.query(OrderCaseLine).filter_by(case_id=case_id)}
        assert line_states == {LineState.NEW if expected == CaseState.NEW else LineState.CANCELLED}
        assert_trail_matches(case_id)


def test_the_last_two_lines_resolved_at_once_resolve_the_case_exactly_once(app, users):
    """Accept one line while a colleague denies the other: both succeed, and the case still resolves."""
    agent, manager = users["agent"].id, users["manager"].id
    for _ in range(ROUNDS):
        case_id, _version = new_case(state=CaseState.WORK_IN_PROGRESS, line_state=LineState.WORK_IN_PROGRESS)
        first, second = [line.id for line in db.session.query(OrderCaseLine).filter_by(case_id=case_id)
                         .order_by(OrderCaseLine.id)]
        outcomes = race(app, [
            (agent, lambda user: wf.accept_line(first, user)),
            (manager, lambda user: wf.deny_line(second, user, resolution_notes="No stock")),
        ])
        assert outcomes == ["ok", "ok"], outcomes
        case = db.session.get(OrderCase, case_id)
        db.session.refresh(case)
        assert (case.state, case.resolution_code) == (CaseState.RESOLVED, ResolutionCode.PARTIALLY_APPROVED)
        assert case_state_trail(case_id)[-1] == (CaseState.WORK_IN_PROGRESS, CaseState.RESOLVED)
        assert len(case_state_trail(case_id)) == 2
        assert_trail_matches(case_id)

"""SLA clocks and notifications driven end to end by the real case workflows, with a controlled clock:
every state change, line addition and priority change keeps the task SLAs in step, and each workflow
event queues the right message for the right person."""
from __future__ import annotations

import datetime as dt
import sys

import pytest
from flask_appbuilder.security.sqla.models import User

from app.core import model_base
from app.sla import clocks as sla
from app import workflows as wf
from app.core.choices import CaseOrigin, CaseState, ResolutionCode, Scope, SlaKind, SlaStage
from app.core.extensions import db
from app.models import Contact, Notification, OrderCase, TaskSla
from app.sla.notifications import NotificationEvent
from app.operations.periodic import run_periodic_work
from tests import factories

T0 = dt.datetime(2026, 3, 2, 8, 0)
H = 3600


class Clock:
    def __init__(self):
        self.now = T0

    def at(self, hours: float) -> dt.datetime:
        self.now = T0 + dt.timedelta(hours=hours)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Every module's ``utcnow`` (imported by name) reads this clock."""
    controlled = Clock()
    original = model_base.utcnow
    for name, module in list(sys.modules.items()):
        if (name == "app" or name.startswith("app.")) and getattr(module, "utcnow", None) is original:
            monkeypatch.setattr(module, "utcnow", lambda: controlled.now)
    return controlled


def person(users, role) -> User:
    return db.session.get(User, users[role].id)


def new_case(users, lines: int = 2, priority: int = 4) -> tuple[int, list[int]]:
    sla.seed_default_sla_definitions()
    agent = person(users, "agent")
    account = factories.make_account()
    order = factories.make_order(account, lines=lines)
    case = wf.create_case(agent, service_id=factories.make_service().id, account_id=account.id,
                          scope=Scope.SINGLE_ORDER, origin=CaseOrigin.ORDER_LINE_ITEMS, order_id=order.id,
                          short_description="Customer wants changes", order_line_ids=[l.id for l in order.lines],
                          priority=priority)
    factories.classify_lines(case.id)
    return case.id, [line.id for line in case.lines]


def clocks(case_id: int) -> dict[tuple[int | None, str], TaskSla]:
    db.session.expire_all()
    return {(t.case_line_id, t.definition.kind): t
            for t in db.session.query(TaskSla).filter(TaskSla.case_id == case_id)}


def stages(case_id: int) -> dict[tuple[int | None, str], str]:
    return {key: t.stage for key, t in clocks(case_id).items()}


def messages(event: str | None = None) -> list[Notification]:
    query = db.session.query(Notification).order_by(Notification.id)
    if event:
        query = query.filter(Notification.event == event)
    return query.all()


# --------------------------------------------------------------------------- SLA wiring


def test_case_response_achieved_by_assign_paused_by_request_information_and_resolution_achieved_on_resolve(
        users, clock):
    agent = person(users, "agent")
    clock.at(0)
    case_id, line_ids = new_case(users)
    assert clocks(case_id) == {}, "a Draft case has no clock"

    clock.at(0.5)
    wf.submit_case(case_id, agent)
    assert set(stages(case_id).values()) == {SlaStage.IN_PROGRESS}
    assert len(clocks(case_id)) == 2 + 2 * len(line_ids)
    assert all(t.started_at == T0 + dt.timedelta(hours=0.5) for t in clocks(case_id).values())

    clock.at(1.5)
    wf.assign_case_to_me(case_id, agent)
    response = clocks(case_id)[(None, SlaKind.RESPONSE)]
    assert (response.stage, response.stopped_at) == (SlaStage.ACHIEVED, clock.now)
    assert {stages(case_id)[(line_id, SlaKind.RESPONSE)] for line_id in line_ids} == {SlaStage.ACHIEVED}

    clock.at(2)
    wf.request_case_information(case_id, agent, question="Which warehouse should we ship from?")
    assert stages(case_id)[(None, SlaKind.RESOLUTION)] == SlaStage.PAUSED

    clock.at(5)
    wf.case_information_received(case_id, agent)
    resolution = clocks(case_id)[(None, SlaKind.RESOLUTION)]
    assert resolution.stage == SlaStage.IN_PROGRESS and resolution.paused_seconds == 3 * H
    # 72 h target from 00:30, three hours paused: due three hours later than without the pause.
    assert resolution.planned_due_at == T0 + dt.timedelta(hours=0.5 + 72 + 3)

    clock.at(10)
    wf.resolve_case(case_id, agent, resolution_code=ResolutionCode.CHANGE_DENIED,
                    resolution_notes="Stock is committed elsewhere.", outcome=wf.OUTCOME_DENY)
    after = clocks(case_id)
    assert (after[(None, SlaKind.RESOLUTION)].stage, after[(None, SlaKind.RESOLUTION)].stopped_at) == (
        SlaStage.ACHIEVED, clock.now)
    assert after[(None, SlaKind.RESOLUTION)].elapsed_percent == pytest.approx(100 * 6.5 / 72, abs=0.01)
    assert {after[(line_id, SlaKind.RESOLUTION)].stage for line_id in line_ids} == {SlaStage.ACHIEVED}


def test_line_slas_follow_line_actions_auto_resolve_reopen_and_the_customers_answers(users, clock):
    agent, manager, customer = person(users, "agent"), person(users, "manager"), person(users, "customer")
    clock.at(0)
    case_id, (first, second) = new_case(users)
    wf.submit_case(case_id, agent)

    clock.at(1)
    wf.start_line_work(first, agent)
    assert stages(case_id)[(first, SlaKind.RESPONSE)] == SlaStage.ACHIEVED
    assert stages(case_id)[(second, SlaKind.RESPONSE)] == SlaStage.IN_PROGRESS
    assert stages(case_id)[(None, SlaKind.RESPONSE)] == SlaStage.ACHIEVED, "the case followed to Work in Progress"

    clock.at(2)
    wf.request_line_information(first, agent, question="Which colour?")
    assert stages(case_id)[(first, SlaKind.RESOLUTION)] == SlaStage.PAUSED
    clock.at(4)
    wf.line_information_received(first, agent)
    line_clock = clocks(case_id)[(first, SlaKind.RESOLUTION)]
    assert (line_clock.stage, line_clock.paused_seconds) == (SlaStage.IN_PROGRESS, 2 * H)

    clock.at(5)
    wf.deny_line(first, agent, resolution_notes="Not possible.")
    assert stages(case_id)[(first, SlaKind.RESOLUTION)] == SlaStage.ACHIEVED
    assert stages(case_id)[(None, SlaKind.RESOLUTION)] == SlaStage.IN_PROGRESS

    # Five hours after submission the second line's 4 h response clock has breached.
    clock.at(6)
    wf.cancel_line(second, agent, reason="Customer withdrew it.")
    after = clocks(case_id)
    assert after[(second, SlaKind.RESPONSE)].stage == SlaStage.BREACHED
    assert db.session.get(OrderCase, case_id).state == CaseState.RESOLVED, "the last terminal line auto-resolves"
    assert after[(None, SlaKind.RESOLUTION)].stopped_at == clock.now
    assert after[(None, SlaKind.RESOLUTION)].stage == SlaStage.ACHIEVED

    clock.at(8)
    wf.reopen_line(first, manager)
    after = clocks(case_id)
    for key in ((first, SlaKind.RESOLUTION), (None, SlaKind.RESOLUTION)):
        assert (after[key].stage, after[key].stopped_at) == (SlaStage.IN_PROGRESS, None), key
    # The two hours the case stood Resolved do not count.
    assert after[(None, SlaKind.RESOLUTION)].paused_seconds == 2 * H

    clock.at(9)
    wf.accept_line(first, agent)
    assert stages(case_id)[(None, SlaKind.RESOLUTION)] == SlaStage.ACHIEVED

    case = db.session.get(OrderCase, case_id)
    db.session.get(Contact, case.contact_id).user_id = customer.id
    db.session.commit()
    clock.at(10)
    wf.reject_solution(case_id, customer, reason="This is not what I asked for.")
    assert stages(case_id)[(None, SlaKind.RESOLUTION)] == SlaStage.IN_PROGRESS
    assert clocks(case_id)[(None, SlaKind.RESOLUTION)].paused_seconds == 2 * H + 1 * H


def test_lines_added_later_and_a_priority_change_keep_the_clocks_in_step(users, clock):
    agent, manager = person(users, "agent"), person(users, "manager")
    clock.at(0)
    sla.seed_default_sla_definitions()
    account = factories.make_account()
    orders = [factories.make_order(account, lines=1) for _ in range(2)]
    case = wf.create_case(agent, service_id=factories.make_service().id, account_id=account.id,
                          scope=Scope.MULTIPLE_ORDERS, origin=CaseOrigin.CUSTOMER_ORDER, order_id=orders[0].id,
                          short_description="Two orders")
    case_id = case.id
    factories.classify_lines(case_id)
    wf.submit_case(case_id, agent)

    clock.at(1)
    (added,) = wf.add_case_lines(case_id, agent, order_ids=[orders[1].id])
    added_clock = clocks(case_id)[(added.id, SlaKind.RESPONSE)]
    assert (added_clock.stage, added_clock.started_at) == (SlaStage.IN_PROGRESS, clock.now)

    clock.at(2)
    wf.edit_case(case_id, manager, priority="1")
    case_clocks = [t for t in clocks(case_id).values() if t.case_line_id is None]
    assert {(t.definition.kind, t.definition.target_minutes, t.stage) for t in case_clocks} == {
        (SlaKind.RESPONSE, 60, SlaStage.BREACHED), (SlaKind.RESOLUTION, 24 * 60, SlaStage.IN_PROGRESS)}


# --------------------------------------------------------------------------- notifications


def test_each_case_event_queues_its_message_for_the_right_person(users, clock):
    agent, manager = person(users, "agent"), person(users, "manager")
    clock.at(0)
    case_id, (first, second) = new_case(users)
    contact_email = db.session.get(OrderCase, case_id).contact.email
    wf.submit_case(case_id, agent)

    wf.assign_case_to_me(case_id, agent)
    assert messages() == [], "taking a case yourself notifies nobody"
    wf.edit_case(case_id, manager, assigned_to_id=str(agent.id))
    assert messages() == [], "an unchanged assignee is not notified again"
    other = factories.make_user("agent")
    wf.edit_case(case_id, manager, assigned_to_id=str(other.id))
    (assigned,) = messages(NotificationEvent.CASE_ASSIGNED)
    assert assigned.recipient_email == f"{other.username}@example.test"
    assert assigned.recipient_user_id == other.id and "assigned to you" in assigned.subject

    wf.set_needs_attention(case_id, manager, reason="Customer escalated to the CEO.")
    (attention,) = messages(NotificationEvent.NEEDS_ATTENTION)
    assert attention.recipient_user_id == other.id and "Customer escalated to the CEO." in attention.body

    wf.request_case_information(case_id, agent, question="Which delivery address applies?")
    (question,) = messages(NotificationEvent.INFORMATION_REQUESTED)
    assert question.recipient_email == contact_email and "Which delivery address applies?" in question.body
    wf.case_information_received(case_id, agent)

    wf.resolve_case(case_id, agent, resolution_code=ResolutionCode.CHANGE_DENIED,
                    resolution_notes="We cannot change the shipped lines.", outcome=wf.OUTCOME_DENY)
    (proposed,) = messages(NotificationEvent.SOLUTION_PROPOSED)
    assert proposed.recipient_email == contact_email and "We cannot change the shipped lines." in proposed.body

    wf.close_case(case_id, agent)
    (closed,) = messages(NotificationEvent.CASE_CLOSED)
    assert closed.recipient_email == contact_email
    assert {m.record_id for m in messages()} == {case_id}
    assert all(m.state == "queued" and m.created_on == clock.now for m in messages())


def test_auto_resolve_by_the_last_line_proposes_the_solution_to_the_contact(users, clock):
    agent = person(users, "agent")
    case_id, (first, second) = new_case(users)
    wf.submit_case(case_id, agent)
    wf.deny_line(first, agent, resolution_notes="No stock.")
    assert messages() == []
    wf.cancel_line(second, agent, reason="Withdrawn.")
    (proposed,) = messages(NotificationEvent.SOLUTION_PROPOSED)
    assert proposed.recipient_email == db.session.get(OrderCase, case_id).contact.email


def test_periodic_run_queues_at_risk_then_breach_notices_once_for_the_assignee_or_group_manager(app, users, clock):
    agent, manager = person(users, "agent"), person(users, "manager")
    clock.at(0)
    case_id, _lines = new_case(users, lines=1)
    group = factories.make_group("Desk", [agent.id, manager.id])
    group.manager_id = manager.id
    db.session.get(OrderCase, case_id).assignment_group_id = group.id
    db.session.commit()
    wf.submit_case(case_id, agent)

    run_periodic_work(app, T0 + dt.timedelta(hours=3, minutes=10))
    at_risk = messages(NotificationEvent.SLA_AT_RISK)
    # The case's and its line's 4 h response clocks passed 75 %; nobody is assigned: the group manager hears.
    assert len(at_risk) == 2 and {m.recipient_user_id for m in at_risk} == {manager.id}
    run_periodic_work(app, T0 + dt.timedelta(hours=3, minutes=20))
    assert len(messages(NotificationEvent.SLA_AT_RISK)) == 2, "each notice is sent once"

    clock.at(4.5)
    run_periodic_work(app, clock.now)
    breached = messages(NotificationEvent.SLA_BREACHED)
    assert len(breached) == 2 and {m.recipient_user_id for m in breached} == {manager.id}
    assert "was breached at 2026-03-02 12:00 UTC" in breached[0].body
    run_periodic_work(app, T0 + dt.timedelta(hours=6))
    assert len(messages(NotificationEvent.SLA_BREACHED)) == 2


def test_bulk_deny_on_ticked_lines_stops_each_line_clock_and_the_case_clock(users, clock):
    agent = person(users, "agent")
    clock.at(0)
    case_id, line_ids = new_case(users, lines=3)
    wf.submit_case(case_id, agent)
    clock.at(2)
    outcomes = wf.bulk_line_action(case_id, agent, wf.DENY, line_ids, resolution_notes="Out of stock.")
    assert [done for _number, done, _message in outcomes] == [True, True, True]
    after = clocks(case_id)
    assert {after[(line_id, SlaKind.RESOLUTION)].stopped_at for line_id in line_ids} == {clock.now}
    assert (after[(None, SlaKind.RESOLUTION)].stage, after[(None, SlaKind.RESOLUTION)].stopped_at) == (
        SlaStage.ACHIEVED, clock.now)
    assert len(messages(NotificationEvent.SOLUTION_PROPOSED)) == 1

"""Tasks on cases and lines (SPEC §5): Create task with a group and a member as assignee, who becomes a
contributor of the case; task states and actions; journal; open line tasks block Accept and Deny;
tasks of closed cases are read-only."""
from __future__ import annotations

from app.cases import tasks
from app import workflows as wf
from app.core.choices import CaseState, JournalKind, LineState, RequestType, TaskState
from app.core.exceptions import InvalidInput, StateConflict
from app.core.extensions import db
from app.models import CaseLineTask, CaseTask, JournalEntry, Notification, OrderCase
from tests import factories
from tests.cases.test_case_workflows import assert_refused, reload, user_for


def working_case():
    account = factories.make_account()
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    for line in case.lines:
        line.request_type = RequestType.INQUIRY
    db.session.commit()
    return case, sorted(case.lines, key=lambda l: l.id)


def test_create_task_on_a_line_routes_it_and_makes_the_assignee_a_contributor(users):
    case, (line, _other) = working_case()
    agent = user_for(users, "agent")
    group = factories.make_group("Warehouse", [users["manager"].id])
    assert_refused(lambda: tasks.create_task(agent, line_id=line.id, subject="Check stock",
                                             assignment_group_id=group.id, assigned_to_id=users["agent"].id),
                   InvalidInput, "is not a member of Warehouse")
    assert_refused(lambda: tasks.create_task(agent, line_id=line.id, subject=" "), InvalidInput, "needs a subject")
    task = tasks.create_task(agent, line_id=line.id, subject="Check stock", assignment_group_id=group.id,
                             assigned_to_id=users["manager"].id)
    task = reload(CaseLineTask, task.id)
    assert (task.state, task.case_id, task.case_line_id, task.assigned_to_id) == (
        TaskState.OPEN, case.id, line.id, users["manager"].id)
    assert [u.id for u in reload(OrderCase, case.id).contributors] == [users["manager"].id]
    assert db.session.query(Notification).filter_by(event="task assigned").count() == 1
    # The open task blocks Accept and Deny of its line, naming it.
    assert_refused(lambda: wf.accept_line(line.id, agent), StateConflict, f"line {line.number} has open tasks")
    assert_refused(lambda: wf.deny_line(line.id, agent, resolution_notes="no"), StateConflict, "has open tasks")
    tasks.task_action("line", task.id, agent, tasks.START_TASK)
    tasks.add_task_journal_entry("line", task.id, agent, JournalKind.WORK_NOTE, "Two left in Leeds")
    tasks.task_action("line", task.id, agent, tasks.CLOSE_COMPLETE, note="Stock confirmed")
    task = reload(CaseLineTask, task.id)
    assert task.state == TaskState.CLOSED_COMPLETE and task.closed_at is not None
    assert [e.text for e in db.session.query(JournalEntry).filter_by(record_type="case_line_task")] == [
        "Two left in Leeds", "Stock confirmed"]
    wf.accept_line(line.id, agent)
    assert reload(type(line), line.id).state == LineState.ACCEPTED


def test_task_states_and_actions(users):
    case, _lines = working_case()
    agent = user_for(users, "agent")
    task = tasks.create_task(agent, case_id=case.id, subject="Call the carrier")
    assert_refused(lambda: tasks.task_action("case", task.id, agent, tasks.REOPEN_TASK), StateConflict,
                   "Reopen task is not allowed")
    assert_refused(lambda: tasks.task_action("case", task.id, agent, tasks.CLOSE_INCOMPLETE), InvalidInput,
                   "needs a note saying why")
    tasks.task_action("case", task.id, agent, tasks.CLOSE_INCOMPLETE, note="Carrier unreachable")
    assert reload(CaseTask, task.id).state == TaskState.CLOSED_INCOMPLETE
    tasks.task_action("case", task.id, agent, tasks.REOPEN_TASK)
    task = reload(CaseTask, task.id)
    assert (task.state, task.closed_at) == (TaskState.OPEN, None)
    tasks.reassign_task("case", task.id, agent, assigned_to_id=users["manager"].id)
    assert [t.number for t in tasks.my_tasks(users["manager"].id)] == [task.number]


def test_my_tasks_lists_case_and_line_tasks(users):
    case, (line, _other) = working_case()
    agent = user_for(users, "agent")
    mine = [tasks.create_task(agent, case_id=case.id, subject="A", assigned_to_id=users["agent"].id),
            tasks.create_task(agent, line_id=line.id, subject="B", assigned_to_id=users["agent"].id)]
    tasks.create_task(agent, line_id=line.id, subject="C", assigned_to_id=users["manager"].id)
    assert sorted(t.number for t in tasks.my_tasks(users["agent"].id)) == sorted(t.number for t in mine)


def test_tasks_of_closed_and_cancelled_cases_are_read_only(users):
    case, (line, _other) = working_case()
    agent = user_for(users, "agent")
    task = tasks.create_task(agent, line_id=line.id, subject="Check")
    case = reload(OrderCase, case.id)
    case.state = CaseState.CLOSED
    db.session.commit()
    assert_refused(lambda: tasks.create_task(agent, case_id=case.id, subject="x"), StateConflict, "read-only")
    assert_refused(lambda: tasks.task_action("line", task.id, agent, tasks.START_TASK), StateConflict, "read-only")
    assert_refused(lambda: tasks.add_task_journal_entry("line", task.id, agent, JournalKind.COMMENT, "hi"),
                   StateConflict, "read-only")

"""The task pages over HTTP with real logins and CSRF on (SPEC §5 Tasks): Create task on a case and on a
line (only members of the chosen group can be assigned), the task page's actions, reassignment and
journal, version conflicts, read-only tasks of closed cases, My Tasks over case and line tasks, and the
Accept guard of a line with an open task."""
from __future__ import annotations

import html
import re

from app.cases import tasks as case_tasks
from app.core.choices import CaseState, JournalKind, LineState, RequestType, TaskState
from app.core.extensions import db
from app.models import AuditEvent, CaseLineTask, CaseTask, JournalEntry, Notification, OrderCase, OrderCaseLine
from tests import factories
from tests.conftest import csrf_from
from tests.cases.test_case_workflows import user_for


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def fresh(model, record_id):
    db.session.expire_all()
    return db.session.get(model, record_id)


def working_case(lines: int = 1):
    account = factories.make_account()
    order = factories.make_order(account, lines=lines)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    for line in case.lines:
        line.request_type = RequestType.INQUIRY
    db.session.commit()
    return case, sorted(case.lines, key=lambda l: l.id)


def task_page(kind: str, task_id: int) -> str:
    return f"/tasks/{kind}/{task_id}/"


def task_version(page_html: str) -> int:
    return int(re.search(r'class="task-page"[^>]*data-version="(\d+)"', page_html).group(1))


def press(client, kind: str, task_id: int, slug: str, data=None, version=None):
    """Press a button of the task page: GET it (CSRF, version), POST the button's form, follow the redirect."""
    page = client.get(task_page(kind, task_id))
    payload = {"version": version if version is not None else task_version(page.get_data(as_text=True))}
    payload.update(data or {})
    return client.submit(task_page(kind, task_id), payload, post_url=f"/tasks/{kind}/{task_id}/{slug}",
                         follow_redirects=True)


def buttons(page_html: str) -> list[str]:
    return re.findall(r'class="btn[^"]*task-action">([^<]+)</button>', page_html)


def audit_count() -> int:
    return db.session.query(AuditEvent).count()


# ----------------------------------------------------------------------------------------------------
# Create task


def test_create_task_on_a_line_from_the_case_page(client_for, users):
    case, (line,) = working_case()
    group = factories.make_group("Warehouse", [users["manager"].id])
    agent = client_for("agent")
    case_page = text_of(agent.get(f"/ordercases/{case.id}"))
    assert f'href="/tasks/new/line/{line.id}"' in case_page and "/caselinetaskview/add" not in case_page
    form = text_of(agent.get(f"/tasks/new/line/{line.id}"))
    assert f"Create task on line {line.number}" in form and "Warehouse" in form
    assert re.search(rf'value="{users["manager"].id}" data-groups="{group.id}"', form)

    # Someone outside the chosen group: refused with a clear error, nothing written.
    before = audit_count()
    refused = agent.submit(f"/tasks/new/line/{line.id}", {
        "subject": "Check stock", "description": "Leeds or York?", "assignment_group_id": group.id,
        "assigned_to_id": users["agent"].id, "priority": "2"})
    assert refused.status_code == 422
    body = text_of(refused)
    assert "Create task is not allowed: test_agent is not a member of Warehouse." in body
    assert "Not a member of the assignment group" in body and 'value="Check stock"' in body
    assert db.session.query(CaseLineTask).count() == 0 and audit_count() == before
    assert fresh(OrderCase, case.id).contributors == [] and db.session.query(Notification).count() == 0

    created = agent.submit(f"/tasks/new/line/{line.id}", {
        "subject": "Check stock", "description": "Leeds or York?", "assignment_group_id": group.id,
        "assigned_to_id": users["manager"].id, "priority": "2", "visible_to_customer": "1"})
    assert created.status_code == 302 and created.headers["Location"].endswith(f"/ordercases/{case.id}#line-{line.id}")
    task = db.session.query(CaseLineTask).one()
    assert (task.case_id, task.case_line_id, task.state, task.assigned_to_id, task.assignment_group_id,
            task.priority, task.visible_to_customer, task.description) == (
        case.id, line.id, TaskState.OPEN, users["manager"].id, group.id, 2, True, "Leeds or York?")
    assert [u.id for u in fresh(OrderCase, case.id).contributors] == [users["manager"].id]
    assert db.session.query(Notification).filter_by(event="task assigned").count() == 1

    # The case page lists it on its line and in the Tasks list, with state and assignee, linking to it.
    case_page = text_of(agent.get(f"/ordercases/{case.id}"))
    assert f"Task {task.number} created on line {line.number}." in case_page
    assert case_page.count(f'href="/tasks/line/{task.id}/"') == 2
    row = re.search(rf'<tr class="case-task task-open" data-task-number="{task.number}">(.*?)</tr>', case_page, re.S)
    assert row and line.number in row.group(1) and "Check stock" in row.group(1) and "Open" in row.group(1)
    assert "Manager Tester" in row.group(1)


def test_create_task_on_a_case(client_for, users):
    case, _lines = working_case()
    agent = client_for("agent")
    assert f'href="/tasks/new/case/{case.id}"' in text_of(agent.get(f"/ordercases/{case.id}"))
    form = text_of(agent.get(f"/tasks/new/case/{case.id}"))
    assert f"Create task on {case.number}" in form and 'name="visible_to_customer"' in form
    missing = agent.submit(f"/tasks/new/case/{case.id}", {"subject": "  ", "assigned_to_id": users["agent"].id})
    assert missing.status_code == 422 and "Create task needs a subject." in text_of(missing)
    unknown = agent.submit(f"/tasks/new/case/{case.id}", {"subject": "Call", "assignment_group_id": "987654"})
    assert unknown.status_code == 422 and "the assignment group does not exist" in text_of(unknown)
    assert db.session.query(CaseTask).count() == 0
    created = agent.submit(f"/tasks/new/case/{case.id}", {"subject": "Call the carrier",
                                                           "assigned_to_id": users["agent"].id},
                           follow_redirects=True)
    task = db.session.query(CaseTask).one()
    assert (task.subject, task.assigned_to_id, task.visible_to_customer, task.priority) == (
        "Call the carrier", users["agent"].id, False, case.priority)
    assert f'href="/tasks/case/{task.id}/"' in text_of(created)


def test_generic_task_forms_lead_to_the_task_pages_and_change_nothing(client_for, users):
    case, (line,) = working_case()
    agent_user = user_for(users, "agent")
    task = case_tasks.create_task(agent_user, line_id=line.id, subject="Check")
    agent = client_for("agent")
    to_form = agent.get(f"/caselinetaskview/add?_flt_0_case_line={line.id}")
    assert to_form.status_code == 302 and to_form.headers["Location"].endswith(f"/tasks/new/line/{line.id}")
    assert agent.get("/casetaskview/add").headers["Location"].endswith("/ordercaseview/list/")
    assert agent.get(f"/caselinetaskview/show/{task.id}").headers["Location"].endswith(f"/tasks/line/{task.id}/")
    token_page = agent.get(f"/tasks/line/{task.id}/").get_data(as_text=True)
    posted = agent.post(f"/caselinetaskview/edit/{task.id}", data={
        "csrf_token": csrf_from(token_page), "subject": "Hijacked", "state": TaskState.CLOSED_COMPLETE})
    assert posted.status_code == 302 and posted.headers["Location"].endswith(f"/tasks/line/{task.id}/")
    after = fresh(CaseLineTask, task.id)
    assert (after.subject, after.state) == ("Check", TaskState.OPEN)
    assert agent.get("/caselinetaskview/show/987654").status_code == 404
    assert agent.get("/tasks/line/987654/").status_code == 404


# ----------------------------------------------------------------------------------------------------
# The task page


def test_task_actions_follow_the_task_state(client_for, users):
    case, _lines = working_case()
    task = case_tasks.create_task(user_for(users, "agent"), case_id=case.id, subject="Call the carrier",
                                  description="Ask for a new slot")
    agent = client_for("agent")
    page = text_of(agent.get(task_page("case", task.id)))
    assert re.search(rf"Case task <span class=\"task-number\">{task.number}</span>", page)
    assert "Ask for a new slot" in page
    assert f'href="/ordercases/{case.id}#tasks"' in page
    assert buttons(page) == ["Start work", "Close Complete", "Close Incomplete"]

    page = text_of(press(agent, "case", task.id, "action/start-work"))
    assert f"{task.number} is in progress." in page and buttons(page) == ["Close Complete", "Close Incomplete"]
    assert fresh(CaseTask, task.id).state == TaskState.WORK_IN_PROGRESS

    page = text_of(press(agent, "case", task.id, "action/close-incomplete", {"note": " "}))
    assert "Close Incomplete needs a note saying why." in page
    assert fresh(CaseTask, task.id).state == TaskState.WORK_IN_PROGRESS

    page = text_of(press(agent, "case", task.id, "action/close-incomplete", {"note": "Carrier unreachable"}))
    assert f"{task.number} closed incomplete." in page and buttons(page) == ["Reopen task"]
    assert "Carrier unreachable" in page
    closed = fresh(CaseTask, task.id)
    assert closed.state == TaskState.CLOSED_INCOMPLETE and closed.closed_at is not None

    page = text_of(press(agent, "case", task.id, "action/reopen"))
    assert f"{task.number} reopened." in page and fresh(CaseTask, task.id).state == TaskState.OPEN
    press(agent, "case", task.id, "action/start-work")
    page = text_of(press(agent, "case", task.id, "action/close-complete", {"note": "New slot on Friday"}))
    assert f"{task.number} closed complete." in page
    assert fresh(CaseTask, task.id).state == TaskState.CLOSED_COMPLETE
    # Start work on a closed task is refused by the workflow, whatever the form says.
    page = text_of(press(agent, "case", task.id, "action/start-work"))
    assert "Start work is not allowed" in page and fresh(CaseTask, task.id).state == TaskState.CLOSED_COMPLETE
    assert agent.post(f"/tasks/case/{task.id}/action/explode").status_code in (400, 404)


def test_reassign_within_the_group(client_for, users):
    case, (line,) = working_case()
    group = factories.make_group("Carriers", [users["agent"].id, users["manager"].id])
    other = factories.make_group("Finance", [users["admin"].id])
    task = case_tasks.create_task(user_for(users, "agent"), line_id=line.id, subject="Book a carrier",
                                  assignment_group_id=group.id, assigned_to_id=users["agent"].id)
    agent = client_for("agent")
    page = text_of(agent.get(task_page("line", task.id)))
    assert "Assign task" in page and f'href="/ordercases/{case.id}#line-{line.id}"' in page

    before = audit_count()
    page = text_of(press(agent, "line", task.id, "assign", {"assignment_group_id": group.id,
                                                            "assigned_to_id": users["admin"].id}))
    assert "Assign task is not allowed: test_admin is not a member of Carriers." in page
    assert fresh(CaseLineTask, task.id).assigned_to_id == users["agent"].id and audit_count() == before

    page = text_of(press(agent, "line", task.id, "assign", {"assignment_group_id": group.id,
                                                            "assigned_to_id": users["manager"].id}))
    assert f"{task.number} assigned to Manager Tester in Carriers." in page
    assert fresh(CaseLineTask, task.id).assigned_to_id == users["manager"].id
    assert {u.id for u in fresh(OrderCase, case.id).contributors} == {users["agent"].id, users["manager"].id}
    # The history names the people, not their ids.
    assert re.search(r"assigned to:\s*Agent Tester →\s*Manager Tester", page)

    press(agent, "line", task.id, "assign", {"assignment_group_id": other.id, "assigned_to_id": users["admin"].id})
    after = fresh(CaseLineTask, task.id)
    assert (after.assignment_group_id, after.assigned_to_id) == (other.id, users["admin"].id)


def test_a_stale_task_version_is_refused_and_writes_nothing(client_for, users):
    case, _lines = working_case()
    task = case_tasks.create_task(user_for(users, "agent"), case_id=case.id, subject="Call")
    agent, manager = client_for("agent"), client_for("manager")
    seen = task_version(agent.get(task_page("case", task.id)).get_data(as_text=True))
    press(manager, "case", task.id, "action/start-work")
    before = audit_count()
    for slug, data in (("action/start-work", {}), ("action/close-complete", {}),
                       ("assign", {"assigned_to_id": users["agent"].id})):
        page = text_of(press(agent, "case", task.id, slug, data, version=seen))
        assert f"{task.number} was changed by test_manager" in page and "nothing was saved" in page
    after = fresh(CaseTask, task.id)
    assert (after.state, after.assigned_to_id) == (TaskState.WORK_IN_PROGRESS, None) and audit_count() == before


def test_task_journal_newest_first(client_for, users):
    case, (line,) = working_case()
    task = case_tasks.create_task(user_for(users, "agent"), line_id=line.id, subject="Check")
    agent = client_for("agent")
    press(agent, "line", task.id, "journal", {"kind": JournalKind.WORK_NOTE, "text": "Asked Leeds"})
    page = text_of(press(agent, "line", task.id, "journal", {"kind": JournalKind.COMMENT, "text": "We are on it"}))
    assert "Comment posted." in page
    entries = re.findall(r'class="journal-entry journal-([a-z-]+)".*?class="journal-text">([^<]+)<', page, re.S)
    assert entries == [("comment", "We are on it"), ("work-note", "Asked Leeds")]
    page = text_of(press(agent, "line", task.id, "journal", {"kind": JournalKind.WORK_NOTE, "text": "  "}))
    assert db.session.query(JournalEntry).filter_by(record_type="case_line_task").count() == 2
    # The case page's activity stream carries the task's journal too.
    assert "Asked Leeds" in text_of(agent.get(f"/ordercases/{case.id}"))


def test_tasks_of_closed_and_cancelled_cases_are_read_only(client_for, users):
    case, (line,) = working_case()
    agent_user = user_for(users, "agent")
    case_task = case_tasks.create_task(agent_user, case_id=case.id, subject="Call")
    line_task = case_tasks.create_task(agent_user, line_id=line.id, subject="Check")
    agent = client_for("agent")
    writable_page = agent.get(task_page("line", line_task.id)).get_data(as_text=True)
    version, token = task_version(writable_page), csrf_from(writable_page)
    for state in (CaseState.CLOSED, CaseState.CANCELLED):
        closed = fresh(OrderCase, case.id)
        closed.state = state
        db.session.commit()
        before = audit_count()
        page = text_of(agent.get(task_page("line", line_task.id)))
        assert f"{case.number} is {state}: its tasks are read-only." in page
        assert buttons(page) == [] and "<form" not in page.split('class="task-page"')[1]
        case_page = text_of(agent.get(f"/ordercases/{case.id}"))
        assert "/tasks/new/" not in case_page and f'href="/tasks/case/{case_task.id}/"' in case_page
        for kind, task_id, slug, data in (("line", line_task.id, "action/start-work", {}),
                                          ("case", case_task.id, "action/close-complete", {}),
                                          ("line", line_task.id, "assign", {"assigned_to_id": users["agent"].id}),
                                          ("line", line_task.id, "journal", {"kind": "comment", "text": "hi"})):
            page = text_of(agent.post(f"/tasks/{kind}/{task_id}/{slug}", data={
                "csrf_token": token, "version": version, **data}, follow_redirects=True))
            assert "closed and cancelled cases are read-only" in page, (state, slug)
        refused = agent.get(f"/tasks/new/line/{line.id}", follow_redirects=True)
        assert "Create task is not allowed" in text_of(refused) and "read-only" in text_of(refused)
        agent.post(f"/tasks/new/case/{case.id}", data={"csrf_token": token, "subject": "Late"})
        assert db.session.query(CaseTask).count() == 1 and db.session.query(CaseLineTask).count() == 1
        assert audit_count() == before and fresh(CaseLineTask, line_task.id).state == TaskState.OPEN


# ----------------------------------------------------------------------------------------------------
# My Tasks and the Accept guard


def test_my_tasks_lists_case_and_line_tasks_of_the_signed_in_user(client_for, users):
    case, (line, other_line) = working_case(lines=2)
    agent_user = user_for(users, "agent")
    mine = [case_tasks.create_task(agent_user, case_id=case.id, subject="Call the carrier",
                                   assigned_to_id=users["agent"].id),
            case_tasks.create_task(agent_user, line_id=line.id, subject="Check stock",
                                   assigned_to_id=users["agent"].id)]
    done = case_tasks.create_task(agent_user, line_id=other_line.id, subject="Old job", assigned_to_id=users["agent"].id)
    case_tasks.task_action("line", done.id, agent_user, case_tasks.CLOSE_COMPLETE)
    theirs = case_tasks.create_task(agent_user, line_id=other_line.id, subject="Manager's job",
                                    assigned_to_id=users["manager"].id)
    page = text_of(client_for("agent").get("/mytasksview/list/"))
    listed = re.findall(r'data-task-number="([A-Z0-9]+)" data-kind="(case|line)"', page)
    assert sorted(listed) == sorted([(mine[0].number, "case"), (mine[1].number, "line")])
    assert f'href="/tasks/case/{mine[0].id}/"' in page and f'href="/tasks/line/{mine[1].id}/"' in page
    assert line.number in page and "Manager's job" not in page and "Old job" not in page
    page = text_of(client_for("manager").get("/mytasksview/list/"))
    assert re.findall(r'data-task-number="([A-Z0-9]+)"', page) == [theirs.number]
    assert re.search(r'href="/mytasksview/list/">\s*<i[^>]*></i>&nbsp;\s*My Tasks</a>',
                     client_for("agent").get("/").get_data(as_text=True))


def test_my_tasks_costs_the_same_for_many_tasks(client_for, users, app):
    from sqlalchemy import event

    case, lines = working_case(lines=3)
    agent_user = user_for(users, "agent")
    client = client_for("agent")

    def statements() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/mytasksview/list/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    case_tasks.create_task(agent_user, line_id=lines[0].id, subject="One", assigned_to_id=users["agent"].id)
    few = statements()
    for line in lines:
        for n in range(3):
            case_tasks.create_task(agent_user, line_id=line.id, subject=f"L{n}", assigned_to_id=users["agent"].id)
            case_tasks.create_task(agent_user, case_id=case.id, subject=f"C{n}", assigned_to_id=users["agent"].id)
    assert statements() == few


def test_a_line_with_an_open_task_cannot_be_accepted_through_the_ui(client_for, users):
    case, (line,) = working_case()
    group = factories.make_group("Warehouse", [users["manager"].id])
    agent, manager = client_for("agent"), client_for("manager")
    agent.submit(f"/tasks/new/line/{line.id}", {"subject": "Check stock", "assignment_group_id": group.id,
                                                 "assigned_to_id": users["manager"].id})
    task = db.session.query(CaseLineTask).one()

    def accept():
        return agent.submit(f"/ordercases/{case.id}", {"version": fresh(OrderCaseLine, line.id).version},
                            post_url=f"/ordercases/line/{line.id}/action/accept", follow_redirects=True)

    refused = text_of(accept())
    assert f"Accept is not allowed: line {line.number} has open tasks ({task.number}); close them first." in refused
    assert fresh(OrderCaseLine, line.id).state == LineState.WORK_IN_PROGRESS

    my_tasks = text_of(manager.get("/mytasksview/list/"))
    assert f'href="/tasks/line/{task.id}/"' in my_tasks
    press(manager, "line", task.id, "action/start-work")
    press(manager, "line", task.id, "action/close-complete")
    assert task.number not in text_of(manager.get("/mytasksview/list/"))
    assert "accepted" in text_of(accept())
    assert fresh(OrderCaseLine, line.id).state == LineState.ACCEPTED

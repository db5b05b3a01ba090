"""Actions appear only where the workflows would allow them: the "may I" answers agree with what the
operations do, and the lists and the case page show exactly those actions."""
from __future__ import annotations

import re

import pytest
from flask_appbuilder.security.sqla.models import User

from app import workflows as wf
from app.core.choices import CaseState, LineState
from app.core.exceptions import DomainError
from app.core.extensions import db
from app.models import OrderCase, OrderCaseLine
from tests import factories

CASE_STATES = [CaseState.DRAFT, CaseState.NEW, CaseState.WORK_IN_PROGRESS, CaseState.AWAITING_INFO,
               CaseState.RESOLVED, CaseState.CLOSED, CaseState.CANCELLED]
LINE_STATE_FOR = {CaseState.DRAFT: LineState.DRAFT, CaseState.NEW: LineState.NEW,
                  CaseState.WORK_IN_PROGRESS: LineState.WORK_IN_PROGRESS, CaseState.AWAITING_INFO: LineState.AWAITING_INFO,
                  CaseState.RESOLVED: LineState.ACCEPTED, CaseState.CLOSED: LineState.ACCEPTED,
                  CaseState.CANCELLED: LineState.CANCELLED}


def a_case(state):
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    return factories.make_case(account, order=order, order_lines=order.lines, state=state,
                               line_state=LINE_STATE_FOR[state])


def user(users, role) -> User:
    return db.session.get(User, users[role].id)


def outcome(operation) -> bool:
    """Did the operation go through? (It is rolled back either way by the test's wipe.)"""
    try:
        operation()
    except DomainError:
        db.session.rollback()
        return False
    return True


@pytest.mark.parametrize("role", ["agent", "admin"])
@pytest.mark.parametrize("state", CASE_STATES)
def test_may_delete_and_may_edit_a_case_answer_what_the_operations_do(users, role, state):
    case = a_case(state)
    actor = user(users, role)
    may_edit, may_delete = wf.may_edit_case(actor, case), wf.may_delete_case(actor, case)
    assert may_edit == outcome(lambda: wf.edit_case(case.id, actor, short_description="Edited"))
    case = db.session.get(OrderCase, case.id)
    assert may_delete == outcome(lambda: wf.delete_case(case.id, actor))


@pytest.mark.parametrize("role", ["agent", "manager"])
@pytest.mark.parametrize("state", CASE_STATES)
def test_may_line_action_answers_what_each_line_action_does(users, role, state):
    actor = user(users, role)
    for action in wf.LINE_ACTION_SOURCES:
        case = a_case(state)
        line = case.lines[0]
        allowed = wf.may_line_action(actor, case, line, action)
        inputs = {wf.DENY: {"resolution_notes": "No"}, wf.CANCEL_LINE: {"reason": "Withdrawn"},
                  wf.REQUEST_INFORMATION: {"question": "Which colour?"}}.get(action, {})
        assert allowed == outcome(lambda: wf.LINE_ACTIONS[action](line.id, actor, **inputs)), (state, action)


@pytest.mark.parametrize("state", CASE_STATES)
def test_may_edit_and_delete_a_line_answer_what_the_operations_do(users, state):
    actor = user(users, "agent")
    case = a_case(state)
    line = case.lines[0]
    assert wf.may_edit_line(actor, case, line) == outcome(
        lambda: wf.edit_case_line(line.id, actor, short_description="Edited"))
    line = db.session.get(OrderCaseLine, line.id)
    assert wf.may_delete_line(actor, case, line) == outcome(lambda: wf.delete_case_lines(case.id, actor, [line.id]))


def row_buttons(html: str, number: str) -> set[str]:
    """The row action labels (Show / Edit / Delete) of the list row holding *number*."""
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        if f">{number}<" in row:
            return set(re.findall(r'<span class="sr-only">(\w+)</span>', row))
    raise AssertionError(f"{number} is not on the page")


def test_the_order_cases_list_offers_edit_and_delete_only_where_allowed(client_for):
    cases = {state: a_case(state) for state in (CaseState.DRAFT, CaseState.WORK_IN_PROGRESS, CaseState.CLOSED)}
    agent_list = client_for("agent").get("/ordercaseview/list/").get_data(as_text=True)
    admin_list = client_for("admin").get("/ordercaseview/list/").get_data(as_text=True)
    assert row_buttons(agent_list, cases[CaseState.DRAFT].number) == {"Show", "Edit", "Delete"}
    assert row_buttons(agent_list, cases[CaseState.WORK_IN_PROGRESS].number) == {"Show", "Edit"}
    assert row_buttons(agent_list, cases[CaseState.CLOSED].number) == {"Show"}
    assert row_buttons(admin_list, cases[CaseState.CLOSED].number) == {"Show", "Delete"}
    # The primary action is labelled and opens the case type selector as a dialog.
    assert re.search(r'<a href="/ordercases/create/" class="btn btn-sm btn-primary list-add"\s+data-dialog>'
                     r'<i class="fa fa-plus" aria-hidden="true"></i> New case</a>', agent_list)


def test_the_order_case_lines_list_offers_delete_only_on_draft_lines(client_for):
    draft, working = a_case(CaseState.DRAFT), a_case(CaseState.WORK_IN_PROGRESS)
    page = client_for("agent").get("/ordercaselineview/list/").get_data(as_text=True)
    assert row_buttons(page, draft.lines[0].number) == {"Show", "Edit", "Delete"}
    assert row_buttons(page, working.lines[0].number) == {"Show", "Edit"}


def test_a_resolved_case_page_offers_no_refused_line_action_to_an_agent(client_for):
    case = a_case(CaseState.RESOLVED)
    page = client_for("agent").get(f"/ordercases/{case.id}").get_data(as_text=True)
    for refused in ('value="assign-to-me"', 'value="accept"', 'value="deny"', 'value="delete"', "line-edit",
                    'class="btn btn-default btn-xs line-action"', ">Add</a>"):
        assert refused not in page
    assert re.findall(r'case-action">([^<]+)<', page) == ["Close Case"]


def test_cancel_asks_first_saying_what_will_happen_and_the_post_cancels(client_for):
    case = a_case(CaseState.DRAFT)
    agent = client_for("agent")
    confirmation = agent.get(f"/ordercases/{case.id}/action/cancel").get_data(as_text=True)
    assert f"{case.number} and its 1 open line will be cancelled" in confirmation
    assert "cannot be undone" in confirmation and ">Keep the case</a>" in confirmation
    assert re.search(r'class="btn btn-danger">Cancel case</button>', confirmation)
    assert db.session.get(OrderCase, case.id).state == CaseState.DRAFT  # asking changed nothing
    response = agent.submit(f"/ordercases/{case.id}/action/cancel", {"version": case.version})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(OrderCase, case.id).state == CaseState.CANCELLED

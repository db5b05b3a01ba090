"""Bulk case actions of the Order Cases list: close resolved cases, reassign and set priority (managers),
each case its own operation with its own reported outcome."""
from __future__ import annotations

import pytest

from app.core.choices import CaseState, LineState
from app.core.exceptions import InvalidInput, PermissionDenied
from app.core.extensions import db
from app.models import OrderCase
from app.cases import bulk
from tests import factories


def body(response) -> str:
    return response.get_data(as_text=True)


def reload(case_id):
    db.session.expire_all()
    return db.session.get(OrderCase, case_id)


@pytest.fixture
def cases():
    account = factories.make_account("Bulk Co")
    order = factories.make_order(account, lines=1)
    resolved = [factories.make_case(account, order=order, state=CaseState.RESOLVED, line_state=LineState.ACCEPTED)
                for _ in range(2)]
    still_open = factories.make_case(account, order=order, state=CaseState.RESOLVED, line_state=LineState.NEW)
    working = factories.make_case(account, order=order, state=CaseState.WORK_IN_PROGRESS, line_state=LineState.NEW)
    return {"resolved": resolved, "open": still_open, "working": working}


def test_close_resolved_cases_reports_each_case(client_for, cases):
    agent = client_for("agent")
    ids = [case.id for case in cases["resolved"]] + [cases["open"].id, cases["working"].id]
    page = body(agent.submit("/ordercaseview/list/", {"action": "close_selected", "rowid": ids},
                             post_url="/ordercaseview/action_post", follow_redirects=True))
    assert "Close Case: 2 of 4 done, 2 refused." in page
    assert all(reload(case.id).state == CaseState.CLOSED for case in cases["resolved"])
    assert f"{cases['open'].number}: Close Case is not allowed: line" in page
    assert f"{cases['working'].number}: Close Case is not allowed" in page
    assert reload(cases["working"].id).state == CaseState.WORK_IN_PROGRESS


def test_managers_reassign_and_reprioritise_ticked_cases(client_for, cases, users):
    manager = client_for("manager")
    listed = body(manager.get("/ordercaseview/list/"))
    assert "reassign_selected_menu_item" in listed and "priority_selected_menu_item" in listed
    ids = [cases["working"].id, cases["open"].id]
    form = body(manager.submit("/ordercaseview/list/", {"action": "reassign_selected", "rowid": ids},
                               post_url="/ordercaseview/action_post"))
    assert cases["working"].number in form and 'name="assigned_to_id"' in form
    done = body(manager.submit("/ordercaseview/list/", {"ids": ids, "assigned_to_id": users["agent"].id},
                               post_url="/ordercaseview/bulk/reassign", follow_redirects=True))
    assert "Reassign: 2 of 2 done." in done
    assert {reload(i).assigned_to_id for i in ids} == {users["agent"].id}
    done = body(manager.submit("/ordercaseview/list/", {"ids": ids, "priority": "1"},
                               post_url="/ordercaseview/bulk/set-priority", follow_redirects=True))
    assert "Set priority: 2 of 2 done." in done and {reload(i).priority for i in ids} == {1}


def test_agents_may_not_reassign_in_bulk(client_for, cases, users):
    agent = client_for("agent")
    listed = body(agent.get("/ordercaseview/list/"))
    assert "close_selected_menu_item" in listed and "reassign_selected_menu_item" not in listed
    refused = agent.submit("/ordercaseview/list/", {"action": "reassign_selected", "rowid": [cases["working"].id]},
                           post_url="/ordercaseview/action_post")
    assert refused.status_code == 302 and reload(cases["working"].id).assigned_to_id is None
    done = body(agent.submit("/ordercaseview/list/", {"ids": [cases["working"].id], "assigned_to_id":
                                                      users["manager"].id},
                             post_url="/ordercaseview/bulk/reassign", follow_redirects=True))
    assert "Reassign is not allowed: it needs the manager role." in done
    assert reload(cases["working"].id).assigned_to_id is None


def test_bad_input_is_refused_before_anything_changes(users, cases):
    from flask_appbuilder.security.sqla.models import User

    manager = db.session.get(User, users["manager"].id)
    agent = db.session.get(User, users["agent"].id)
    ids = [cases["working"].id]
    with pytest.raises(InvalidInput):
        bulk.bulk_set_priority(manager, ids, "9")
    with pytest.raises(InvalidInput):
        bulk.bulk_reassign(manager, ids, "")
    with pytest.raises(PermissionDenied):
        bulk.bulk_set_priority(agent, ids, "1")
    assert reload(ids[0]).priority == 4

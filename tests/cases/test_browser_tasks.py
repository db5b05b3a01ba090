"""Tasks in headless Chromium: an agent creates a task on a case line from the case page and routes it to
a member of a group; until that colleague, finding it in My Tasks, closes it complete, the line cannot be
accepted; afterwards it can."""
from __future__ import annotations

import pytest

from app.core.choices import CaseState, LineState, RequestType, TaskState
from app.core.extensions import db
from app.models import CaseLineTask, OrderCaseLine
from tests import factories

pytestmark = pytest.mark.browser


def signed_in(browser, live_server, login):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", login.username)
    page.fill("input[name=password]", login.password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state("networkidle")
    return context, page


def test_a_line_task_routed_to_a_colleague_holds_the_line_until_closed(page_as, browser, live_server, users):
    account = factories.make_account("Task Co")
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    line = sorted(case.lines, key=lambda l: l.id)[0]
    line.request_type = RequestType.INQUIRY
    db.session.commit()
    colleague = factories.make_user("agent")
    factories.make_group("Warehouse", [colleague.id])
    factories.make_group("Finance", [users["manager"].id])

    # The agent creates the task on the line, from the case page; only Warehouse members are offered.
    agent = page_as("agent")
    agent.goto(f"{live_server}/ordercases/{case.id}")
    agent.locator(f"tr[data-line-number='{line.number}'] a.line-task", has_text="Create task").click()
    agent.wait_for_selector("form.task-create-form")
    agent.fill("#subject", "Check stock in Leeds")
    agent.fill("#description", "Is there enough for the change?")
    agent.select_option("#assignment_group_id", label="Warehouse")
    offered = agent.locator("#assigned_to_id option:not([disabled])").evaluate_all("os => os.map(o => o.value)")
    assert offered == ["", str(colleague.id)]
    agent.select_option("#assigned_to_id", value=str(colleague.id))
    agent.get_by_role("button", name="Create task").click()
    agent.wait_for_selector(f"tr[data-line-number='{line.number}'] a.line-task-link")
    task = db.session.query(CaseLineTask).one()
    assert agent.locator(f"tr[data-line-number='{line.number}'] a.line-task-link").inner_text().strip() == (
        f"{task.number} · Open")

    # Accept is refused while the task is open; the message names it.
    agent.locator(f"tr[data-line-number='{line.number}'] .line-action", has_text="Accept").click()
    agent.get_by_role("dialog").get_by_role("button", name="Accept").click()
    agent.wait_for_selector(".alert-danger")
    assert f"has open tasks ({task.number})" in agent.locator(".alert-danger").inner_text()

    # The colleague finds it in My Tasks and closes it complete.
    context, colleague_page = signed_in(browser, live_server, colleague)
    try:
        colleague_page.goto(f"{live_server}/mytasksview/list/")
        colleague_page.locator(f"tr[data-task-number='{task.number}'] a.task-link").click()
        colleague_page.wait_for_selector(".task-page")
        assert "Check stock in Leeds" in colleague_page.locator(".task-header").inner_text()
        colleague_page.locator(".task-action-form[data-action='close-complete'] input[name=note]").fill(
            "200 units on the shelf")
        colleague_page.get_by_role("button", name="Close Complete").click()
        colleague_page.wait_for_selector(".task-page[data-state='Closed Complete']")
        assert "200 units on the shelf" in colleague_page.locator(".task-journal-entries").inner_text()
        colleague_page.goto(f"{live_server}/mytasksview/list/")
        assert colleague_page.locator(f"tr[data-task-number='{task.number}']").count() == 0
    finally:
        context.close()
    db.session.expire_all()
    assert db.session.get(CaseLineTask, task.id).state == TaskState.CLOSED_COMPLETE

    # Now the agent accepts the line.
    agent.goto(f"{live_server}/ordercases/{case.id}")
    assert "Closed Complete" in agent.locator(f"tr[data-task-number='{task.number}']").inner_text()
    agent.locator(f"tr[data-line-number='{line.number}'] .line-action", has_text="Accept").click()
    agent.get_by_role("dialog").get_by_role("button", name="Accept").click()
    agent.wait_for_selector(f"tr[data-line-number='{line.number}'][data-state='Resolved - Accepted']")
    db.session.expire_all()
    assert db.session.get(OrderCaseLine, line.id).state == LineState.ACCEPTED

"""What the case page and the Order Cases list cost in SQL statements, pinned where the benchmark of
issue 17 measured them (the code of 2026-11-22: case page 13 statements at 50 lines, 12 at 500; the
list's page of 500-line cases 5). Each case here has what the benchmark's have and more: submitted and
assigned through the workflows (SLAs, audit events naming the assignee), a case task and a line task,
a file, and lines on two orders so the side panel has orders beyond the first page of lines."""
from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import event

from app import workflows as wf
from app.attachments import store
from app.cases import tasks as case_tasks
from app.core.choices import CaseState, LineState
from app.core.extensions import db
from app.models import OrderCaseLine
from app.sla.clocks import seed_default_sla_definitions
from tests import factories
from tests.cases.test_case_workflows import user_for

# At most: the page of 2026-11-22 with none of the side panel, attachments or order changes read 13 and 12.
CASE_PAGE_STATEMENTS = {50: 11, 500: 12}
LIST_STATEMENTS = 5


def statements_of(client, url: str) -> tuple[int, str]:
    # A fresh session, as a request of its own would have: nothing the test made stays loaded for it.
    db.session.expunge_all()
    statements = []
    listener = lambda *args: statements.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert response.status_code == 200
    return len(statements), unescape(response.get_data(as_text=True))


def working_case(users, lines: int) -> tuple[int, list[str]]:
    account = factories.make_account()
    order, other = factories.make_order(account, lines=lines), factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines, line_state=LineState.DRAFT)
    # The last line is on another order: past page 1 the panel must still find both.
    db.session.add(OrderCaseLine(case=case, order=other, order_line=other.lines[0], state=LineState.DRAFT,
                                 request_type=case.lines[0].request_type, ordered_quantity=1))
    db.session.commit()
    agent = user_for(users, "agent")
    wf.submit_case(case.id, agent)
    wf.assign_case_to_me(case.id, agent)
    last_line = max(case.lines, key=lambda line: line.id)
    case_tasks.create_task(agent, case_id=case.id, subject="Call the customer")
    case_tasks.create_task(agent, line_id=last_line.id, subject="Check the stock")
    store.add_attachments(agent, case, [store.Upload("note.txt", b"a note")])
    db.session.commit()
    return case.id, [order.number, other.number]


@pytest.fixture
def seeded_slas():
    seed_default_sla_definitions()
    db.session.commit()


@pytest.mark.parametrize("lines", [50, 500])
def test_the_case_page_reads_no_more_statements_than_before_issue_17(client_for, users, seeded_slas, lines):
    case_id, order_numbers = working_case(users, lines - 1)
    agent = client_for("agent")
    pages = (1,) if lines <= 50 else (1, lines // 50)
    for page in pages:
        count, html = statements_of(agent, f"/ordercases/{case_id}?lines_page={page}")
        assert count <= CASE_PAGE_STATEMENTS[lines], (page, count)
        # What the statements were saved on is still there: whole-case counts, both orders, both tasks,
        # the file, and the assignee named in the activity stream.
        assert re.search(rf'data-state="{LineState.WORK_IN_PROGRESS}">[^<:]+: {lines}</span>', html), page
        side = re.search(r'<aside class="case-side".*?</aside>', html, re.S).group(0)
        assert all(number in side for number in order_numbers), page
        assert "Call the customer" in html and "Check the stock" in html and "note.txt" in html
        person = user_for(users, "agent")
        assert f"assigned to: (empty) → {person.first_name} {person.last_name}" in html, page


def test_the_list_of_500_line_cases_reads_no_more_statements_than_before_issue_17(client_for, users, seeded_slas):
    for _ in range(2):
        working_case(users, 499)
    agent = client_for("agent")
    # The filter box's account and user choices are rendered once per process and kept (view_support's
    # CachedSearchWidget); the test's own writes to those tables made them stale, so one page renders them.
    agent.get("/ordercaseview/list/")
    count, html = statements_of(agent, "/ordercaseview/list/")
    assert count <= LIST_STATEMENTS, count
    assert html.count("sla-badge") >= 2

"""The case record page shows its lines 50 at a time: every line on exactly one page, a "Lines a–b of n"
indicator and per-state counts for the whole case, line actions that bring you back to the line's page,
and the same number of SQL statements however many lines the case has."""
from __future__ import annotations

import html
import re

from sqlalchemy import event

from app.cases import tasks as case_tasks
from app.cases.queries import LINES_PER_PAGE
from app.core.choices import CaseState, LineState, RequestType
from app.core.extensions import db
from app.models import AuditEvent, OrderCaseLine
from tests import factories
from tests.conftest import csrf_from
from tests.cases.test_case_workflows import reload, user_for


def big_case(lines: int, state: str = CaseState.WORK_IN_PROGRESS, line_state: str = LineState.WORK_IN_PROGRESS):
    account = factories.make_account()
    order = factories.make_order(account, lines=lines)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=state, line_state=line_state)
    return case, sorted(case.lines, key=lambda line: line.id)


def page_of(client, case_id: int, page: int | str | None = None) -> str:
    response = client.get(f"/ordercases/{case_id}" + (f"?lines_page={page}" if page else ""))
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def shown_numbers(page_html: str) -> list[str]:
    return re.findall(r'<tr id="line-\d+" class="case-line" data-line-number="([^"]+)"', page_html)


def line_range(page_html: str) -> str:
    return re.search(r'<span class="line-range">([^<]*)</span>', page_html).group(1)


def state_counts(page_html: str) -> dict[str, int]:
    return {state: int(count) for state, count in re.findall(
        r'<span class="line-state-count text-muted" data-state="([^"]+)">[^<:]+: (\d+)</span>', page_html)}


def test_paging_through_120_lines_shows_each_line_once_with_the_right_indicator(client_for):
    case, lines = big_case(120)
    for line in lines[:7]:
        line.state = LineState.ACCEPTED
    lines[-1].state = LineState.CANCELLED
    db.session.commit()
    agent = client_for("agent")

    pages = [page_of(agent, case.id, number) for number in (1, 2, 3)]
    numbers = [shown_numbers(page) for page in pages]
    assert [len(on_page) for on_page in numbers] == [50, 50, 20]
    assert sum(numbers, []) == [line.number for line in lines]
    assert [line_range(page) for page in pages] == ["Lines 1–50 of 120", "Lines 51–100 of 120",
                                                    "Lines 101–120 of 120"]
    # The per-state counts are the whole case's on every page, not the page's.
    for page in pages:
        assert state_counts(page) == {LineState.WORK_IN_PROGRESS: 112, LineState.ACCEPTED: 7,
                                      LineState.CANCELLED: 1}

    # Links to the other pages (previous / numbers / next) keep to the lines panel.
    second = pages[1]
    assert f'href="/ordercases/{case.id}#lines" aria-label="Previous page of lines"' in second
    assert f'href="/ordercases/{case.id}?lines_page=3#lines" aria-label="Next page of lines"' in second
    assert '<li class="active"><span aria-current="page">2</span></li>' in second
    # The rest of the page works on every page: header, case actions, bulk form, journal, activity.
    for text in (case.number, 'class="btn btn-primary btn-sm case-action"', 'id="line-selection"',
                 'name="lines_page" value="2"', 'class="journal-form"', 'class="list-unstyled activity-stream"'):
        assert text in second

    # A page out of range shows the last one; a page that is no number shows the first.
    assert shown_numbers(page_of(agent, case.id, 99)) == numbers[2]
    assert line_range(page_of(agent, case.id, "x")) == "Lines 1–50 of 120"


def test_a_case_of_50_lines_or_fewer_has_one_page_and_no_page_links(client_for):
    agent = client_for("agent")
    case, lines = big_case(LINES_PER_PAGE)
    page = page_of(agent, case.id)
    assert len(shown_numbers(page)) == 50 and line_range(page) == "Lines 1–50 of 50"
    assert 'class="line-pages"' not in page and "lines_page=" not in page.replace('name="lines_page"', "")
    single, _ = big_case(1)
    assert line_range(page_of(agent, single.id)) == "Line 1 of 1"
    empty = factories.make_case(factories.make_account())
    page = page_of(agent, empty.id)
    assert line_range(page) == "No lines" and state_counts(page) == {} and "No lines yet" in page


def test_a_line_action_on_page_2_works_and_returns_to_page_2(client_for):
    case, lines = big_case(120, line_state=LineState.NEW)
    for line in lines:
        line.request_type, line.requested_quantity = RequestType.QUANTITY, 6
    db.session.commit()
    agent = client_for("agent")
    target = lines[60]

    # Start work: a button of the page's one shared form, carrying its own address and line version.
    page = page_of(agent, case.id, 2)
    assert page.count('id="line-action"') == 1 and 'id="line-{}-start-work"'.format(target.id) not in page
    button = re.search(rf'form="line-action" formaction="(/ordercases/line/{target.id}/action/start-work)" '
                       rf'name="version" value="(\d+)">Start work</button>', page)
    response = agent.post(button.group(1), data={"csrf_token": csrf_from(page), "version": button.group(2)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/ordercases/{case.id}?lines_page=2#lines")
    assert reload(OrderCaseLine, target.id).state == LineState.WORK_IN_PROGRESS
    page = html.unescape(agent.get(response.headers["Location"]).get_data(as_text=True))
    assert f"Line {target.number} is in progress." in page and line_range(page) == "Lines 51–100 of 120"
    assert state_counts(page) == {LineState.NEW: 119, LineState.WORK_IN_PROGRESS: 1}

    # Accept: its form page, whose Back link and submission both lead back to page 2.
    form = html.unescape(agent.get(f"/ordercases/line/{target.id}/action/accept").get_data(as_text=True))
    assert f'href="/ordercases/{case.id}?lines_page=2#lines">Back</a>' in form
    response = agent.submit(f"/ordercases/line/{target.id}/action/accept",
                            {"version": reload(OrderCaseLine, target.id).version, "approved_quantity": "6",
                             "resolution_notes": "Fine"})
    assert response.headers["Location"].endswith(f"/ordercases/{case.id}?lines_page=2#lines")
    assert reload(OrderCaseLine, target.id).state == LineState.ACCEPTED

    # A stale version is refused, still on page 2.
    stale = str(reload(OrderCaseLine, lines[70].id).version + 5)
    response = agent.submit(f"/ordercases/{case.id}?lines_page=2", {"version": stale},
                            post_url=f"/ordercases/line/{lines[70].id}/action/start-work")
    assert response.headers["Location"].endswith(f"/ordercases/{case.id}?lines_page=2#lines")
    assert reload(OrderCaseLine, lines[70].id).state == LineState.NEW


def test_bulk_line_actions_on_page_3_return_to_page_3(client_for):
    case, lines = big_case(120)
    agent = client_for("agent")
    ticked = lines[100:103]
    data = {"operation": "deny", "resolution_notes": "Out of stock", "lines_page": "3",
            "line_id": [str(line.id) for line in ticked],
            **{f"version_{line.id}": str(line.version) for line in ticked}}
    response = agent.submit(f"/ordercases/{case.id}?lines_page=3", data,
                            post_url=f"/ordercases/{case.id}/lines/selected")
    assert response.headers["Location"].endswith(f"/ordercases/{case.id}?lines_page=3#lines")
    assert {reload(OrderCaseLine, line.id).state for line in ticked} == {LineState.DENIED}
    page = html.unescape(agent.get(response.headers["Location"]).get_data(as_text=True))
    assert "Deny: 3 of 3 line(s) done." in page and line_range(page) == "Lines 101–120 of 120"


def test_a_line_address_opens_the_page_that_shows_the_line(client_for, users):
    case, lines = big_case(120)
    agent = client_for("agent")
    late, early = lines[110], lines[3]
    response = agent.get(f"/ordercaselineview/show/{late.id}")
    assert response.headers["Location"].endswith(f"/ordercases/{case.id}?lines_page=3#line-{late.id}")
    response = agent.get(f"/ordercaselineview/show/{early.id}")
    assert response.headers["Location"].endswith(f"/ordercases/{case.id}#line-{early.id}")
    # The tasks panel links a task's line in place when it is on this page, else through the line's address.
    task_late = case_tasks.create_task(user_for(users, "agent"), line_id=late.id, subject="Check late")
    case_tasks.create_task(user_for(users, "agent"), line_id=early.id, subject="Check early")
    page = page_of(agent, case.id)
    assert f'href="#line-{early.id}">{early.number}</a>' in page
    assert f'href="/ordercaselineview/show/{late.id}">{late.number}</a>' in page
    assert task_late.number not in page.split('id="tasks"')[0]
    assert task_late.number in page_of(agent, case.id, 3).split('id="tasks"')[0]


def test_the_case_page_costs_the_same_statements_for_60_or_600_lines(client_for, users):
    agent = client_for("agent")
    counts = []
    for size in (60, 600):
        case, lines = big_case(size)
        for line in lines:
            db.session.add(AuditEvent(record_type="order_case_line", record_id=line.id, record_number=line.number,
                                      case_id=case.id, action="Start work", field="state", old_value="New",
                                      new_value="Work in Progress", user_id=None))
        db.session.commit()
        for line in (lines[0], lines[-1]):
            case_tasks.create_task(user_for(users, "agent"), line_id=line.id, subject="Check")
        case_id = case.id  # read now: the test's own session would reload the expired case mid-count
        for page in (1, -(-size // LINES_PER_PAGE)):
            statements = []
            listener = lambda *args: statements.append(1)  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                page_html = page_of(agent, case_id, page)
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            assert line_range(page_html).endswith(f"of {size}")
            counts.append(len(statements))
    assert len(set(counts)) == 1, counts


def test_the_slas_panel_shows_the_case_and_the_lines_of_the_page(client_for, users):
    from app import workflows as wf
    from app.sla.clocks import seed_default_sla_definitions

    seed_default_sla_definitions()
    db.session.commit()
    case, lines = big_case(60, state=CaseState.DRAFT, line_state=LineState.DRAFT)
    wf.submit_case(case.id, user_for(users, "agent"))
    wf.assign_case_to_me(case.id, user_for(users, "agent"))
    agent = client_for("agent")
    numbers = {line.number for line in lines}
    for page, shown in ((1, lines[:50]), (2, lines[50:])):
        sla_rows = re.findall(r'<tr class="sla-[^"]+"><td>[^<]*</td><td>([^<]+)</td>', page_of(agent, case.id, page))
        assert "case" in sla_rows
        assert {row for row in sla_rows if row in numbers} == {line.number for line in shown}, sla_rows


def test_create_task_on_a_line_of_page_2_returns_to_page_2(client_for):
    case, lines = big_case(60)
    late = lines[-1]
    agent = client_for("agent")
    form = agent.get(f"/tasks/new/line/{late.id}").get_data(as_text=True)
    assert 'href="/ordercases/%d?lines_page=2#line-%d"' % (case.id, late.id) in form  # Back
    response = agent.post(f"/tasks/new/line/{late.id}", data={
        "csrf_token": csrf_from(form), "subject": "Check stock", "priority": "3"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/ordercases/{case.id}?lines_page=2#line-{late.id}")

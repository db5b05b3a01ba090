"""The case page's side panel: the contact and how to reach them, the account, the case's orders, the
account's other open cases, and an SLA area that says before Submit which clocks will start and how they
count (from the SLA definitions themselves), then how the running ones stand."""
from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest

from app.core.choices import CaseState, LineState, RequestType, SlaKind, SlaSchedule, SlaTarget
from app.core.extensions import db
from app.models import OrderCase, OrderCaseLine, SlaDefinition
from app.sla import clocks
from app.sla.terms import expected_terms, terms_of, weekdays_text
from tests import factories


def panel_of(html: str) -> str:
    found = re.search(r'<aside class="case-side".*?</aside>', html, re.S)
    assert found, "the case page has no side panel"
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", found.group(0))))


def section(html: str, css_class: str) -> str:
    found = re.search(rf'<section class="panel panel-default {css_class}".*?</section>', html, re.S)
    assert found, css_class
    return found.group(0)


def berlin_office_hours(**fields) -> SlaDefinition:
    definition = SlaDefinition(name="Case response, office hours", applies_to=SlaTarget.CASE, kind=SlaKind.RESPONSE,
                               target_minutes=240, priorities="3,4", schedule=SlaSchedule.BUSINESS_HOURS,
                               timezone="Europe/Berlin", business_days="1,2,3,4,5", pause_states="Awaiting Info",
                               **fields)
    db.session.add(definition)
    db.session.commit()
    return definition


@pytest.fixture
def case_with_neighbours():
    account = factories.make_account("Side Panel Co")
    account.industry = "Logistics"
    account.primary_contact.phone = "+49 30 1234 567"
    first, second = factories.make_order(account, lines=2), factories.make_order(account, lines=1)
    case = factories.make_case(account, order=first)
    factories.make_case(account, order=second, order_lines=second.lines)
    db.session.add_all([
        OrderCase(account=account, service=case.service, scope=case.scope, origin=case.origin, state=state,
                  short_description=f"Neighbour {state}", priority=2)
        for state in (CaseState.WORK_IN_PROGRESS, CaseState.CLOSED, CaseState.CANCELLED)])
    elsewhere = factories.make_account("Elsewhere Ltd")
    factories.make_case(elsewhere, order=factories.make_order(elsewhere, lines=1))
    db.session.add(OrderCaseLine(case=case, order=second, state=case.lines[0].state,
                                 request_type=case.lines[0].request_type))
    db.session.commit()
    return case


def test_the_panel_shows_the_contact_the_account_the_orders_and_the_other_open_cases(client_for, users,
                                                                                      case_with_neighbours):
    case = case_with_neighbours
    working = db.session.query(OrderCase).filter_by(short_description="Neighbour Work in Progress").one()
    working.assigned_to_id = users["agent"].id
    db.session.commit()
    html = client_for("agent").get(f"/ordercases/{case.id}").get_data(as_text=True)
    panel = panel_of(html)
    assert "Pat Buyer" in panel and "primary contact" not in panel
    assert 'href="tel:+49301234567"' in html and f'href="mailto:pat.{case.account_id}@example.test"' in html
    account = section(html, "side-account")
    assert f'href="/accountview/show/{case.account_id}"' in account and "Logistics" in account

    orders = section(html, "side-orders")
    order_numbers = sorted({line.order.number for line in case.lines})
    assert sorted(re.findall(r">(ORD\d+)</a>", orders)) == order_numbers and len(order_numbers) == 2
    assert '<span class="badge">2</span>' in orders and "In progress" in orders

    others = section(html, "side-other-cases")
    neighbours = db.session.query(OrderCase).filter(OrderCase.account_id == case.account_id,
                                                    OrderCase.id != case.id,
                                                    OrderCase.state.in_(CaseState.OPEN)).all()
    assert len(neighbours) == 2
    for neighbour in neighbours:
        assert f'href="/ordercases/{neighbour.id}"' in others and neighbour.short_description in others
    assert "Neighbour Work in Progress" in others and "Work in Progress</span>" in others
    # Each with its priority and assignee, by name.
    assignee = f"{users['agent'].role.title()} Tester"
    assert re.search(rf"Neighbour Work in Progress</span>\s*<br><small[^>]*>2 - High · {assignee}</small>", others)
    assert re.search(r"<small[^>]*>\d - [A-Za-z]+ · unassigned</small>", others)
    assert "Neighbour Closed" not in others and "Neighbour Cancelled" not in others
    assert '<span class="badge">2</span>' in others and case.number not in others


@pytest.mark.parametrize("lines_first", [0, 50], ids=["one page of lines", "orders on page 2 only"])
def test_the_panel_counts_the_orders_and_open_cases_beyond_those_it_shows(client_for, lines_first):
    # The orders come from the page's own lines when it holds every line, from the database otherwise:
    # with 50 lines of one order first, ten of the eleven orders are on lines of page 2.
    account = factories.make_account()
    orders = [factories.make_order(account, lines=1) for _ in range(11)]
    case = factories.make_case(account)
    db.session.add_all([OrderCaseLine(case=case, order=orders[0], state=LineState.DRAFT,
                                      request_type=RequestType.INQUIRY) for _ in range(lines_first)])
    db.session.add_all([OrderCaseLine(case=case, order=order, state=LineState.DRAFT,
                                      request_type=RequestType.INQUIRY) for order in orders])
    db.session.add_all([OrderCase(account=account, service=case.service, scope=case.scope, origin=case.origin,
                                  state=CaseState.NEW, short_description=f"Other {number}", priority=3)
                        for number in range(10)])
    db.session.commit()
    html = client_for("agent").get(f"/ordercases/{case.id}").get_data(as_text=True)
    shown_orders = section(html, "side-orders")
    assert '<span class="badge">11</span>' in shown_orders and "1 more: the account's orders" in shown_orders
    assert len(set(re.findall(r">(ORD\d+)</a>", shown_orders))) == 10
    newest = max(orders, key=lambda order: (order.order_date, order.id))
    assert f">{newest.number}</a>" in shown_orders
    others = section(html, "side-other-cases")
    assert '<span class="badge">10</span>' in others and "All 10 on the account's page" in others
    assert len(re.findall(r'class="list-group-item side-other-case"', others)) == 8


def test_a_case_without_contact_names_the_accounts_primary_contact_as_such(client_for):
    account = factories.make_account()
    case = factories.make_case(account)
    case.contact = None
    db.session.commit()
    panel = panel_of(client_for("agent").get(f"/ordercases/{case.id}").get_data(as_text=True))
    assert "Pat Buyer The account's primary contact; the case names none." in panel
    assert "No orders yet" in panel and "None: this is the account's only open case." in panel


def test_before_submit_the_sla_area_says_which_clocks_will_start_and_how_they_count(client_for):
    clocks.seed_default_sla_definitions()
    office = berlin_office_hours()
    account = factories.make_account()
    case = factories.make_case(account, order=factories.make_order(account, lines=1))
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    html = client_for("agent").get(f"/ordercases/{case.id}").get_data(as_text=True)
    sla_area = section(html, "side-sla")
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", sla_area)))
    assert "Nothing is timed yet. Submitting starts these clocks:" in text
    # Priority 4: the case's and the line's default response and resolution SLAs, and the office-hours one.
    names = re.findall(r"<small>([^<]+)</small></h3>", sla_area)
    assert sorted(names) == sorted(["Case response 4 h (priority 3–4)", "Case resolution 3 days (priority 3–4)",
                                    "Case line response 4 h (priority 3–4)",
                                    "Case line resolution 3 days (priority 3–4)", office.name])
    assert "Response within 4 h" in text and "Resolution within 3 d" in text
    assert "Starts: When the case is submitted (leaves Draft)" in text
    assert "Pauses while the case is Awaiting Info" in text and "Pauses while each line is Awaiting Info" in text
    assert "Around the clock (24×7)" in text
    assert ("Business hours only: Mon–Fri 09:00–17:00 Europe/Berlin" in text
            and "Pauses while the case is Awaiting Info and outside business hours" in text)
    assert "Met when work starts on the case (Work in Progress)" in text
    assert "Met when the line has its outcome (accepted, denied or cancelled)" in text
    # The office-hours clock's due time is its schedule's, counted from now (the page's times are UTC here).
    due_times = re.findall(r'Due <time datetime="([^"]+)"', sla_area)
    assert len(due_times) == 5
    expected = terms_of(office, before).due_if_started
    office_due = re.search(re.escape(office.name) + r'.*?Due <time datetime="([^"]+)"', sla_area, re.S).group(1)
    shown = dt.datetime.fromisoformat(office_due).astimezone(dt.timezone.utc).replace(tzinfo=None)
    assert abs((shown - expected).total_seconds()) <= 120


def test_after_submit_the_sla_area_shows_the_running_clocks_and_their_terms(client_for):
    clocks.seed_default_sla_definitions()
    account = factories.make_account()
    case = factories.make_case(account, order=factories.make_order(account, lines=1))
    agent = client_for("agent")
    response = agent.submit(f"/ordercases/{case.id}", {"version": case.version},
                            post_url=f"/ordercases/{case.id}/action/submit")
    assert response.status_code == 302
    text = panel_of(agent.get(f"/ordercases/{case.id}").get_data(as_text=True))
    assert "Submitting starts" not in text and "if submitted now" not in text
    assert "Response within 4 h Case response 4 h (priority 3–4) In progress · 3 h 59 min left" in text or \
        "Response within 4 h Case response 4 h (priority 3–4) In progress · 4 h left" in text
    assert "Resolution within 3 d Case resolution 3 days (priority 3–4) In progress" in text
    assert "Pauses while the case is Awaiting Info" in text and "The lines' SLAs" in text


def test_no_sla_for_the_priority_says_so():
    account = factories.make_account()
    case = factories.make_case(account)
    assert expected_terms(case.priority, []) == []


def test_the_terms_of_the_case_and_its_lines_come_from_one_read_of_the_definitions(app):
    from sqlalchemy import event

    clocks.seed_default_sla_definitions()
    reads = []
    with app.app_context():
        engine = db.engine

    def note_read(conn, cursor, statement, parameters, context, executemany):
        if "FROM sla_definition" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", note_read)
    try:
        terms = expected_terms(4, [1, 4])
    finally:
        event.remove(engine, "before_cursor_execute", note_read)
    assert len(reads) == 1
    # The case's own clocks first, then its lines' (priority 1 and priority 4 lines).
    assert [t.name for t in terms] == ["Case response 4 h (priority 3–4)", "Case resolution 3 days (priority 3–4)",
                                       "Case line response 1 h (priority 1–2)", "Case line resolution 1 day (priority 1–2)",
                                       "Case line response 4 h (priority 3–4)", "Case line resolution 3 days (priority 3–4)"]


def test_a_business_hours_target_is_due_on_the_next_working_day():
    office = berlin_office_hours()
    friday_4pm_berlin = dt.datetime(2026, 12, 4, 15, 0)  # 16:00 CET is 15:00 UTC
    terms = terms_of(office, friday_4pm_berlin)
    # One working hour on Friday, three on Monday from 09:00 CET: 12:00 CET, 11:00 UTC.
    assert terms.due_if_started == dt.datetime(2026, 12, 7, 11, 0)
    assert terms.target == "Response within 4 h"


@pytest.mark.parametrize("days, text", [("1,2,3,4,5", "Mon–Fri"), ("1,2,3,4,5,6,7", "Mon–Sun"), ("6,7", "Sat, Sun"),
                                        ("1,3,5", "Mon, Wed, Fri"), ("1,2,4,5", "Mon, Tue, Thu, Fri")])
def test_working_days_read_as_words(days, text):
    assert weekdays_text(days) == text


DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_panel_stands_beside_the_case_on_a_desktop_and_after_its_header_on_a_phone(
        page_as, live_server, case_with_neighbours, viewport):
    from tests.accessibility import axe_violations, blocking

    clocks.seed_default_sla_definitions()
    case = case_with_neighbours
    page = page_as("agent", viewport)
    page.goto(f"{live_server}/ordercases/{case.id}")
    side = page.get_by_role("complementary", name="Customer, orders and SLAs")
    head, lines = page.locator(".case-header").bounding_box(), page.locator("#lines").bounding_box()
    box = side.bounding_box()
    if viewport is DESKTOP:
        assert box["x"] >= head["x"] + head["width"] and box["y"] < lines["y"]
        assert lines["x"] + lines["width"] <= box["x"]
    else:
        assert head["y"] + head["height"] <= box["y"] and box["y"] + box["height"] <= lines["y"]
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert side.get_by_role("link", name="Side Panel Co").is_visible()
    assert side.get_by_role("link", name=re.compile(r"pat\.\d+@example\.test")).is_visible()
    assert side.locator(".side-sla-expected").count() == 4
    assert side.get_by_text("Nothing is timed yet. Submitting starts these clocks:").is_visible()
    assert not blocking(axe_violations(page))
    with page.expect_navigation():
        side.locator(".side-other-case a").first.click()
    assert "/ordercases/" in page.url and page.locator(".case-side").count() == 1

"""Exports of back-office lists: exactly the rows the list shows (filters, quick search, sort), headings
as shown, ISO dates and real numbers, streamed; refused where the list is."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import openpyxl
import pytest

from app.core.choices import CaseState, Priority
from app.core.extensions import db
from app.exports.writers import column_letters, csv_stream, xlsx_stream
from app.sla.clocks import attach_slas, seed_default_sla_definitions, worst_sla
from app.sla.views import sla_badge
from tests import factories


def body(response) -> str:
    return response.get_data(as_text=True)


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def read_xlsx(response):
    return list(openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True).active.values)


def listed_numbers(html: str) -> list[str]:
    return re.findall(r"<td>(ORDCS\d{7})</td>", html)


@pytest.fixture
def cases():
    account = factories.make_account("Export Co")
    made = []
    for index in range(7):
        case = factories.make_case(account, state=CaseState.NEW if index % 2 else CaseState.DRAFT)
        case.short_description = f"Crate {'dented' if index < 5 else 'missing'} {index}"
        case.priority = index % 4 + 1
        made.append(case)
    db.session.commit()
    return made


def test_a_filtered_sorted_searched_list_exports_exactly_its_rows(client_for, cases):
    agent = client_for("agent")
    arguments = "_flt_0_state=New&q=dented&_oc_OrderCaseView=number&_od_OrderCaseView=asc"
    listed = listed_numbers(body(agent.get(f"/ordercaseview/list/?{arguments}")))
    assert listed and len(listed) < len(cases)
    exported = read_csv(agent.get(f"/export/OrderCaseView.csv?{arguments}"))
    assert exported[0] == ["Number", "Short description", "Account", "State", "Priority", "Assigned to", "Opened",
                           "SLA"]
    assert [row[0] for row in exported[1:]] == listed
    workbook = read_xlsx(agent.get(f"/export/OrderCaseView.xlsx?{arguments}"))
    assert [row[0] for row in workbook[1:]] == listed


def test_values_keep_their_types(client_for, cases):
    agent = client_for("agent")
    order = factories.make_order(cases[0].account, lines=2)
    rows = read_xlsx(agent.get(f"/export/CustomerOrderView.xlsx?_flt_0_number={order.number}"))
    headings, row = rows[0], dict(zip(rows[0], rows[1]))
    assert headings[0] == "Number"
    assert isinstance(row["Total"] if "Total" in row else row[headings[-1]], (int, float))
    dated = next(value for value in rows[1] if isinstance(value, dt.datetime))
    assert abs(dated - order.order_date) < dt.timedelta(seconds=1)
    text = read_csv(agent.get(f"/export/CustomerOrderView.csv?_flt_0_number={order.number}"))
    csv_row = dict(zip(text[0], text[1]))
    assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", value) for value in csv_row.values())
    assert Decimal(text[1][-1]) == order.total_amount


def test_the_download_is_a_named_attachment(client_for, cases):
    response = client_for("agent").get("/export/OrderCaseView.xlsx")
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert re.match(r'attachment; filename="order-cases-\d{8}-\d{4}\.xlsx"', response.headers["Content-Disposition"])
    assert "Content-Length" not in response.headers, "the download is streamed, its length unknown up front"


@pytest.mark.parametrize("role", ["customer", "integrator"])
def test_customers_and_integrators_export_nothing_of_the_back_office(client_for, cases, role):
    client = client_for(role)
    for url in ("/export/OrderCaseView.csv", "/export/CustomerOrderView.xlsx", "/export/AccountView.csv"):
        response = client.get(url)
        # Refused (403), or an integrator sent to the login page (they have no page session at all).
        assert response.status_code in (302, 403), url
        assert response.status_code == 403 or response.headers["Location"].startswith("/login/")
        assert "Crate" not in body(response)


def test_a_list_the_user_may_not_open_cannot_be_exported(client_for, cases):
    agent = client_for("agent")
    assert client_for("manager").get("/export/AtRiskCasesView.csv").status_code == 200
    for url in ("/export/AtRiskCasesView.csv", "/export/NotificationView.csv", "/export/UserDBModelView.csv",
                "/export/GlobalSearchView.csv", "/export/NoSuchView.csv", "/export/OrderCaseView.pdf"):
        assert agent.get(url).status_code == 404, url


def test_exports_of_every_back_office_list_open(client_for, cases):
    manager = client_for("manager")
    for view in ("OrderCaseLineView", "CustomerOrderView", "ServiceOrderView", "OrderLineItemView", "QuoteView",
                 "InteractionView", "ProductInventoryView", "AccountView", "ContactView", "LocationView",
                 "CaseTaskView", "CaseLineTaskView", "OpenCasesView", "AllCasesView", "OrderChangeView"):
        for file_format in ("csv", "xlsx"):
            response = manager.get(f"/export/{view}.{file_format}")
            assert response.status_code == 200, (view, file_format)
            assert len(response.get_data()) > 0


def test_quick_search_finds_by_number_or_words_on_any_list(client_for, cases):
    agent = client_for("agent")
    target = cases[5]
    by_number = listed_numbers(body(agent.get(f"/ordercaseview/list/?q={target.number.lower()}")))
    assert by_number == [target.number]
    digits = str(int(target.number[5:]))
    assert listed_numbers(body(agent.get(f"/ordercaseview/list/?q={digits}"))) == [target.number]
    by_words = listed_numbers(body(agent.get("/ordercaseview/list/?q=crate+missing")))
    assert set(by_words) == {case.number for case in cases[5:]}
    accounts = body(agent.get("/accountview/list/?q=export"))
    assert "Export Co" in accounts
    contacts = body(agent.get("/contactview/list/?q=buyer"))
    assert "Buyer" in contacts
    assert 'id="quick-search"' in body(agent.get("/locationview/list/"))
    assert "HQ" in body(agent.get("/locationview/list/?q=springfield"))
    assert "HQ" not in body(agent.get("/locationview/list/?q=atlantis"))


def test_writers_stream_in_pieces_and_keep_types():
    rows = ([f"row {index}", index, Decimal("1.50"), dt.datetime(2026, 1, 2, 3, 4, 5), dt.date(2026, 1, 2), True,
             None, "bad\x01char"] for index in range(20000))
    chunks = list(xlsx_stream(["Text", "Int", "Money", "When", "Day", "Flag", "Empty", "Odd"], rows))
    assert len(chunks) > 3, "the workbook must come out in pieces, not at the end"
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(chunks)), read_only=True).active
    values = list(sheet.values)
    assert values[0] == ("Text", "Int", "Money", "When", "Day", "Flag", "Empty", "Odd")
    assert values[1][:6] == ("row 0", 0, 1.5, dt.datetime(2026, 1, 2, 3, 4, 5), dt.datetime(2026, 1, 2), True)
    assert values[1][7] == "badchar" and len(values) == 20001
    text = b"".join(csv_stream(["When", "Day"], [[dt.datetime(2026, 1, 2, 3, 4, 5, 999), dt.date(2026, 1, 2)]]))
    assert text.decode("utf-8-sig").splitlines() == ["When,Day", "2026-01-02T03:04:05,2026-01-02"]
    assert [column_letters(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def test_every_cell_is_what_the_list_shows(client_for, cases, users):
    """Rows are read as plain columns, related records named per batch and the SLA column computed per batch:
    each cell must still be the list's own value (a related record's name, a formatter's text, the SLA)."""
    cases[0].assigned_to_id = users["agent"].id
    seed_default_sla_definitions()
    assert attach_slas(cases[1])
    db.session.commit()
    exported = read_csv(client_for("agent").get("/export/AllCasesView.csv?_oc_AllCasesView=number&_od_AllCasesView=asc"))
    assert exported[0] == ["Number", "Short description", "Account", "State", "Priority", "Needs attention",
                           "Assigned to", "Opened", "SLA"]
    assert len(exported) == len(cases) + 1
    for row, case in zip(exported[1:], sorted(cases, key=lambda case: case.number)):
        db.session.refresh(case)
        status = worst_sla(case)
        assert row == [case.number, case.short_description, str(case.account), case.state,
                       str(Priority.LABELS[case.priority]), "Needs attention" if case.needs_attention else "",
                       str(case.assigned_to or ""), case.opened_at.replace(microsecond=0).isoformat(),
                       sla_badge(status).striptags() if status else "—"]
    assert exported[1][6] and "%" in exported[2][8]

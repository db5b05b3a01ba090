"""Global search: number jump to every record kind, free text over the indexed texts (kept current by
the database), grouped and paged results, and only what the user may open."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from app.core.choices import InteractionChannel, JournalKind, OrderLineState, OrderState, OrderType, RequestType
from app.core.extensions import db
from app.models import (
    CaseLineTask,
    CaseTask,
    Interaction,
    JournalEntry,
    OrderCase,
    ProductInventory,
    Quote,
)
from app.search import fulltext
from app.search.service import PER_GROUP, normalized_number
from tests import factories


def body(response) -> str:
    return response.get_data(as_text=True)


def location(response) -> str:
    assert response.status_code == 302, f"expected a redirect, got {response.status_code}"
    return urlsplit(response.headers["Location"]).path


@pytest.fixture
def world():
    account = factories.make_account("Quokka Logistics")
    order = factories.make_order(account, lines=2)
    order.external_id = "EXT-7781-ALPHA"
    service = factories.make_order(account, lines=1, order_type=OrderType.SERVICE)
    case = factories.make_case(account, order=order, order_lines=list(order.lines))
    case.short_description = "Pallet shipments arrive damaged"
    case.description = "The frobnicator housing cracks in transit"
    with db.session.no_autoflush:
        task = CaseTask(case=case, subject="Call the carrier")
        line_task = CaseLineTask(case_line=case.lines[0], case=case, subject="Check stock")
        quote = Quote(account=account, contact=account.primary_contact)
        interaction = Interaction(channel=InteractionChannel.PHONE, account=account,
                                  contact=account.primary_contact, short_description="Called about pallets")
        inventory = ProductInventory(name="Installed widget", account=account, offering=order.lines[0].offering,
                                     location=account.shipping_location, state="active")
        db.session.add_all([task, line_task, quote, interaction, inventory])
    db.session.flush()
    db.session.add(JournalEntry(record_type="order_case", record_id=case.id, case_id=case.id,
                                kind=JournalKind.WORK_NOTE, text="Carrier confirmed the zeppelin route"))
    db.session.add(JournalEntry(record_type="customer_order", record_id=order.id, kind=JournalKind.COMMENT,
                                text="Customer asked about the wombat discount"))
    db.session.commit()
    return {"account": account, "order": order, "service": service, "case": case, "task": task,
            "line_task": line_task, "quote": quote, "interaction": interaction, "inventory": inventory}


def test_numbers_are_read_in_any_case_with_or_without_leading_zeros():
    assert normalized_number("ordcs12")[1] == "ORDCS0000012"
    assert normalized_number(" ORDCSL-0000034 ")[1] == "ORDCSL0000034"
    assert normalized_number("ord 5")[0].key == "orders"
    assert normalized_number("ORDL0000005")[0].key == "order-lines"
    assert normalized_number("cstask3")[0].key == "case-tasks"
    assert normalized_number("CSLTASK3")[0].key == "case-line-tasks"
    assert normalized_number("pallets") is None
    assert normalized_number("ORDCS123456789") is None


def test_a_number_opens_its_record_whatever_its_kind(client_for, world):
    agent = client_for("agent")
    case, order, service = world["case"], world["order"], world["service"]
    expected = {
        case.number.lower(): f"/ordercases/{case.id}",
        case.lines[0].number: f"/ordercaseview/show/{case.id}",
        order.number: f"/customerorderview/show/{order.id}",
        service.number: f"/serviceorderview/show/{service.id}",
        order.lines[0].number: f"/orderlineitemview/show/{order.lines[0].id}",
        world["quote"].number: f"/quoteview/show/{world['quote'].id}",
        world["account"].number: f"/accountview/show/{world['account'].id}",
        world["account"].primary_contact.number: f"/contactview/show/{world['account'].primary_contact.id}",
        world["inventory"].number: f"/productinventoryview/show/{world['inventory'].id}",
        world["interaction"].number: f"/interactionview/show/{world['interaction'].id}",
        world["task"].number: f"/casetaskview/show/{world['task'].id}",
        world["line_task"].number: f"/caselinetaskview/show/{world['line_task'].id}",
    }
    for number, path in expected.items():
        response = agent.get("/search/", query_string={"q": number})
        if "ordercaselineview" in path or number == case.lines[0].number:
            assert location(response) == f"/ordercaselineview/show/{case.lines[0].id}"
        else:
            assert location(response) == path, number


def test_an_external_or_tmf_id_opens_its_order(client_for, world):
    agent = client_for("agent")
    order = world["order"]
    assert location(agent.get("/search/?q=EXT-7781-ALPHA")) == f"/customerorderview/show/{order.id}"
    assert location(agent.get(f"/search/?q={order.tmf_id}")) == f"/customerorderview/show/{order.id}"


def test_an_unknown_number_says_so_and_opens_nothing(client_for, world):
    page = client_for("agent").get("/search/?q=ORDCS9999999")
    assert page.status_code == 200
    assert "No order case numbered ORDCS9999999" in body(page)


@pytest.mark.parametrize("words, group, expected", [
    ("frobnicator", "Order cases", "case"),
    ("shipment", "Order cases", "case"),          # stemmed: shipments
    ("zeppelin", "Comments and work notes", "case"),
    ("wombat discount", "Comments and work notes", "order"),
    ("quokka", "Accounts", "account"),
    ("pat buyer", "Contacts", "contact"),
    ("7781 alpha", "Orders", "order"),
])
def test_words_find_records_by_their_texts_grouped_by_type(client_for, world, words, group, expected):
    html = body(client_for("agent").get("/search/", query_string={"q": words}))
    record = world["account"].primary_contact if expected == "contact" else world[expected]
    assert f'>{group}</h3>' in html
    section = html.split(f'>{group}</h3>', 1)[1].split("</section>", 1)[0]
    assert record.number in section


def test_every_word_must_match_and_nothing_typed_breaks_the_query(client_for, world):
    agent = client_for("agent")
    assert "Nothing found" in body(agent.get("/search/", query_string={"q": "frobnicator zebra"}))
    for junk in ['"', "AND OR NOT", "frob*", "a:b", "(", "'; drop table order_case; --", "NEAR("]:
        assert agent.get("/search/", query_string={"q": junk}).status_code == 200, junk
    # Control characters are refused before any view reads them (PostgreSQL text cannot hold a NUL).
    assert agent.get("/search/", query_string={"q": "\x00"}).status_code == 400


def test_the_index_follows_edits_and_deletes(client_for, world):
    case = world["case"]
    agent = client_for("agent")
    case.description = "Now about a gyroscope"
    db.session.commit()
    assert case.number not in body(agent.get("/search/?q=frobnicator"))
    assert case.number in body(agent.get("/search/?q=gyroscope"))
    account = world["account"]
    account.name = "Numbat Freight"
    db.session.commit()
    assert account.number not in body(agent.get("/search/?q=quokka"))
    assert account.number in body(agent.get("/search/?q=numbat"))
    db.session.query(JournalEntry).filter(JournalEntry.text.like("%zeppelin%")).delete()
    db.session.commit()
    assert "Nothing found" in body(agent.get("/search/?q=zeppelin"))


def test_results_are_paged_per_group(client_for, world):
    account = world["account"]
    for index in range(PER_GROUP + 20):
        case = factories.make_case(account)
        case.short_description = f"Marsupial request {index}"
    db.session.commit()
    agent = client_for("agent")
    first = body(agent.get("/search/?q=marsupial"))
    assert first.count('class="search-hit"') == PER_GROUP
    assert "More order cases" in first
    grouped = body(agent.get("/search/?q=marsupial&group=cases&page=1"))
    assert grouped.count('class="search-hit"') == 20 and ">Next<" in grouped
    second = body(agent.get("/search/?q=marsupial&group=cases&page=2"))
    assert second.count('class="search-hit"') == PER_GROUP and ">Next<" not in second
    newest = db.session.query(OrderCase).order_by(OrderCase.id.desc()).first()
    assert newest.number in first and "newest first" in first
    marsupials = [case.number for case in db.session.query(OrderCase).filter(
        OrderCase.short_description.like("Marsupial%")).order_by(OrderCase.id.desc())]
    assert re.findall(r"<strong>(ORDCS\d{7})</strong>", grouped + second) == marsupials


@pytest.mark.parametrize("role", ["customer", "integrator"])
def test_the_back_office_search_is_closed_to_customers_and_integrators(client_for, world, role):
    client = client_for(role)
    for url in ("/search/?q=frobnicator", f"/search/?q={world['case'].number}"):
        response = client.get(url)
        # Refused (403), or an integrator sent to the login page (they have no page session at all).
        assert response.status_code in (302, 403), url
        assert response.status_code == 403 or urlsplit(response.headers["Location"]).path == "/login/"
        if response.status_code == 403:
            assert world["case"].number not in body(response)


def test_the_menu_bar_has_the_search_box_for_the_back_office_only(client_for):
    assert 'id="global-search"' in body(client_for("agent").get("/ordercaseview/list/"))
    assert 'id="global-search"' not in body(client_for("customer").get("/", follow_redirects=True))


def test_search_index_names_are_recognised():
    assert fulltext.is_search_index("fts_order_case_data") and not fulltext.is_search_index("order_case")


def _line_numbers(html: str, prefix: str) -> set[str]:
    return set(re.findall(rf"<td>({prefix}\d{{7}})</td>", html))


@pytest.mark.parametrize("frequent_from", [5000, 1])
def test_quick_search_on_case_and_order_lines_goes_through_codes_and_their_case_or_order(
        client_for, monkeypatch, frequent_from):
    """Lines have millions of rows and no text of their own: words find a coded value (request type,
    state, action) or the text of their case or order; a frequent word (SQLite: the list's order walked)
    finds the same rows as a rare one."""
    monkeypatch.setattr(fulltext, "FREQUENT", frequent_from)
    monkeypatch.setattr(fulltext, "_all_frequent", lambda table, words: frequent_from == 1)  # PostgreSQL's
    account = factories.make_account("Lines Co")
    wombat_order = factories.make_order(account, lines=2, state=OrderState.NEW, line_state=OrderLineState.NEW)
    wombat_order.description = "Wombat enclosure"
    other_order = factories.make_order(account, lines=1)
    quantity_case = factories.make_case(account, order=other_order, order_lines=other_order.lines,
                                        request_type=RequestType.QUANTITY)
    wombat_case = factories.make_case(account, order=wombat_order, order_lines=wombat_order.lines)
    wombat_case.short_description = "Wombat crate crushed"
    db.session.commit()
    agent = client_for("agent")

    def listed(view, query, prefix):
        return _line_numbers(body(agent.get(f"/{view}/list/?q={query}")), prefix)

    quantity_lines = {line.number for line in quantity_case.lines}
    wombat_lines = {line.number for line in wombat_case.lines}
    assert listed("ordercaselineview", "quantity", "ORDCSL") == quantity_lines
    assert listed("ordercaselineview", "wombat", "ORDCSL") == wombat_lines
    assert listed("ordercaselineview", "wombat+quantity", "ORDCSL") == set()
    assert listed("ordercaselineview", "capybara", "ORDCSL") == set()
    wombat_order_lines = {line.number for line in wombat_order.lines}
    assert listed("orderlineitemview", "wombat", "ORDL") == wombat_order_lines
    assert listed("orderlineitemview", "new", "ORDL") >= wombat_order_lines
    assert not listed("orderlineitemview", "new", "ORDL") & {line.number for line in other_order.lines}
    line = next(iter(wombat_order.lines))
    assert listed("orderlineitemview", line.number.lower(), "ORDL") == {line.number}

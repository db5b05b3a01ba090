"""Readable values on the pages: times in the user's own time zone with the zone named, "—" for nothing,
field names as words, capitalised vocabulary, and an interaction linking the cases created from it."""
from __future__ import annotations

import datetime as dt
import re

from app.core.choices import CaseState
from app.core.display import UserPreference
from app.core.extensions import db
from app.models import Interaction, OrderCase
from tests import factories


def case_opened_at(opened: dt.datetime) -> OrderCase:
    account = factories.make_account("Zone Co")
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.NEW)
    case.opened_at = opened
    db.session.commit()
    return case


def opened_on_page(client, case) -> str:
    html = client.get(f"/ordercases/{case.id}").get_data(as_text=True)
    return re.search(r"<dt>Opened</dt><dd>(<time[^>]*>[^<]*</time>)</dd>", html).group(1)


def test_times_are_in_utc_and_say_so_until_the_user_chooses_a_zone(client_for):
    case = case_opened_at(dt.datetime(2026, 1, 15, 9, 30))
    assert opened_on_page(client_for("agent"), case) == (
        '<time datetime="2026-01-15T09:30:00+00:00">2026-01-15 09:30 UTC</time>')


def test_a_chosen_time_zone_applies_to_every_page_and_survives_signing_in_again(client_for, users):
    case = case_opened_at(dt.datetime(2026, 7, 15, 9, 30))
    agent = client_for("agent")
    response = agent.submit("/preferences/", {"time_zone": "Europe/Paris"})
    assert response.status_code == 302
    assert opened_on_page(agent, case) == '<time datetime="2026-07-15T11:30:00+02:00">2026-07-15 11:30 CEST</time>'
    assert db.session.get(UserPreference, users["agent"].id).time_zone == "Europe/Paris"
    again = client_for("agent")  # a new sign-in reads the stored zone
    assert "11:30 CEST" in opened_on_page(again, case)
    assert "My settings (Europe/Paris)" in again.get("/").get_data(as_text=True)


def test_an_unknown_time_zone_is_refused_and_nothing_is_saved(client_for, users):
    agent = client_for("agent")
    response = agent.submit("/preferences/", {"time_zone": "Mars/Olympus"})
    assert response.status_code == 422 and "Choose a time zone from the list." in response.get_data(as_text=True)
    assert db.session.get(UserPreference, users["agent"].id) is None


def test_lists_show_a_dash_for_nothing_and_capitalised_states(client_for, users):
    account = factories.make_account("Caller Co")
    db.session.add(Interaction(channel="phone", account=account, short_description="Late delivery",
                               state="work in progress"))
    db.session.commit()
    html = client_for("agent").get("/interactionview/list/").get_data(as_text=True)
    assert ">None<" not in html
    assert "<td>Work in progress</td>" in html and "<td>Phone</td>" in html and "<td>—</td>" in html


def test_an_interaction_links_the_cases_created_from_it(client_for, users):
    account = factories.make_account("Caller Co")
    interaction = Interaction(channel="phone", account=account, short_description="Two problems")
    db.session.add(interaction)
    db.session.commit()
    first, second = case_opened_at(dt.datetime(2026, 1, 1)), case_opened_at(dt.datetime(2026, 1, 2))
    for case in (first, second):
        case.interaction_id = interaction.id
    db.session.commit()
    html = client_for("agent").get(f"/interactionview/show/{interaction.id}").get_data(as_text=True)
    links = re.findall(r'class="btn btn-primary btn-sm record-link" href="([^"]+)">([^<]+)<', html)
    assert links[1:] == [(f"/ordercases/{first.id}", f"Case {first.number} · New"),
                         (f"/ordercases/{second.id}", f"Case {second.number} · New")]


def test_field_names_read_as_words_in_the_order_history(client_for):
    from app.core.display import field_label

    assert field_label("total_amount") == "Total"
    assert field_label("requested_delivery_date") == "Requested delivery date"
    assert field_label("assigned_to_id") == "Assigned to"

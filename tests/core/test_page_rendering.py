"""The per-request and cross-request rendering shortcuts show exactly what FAB would: the menu bar per
permission set (and after a role changes), the filter box's choices after a write, list row actions,
and the record count of a list (from its own rows, or remembered at the cap) as a fresh count would give it."""
from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from app.core import view_support
from app.core.extensions import db
from tests import factories


def body(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def menu_labels(html: str) -> set[str]:
    navbar = html[html.index('<ul class="nav navbar-nav">'):html.index('<ul class="nav navbar-nav navbar-right">')]
    return {label.strip() for label in re.findall(r"</i>&nbsp;\s*([^<]+?)\s*(?:</a>|<b)", navbar)}


def test_menu_bar_follows_each_role_and_a_role_change(app, client_for):
    agent_menu = menu_labels(body(client_for("agent").get("/ordercaseview/list/")))
    admin_menu = menu_labels(body(client_for("admin").get("/ordercaseview/list/")))
    assert "Order Cases" in agent_menu and "Order Cases" in admin_menu
    assert "SLA Definitions" in admin_menu and "SLA Definitions" not in agent_menu
    # The cached menu of the agent's permission set does not leak into the admin's, and back.
    assert menu_labels(body(client_for("agent").get("/"))) == agent_menu

    sm = app.appbuilder.sm
    role = sm.find_role("agent")
    grants = [sm.find_permission_view_menu("menu_access", name) for name in ("Administration", "SLA Definitions")]
    for grant in grants:
        sm.add_permission_role(role, grant)
    try:
        assert "SLA Definitions" in menu_labels(body(client_for("agent").get("/")))
    finally:
        for grant in grants:
            sm.del_permission_role(role, grant)
    assert "SLA Definitions" not in menu_labels(body(client_for("agent").get("/")))


def test_filter_box_offers_an_account_created_since_the_last_list(client_for):
    agent = client_for("agent")
    before = body(agent.get("/ordercaseview/list/"))
    account = factories.make_account("Freshly Signed Customer")
    db.session.commit()
    assert "Freshly Signed Customer" not in before
    assert f'value=\\"{account.id}\\"\\u003eFreshly Signed Customer' in body(agent.get("/ordercaseview/list/"))


def test_list_rows_link_every_permitted_action(client_for):
    account = factories.make_account("Row Link Account")
    case = factories.make_case(account=account)
    db.session.commit()
    admin_list = body(client_for("admin").get("/ordercaseview/list/"))
    assert f'href="/ordercaseview/show/{case.id}"' in admin_list
    assert f'href="/ordercaseview/edit/{case.id}"' in admin_list
    assert f'data-delete-url="/ordercaseview/delete/{case.id}"' in admin_list
    assert admin_list.count("execute_single_delete") == 1  # one listener for every row

    # Accounts are never deleted (no can_delete anywhere): no delete link and no delete script.
    accounts = body(client_for("manager").get("/accountview/list/"))
    assert f'href="/accountview/show/{account.id}"' in accounts
    assert "data-delete-url" not in accounts and "execute_single_delete" not in accounts


def test_work_on_cases_keeps_the_rendered_filter_inputs(client_for, monkeypatch):
    from wtforms.fields.core import Field

    case = factories.make_case(account=factories.make_account("Kept Filters Account"))
    db.session.commit()
    agent = client_for("agent")
    body(agent.get("/ordercaseview/list/"))
    rendered = []
    render = Field.__call__
    monkeypatch.setattr(Field, "__call__", lambda field, **kw: rendered.append(field.name) or render(field, **kw))

    agent.submit(f"/ordercases/{case.id}", {"kind": "work note", "text": "Called the carrier."},
                 post_url=f"/ordercases/{case.id}/journal")
    assert "Called the carrier." in body(agent.get(f"/ordercases/{case.id}?tab=activity"))
    body(agent.get("/ordercaseview/list/"))
    assert rendered == []

    factories.make_account("Another Customer")
    db.session.commit()
    assert "Another Customer" in body(agent.get("/ordercaseview/list/"))
    assert rendered == ["account"]


def test_a_revoked_permission_is_refused_on_the_very_next_request(app, client_for):
    # The signed-in user's permissions are read once per request: nothing of them may outlive it.
    agent = client_for("agent")
    assert "Order Cases" in body(agent.get("/ordercaseview/list/"))
    sm = app.appbuilder.sm
    role = sm.find_role("agent")
    listing = sm.find_permission_view_menu("can_list", "OrderCaseView")
    sm.del_permission_role(role, listing)
    try:
        refused = agent.get("/ordercaseview/list/")
        assert refused.status_code != 200
        assert "/ordercaseview/show/" not in refused.get_data(as_text=True)
    finally:
        sm.add_permission_role(role, listing)
    assert "Order Cases" in body(agent.get("/ordercaseview/list/"))


def test_a_users_new_role_applies_from_their_next_request(app):
    from tests.conftest import UserClient, log_in

    sm = app.appbuilder.sm
    login = factories.make_user("agent", username="tmp_role_change_agent")
    client = UserClient(app.test_client(), login)
    log_in(client, login)
    assert "SLA Definitions" not in menu_labels(body(client.get("/")))
    assert client.get("/sladefinitionview/list/").status_code != 200
    user = sm.get_user_by_id(login.id)
    user.roles = [sm.find_role("admin")]
    sm.update_user(user)
    assert "SLA Definitions" in menu_labels(body(client.get("/")))
    assert client.get("/sladefinitionview/list/").status_code == 200
    user = sm.get_user_by_id(login.id)
    user.roles = [sm.find_role("agent")]
    sm.update_user(user)
    assert "SLA Definitions" not in menu_labels(body(client.get("/")))
    assert client.get("/sladefinitionview/list/").status_code != 200


def record_count(html: str) -> str:
    return re.search(r"Record Count:</strong>\s*([^\s<]+)", html).group(1)


@pytest.fixture
def line_list(app):
    """shown(client, query) -> (the order line list's record count, how many count statements it ran)."""
    counts = []
    with app.app_context():
        engine = db.engine

    def note_count(conn, cursor, statement, parameters, context, executemany):
        if "count(" in statement.lower() and "order_line_item" in statement:
            counts.append(statement)

    def shown(client, query: str) -> tuple[str, int]:
        counts.clear()
        return record_count(body(client.get(f"/orderlineitemview/list/?{query}"))), len(counts)

    event.listen(engine, "before_cursor_execute", note_count)
    yield shown
    event.remove(engine, "before_cursor_execute", note_count)


def test_a_list_page_that_is_not_full_is_counted_from_its_own_rows(client_for, line_list):
    order = factories.make_order(factories.make_account(), lines=25)
    few = factories.make_order(factories.make_account(), lines=3)
    db.session.commit()
    agent = client_for("agent")
    pages = {label: line_list(agent, query) for label, query in [
        ("first", f"_flt_0_order={order.id}"), ("last", f"_flt_0_order={order.id}&page_OrderLineItemView=1"),
        ("beyond", f"_flt_0_order={order.id}&page_OrderLineItemView=5"), ("few", f"_flt_0_order={few.id}")]}
    # A full page needs the count; the last page and a one-page list give it by their rows; past the end
    # there are no rows to count from, so the count runs.
    assert pages == {"first": ("25", 1), "last": ("25", 0), "beyond": ("25", 1), "few": ("3", 0)}


def test_a_list_that_counted_to_the_cap_shows_it_without_counting_again_until_its_table_changes(
        client_for, line_list, monkeypatch):
    monkeypatch.setattr(view_support, "COUNT_CAP", 3)
    many = factories.make_order(factories.make_account(), lines=6)
    two = factories.make_order(factories.make_account(), lines=2)
    db.session.commit()
    agent, manager = client_for("agent"), client_for("manager")
    of_many = f"_flt_0_order={many.id}&psize_OrderLineItemView=2"
    of_two = f"_flt_0_order={two.id}&psize_OrderLineItemView=2"
    assert line_list(agent, of_many) == ("3+", 1)
    # The same filters, whoever asks: no count.
    assert line_list(agent, of_many) == ("3+", 0) and line_list(manager, of_many) == ("3+", 0)
    # Below the cap the count is exact, so it runs every time.
    assert line_list(agent, of_two) == ("2", 1) and line_list(agent, of_two) == ("2", 1)
    # A write to the table counts again.
    many.lines[0].quantity += 1
    db.session.commit()
    assert line_list(agent, of_many) == ("3+", 1)
    # And so does the time running out.
    a_minute_later = time.monotonic() + view_support.CAPPED_COUNT_TTL + 1
    monkeypatch.setattr(view_support, "time", SimpleNamespace(monotonic=lambda: a_minute_later))
    assert line_list(agent, of_many) == ("3+", 1) and line_list(agent, of_many) == ("3+", 0)


def test_a_remembered_count_is_the_signed_in_users_own_on_a_personal_queue(client_for, users, monkeypatch):
    monkeypatch.setattr(view_support, "COUNT_CAP", 2)
    account = factories.make_account()
    for assignee in ("agent", "agent", "agent", "manager", "manager"):
        factories.make_case(account).assigned_to_id = users[assignee].id
    db.session.commit()
    mine = "/myopencasesview/list/?psize_MyOpenCasesView=2"
    assert record_count(body(client_for("agent").get(mine))) == "2+"
    # The manager's queue is theirs (two cases: a full page, counted exactly), not the agent's "2+".
    assert record_count(body(client_for("manager").get(mine))) == "2"

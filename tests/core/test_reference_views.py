"""Reference and administration forms through real logins with CSRF on: who may create and edit, what
bad input does (a form error and nothing written), record pages, My Tasks, the home page, and that no
page loads anything from the internet."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from app.core.choices import CaseState, InteractionChannel, InventoryState, PriceType, SpecKind
from app.core.extensions import db
from app.models import (
    Account,
    AssignmentGroup,
    CaseTask,
    Interaction,
    Location,
    OrderCase,
    ProductInventory,
    ProductOffering,
    SlaDefinition,
)
from tests import factories
from tests.conftest import csrf_from


def count(model) -> int:
    db.session.expire_all()
    return db.session.query(model).count()


def body(response) -> str:
    return response.get_data(as_text=True)


def field_errors(html: str) -> str:
    """The text FAB shows next to invalid fields."""
    return " ".join(re.findall(r'<div class="alert alert-danger">\s*(.*?)\s*</div>', html, re.S))


# --- who may create and edit ------------------------------------------------------------------------


def test_admin_creates_an_account_through_the_form(client_for, users):
    admin = client_for("admin")
    response = admin.submit("/accountview/add", {"name": "Globex", "industry": "Manufacturing", "active": "y"})
    assert response.status_code == 302
    account = db.session.query(Account).filter_by(name="Globex").one()
    assert account.number.startswith("ACC") and account.industry == "Manufacturing"
    assert account.created_by_id == users["admin"].id


def test_manager_creates_an_offering_with_a_price_type_from_the_vocabulary(client_for):
    spec = factories.make_offering("Existing").specification
    manager = client_for("manager")
    form = body(manager.get("/productofferingview/add"))
    for price_type in PriceType.ALL:
        assert f'value="{price_type}"' in form, "price type must be a select over the vocabulary"
    response = manager.submit("/productofferingview/add", {
        "name": "Router", "specification": str(spec.id), "unit_price": "99.50", "currency": "EUR",
        "price_type": PriceType.RECURRING, "active": "y",
    })
    assert response.status_code == 302
    offering = db.session.query(ProductOffering).filter_by(name="Router").one()
    assert (offering.unit_price, offering.currency, offering.price_type) == (Decimal("99.50"), "EUR", "recurring")


def test_manager_edits_a_location_and_the_version_moves(client_for):
    account = factories.make_account("Edit Co")
    location = account.shipping_location
    manager = client_for("manager")
    form = body(manager.get(f"/locationview/edit/{location.id}"))
    assert 'name="expected_version"' in form and 'name="version"' not in form
    assert "created_by" not in form
    response = manager.submit(f"/locationview/edit/{location.id}", {
        "name": "Warehouse", "account": str(account.id), "street": "2 Dock Rd", "city": "Shelbyville",
        "country": "US", "expected_version": str(location.version),
    })
    assert response.status_code == 302
    db.session.expire_all()
    changed = db.session.get(Location, location.id)
    assert (changed.name, changed.city, changed.version) == ("Warehouse", "Shelbyville", 2)


def test_stale_edit_is_refused_and_changes_nothing(client_for):
    account = factories.make_account("Race Co")
    location = account.shipping_location
    seen_version = location.version
    location.city = "Capital City"  # someone else saves first
    db.session.commit()
    response = client_for("manager").submit(f"/locationview/edit/{location.id}", {
        "name": "Mine", "account": str(account.id), "city": "Ogdenville", "expected_version": str(seen_version),
    })
    assert response.status_code == 200
    assert "Someone else changed this record" in body(response)
    db.session.expire_all()
    assert db.session.get(Location, location.id).city == "Capital City"


@pytest.mark.parametrize("url", [
    "/accountview/add", "/contactview/add", "/locationview/add", "/productspecificationview/add",
    "/productofferingview/add", "/productinventoryview/add", "/servicedefinitionview/add",
    "/assignmentgroupview/add", "/sladefinitionview/add",
])
def test_agent_may_not_open_reference_or_administration_forms(client_for, url):
    assert client_for("agent").get(url).status_code == 403


def test_agent_may_not_post_a_reference_record_even_with_a_valid_token(client_for):
    agent = client_for("agent")
    token = csrf_from(body(agent.get("/interactionview/add")))
    response = agent.post("/accountview/add", data={"csrf_token": token, "name": "Sneaky", "active": "y"})
    assert response.status_code == 403
    account = factories.make_account("Victim")
    response = agent.post(f"/accountview/edit/{account.id}", data={"csrf_token": token, "name": "Renamed"})
    assert response.status_code == 403
    assert count(Account) == 1
    assert db.session.get(Account, account.id).name == "Victim"


def test_manager_may_not_use_administration_forms(client_for):
    manager = client_for("manager")
    assert manager.get("/sladefinitionview/add").status_code == 403
    assert manager.get("/assignmentgroupview/list/").status_code == 403


def test_a_post_without_csrf_token_is_refused(client_for):
    response = client_for("admin").post("/accountview/add", data={"name": "No token"})
    assert response.status_code == 400
    assert count(Account) == 0


# --- bad input: a form error, nothing written ---------------------------------------------------------


def test_offering_with_negative_price_and_bad_currency_shows_errors(client_for):
    response = client_for("manager").submit("/productofferingview/add", {
        "name": "Broken", "unit_price": "-5", "currency": "euro", "price_type": PriceType.ONE_TIME,
    })
    assert response.status_code == 200
    errors = field_errors(body(response))
    assert "Prices cannot be negative" in errors and "three-letter ISO currency code" in errors
    assert count(ProductOffering) == 0


def test_values_outside_the_vocabulary_are_refused(client_for):
    account = factories.make_account("Vocab Co")
    response = client_for("manager").submit("/productinventoryview/add", {
        "name": "Thing", "account": str(account.id), "quantity": "1", "state": "stolen",
    })
    assert response.status_code == 200
    assert "Not a valid choice" in field_errors(body(response))
    assert count(ProductInventory) == 0


def test_required_fields_and_garbage_numbers_give_errors_not_500(client_for):
    manager = client_for("manager")
    response = manager.submit("/accountview/add", {"name": ""})
    assert response.status_code == 200 and "This field is required" in body(response)
    account = factories.make_account("Numbers Co")
    response = manager.submit("/productinventoryview/add", {
        "name": "Thing", "account": str(account.id), "quantity": "lots", "state": InventoryState.ACTIVE,
    })
    assert response.status_code == 200
    response = manager.submit("/productinventoryview/add", {
        "name": "Thing", "account": str(account.id), "quantity": "0", "state": InventoryState.ACTIVE,
    })
    assert response.status_code == 200 and "at least 1" in body(response)
    response = manager.submit("/productinventoryview/add", {
        "name": "Thing", "account": "999999", "quantity": "1", "state": InventoryState.ACTIVE,
    })
    assert response.status_code == 200
    assert count(ProductInventory) == 0


def test_sla_definition_checks_time_zone_priorities_and_hours(client_for):
    response = client_for("admin").submit("/sladefinitionview/add", {
        "name": "Bad SLA", "applies_to": "case", "kind": "response", "priorities": ["1", "7"], "target_minutes": "0",
        "schedule": "business hours", "timezone": "Mars/Olympus", "business_day_start": "17:00",
        "business_day_end": "25:00", "business_days": ["1", "2"], "pause_states": ["Sleeping"],
        "at_risk_percent": "75",
    })
    assert response.status_code == 200
    errors = field_errors(body(response))
    # The form offers check boxes and a zone list: anything else is not one of its choices.
    for expected in ("Not a valid choice", "'7' is not a valid choice", "at least one minute", "24-hour time",
                     "'Sleeping' is not a valid choice"):
        assert expected in errors, expected
    assert count(SlaDefinition) == 0


def test_admin_creates_a_valid_sla_definition(client_for):
    response = client_for("admin").submit("/sladefinitionview/add", {
        "name": "P1 response", "applies_to": "case", "kind": "response", "priorities": ["1", "2"],
        "target_minutes": "60", "schedule": "business hours", "timezone": "Europe/Berlin",
        "business_day_start": "08:00", "business_day_end": "18:00", "business_days": ["1", "2", "3", "4", "5"],
        "pause_states": ["Awaiting Info"],
        "at_risk_percent": "80", "active": "y",
    })
    assert response.status_code == 302
    sla = db.session.query(SlaDefinition).one()
    assert (sla.timezone, sla.target_minutes, sla.schedule) == ("Europe/Berlin", 60, "business hours")
    assert (sla.priorities, sla.business_days, sla.pause_states) == ("1,2", "1,2,3,4,5", "Awaiting Info")


def test_duplicate_assignment_group_name_is_a_form_error(client_for, users):
    factories.make_group("Order Desk", [users["agent"].id])
    response = client_for("admin").submit("/assignmentgroupview/add", {"name": "Order Desk"})
    assert response.status_code == 200
    assert "Already exists" in body(response)
    assert count(AssignmentGroup) == 1


def test_interaction_contact_must_belong_to_its_account(client_for):
    mine, other = factories.make_account("Mine Co"), factories.make_account("Other Co")
    agent = client_for("agent")
    response = agent.submit("/interactionview/add", {
        "channel": InteractionChannel.PHONE, "account": str(mine.id), "contact": str(other.primary_contact_id),
        "short_description": "Call", "state": "new",
    })
    assert response.status_code == 200
    assert "belongs to another account" in field_errors(body(response))
    assert count(Interaction) == 0
    response = agent.submit("/interactionview/add", {
        "channel": InteractionChannel.PHONE, "account": str(mine.id), "contact": str(mine.primary_contact_id),
        "short_description": "Call", "state": "new",
    })
    assert response.status_code == 302
    interaction = db.session.query(Interaction).one()
    assert interaction.agent_id is not None and interaction.number.startswith("INT")


def test_task_assignee_must_be_in_the_assignment_group(client_for, users):
    account = factories.make_account("Task Co")
    case = factories.make_case(account, order=factories.make_order(account, lines=1))
    group = factories.make_group("Fulfilment", [users["manager"].id])
    agent = client_for("agent")
    # FAB's generic form would bypass the task workflow: it leads to the case's Create task page.
    generic = agent.get(f"/casetaskview/add?_flt_0_case={case.id}")
    assert generic.status_code == 302 and generic.headers["Location"].endswith(f"/tasks/new/case/{case.id}")
    data = {"subject": "Check", "priority": "3", "assignment_group_id": str(group.id),
            "assigned_to_id": str(users["agent"].id)}
    response = agent.submit(f"/tasks/new/case/{case.id}", data)
    assert response.status_code == 422
    assert "is not a member of Fulfilment" in body(response)
    assert count(CaseTask) == 0
    response = agent.submit(f"/tasks/new/case/{case.id}", {**data, "assigned_to_id": str(users["manager"].id)})
    assert response.status_code == 302
    assert db.session.query(CaseTask).one().priority == 3


# --- record pages, My Tasks, home page -------------------------------------------------------------------


def test_account_page_shows_its_contacts_locations_inventory_and_a_new_order_button(client_for):
    account = factories.make_account("Page Co")
    offering = factories.make_offering("Gadget")
    db.session.add_all([
        ProductInventory(name=f"Gadget {i}", account=account, offering=offering, state=InventoryState.ACTIVE)
        for i in (1, 2)
    ])
    db.session.commit()
    html = body(client_for("agent").get(f"/accountview/show/{account.id}"))
    assert "Pat Buyer" in html or "Pat" in html
    assert "1 Main St" in html
    assert "Gadget 1" in html and "Gadget 2" in html
    assert f'href="/customerorderview/add?account_id={account.id}&amp;next=/accountview/show/{account.id}"' in html
    assert ">New order<" in html


def test_interaction_page_has_a_create_case_button(client_for):
    account = factories.make_account("Int Co")
    interaction = Interaction(channel=InteractionChannel.CHAT, account=account, short_description="Chat")
    db.session.add(interaction)
    db.session.commit()
    html = body(client_for("agent").get(f"/interactionview/show/{interaction.id}"))
    assert f'href="/ordercases/create/?origin=interaction&amp;interaction_id={interaction.id}"' in html
    assert ">Create case<" in html


def test_product_specification_page_lists_its_characteristics(client_for):
    spec = factories.make_offering("Modem", kind=SpecKind.PRODUCT).specification
    html = body(client_for("agent").get(f"/productspecificationview/show/{spec.id}"))
    assert "Colour" in html and "Red,Blue" in html


def test_my_tasks_lists_only_the_signed_in_users_tasks(client_for, users):
    account = factories.make_account("Mine Tasks")
    case = factories.make_case(account, order=factories.make_order(account, lines=1))
    db.session.add_all([
        CaseTask(case=case, subject="Agent's job", assigned_to_id=users["agent"].id),
        CaseTask(case=case, subject="Manager's job", assigned_to_id=users["manager"].id),
        CaseTask(case=case, subject="Nobody's job"),
    ])
    db.session.commit()
    html = body(client_for("agent").get("/mytasksview/list/"))
    assert "Agent&#39;s job" in html or "Agent's job" in html
    assert "Manager&#39;s job" not in html and "Nobody&#39;s job" not in html
    html = body(client_for("manager").get("/mytasksview/list/"))
    assert "Manager&#39;s job" in html and "Agent&#39;s job" not in html


def test_home_page_shows_the_agents_queues_with_counts(client_for, users):
    account = factories.make_account("Home Co")
    order = factories.make_order(account, lines=1)
    mine = factories.make_case(account, order=order, state=CaseState.NEW)
    mine.assigned_to_id = users["agent"].id
    factories.make_case(account, order=order, state=CaseState.NEW)
    factories.make_case(account, order=order, state=CaseState.CLOSED)
    db.session.commit()
    agent = client_for("agent")
    html = body(agent.get("/"))
    by_label = {label: number for number, label in re.findall(
        r'<span class="home-queue-count badge">(.*?)</span>\s*<h4 class="home-queue-label">(.*?)</h4>', html
    )}
    assert by_label["My open cases"] == "1"
    assert by_label["Unassigned cases"] == "1"
    assert by_label["Open cases"] == "2"
    assert "Customer Orders" in by_label
    # Each queue link opens a list that really shows those cases.
    links = dict((label, href) for href, label in re.findall(
        r'<a class="home-queue panel panel-default" href="(.*?)">.*?<h4 class="home-queue-label">(.*?)</h4>', html, re.S
    ))
    my_list = body(agent.get(links["My open cases"].replace("&amp;", "&")))
    assert mine.number in my_list
    open_list = body(agent.get(links["Open cases"].replace("&amp;", "&")))
    assert mine.number in open_list
    closed = db.session.query(OrderCase).filter_by(state=CaseState.CLOSED).one()
    assert closed.number not in open_list
    unassigned = body(agent.get(links["Unassigned cases"].replace("&amp;", "&")))
    assert mine.number not in unassigned


def test_home_my_tasks_counts_case_and_line_tasks(client_for, users):
    from app.core.choices import TaskState
    from app.models import CaseLineTask, CaseTask

    account = factories.make_account("Tasks Co")
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.NEW)
    line = case.lines[0]
    agent_id = users["agent"].id
    db.session.add_all([
        CaseTask(case=case, subject="Check stock", assigned_to_id=agent_id),
        CaseLineTask(case=case, case_line=line, subject="Call carrier", assigned_to_id=agent_id),
        CaseLineTask(case=case, case_line=line, subject="Done already", assigned_to_id=agent_id,
                     state=TaskState.CLOSED_COMPLETE),
    ])
    db.session.commit()
    html = body(client_for("agent").get("/"))
    by_label = {label: number for number, label in re.findall(
        r'<span class="home-queue-count badge">(.*?)</span>\s*<h4 class="home-queue-label">(.*?)</h4>', html
    )}
    assert by_label["My tasks"] == "2"


def test_home_page_counts_are_capped(client_for, monkeypatch):
    from app.home import page as home

    monkeypatch.setattr(home, "COUNT_CAP", 2)
    account = factories.make_account("Busy Co")
    order = factories.make_order(account, lines=1)
    for _ in range(3):
        factories.make_case(account, order=order, state=CaseState.NEW)
    assert ">2+</span>" in body(client_for("agent").get("/"))


def test_anonymous_home_goes_to_login_and_customers_get_no_queues(client_for):
    response = client_for(None).get("/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    html = body(client_for("customer").get("/"))
    assert "home-queue" not in html and "My open cases" not in html


# --- nothing from the internet ------------------------------------------------------------------------

EXTERNAL = re.compile(r'''(?:src|href|action)\s*=\s*["']\s*((?:https?:)?//[^"']*)''', re.I)


def test_no_page_loads_anything_from_outside_the_application(client_for):
    account = factories.make_account("Offline Co")
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order)
    interaction = Interaction(channel=InteractionChannel.EMAIL, account=account, short_description="Mail")
    db.session.add(interaction)
    db.session.commit()
    pages = {
        "agent": ["/", "/ordercaseview/list/", f"/ordercaseview/show/{case.id}", "/customerorderview/list/",
                  f"/customerorderview/show/{order.id}", f"/accountview/show/{account.id}",
                  f"/interactionview/show/{interaction.id}", "/interactionview/add", "/mytasksview/list/",
                  "/users/userinfo/"],
        "admin": ["/", "/accountview/add", f"/accountview/edit/{account.id}", "/sladefinitionview/add",
                  "/users/list/", "/roles/list/", "/assignmentgroupview/add"],
    }
    pages[None] = ["/login/"]
    for role, urls in pages.items():
        client = client_for(role)
        for url in urls:
            response = client.get(url, follow_redirects=True)
            assert response.status_code == 200, f"{url} as {role}: {response.status_code}"
            external = [
                link for link in EXTERNAL.findall(body(response))
                if not re.match(r"(?:https?:)?//(localhost|127\.0\.0\.1)(?::\d+)?/", link)
            ]
            assert not external, f"{url} as {role} loads {external}"


def test_a_checkbox_can_be_cleared(client_for):
    offering = factories.make_offering("Retired")
    response = client_for("manager").submit(f"/productofferingview/edit/{offering.id}", {
        "name": "Retired", "unit_price": "10.00", "currency": "USD", "price_type": PriceType.ONE_TIME,
        "expected_version": str(offering.version),
    })
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ProductOffering, offering.id).active is False

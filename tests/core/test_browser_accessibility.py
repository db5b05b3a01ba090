"""axe-core (WCAG 2 A and AA) on every page type of the back office and the portal, on the demo data set:
no critical and no serious violation. Run with -s to see the counts per page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.choices import CaseState
from app.core.extensions import db as database
from app.models import (
    Account,
    CartItem,
    CaseLineTask,
    CaseTask,
    Contact,
    CustomerOrder,
    Interaction,
    OrderCase,
    OrderCaseLine,
    OrderLineItem,
    ProductOffering,
    ProductSpecification,
    Quote,
)
from tests import factories
from tests.accessibility import axe_violations, blocking, impact_counts
from tests.conftest import demo_data_loaded

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def clean_tables(app, db):
    """Overrides the per-test wipe: this module's tests read one loaded demo data set."""
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()


@pytest.fixture(scope="module")
def demo(app, db):
    with demo_data_loaded(app, db) as result:
        yield {login.role: login for login in result.logins}


def first_id(model, *criteria):
    return database.session.execute(select(model.id).where(*criteria).order_by(model.id).limit(1)).scalar_one()


def case_in(state):
    return first_id(OrderCase, OrderCase.state == state)


def back_office_pages() -> dict[str, str]:
    """One address per back-office page type (as the admin, who reaches them all)."""
    wip = case_in(CaseState.WORK_IN_PROGRESS)
    open_line = first_id(OrderCaseLine, OrderCaseLine.case_id == wip)
    order = first_id(CustomerOrder)
    return {
        "home": "/",
        "dashboard": "/dashboard/",
        "case list": "/ordercaseview/list/",
        "case line list": "/ordercaselineview/list/",
        "case (Draft)": f"/ordercases/{case_in(CaseState.DRAFT)}",
        "case (Work in Progress)": f"/ordercases/{wip}",
        "case (Resolved)": f"/ordercases/{case_in(CaseState.RESOLVED)}",
        "case (Closed)": f"/ordercases/{case_in(CaseState.CLOSED)}",
        "case type selector": "/ordercases/create/",
        "case intake": "/ordercases/create/intake?service_id=1",
        "case edit": f"/ordercases/{wip}/edit",
        "case e-mail": f"/ordercases/{wip}/email",
        "case cancel (confirmation)": f"/ordercases/{case_in(CaseState.DRAFT)}/action/cancel",
        "add lines picker": f"/ordercases/{case_in(CaseState.DRAFT)}/add-lines",
        "new case line": f"/ordercases/{case_in(CaseState.DRAFT)}/new-line",
        "case line edit": f"/ordercases/line/{open_line}/edit",
        "line action (Accept)": f"/ordercases/line/{open_line}/action/accept",
        "case task": f"/tasks/case/{first_id(CaseTask)}/",
        "case line task": f"/tasks/line/{first_id(CaseLineTask)}/",
        "my tasks": "/mytasksview/list/",
        "customer order list": "/customerorderview/list/",
        "customer order": f"/customerorderview/show/{order}",
        "customer order form": "/customerorderview/add",
        "order line": f"/orderlineitemview/show/{first_id(OrderLineItem)}",
        "quote list": "/quoteview/list/",
        "quote": f"/quoteview/show/{first_id(Quote)}",
        "interaction list": "/interactionview/list/",
        "interaction": f"/interactionview/show/{first_id(Interaction)}",
        "inventory list": "/productinventoryview/list/",
        "account list": "/accountview/list/",
        "account": f"/accountview/show/{first_id(Account)}",
        "account form": f"/accountview/edit/{first_id(Account)}",
        "contact": f"/contactview/show/{first_id(Contact)}",
        "offering": f"/productofferingview/show/{first_id(ProductOffering)}",
        "specification": f"/productspecificationview/show/{first_id(ProductSpecification)}",
        "at-risk list": "/atriskcasesview/list/",
        "notification outbox": "/notificationview/list/",
        "e-mail templates": "/emailtemplateview/list/",
        "e-mail template form": "/emailtemplateview/add",
        "inbound e-mail": "/inboundemailview/list/",
        "SLA definitions": "/sladefinitionview/list/",
        "users": "/users/list/",
        "profile": "/users/userinfo/",
        "user statistics": "/userstatschartview/chart/",
        "not found": "/ordercases/999999999",
        "service order list": "/serviceorderview/list/",
        "quote form": "/quoteview/add",
        "order edit": f"/customerorderview/edit/{order}",
        "operations": "/operations/",
        "exchange connections": "/exchange/connections/",
        "exchange connection form": "/exchange/connections/new",
        **finding_pages(),
    }


def finding_pages() -> dict[str, str]:
    """Search, quick search and the approvals inbox (issue 15), with results to show."""
    word = database.session.execute(select(OrderCase.short_description).order_by(OrderCase.id).limit(1)
                                    ).scalar_one().split()[0]
    return {
        "search results": f"/search/?q={word}",
        "search, one group paged": f"/search/?q={word}&group=cases",
        "search, nothing found": "/search/?q=ORDCS9999999",
        "quick search on a list": f"/ordercaseview/list/?q={word}",
        "approvals inbox": "/approvals/",
    }


# FAB list actions that answer with a form: (list, action).
BULK_FORMS = {
    "bulk Reassign form": ("/ordercaseview/list/", "reassign_selected"),
    "bulk Set priority form": ("/ordercaseview/list/", "priority_selected"),
    "bulk Reject form": ("/customerorderview/list/", "reject_selected"),
}
# The list's own action form, posted with the ticked rows (what FAB's action menu does).
POST_ACTION = """(action) => {
    const form = document.getElementById("action_form");
    form.querySelector("#action").value = action;
    document.querySelectorAll("input.action_check:checked").forEach((box) => {
        const row = document.createElement("input");
        row.type = "hidden"; row.name = "rowid"; row.value = box.value;
        form.appendChild(row);
    });
    form.submit();
}"""


def portal_pages() -> dict[str, str]:
    contact_id, customer_account = database.session.execute(
        select(Contact.id, Contact.account_id).where(Contact.user_id.is_not(None))).one()
    case = first_id(OrderCase, OrderCase.account_id == customer_account)
    order = first_id(CustomerOrder, CustomerOrder.account_id == customer_account)
    draft = database.session.scalar(select(OrderCase).where(
        OrderCase.account_id == customer_account, OrderCase.state == CaseState.DRAFT, OrderCase.lines.any()).limit(1))
    if draft is None:  # the demo customer has no Draft case: one to open the change form of
        with_lines = database.session.scalar(select(CustomerOrder).where(
            CustomerOrder.account_id == customer_account, CustomerOrder.lines.any()).limit(1))
        draft = factories.make_case(with_lines.account, order=with_lines, order_lines=[with_lines.lines[0]])
    draft, draft_line = draft.id, draft.lines[0].id
    if not database.session.scalar(select(CartItem.id).where(CartItem.contact_id == contact_id).limit(1)):
        offering = database.session.get(ProductOffering, first_id(ProductOffering, ProductOffering.active.is_(True)))
        database.session.add(CartItem(contact_id=contact_id, offering_id=offering.id, quantity=2,
                                      characteristics={}))
        database.session.commit()
    return {
        "portal change form": f"/portal/cases/{draft}/lines/{draft_line}/edit",
        "portal catalog (searched)": "/portal/catalog/?q=laptop&category=product",
        "portal cart": "/portal/cart/",
        "portal settings": "/portal/settings",
        "portal home": "/portal/",
        "portal cases": "/portal/cases/",
        "portal case": f"/portal/cases/{case}/",
        "portal new case": "/portal/cases/new",
        "portal orders": "/portal/orders/",
        "portal order": f"/portal/orders/{order}/",
        "portal products": "/portal/products/",
        "portal catalog": "/portal/catalog/",
        "portal search": f"/portal/search/?q={database.session.get(OrderCase, case).short_description.split()[0]}",
    }


def sign_in(browser, live_server, login, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", login.username)
    page.fill("input[name=password]", login.password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state("load")
    return context, page


def audit(page, live_server, pages: dict[str, str], fits: list[str] | None = None) -> dict[str, dict]:
    """axe on each page; with *fits*, also collect the pages that scroll sideways."""
    results = {}
    for name, path in pages.items():
        response = page.goto(f"{live_server}{path}")
        assert response.status < 500, f"{name} ({path}) answered {response.status}"
        results[name] = axe_violations(page)
        if fits is not None and not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
            fits.append(f"{name} scrolls sideways")
    return results


def report(results: dict[str, list], size: str) -> list[str]:
    failures = []
    for name, violations in results.items():
        counts = impact_counts(violations)
        print(f"axe {size:7} {name:28} critical={counts.get('critical', 0)} serious={counts.get('serious', 0)} "
              f"moderate={counts.get('moderate', 0)} minor={counts.get('minor', 0)}")
        failures += [f"{name}: {v['rule']} ({v['impact']}) {v['nodes'][:3]}" for v in blocking(violations)]
    return failures


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_critical_or_serious_violation_on_any_back_office_page(browser, live_server, demo, viewport):
    context, page = sign_in(browser, live_server, demo["admin"], viewport)
    try:
        failures = report(audit(page, live_server, back_office_pages()), "desktop" if viewport is DESKTOP else "phone")
    finally:
        context.close()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_critical_or_serious_violation_on_the_bulk_action_forms(browser, live_server, demo, viewport):
    context, page = sign_in(browser, live_server, demo["admin"], viewport)
    results = {}
    try:
        for name, (list_path, action) in BULK_FORMS.items():
            page.goto(f"{live_server}{list_path}")
            boxes = page.locator("input.action_check")
            for index in range(2):
                boxes.nth(index).check()
            with page.expect_navigation():
                page.evaluate(POST_ACTION, action)
            assert page.locator("form textarea, form select").count(), f"{name} did not open a form"
            results[name] = axe_violations(page)
        failures = report(results, "desktop" if viewport is DESKTOP else "phone")
    finally:
        context.close()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_critical_or_serious_violation_on_any_portal_page(browser, live_server, demo, viewport):
    """And no portal page scrolls sideways, on the phone or the desktop."""
    context, page = sign_in(browser, live_server, demo["customer"], viewport)
    overflowing: list[str] = []
    try:
        failures = report(audit(page, live_server, portal_pages(), overflowing),
                          "desktop" if viewport is DESKTOP else "phone")
    finally:
        context.close()
    assert not failures, "\n".join(failures)
    assert not overflowing, "\n".join(overflowing)

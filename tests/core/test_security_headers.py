"""Security headers on every kind of response, and pages that still work under the Content-Security-Policy."""
from __future__ import annotations

import re

import pytest

from app.models import CaseTask
from tests import factories
from tests.api.test_rest_api import api_key

EXPECTED = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin"}


def assert_secure_headers(response, what: str) -> str:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, f"{what}: {name} is {response.headers.get(name)!r}"
    policy = response.headers.get("Content-Security-Policy", "")
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'", what
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'", what
    script = directives["script-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, f"{what}: {script}"
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]{20,}'", script), f"{what}: {script}"
    assert "Strict-Transport-Security" not in response.headers, f"{what}: HSTS over plain HTTP"
    return script


def test_every_kind_of_response_carries_the_security_headers(client_for, users):
    account = factories.make_account("Headers Co")
    case = factories.make_case(account)
    order = factories.make_order(account, lines=1)
    anonymous, agent, customer = client_for(None), client_for("agent"), client_for("customer")
    key = api_key(users["integrator"])
    bearer = {"Authorization": f"Bearer {key}"}
    responses = {
        "login page": anonymous.get("/login/"),
        "redirect to login": anonymous.get("/ordercaseview/list/"),
        "home page": agent.get("/"),
        "back-office list": agent.get("/ordercaseview/list/"),
        "case page": agent.get(f"/ordercases/{case.id}"),
        "order page": agent.get(f"/customerorderview/show/{order.id}"),
        "add form": agent.get("/interactionview/add"),
        "refused list address": agent.get("/ordercaseview/list/?page_OrderCaseView=abc"),
        "not found page": agent.get("/no-such-page"),
        "forbidden page": customer.get("/ordercaseview/list/"),
        "portal page": customer.get("/portal/"),
        "static file": anonymous.get("/static/css/orderdesk.css"),
        "framework static file": anonymous.get("/static/appbuilder/js/ab.js"),
        "health check": anonymous.get("/health"),
        "REST answer": anonymous.get("/api/v1/auth/me", headers=bearer),
        "REST refusal": anonymous.get("/api/v1/auth/me"),
        "OpenAPI document": anonymous.get("/api/v1/openapi.json"),
        "Swagger UI": anonymous.get("/api/v1/docs"),
        "TMF answer": anonymous.get("/tmf-api/productOrderingManagement/v4/productOrder", headers=bearer),
        "TMF refusal": anonymous.get("/tmf-api/productOrderingManagement/v4/productOrder"),
    }
    statuses = {what: response.status_code for what, response in responses.items()}
    assert statuses["redirect to login"] == 302 and statuses["not found page"] == 404, statuses
    assert statuses["refused list address"] == 400 and statuses["REST refusal"] == 401, statuses
    assert all(status == 200 for what, status in statuses.items()
               if what not in {"redirect to login", "not found page", "refused list address", "forbidden page",
                               "REST refusal", "TMF refusal"}), statuses
    nonces = set()
    for what, response in responses.items():
        nonces.add(assert_secure_headers(response, what))
    assert len(nonces) == len(responses), "every response has its own nonce"
    # A page's inline scripts carry the nonce of its own policy.
    page = responses["back-office list"]
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"]).group(1)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page.get_data(as_text=True))
    assert inline and all(f'nonce="{nonce}"' in attributes for attributes in inline), inline


def test_hsts_is_sent_over_https(client_for):
    response = client_for(None).get("/login/", base_url="https://orderdesk.example")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_no_template_uses_an_inline_event_handler_or_an_inline_script_without_nonce():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "app" / "templates"
    offending = []
    for path in templates.rglob("*.html"):
        source = path.read_text()
        if re.search(r"\son[a-z]+\s*=", source) or re.search(r"<script(?![^>]*\b(src|nonce)=)[^>]*>", source):
            offending.append(str(path.relative_to(templates)))
    assert offending == []


# ----------------------------------------------------------------------------------------------------
# In a real browser: the policy blocks nothing the pages need


COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI + " " + event.sourceFile + ":"
                              + event.lineNumber);
});
"""


@pytest.mark.browser
def test_back_office_portal_and_swagger_ui_work_under_the_policy(page_as, live_server, users, db):
    account = factories.make_account("Browser Co")
    from app.models import Contact

    db.session.add(Contact(account=account, first_name="Cus", last_name="Tomer", user_id=users["customer"].id))
    db.session.commit()
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order, [order.lines[0]])
    task = CaseTask(case=case, subject="Check the stock")
    db.session.add(task)
    db.session.commit()

    agent = page_as("agent")
    agent.context.add_init_script(COLLECT_VIOLATIONS)
    checked = []
    for path, ready in [
        ("/", "body"),
        ("/ordercaseview/list/", "table"),
        (f"/ordercases/{case.id}", "body"),
        (f"/customerorderview/show/{order.id}", "body"),
        (f"/tasks/case/{task.id}/", "body"),
        ("/interactionview/add", ".select2-container"),  # Select2 started by FAB's own script
        ("/dashboard/", "body"),
        ("/api/v1/docs", ".opblock"),  # Swagger UI rendered the operations
    ]:
        agent.goto(f"{live_server}{path}")
        agent.wait_for_selector(ready, state="attached")
        agent.wait_for_load_state("networkidle")
        assert agent.evaluate("window.__cspViolations") == [], path
        checked.append(path)

    # Behaviour moved out of inline handlers still works: the case's delete asks first.
    admin = page_as("admin")
    admin.context.add_init_script(COLLECT_VIOLATIONS)
    admin.goto(f"{live_server}/ordercases/{case.id}")
    admin.locator("form[data-confirm] [type=submit]", has_text="Delete case").click()
    admin.locator(".od-confirm-message").wait_for()
    assert "cannot be undone" in admin.locator(".od-confirm-message").inner_text()
    admin.locator(".od-confirm-cancel").click()
    admin.wait_for_timeout(300)
    assert admin.url.endswith(f"/ordercases/{case.id}"), "a dismissed confirmation must not delete"
    assert db.session.get(type(case), case.id) is not None
    assert admin.evaluate("window.__cspViolations") == []

    customer = page_as("customer")
    customer.context.add_init_script(COLLECT_VIOLATIONS)
    customer.goto(f"{live_server}/portal/cases")
    with customer.expect_navigation():
        customer.locator("select#state").select_option(index=1)
    assert "state=" in customer.url, "choosing a state sends the filter form"
    customer.goto(f"{live_server}/portal/cases/{case.id}")
    customer.wait_for_load_state("networkidle")
    assert customer.evaluate("window.__cspViolations") == []

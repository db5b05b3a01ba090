"""Role × URL × status over every GET endpoint of every registered view.

The endpoints come from ``app.url_map`` and ``appbuilder.baseviews``, and the expected status from the
roles' permissions in the database, so a view another module registers later is covered without
touching this file: 200 (or a redirect inside the application) where the role holds the endpoint's
permission, 403 where it does not, and a redirect to the login page for anonymous visitors. Separate
tests state the policy itself, independent of the database: admin reaches everything, agents reach
no administration or security page, customers and integrators reach no back-office page.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from flask import g
from flask_appbuilder.api import BaseApi
from flask_appbuilder.baseviews import BaseView
from flask_appbuilder.const import PERMISSION_PREFIX

from app.core import roles
from app.core.choices import (
    CaseState,
    EnrichmentKind,
    InteractionChannel,
    InventoryState,
    JournalKind,
    LineState,
    OrderType,
    SlaKind,
    SlaTarget,
)
from app.core.extensions import db
from app.models import (
    AuditEvent,
    CaseLineCharacteristic,
    CaseLineTask,
    CaseTask,
    CustomerOrder,
    EnrichmentIssue,
    InventoryCharacteristic,
    Interaction,
    JournalEntry,
    Notification,
    OrderCase,
    OrderCaseLine,
    OrderChange,
    OrderLineItem,
    ProductInventory,
    Quote,
    QuoteLine,
    SlaDefinition,
    TaskSla,
)
from app.exchange.models import ExchangeConnection
from tests import factories

ANONYMOUS = None
MATRIX_ROLES = (roles.ADMIN, roles.MANAGER, roles.AGENT, roles.CUSTOMER, roles.INTEGRATOR, ANONYMOUS)
# Requesting these would end or restart the client's session, not show a page (the sign-in view is
# Flask-AppBuilder's or the application's own subclass of it).
SESSION_METHODS = ("login", "logout")
PARAM_RE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
FAB_SECURITY_MODULE = "flask_appbuilder.security"


@dataclass(frozen=True)
class Endpoint:
    view: BaseView
    endpoint: str
    rule: str
    permission: str | None  # None: the view does not protect this endpoint with a permission

    @property
    def view_name(self) -> str:
        return self.view.class_permission_name

    @property
    def offered(self) -> bool:
        """The view offers this permission at all (FAB answers 403 to everyone otherwise)."""
        return self.permission in self.view.base_permissions

    @property
    def is_security(self) -> bool:
        # FAB's security views, or the application's subclass of one (the role pages).
        return any(cls.__module__.startswith(FAB_SECURITY_MODULE) for cls in type(self.view).__mro__[:2])


def page_endpoints(app) -> list[Endpoint]:
    """Every GET endpoint of every registered (non-API) view, with the permission that guards it."""
    views = {view.endpoint: view for view in app.appbuilder.baseviews if not isinstance(view, BaseApi)}
    found = []
    for rule in app.url_map.iter_rules():
        session_endpoints = {f"{app.appbuilder.sm.auth_view.endpoint}.{method}" for method in SESSION_METHODS}
        if "GET" not in rule.methods or "." not in rule.endpoint or rule.endpoint in session_endpoints:
            continue
        blueprint, method = rule.endpoint.split(".", 1)
        view = views.get(blueprint)
        if view is None:
            continue
        function = app.view_functions[rule.endpoint]
        permission = getattr(function, "_permission_name", None)
        if permission is not None:
            override = (view.method_permission_name or {}).get(method)
            permission = PERMISSION_PREFIX + (override or permission.removeprefix(PERMISSION_PREFIX))
        found.append(Endpoint(view, rule.endpoint, rule.rule, permission))
    return sorted(found, key=lambda e: e.rule)


def role_grants(sm, role_name: str) -> set[tuple[str, str]]:
    role = sm.find_role(role_name)
    return {(pvm.permission.name, pvm.view_menu.name) for pvm in role.permissions}


def build_records(user_ids: dict[str, int], role: str | None) -> None:
    """At least one committed row of every model a view shows, linked the way real data is."""
    account = factories.make_account("Matrix Co")
    offering = factories.make_offering("Matrix widget")
    order = factories.make_order(account, lines=2, offering=offering)
    service_order = factories.make_order(account, lines=1, order_type=OrderType.SERVICE, offering=offering)
    group = factories.make_group("Matrix desk", [user_ids[roles.AGENT], user_ids[roles.MANAGER]])
    case = factories.make_case(account, order=order, order_lines=list(order.lines),
                               state=CaseState.NEW, line_state=LineState.NEW)
    case_line = case.lines[0]
    # My Tasks only shows the signed-in user's tasks: give this role's user one.
    assignee = user_ids.get(role) or user_ids[roles.AGENT]
    inventory = ProductInventory(name="Installed widget", account=account, offering=offering,
                                 specification=offering.specification, location=account.shipping_location,
                                 state=InventoryState.ACTIVE, order_line=order.lines[0])
    inventory.characteristics.append(InventoryCharacteristic(name="Colour", value="Red"))
    sla = SlaDefinition(name="Matrix response", applies_to=SlaTarget.CASE, kind=SlaKind.RESPONSE, target_minutes=240)
    now = dt.datetime(2024, 1, 1, 9, 0)
    db.session.add_all([inventory, sla])
    with db.session.no_autoflush:
        rows = [
            CaseLineCharacteristic(case_line=case_line, name="Colour", value="Red"),
            CaseTask(case=case, subject="Call the customer", assigned_to_id=assignee, assignment_group=group),
            CaseLineTask(case_line=case_line, case=case, subject="Check stock", assigned_to_id=assignee),
            Interaction(channel=InteractionChannel.PHONE, account=account, contact=account.primary_contact,
                        short_description="Customer called about an order"),
            Quote(account=account, contact=account.primary_contact,
                  lines=[QuoteLine(offering=offering, quantity=2, unit_price=Decimal("10.00"))]),
            EnrichmentIssue(order=service_order, kind=EnrichmentKind.LOCATION, reference="site-9",
                            description="Unknown site site-9"),
            OrderChange(order=order, order_line=order.lines[0], case_line=case_line, field="quantity",
                        old_value="5", new_value="6", user_id=assignee),
            JournalEntry(record_type="order_case", record_id=case.id, case_id=case.id, kind=JournalKind.COMMENT,
                         text="Hello"),
            AuditEvent(record_type="order_case", record_id=case.id, case_id=case.id, action="Submit"),
            Notification(event="case_assigned", recipient_email="a@example.test", subject="s", body="b"),
            ExchangeConnection(name="Matrix provider", our_role="consumer", peer_url="http://127.0.0.1:9",
                               own_url="http://127.0.0.1:8", api_key="sst_matrix", active=False),
        ]
        db.session.add_all(rows)
    db.session.flush()
    db.session.add(TaskSla(definition=sla, case_id=case.id, started_at=now, planned_due_at=now))
    db.session.commit()


def first_visible_pk(app, view, user_id: int):
    """The id of a record the view shows to this user (base filters applied), or None."""
    if not hasattr(view, "datamodel") or not hasattr(view, "_base_filters"):
        return None
    from flask_appbuilder.security.sqla.models import User

    with app.test_request_context():
        g.user = db.session.get(User, user_id)
        _count, items = view.datamodel.query(view._base_filters, page=0, page_size=1)
        return view.datamodel.get_pk_value(items[0]) if items else None


# Records behind URL parameters that the view's own model does not explain: by parameter name, and by
# URL prefix for the pk of views without a model. A parameter nothing here explains is still checked
# for refusals; a granted role may then get 404.
PARAM_MODELS = {"line_id": OrderLineItem, "case_id": OrderCase, "order_id": CustomerOrder,
                "case_line_id": OrderCaseLine, "task_id": CaseTask}
RULE_PK_MODELS = ((r"^/ordercases/line/", OrderCaseLine), (r"^/ordercases/", OrderCase),
                  (r"^/exchange/connections/", ExchangeConnection))
FIXED_PARAMS = {"group_by": "0"}
# Names of files and actions are not records: a made-up one exercises the permission check only.
PLACEHOLDER_PARAMS = {"filename": "missing.csv", "name": "missing"}


def first_id(model, parent_model=None, parent_id=None):
    """The first row of *model*, preferring one that belongs to the parent record."""
    query = db.session.query(model.id)
    if parent_model is not None and parent_id is not None:
        for column in model.__table__.columns:
            if any(fk.column.table is parent_model.__table__ for fk in column.foreign_keys):
                query = query.filter(column == parent_id)
                break
    return query.order_by(model.id).limit(1).scalar()


def fill(rule: str, view_model, view_pk) -> tuple[str, bool]:
    """The rule with real ids filled in, and whether every parameter could be resolved."""
    pk_model, pk = view_model, view_pk
    if view_model is None:
        for pattern, model in RULE_PK_MODELS:
            if re.match(pattern, rule):
                pk_model, pk = model, first_id(model)
                break
    resolved = True

    def value(match) -> str:
        nonlocal resolved
        name = match.group(1)
        if name in FIXED_PARAMS:
            return FIXED_PARAMS[name]
        if name in PLACEHOLDER_PARAMS:
            resolved = False
            return PLACEHOLDER_PARAMS[name]
        if name == "pk":
            found = pk
        else:
            model = PARAM_MODELS.get(name)
            found = first_id(model, pk_model, pk) if model is not None else None
        if found is None:
            resolved = False
            return "0"
        return str(found)

    return PARAM_RE.sub(value, rule), resolved


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path.rstrip("/").endswith("/login")


def is_inner_redirect(response) -> bool:
    if response.status_code not in (301, 302, 303):
        return False
    target = urlsplit(response.headers["Location"])
    return target.netloc in ("", "localhost") and not is_login_redirect(response)


# One sweep per role per session: the policy tests reuse the matrix's observations.
_OBSERVED: dict = {}


def observe(app, client_for, users, role) -> tuple[list[Endpoint], dict[str, object], set]:
    """Request every endpoint as *role* (once); returns endpoints, responses by endpoint, role grants."""
    if role not in _OBSERVED:
        _OBSERVED[role] = _sweep(app, client_for, users, role)
    return _OBSERVED[role]


def _sweep(app, client_for, users, role):
    user_ids = {name: login.id for name, login in users.items()}
    build_records(user_ids, role)
    endpoints = page_endpoints(app)
    lookup_user = user_ids[role] if role else user_ids[roles.ADMIN]
    pks = {}
    for endpoint in endpoints:
        if endpoint.view.endpoint not in pks:
            pks[endpoint.view.endpoint] = first_visible_pk(app, endpoint.view, lookup_user)
    grants = role_grants(app.appbuilder.sm, role) if role else set()
    client = client_for(role)
    responses = {}
    for endpoint in endpoints:
        view_model = getattr(getattr(endpoint.view, "datamodel", None), "obj", None)
        url, resolved = fill(endpoint.rule, view_model, pks[endpoint.view.endpoint])
        responses[endpoint.endpoint + " " + endpoint.rule] = (url, resolved, client.get(url))
    return endpoints, responses, grants


def verdict(endpoint: Endpoint, role, grants, url, resolved, response) -> str | None:
    """What is wrong with *response*, or None when it is what the role's permissions promise."""
    status = response.status_code
    if status >= 500:
        return f"{url}: {status} server error"
    if endpoint.permission is None:
        # Not guarded by a permission (e.g. GET on an action): it must not show a page to anyone.
        return None if status != 200 or role is not None else f"{url}: anonymous got 200"
    if role is None or role in roles.API_ONLY_ROLES:
        # API-only accounts are refused at the web sign-in: to the pages they are anonymous visitors.
        return None if is_login_redirect(response) else f"{url}: {role or 'anonymous'} got {status}, expected login redirect"
    granted = endpoint.offered and (endpoint.permission, endpoint.view_name) in grants
    if not granted:
        return None if status == 403 else f"{url}: {role} got {status}, expected 403 ({endpoint.permission})"
    if status == 200 or is_inner_redirect(response):
        return None
    if status == 404 and not resolved:
        return None  # no record to fill the URL with is visible to the user; access itself was granted
    return f"{url}: {role} got {status}, expected 200 ({endpoint.permission} on {endpoint.view_name})"


@pytest.mark.parametrize("role", MATRIX_ROLES, ids=lambda r: r or "anonymous")
def test_every_endpoint_answers_as_the_role_permissions_say(app, client_for, users, role):
    endpoints, responses, grants = observe(app, client_for, users, role)
    assert len(endpoints) > 100, "the matrix found suspiciously few endpoints"
    problems = []
    for endpoint in endpoints:
        url, resolved, response = responses[endpoint.endpoint + " " + endpoint.rule]
        problem = verdict(endpoint, role, grants, url, resolved, response)
        if problem:
            problems.append(problem)
    assert not problems, f"{len(problems)} endpoint(s) disagree with the roles:\n" + "\n".join(problems)
    if role in roles.BACK_OFFICE_RANK:
        codes = [responses[e.endpoint + " " + e.rule][2].status_code for e in endpoints if e.permission]
        assert codes.count(200) > 20 and (role == roles.ADMIN or codes.count(403) > 20)


def statuses(app, client_for, users, role) -> dict[Endpoint, int]:
    endpoints, responses, _grants = observe(app, client_for, users, role)
    return {e: responses[e.endpoint + " " + e.rule][2].status_code for e in endpoints}


def own_profile(endpoint: Endpoint) -> bool:
    return (endpoint.permission, endpoint.view_name) in set(roles.OWN_PROFILE)


def test_admin_reaches_every_page_its_views_offer(app, client_for, users):
    observed = statuses(app, client_for, users, roles.ADMIN)
    refused = [f"{e.rule} → {s}" for e, s in observed.items() if e.permission and e.offered and s in (401, 403)]
    assert not refused, "admin is refused:\n" + "\n".join(refused)
    # Offered pages of the whole application, incl. Administration and Security, really render.
    for endpoint, status in observed.items():
        if endpoint.permission in ("can_list",) and endpoint.offered:
            assert status == 200, f"{endpoint.rule} answered {status} to admin"


def test_agent_reaches_no_administration_or_security_page(app, client_for, users):
    observed = statuses(app, client_for, users, roles.AGENT)
    administration = [e for e in observed if e.view_name in roles.ADMINISTRATION_VIEWS and e.permission]
    security = [e for e in observed if e.is_security and e.permission and not own_profile(e)]
    assert {e.view_name for e in administration} == set(roles.ADMINISTRATION_VIEWS)
    assert {"UserDBModelView", "RoleModelView", "PermissionModelView"} <= {e.view_name for e in security}
    reached = [f"{e.rule} → {observed[e]}" for e in administration + security if observed[e] != 403]
    assert not reached, "agent reaches:\n" + "\n".join(reached)
    # ...while their own work is open to them.
    assert observed[next(e for e in observed if e.endpoint == "OrderCaseView.list")] == 200
    assert observed[next(e for e in observed if e.endpoint == "UserDBModelView.userinfo")] == 200


@pytest.mark.parametrize("role", (roles.CUSTOMER, roles.INTEGRATOR))
def test_customers_and_integrators_reach_no_back_office_page(app, client_for, users, role):
    back_office = set(
        roles.CASE_WORK_VIEWS + roles.ORDER_VIEWS + roles.REFERENCE_VIEWS + roles.LEDGER_VIEWS
        + roles.ADMINISTRATION_VIEWS
    )
    endpoints, responses, _grants = observe(app, client_for, users, role)
    observed = {e: responses[e.endpoint + " " + e.rule][2] for e in endpoints}
    checked = [e for e in observed if e.permission and (e.view_name in back_office or e.is_security)]
    assert back_office <= {e.view_name for e in checked}
    reached = [f"{e.rule} → {observed[e].status_code}" for e in checked
               if observed[e].status_code != 403 and not is_login_redirect(observed[e])]
    assert not reached, f"{role} reaches:\n" + "\n".join(reached)


@pytest.mark.parametrize("role", (roles.MANAGER, roles.AGENT))
def test_views_no_role_mentions_are_admin_only(app, client_for, users, role):
    mentioned = {view for grants in roles.ROLE_PERMISSIONS.values() for _permission, view in grants}
    observed = statuses(app, client_for, users, role)
    unmentioned = [e for e in observed if e.permission and e.view_name not in mentioned]
    assert unmentioned, "expected FAB's own views at least"
    reached = [f"{e.rule} → {observed[e]}" for e in unmentioned if observed[e] != 403]
    assert not reached, f"{role} reaches views no role grants:\n" + "\n".join(reached)


@pytest.mark.parametrize("role", (roles.CUSTOMER, roles.INTEGRATOR))
def test_customers_and_integrators_see_no_back_office_menu(client_for, role):
    # A customer's home is the portal (/ redirects there); it has its own menu, none of the back office's.
    page = client_for(role).get("/", follow_redirects=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for label in (*roles.BACK_OFFICE_MENUS, "Administration", "Security", "List Users"):
        assert not re.search(r">\s*" + re.escape(label) + r"\s*<", html), f"{role} sees the {label} menu"


def test_the_type_ahead_look_ups_are_in_the_matrix_open_to_the_back_office_only(app, client_for, users):
    """The look-ups of the forms' relation fields (app/orders/lookups.py) and the fields refreshed in place
    (app/orders/form_fields.py) answer JSON or a fragment to whoever may list the records or fill the form,
    and to no customer."""
    lines = ("/line/<pk>/characteristics", "/line/<pk>/characteristics/<line_id>")
    expected = {"/accountview/lookup", "/contactview/lookup", "/locationview/lookup", "/productofferingview/lookup",
                "/customerorderview/parties", "/serviceorderview/parties", "/quoteview/parties",
                *(f"/{view}{rule}" for view in ("customerorderview", "serviceorderview") for rule in lines),
                "/quoteview/line/<pk>/characteristics", "/ordercases/create/parties"}
    for role, status in ((roles.AGENT, 200), (roles.MANAGER, 200), (roles.CUSTOMER, 403)):
        observed = {e.rule: code for e, code in statuses(app, client_for, users, role).items() if e.rule in expected}
        assert observed == dict.fromkeys(expected, status), role

"""Roles as data: which role may open which view and use which permission.

Roles are cumulative (manager = agent + more; admin = everything) and are synced into the security
tables at start-up. A permission or view named here that the application does not register is a typo
or a stale entry: start-up fails loudly rather than silently granting less (or more) than intended.
Everything not granted here is denied.
"""
from __future__ import annotations

from typing import Iterable

ADMIN = "admin"
MANAGER = "manager"
AGENT = "agent"
CUSTOMER = "customer"
INTEGRATOR = "integrator"
ALL_ROLES = (ADMIN, MANAGER, AGENT, CUSTOMER, INTEGRATOR)

# Roles for machine callers of the REST and TMF APIs: an account holding only these may not use the web pages.
API_ONLY_ROLES = (INTEGRATOR,)

# Back-office roles, from least to most powerful; each includes the ones before it.
BACK_OFFICE_RANK = {AGENT: 1, MANAGER: 2, ADMIN: 3}

READ = ("can_list", "can_show")
CREATE = ("can_add",)
UPDATE = ("can_edit",)
DELETE = ("can_delete",)
CRU = READ + CREATE + UPDATE
# Every permission of the Order Cases view. The views sharing it (the case page, the case e-mail page)
# declare the whole set: FAB strips a shared view's permissions missing from any of its views from every
# role while it registers, so a starting instance would briefly take them from users of running ones.
ORDER_CASE_PERMISSIONS = ("can_list", "can_show", "can_add", "can_edit", "can_delete", "can_reassign")

# View class names, grouped by the kind of data they show.
CASE_WORK_VIEWS = (
    "OrderCaseView",
    "OrderCaseLineView",
    "CaseTaskView",
    "CaseLineTaskView",
    "MyTasksView",
    "InteractionView",
    "CaseLineCharacteristicView",
)
ORDER_VIEWS = (
    "CustomerOrderView",
    "ServiceOrderView",
    "OrderLineItemView",
    "OrderLineCharacteristicView",
    "QuoteView",
    "QuoteLineView",
    "EnrichmentIssueView",
)
REFERENCE_VIEWS = (
    "AccountView",
    "ContactView",
    "LocationView",
    "ProductSpecificationView",
    "CharacteristicDefinitionView",
    "ProductOfferingView",
    "ProductInventoryView",
)
# SPEC §8's work lists of order cases (read-only, with the SLA column); At risk and Breached are managers'.
CASE_LIST_VIEWS = ("MyOpenCasesView", "UnassignedCasesView", "OpenCasesView", "AllCasesView")
SLA_LIST_VIEWS = ("AtRiskCasesView", "BreachedCasesView")
LIST_MENUS = ("Lists", "My open cases", "Unassigned cases", "Open cases", "All cases", "My tasks")
MANAGER_MENUS = ("At risk", "Breached", "Approvals", "Reports", "Dashboard")
# Append-only records nobody edits through a form.
LEDGER_VIEWS = ("OrderChangeView",)
ADMINISTRATION_VIEWS = ("ServiceDefinitionView", "AssignmentGroupView", "SlaDefinitionView", "NotificationView",
                        "HolidayCalendarView", "HolidayDateView", "OperationsView")

BACK_OFFICE_MENUS = (
    "Customer Order Management",
    "Order Cases",
    "Order Case Lines",
    "Customer Orders",
    "Service Orders",
    "Order Line Items",
    "Quotes",
    "Interactions",
    "Product Inventory",
    "Accounts",
    "Contacts",
    "Locations",
    "Catalog",
    "Product Specifications",
    "Product Offerings",
    "Tasks",
    "My Tasks",
    "Case Tasks",
    "Case Line Tasks",
    "Inbound e-mail",
)

# Every signed-in back-office user may see and edit their own profile and password.
OWN_PROFILE = (
    ("can_edit", "PreferencesView"),  # My settings: the time zone of the pages
    ("can_userinfo", "UserDBModelView"),
    ("resetmypassword", "UserDBModelView"),
    ("userinfoedit", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"),
)


def grant(views: Iterable[str], permissions: Iterable[str]) -> list[tuple[str, str]]:
    return [(permission, view) for view in views for permission in permissions]


def menus(labels: Iterable[str]) -> list[tuple[str, str]]:
    return [("menu_access", label) for label in labels]


AGENT_PERMISSIONS = [
    *grant(CASE_WORK_VIEWS, CRU),
    # The task pages (app/cases/task_views.py): read a task, Create task, and work it (actions, routing, journal).
    *grant(("TaskPageView",), ("can_show", "can_add", "can_edit")),
    # Agents delete Draft cases and Draft lines only; the workflow enforces the state rule.
    *grant(("OrderCaseView", "OrderCaseLineView"), DELETE),
    *grant(ORDER_VIEWS, CRU),
    # Files on cases, lines, tasks, orders and quotes; deleting is the uploader's or a manager's (app/attachments).
    *grant(("AttachmentView",), ("can_add", "can_show", "can_delete")),
    # The desk mailbox's messages no case took (app/mail): read them and dismiss the dealt-with ones.
    *grant(("InboundEmailView",), (*READ, "can_dismiss")),
    # Order capture and fulfilment; the workflows enforce state and role again.
    *grant(("CustomerOrderView", "ServiceOrderView"), ("can_submit", "can_cancel", "can_fulfil")),
    *grant(("QuoteView",), ("can_transition", "can_create_order")),
    *grant(REFERENCE_VIEWS, READ),
    *grant(LEDGER_VIEWS, READ),
    *grant(CASE_LIST_VIEWS, READ),
    *menus(BACK_OFFICE_MENUS),
    *menus(LIST_MENUS),
    *OWN_PROFILE,
    # Global search (it shows only what the user may open) and the export of any list they may list.
    ("can_search", "GlobalSearchView"),
    ("can_export", "ListExportView"),
]

MANAGER_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    *grant(REFERENCE_VIEWS, CREATE + UPDATE),
    # Approve and reject orders.
    *grant(("CustomerOrderView", "ServiceOrderView"), ("can_approve",)),
    # Invite a customer's contact to the portal, or remove their access (app/portal/onboarding.py).
    ("can_invite", "ContactView"),
    *grant(SLA_LIST_VIEWS, READ),
    ("can_show", "DashboardView"),
    # Reassign and reprioritise ticked cases; the approvals inbox.
    ("can_reassign", "OrderCaseView"),
    ("can_list", "ApprovalsInboxView"),
    *menus(MANAGER_MENUS),
]

# admin is FAB's AUTH_ROLE_ADMIN: it is granted every registered permission.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    AGENT: AGENT_PERMISSIONS,
    MANAGER: MANAGER_PERMISSIONS,
    # The customer portal (app/portal/routes.py); what a customer sees there is limited to their account.
    CUSTOMER: [("can_access", "CustomerPortal")],
    INTEGRATOR: [],
}


class UnknownPermission(RuntimeError):
    """A role grants a permission/view pair the application does not register."""


def sync_roles(sm) -> None:
    """Make the roles in the database exactly what ROLE_PERMISSIONS says; fail on unknown names."""
    session = sm.session
    all_pvms = {(pvm.permission.name, pvm.view_menu.name): pvm for pvm in session.query(sm.permissionview_model)}
    missing = sorted(
        {(role, perm, view) for role, grants in ROLE_PERMISSIONS.items() for perm, view in grants} - {
            (role, perm, view) for role, grants in ROLE_PERMISSIONS.items() for perm, view in grants
            if (perm, view) in all_pvms
        }
    )
    if missing:
        detail = "; ".join(f"{role}: {perm} on {view}" for role, perm, view in missing[:20])
        if len(missing) > 20:
            detail += f"; and {len(missing) - 20} more"
        raise UnknownPermission(f"Role definitions name permissions the application does not register: {detail}")

    for role_name in ALL_ROLES:
        role = sm.find_role(role_name) or sm.add_role(role_name)
        if role_name == ADMIN:
            wanted = list(all_pvms.values())
        else:
            wanted = [all_pvms[pair] for pair in dict.fromkeys(ROLE_PERMISSIONS[role_name])]
        if set(role.permissions) != set(wanted):
            role.permissions = wanted
    public = sm.find_role(sm.auth_role_public)
    if public is not None and public.permissions:
        public.permissions = []
    session.commit()


def ensure_role_rows(session, public_role: str) -> None:
    """Create the role rows before FAB registers views: FAB grants every new permission to admin."""
    from flask_appbuilder.security.sqla.models import Role
    from sqlalchemy.exc import IntegrityError

    existing = {name for (name,) in session.query(Role.name)}
    for name in (*ALL_ROLES, public_role):
        if name not in existing:
            session.add(Role(name=name))
    try:
        session.commit()
    except IntegrityError:
        # Another instance starting at the same moment created them first.
        session.rollback()


def role_names(user) -> set[str]:
    return {role.name for role in getattr(user, "roles", None) or ()}


def has_back_office_role(user, minimum: str) -> bool:
    """True when *user* holds *minimum* or a more powerful back-office role (agent < manager < admin)."""
    needed = BACK_OFFICE_RANK[minimum]
    # The roles themselves, not role_names' set: a case page asks this some 500 times.
    return any(BACK_OFFICE_RANK.get(role.name, 0) >= needed for role in getattr(user, "roles", None) or ())


def is_api_only(user) -> bool:
    """True when every role of *user* is an API-only role (it may not sign in to the web pages)."""
    names = role_names(user)
    return bool(names) and names <= set(API_ONLY_ROLES)

"""Back-office views of reference data, tasks and administration, and the whole menu structure."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_login import current_user
from sqlalchemy import select
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from app.accounts import overview
from app.core.display import capitalised
from app.core.preferences import PreferencesView
from app.attachments import views as attachment_views
from app.attachments.portal import CustomerPortalAttachmentsView
from app.cases import views as case_views
from app.mail import views as mail_views
from app.home import dashboard
from app.operations.views import OperationsView
from app.orders import lookups
from app.orders import views as order_views
from app.sla import views as sla_views
from app.cases import task_views
from app.core.view_support import add_list_refinement
from app.exports.views import ListExportView
from app.orders.approval_views import ApprovalsInboxView
from app.search.quick import quick_search
from app.search.views import GlobalSearchView
from app.exchange.views import ServiceExchangeView
from app.core.choices import (
    InteractionChannel,
    InteractionState,
    InventoryState,
    PriceType,
    Priority,
    SpecKind,
    ValueType,
)
from app.core.extensions import db
from app.home.page import HomeView  # noqa: F401  (configured as the index view in create_app)
from app.portal import onboarding
from app.models import (
    Account,
    AssignmentGroup,
    CaseLineTask,
    CaseTask,
    CharacteristicDefinition,
    Contact,
    Interaction,
    Location,
    OrderCase,
    OrderChange,
    ProductInventory,
    ProductOffering,
    ProductSpecification,
    ServiceDefinition,
)
from app.core.view_support import (
    COMMON_LABELS,
    BackOfficeModelView,
    as_record_id,
    ReadOnlyModelView,
    TypeAheadLookup,
    choice_field,
    current_user_id,
    disable_file_downloads,
)

CURRENCY = [Regexp(r"^[A-Z]{3}$", message="Use a three-letter ISO currency code, e.g. USD.")]
PRICE = [NumberRange(min=0, message="Prices cannot be negative.")]
QUANTITY = [NumberRange(min=1, message="The quantity must be at least 1.")]


def _has(permission: str, view_name: str) -> bool:
    from flask import current_app

    return current_app.appbuilder.sm.has_access(permission, view_name)


def _belongs(form, field_name: str, account_field: str = "account", message: str = "") -> None:
    """Error on *field_name* when the chosen record belongs to another account than the form's account."""
    chosen = form[field_name].data
    account = form[account_field].data if account_field in form else None
    if chosen is not None and account is not None and getattr(chosen, "account_id", None) not in (None, account.id):
        form[field_name].errors.append(message or f"This record belongs to another account than {account}.")


class ContactView(TypeAheadLookup, BackOfficeModelView):
    datamodel = SQLAInterface(Contact)
    list_title = "Contacts"
    show_title = "Contact"
    add_title = "New contact"
    edit_title = "Edit contact"
    list_columns = ["number", "first_name", "last_name", "account", "email", "phone", "active"]
    search_columns = ["number", "first_name", "last_name", "email", "phone", "account", "active"]
    show_columns = ["number", "first_name", "last_name", "account", "email", "phone", "user", "active",
                    "created_on", "changed_on"]
    add_columns = ["account", "first_name", "last_name", "email", "phone", "active"]
    edit_columns = add_columns
    label_columns = {**COMMON_LABELS, "user": "Portal user"}
    validators_columns = {"email": [Optional(), Email()], "first_name": [Length(max=80)],
                          "last_name": [Length(max=80)]}
    base_order = ("last_name", "asc")
    base_permissions = [*BackOfficeModelView.base_permissions, "can_invite"]

    def lookup_choices(self, typed, args):
        return lookups.find_contacts(typed, args.get("account_id"))

    def record_links(self, pk):
        """Portal access, for those who may grant it: invite (again), or remove it."""
        contact = db.session.get(Contact, as_record_id(pk))
        if contact is None or not _has("can_invite", "ContactView"):
            return []
        login = contact.user
        links = []
        if login is None or not login.active or login.last_login is None:
            label = "Invite to the portal" if login is None or not login.active else "Send a new invitation"
            links.append((label, url_for("ContactView.invite", pk=contact.id)))
        if login is not None and login.active:
            links.append(("Remove portal access", url_for("ContactView.remove_access", pk=contact.id)))
        return links

    @expose("/invite/<pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("invite")
    def invite(self, pk):
        """Confirm, then invite: the contact gets a customer login and an e-mail to set its password."""
        contact = db.session.get(Contact, as_record_id(pk)) or abort(404)
        if request.method == "GET":
            return self.render_template("accounts/portal_access.html", contact=contact, action="invite",
                                        title=f"Invite {contact.name} to the portal",
                                        days=onboarding.invitation_days())
        login = onboarding.invite_contact(
            current_user, contact.id, lambda token: url_for("PortalWelcomeView.welcome", token=token, _external=True))
        flash(f"{contact.name} is invited: {login.username} gets an e-mail with a link to set a password.", "success")
        return redirect(url_for("ContactView.show", pk=contact.id))

    @expose("/remove-access/<pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("invite")
    def remove_access(self, pk):
        contact = db.session.get(Contact, as_record_id(pk)) or abort(404)
        if request.method == "GET":
            return self.render_template("accounts/portal_access.html", contact=contact, action="remove",
                                        title=f"Remove the portal access of {contact.name}")
        onboarding.remove_portal_access(current_user, contact.id)
        flash(f"{contact.name} can no longer sign in to the portal.", "success")
        return redirect(url_for("ContactView.show", pk=contact.id))

    def post_update(self, item):
        # A contact who leaves the customer (deactivated) loses the portal with it.
        if not item.active and item.user is not None and item.user.active:
            onboarding.remove_portal_access(current_user, item.id)


class LocationView(TypeAheadLookup, BackOfficeModelView):
    datamodel = SQLAInterface(Location)
    list_title = "Locations"
    show_title = "Location"
    add_title = "New location"
    edit_title = "Edit location"
    list_columns = ["number", "name", "street", "city", "postal_code", "country", "account"]
    search_columns = ["number", "name", "street", "city", "postal_code", "country", "account"]
    show_columns = ["number", "name", "account", "street", "city", "state", "postal_code", "country",
                    "created_on", "changed_on"]
    add_columns = ["name", "account", "street", "city", "state", "postal_code", "country"]
    edit_columns = add_columns
    label_columns = {**COMMON_LABELS, "state": "State / region"}
    base_order = ("number", "asc")

    def lookup_choices(self, typed, args):
        return lookups.find_locations(typed, args.get("account_id"))


class ProductInventoryView(BackOfficeModelView):
    datamodel = SQLAInterface(ProductInventory)
    list_title = "Product Inventory"
    show_title = "Product inventory item"
    add_title = "New inventory item"
    edit_title = "Edit inventory item"
    list_columns = ["number", "name", "account", "offering", "location", "quantity", "state"]
    search_columns = ["number", "name", "account", "offering", "specification", "location", "state"]
    show_columns = ["number", "name", "account", "offering", "specification", "location", "quantity", "state",
                    "order_line", "created_on", "changed_on"]
    add_columns = ["name", "account", "offering", "specification", "location", "quantity", "state"]
    edit_columns = add_columns
    label_columns = {**COMMON_LABELS, "order_line": "Originating order line"}
    add_form_extra_fields = {"state": choice_field("State", InventoryState)}
    edit_form_extra_fields = add_form_extra_fields
    validators_columns = {"quantity": QUANTITY}
    base_order = ("number", "desc")

    def check_form(self, form, item=None):
        _belongs(form, "location", message="The location belongs to another account.")

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        page = overview.inventory_page(as_record_id(pk)) or abort(404)
        self.update_redirect()
        item = page["item"]
        actions = []
        if _has("can_add", "CustomerOrderView") and item.state != InventoryState.INACTIVE:
            actions.append(("Change or disconnect (new order)", url_for(
                "ServiceOrderView.add" if item.specification and item.specification.kind == SpecKind.SERVICE
                else "CustomerOrderView.add", account_id=item.account_id, next=url_for(".show", pk=item.id))))
        return self.render_template("accounts/inventory.html", title=f"Inventory item {item.number}",
                                    actions=actions, **page)


class AccountView(TypeAheadLookup, BackOfficeModelView):
    datamodel = SQLAInterface(Account)
    list_title = "Accounts"
    show_title = "Account"
    add_title = "New account"
    edit_title = "Edit account"
    list_columns = ["number", "name", "parent", "primary_contact", "industry", "phone", "active"]
    search_columns = ["number", "name", "parent", "industry", "active"]
    show_columns = ["number", "name", "parent", "primary_contact", "phone", "industry", "billing_location",
                    "shipping_location", "active", "created_on", "changed_on"]
    add_columns = ["name", "parent", "phone", "industry", "active"]
    edit_columns = ["name", "parent", "primary_contact", "phone", "industry", "billing_location",
                    "shipping_location", "active"]
    label_columns = {**COMMON_LABELS, "parent": "Parent account"}
    base_order = ("name", "asc")
    related_views = [ContactView, LocationView, ProductInventoryView, order_views.CustomerOrderView]

    def lookup_choices(self, typed, args):
        return lookups.find_accounts(typed)

    def check_form(self, form, item=None):
        if item is None:
            return
        if form.parent.data is not None and form.parent.data.id == item.id:
            form.parent.errors.append("An account cannot be its own parent.")
        contact = form.primary_contact.data
        if contact is not None and contact.account_id != item.id:
            form.primary_contact.errors.append(f"{contact} is a contact of another account.")
        for name in ("billing_location", "shipping_location"):
            location = form[name].data
            if location is not None and location.account_id not in (None, item.id):
                form[name].errors.append(f"{location} belongs to another account.")

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        found = overview.account_overview(as_record_id(pk)) or abort(404)
        # Recorded as the page to come back to: FAB's add forms (interactions) return here after saving.
        self.update_redirect()
        return self.render_template("accounts/account.html", title=f"Account {found.account.name}",
                                    overview=found, actions=self.record_links(found.account.id))

    def record_links(self, pk):
        """The actions that start from the account; each form's Back (and Cancel) returns to it."""
        here = url_for("AccountView.show", pk=pk)
        links = []
        if _has("can_add", "CustomerOrderView"):
            links.append(("New order", url_for("CustomerOrderView.add", account_id=pk, next=here)))
        if _has("can_add", "ServiceOrderView"):
            links.append(("New service order", url_for("ServiceOrderView.add", account_id=pk, next=here)))
        if _has("can_add", "QuoteView"):
            links.append(("New quote", url_for("QuoteView.add", account_id=pk, next=here)))
        if _has("can_add", "OrderCaseView"):
            links.append(("New case", f"/ordercases/create/?origin=list&for_account={pk}&next={here}"))
        if _has("can_add", "InteractionView"):
            links.append(("New interaction", url_for("InteractionView.add", _flt_0_account=pk)))
        return links


class CharacteristicDefinitionView(BackOfficeModelView):
    datamodel = SQLAInterface(CharacteristicDefinition)
    list_title = "Characteristic Definitions"
    show_title = "Characteristic definition"
    add_title = "New characteristic"
    edit_title = "Edit characteristic"
    list_columns = ["specification", "name", "value_type", "allowed_values", "required"]
    search_columns = ["specification", "name", "value_type"]
    show_columns = ["specification", "name", "value_type", "allowed_values", "required"]
    add_columns = show_columns
    edit_columns = show_columns
    description_columns = {"allowed_values": "Comma-separated; leave empty to allow any value of the type."}
    add_form_extra_fields = {"value_type": choice_field("Value type", ValueType)}
    edit_form_extra_fields = add_form_extra_fields
    base_order = ("name", "asc")

    def check_form(self, form, item=None):
        if form.value_type.data == ValueType.NUMBER:
            for value in (v.strip() for v in (form.allowed_values.data or "").split(",") if v.strip()):
                try:
                    float(value)
                except ValueError:
                    form.allowed_values.errors.append(f"{value!r} is not a number.")


class ProductSpecificationView(BackOfficeModelView):
    datamodel = SQLAInterface(ProductSpecification)
    list_title = "Product Specifications"
    show_title = "Product specification"
    add_title = "New product specification"
    edit_title = "Edit product specification"
    list_columns = ["number", "name", "kind", "active"]
    search_columns = ["number", "name", "kind", "active"]
    show_columns = ["number", "name", "kind", "description", "active", "created_on", "changed_on"]
    add_columns = ["name", "kind", "description", "active"]
    edit_columns = add_columns
    add_form_extra_fields = {"kind": choice_field("Kind", SpecKind)}
    edit_form_extra_fields = add_form_extra_fields
    base_order = ("name", "asc")
    related_views = [CharacteristicDefinitionView]


class ProductOfferingView(TypeAheadLookup, BackOfficeModelView):
    datamodel = SQLAInterface(ProductOffering)
    list_title = "Product Offerings"
    show_title = "Product offering"
    add_title = "New product offering"
    edit_title = "Edit product offering"
    list_columns = ["number", "name", "provider", "specification", "unit_price", "currency", "price_type", "active"]
    search_columns = ["number", "name", "provider", "specification", "price_type", "active"]
    show_columns = ["number", "name", "provider", "specification", "unit_price", "currency", "price_type",
                    "description", "active", "created_on", "changed_on"]
    description_columns = {"provider": "The connected order desk that publishes this offering (Service Exchange)."}
    add_columns = ["name", "specification", "unit_price", "currency", "price_type", "description", "active"]
    edit_columns = add_columns
    add_form_extra_fields = {"price_type": choice_field("Price type", PriceType)}
    edit_form_extra_fields = add_form_extra_fields
    validators_columns = {"unit_price": PRICE, "currency": CURRENCY}
    base_order = ("name", "asc")

    def lookup_choices(self, typed, args):
        return lookups.find_offerings(typed, args.get("order_type"), args.get("currency"))

    def check_form(self, form, item=None):
        if item is not None and item.provider:
            form.name.errors.append(f"Published by {item.provider} (Service Exchange): its name, price and "
                                    "characteristics follow the provider and cannot be changed here.")


class InteractionView(BackOfficeModelView):
    datamodel = SQLAInterface(Interaction)
    list_title = "Interactions"
    show_title = "Interaction"
    add_title = "New interaction"
    edit_title = "Edit interaction"
    list_columns = ["number", "opened_at", "channel", "account", "contact", "short_description", "state", "agent"]
    search_columns = ["number", "channel", "account", "contact", "short_description", "state", "agent"]
    show_columns = ["number", "channel", "account", "contact", "short_description", "state", "agent",
                    "opened_at", "created_on", "changed_on"]
    add_columns = ["channel", "account", "contact", "short_description", "state"]
    edit_columns = ["channel", "account", "contact", "short_description", "state", "agent"]
    add_form_extra_fields = {
        "channel": choice_field("Channel", InteractionChannel),
        "state": choice_field("State", InteractionState),
    }
    edit_form_extra_fields = add_form_extra_fields
    base_order = ("number", "desc")
    formatters_columns = {"state": capitalised, "channel": capitalised}

    def check_form(self, form, item=None):
        _belongs(form, "contact", message="The contact belongs to another account.")

    def pre_add(self, item):
        # Whoever records the interaction handled it, unless they say otherwise.
        item.agent_id = item.agent_id or current_user_id()

    def record_links(self, pk):
        """Create case, and a link to each case created from the interaction."""
        links = [("Create case", f"/ordercases/create/?origin=interaction&interaction_id={pk}")] \
            if _has("can_add", "OrderCaseView") else []
        cases = db.session.execute(select(OrderCase.id, OrderCase.number, OrderCase.state)
                                   .where(OrderCase.interaction_id == as_record_id(pk)).order_by(OrderCase.id)).all()
        return links + [(f"Case {number} · {state}", url_for("OrderCasePageView.record", pk=case_id))
                        for case_id, number, state in cases]


TASK_LIST = ["number", "case", "subject", "state", "priority", "assignment_group", "assigned_to", "changed_on"]
TASK_SEARCH = ["number", "case", "subject", "state", "priority", "assignment_group", "assigned_to",
               "visible_to_customer"]


class CaseTaskView(task_views.TaskRecordRedirects, BackOfficeModelView):
    """The Case Tasks list; a task is created, shown and worked on the task pages (app/cases/task_views.py)."""

    datamodel = SQLAInterface(CaseTask)
    list_title = "Case Tasks"
    list_columns = TASK_LIST
    search_columns = TASK_SEARCH
    label_columns = {**COMMON_LABELS, "case": "Order case"}
    formatters_columns = {"priority": lambda value: Priority.LABELS.get(value, value)}
    base_order = ("number", "desc")


class MyTasksView(CaseTaskView):
    """The signed-in user's open case tasks and case line tasks in one list, each opening its task page."""

    list_title = "My Tasks"

    @expose("/list/")
    @has_access
    def list(self):
        return self.render_template("tasks/my_tasks.html", rows=task_views.my_task_rows(current_user.id),
                                    priorities=Priority.LABELS)


class CaseLineTaskView(CaseTaskView):
    """The Case Line Tasks list; a line task is created on its line and worked on its task page."""

    datamodel = SQLAInterface(CaseLineTask)
    list_title = "Case Line Tasks"
    task_kind_slug = "line"
    list_columns = ["number", "case_line", "case", "subject", "state", "priority", "assigned_to", "changed_on"]
    search_columns = ["number", "case_line", "case", "subject", "state", "priority", "assignment_group",
                      "assigned_to"]


class OrderChangeView(ReadOnlyModelView):
    """The append-only ledger of what accepted case lines changed on orders."""

    datamodel = SQLAInterface(OrderChange)
    list_title = "Order Changes"
    show_title = "Order change"
    list_columns = ["created_on", "order", "order_line", "field", "old_value", "new_value", "case_line", "user"]
    search_columns = ["order", "order_line", "case_line", "field", "user"]
    show_columns = list_columns
    label_columns = {**COMMON_LABELS, "created_on": "When"}
    base_order = ("id", "desc")


class ServiceDefinitionView(BackOfficeModelView):
    datamodel = SQLAInterface(ServiceDefinition)
    list_title = "Service Definitions"
    show_title = "Service definition"
    add_title = "New service definition"
    edit_title = "Edit service definition"
    list_columns = ["name", "active", "sort_order", "default_priority", "default_assignment_group"]
    search_columns = ["name", "active", "default_assignment_group"]
    show_columns = ["name", "description", "active", "sort_order", "default_priority", "default_assignment_group",
                    "created_on", "changed_on"]
    add_columns = ["name", "description", "active", "sort_order", "default_priority", "default_assignment_group"]
    edit_columns = add_columns
    description_columns = {"sort_order": "Position in the case type selector (lowest first)."}
    add_form_extra_fields = {"default_priority": choice_field("Default priority", Priority, required=False)}
    edit_form_extra_fields = add_form_extra_fields
    formatters_columns = {"default_priority": lambda value: Priority.LABELS.get(value, value or "")}
    validators_columns = {"name": [DataRequired(), Length(max=100)], "sort_order": [NumberRange(min=0)]}
    base_order = ("sort_order", "asc")


class AssignmentGroupView(BackOfficeModelView):
    datamodel = SQLAInterface(AssignmentGroup)
    list_title = "Assignment Groups"
    show_title = "Assignment group"
    add_title = "New assignment group"
    edit_title = "Edit assignment group"
    list_columns = ["name", "manager", "description"]
    search_columns = ["name", "manager", "members"]
    show_columns = ["name", "description", "manager", "members", "created_on", "changed_on"]
    add_columns = ["name", "description", "manager", "members"]
    edit_columns = add_columns
    validators_columns = {"name": [DataRequired(), Length(max=100)]}
    base_order = ("name", "asc")


def register_views(appbuilder) -> None:
    """Every view and the menu structure, in menu order."""
    com = "Customer Order Management"
    appbuilder.add_view(case_views.OrderCaseView, "Order Cases", category=com, icon="fa-folder-open")
    appbuilder.add_view_no_menu(mail_views.CaseEmailView)
    appbuilder.add_view(case_views.OrderCaseLineView, "Order Case Lines", category=com, icon="fa-list")
    appbuilder.add_view(order_views.CustomerOrderView, "Customer Orders", category=com, icon="fa-shopping-cart")
    appbuilder.add_view(order_views.ServiceOrderView, "Service Orders", category=com, icon="fa-cogs")
    appbuilder.add_view(order_views.OrderLineItemView, "Order Line Items", category=com, icon="fa-list-ol")
    appbuilder.add_view(order_views.QuoteView, "Quotes", category=com, icon="fa-file-text-o")
    appbuilder.add_view(InteractionView, "Interactions", category=com, icon="fa-comments")
    appbuilder.add_view(ProductInventoryView, "Product Inventory", category=com, icon="fa-cubes")
    appbuilder.add_view(mail_views.InboundEmailView, "Inbound e-mail", category=com, icon="fa-envelope-open")

    appbuilder.add_view(AccountView, "Accounts", category="Accounts", icon="fa-building")
    appbuilder.add_view(ContactView, "Contacts", category="Accounts", icon="fa-address-book")
    appbuilder.add_view(LocationView, "Locations", category="Accounts", icon="fa-map-marker")

    appbuilder.add_view(ProductSpecificationView, "Product Specifications", category="Catalog", icon="fa-book")
    appbuilder.add_view(ProductOfferingView, "Product Offerings", category="Catalog", icon="fa-tags")

    appbuilder.add_view(MyTasksView, "My Tasks", category="Tasks", icon="fa-user")
    appbuilder.add_view(CaseTaskView, "Case Tasks", category="Tasks", icon="fa-tasks")
    appbuilder.add_view(CaseLineTaskView, "Case Line Tasks", category="Tasks", icon="fa-check-square-o")
    appbuilder.add_view_no_menu(task_views.TaskPageView)

    lists = "Lists"
    appbuilder.add_view(sla_views.MyOpenCasesView, "My open cases", category=lists, icon="fa-user")
    appbuilder.add_view(sla_views.UnassignedCasesView, "Unassigned cases", category=lists, icon="fa-inbox")
    appbuilder.add_view(sla_views.OpenCasesView, "Open cases", category=lists, icon="fa-folder-open-o")
    appbuilder.add_view(sla_views.AllCasesView, "All cases", category=lists, icon="fa-folder")
    appbuilder.add_view(sla_views.AtRiskCasesView, "At risk", category=lists, icon="fa-exclamation-triangle")
    appbuilder.add_view(sla_views.BreachedCasesView, "Breached", category=lists, icon="fa-fire")
    appbuilder.add_link("My tasks", href="/mytasksview/list/", category=lists, icon="fa-check")
    appbuilder.add_view(ApprovalsInboxView, "Approvals", category=lists, icon="fa-gavel")
    appbuilder.add_view(dashboard.DashboardView, "Dashboard", category="Reports", icon="fa-bar-chart")

    appbuilder.add_view(ServiceDefinitionView, "Service Definitions", category="Administration", icon="fa-sitemap")
    appbuilder.add_view(AssignmentGroupView, "Assignment Groups", category="Administration", icon="fa-users")
    appbuilder.add_view(sla_views.SlaDefinitionView, "SLA Definitions", category="Administration", icon="fa-clock-o")
    appbuilder.add_view(sla_views.HolidayCalendarView, "Holiday Calendars", category="Administration",
                        icon="fa-calendar")
    appbuilder.add_view_no_menu(sla_views.HolidayDateView)
    appbuilder.add_view(sla_views.NotificationView, "Notification outbox", category="Administration",
                        icon="fa-envelope")
    appbuilder.add_view(OperationsView, "Operations", category="Administration", icon="fa-heartbeat")
    appbuilder.add_view(mail_views.EmailTemplateView, "E-mail templates", category="Administration",
                        icon="fa-file-text")
    appbuilder.add_view(ServiceExchangeView, "Service Exchange", category="Administration", icon="fa-exchange")

    for view in (
        case_views.CaseLineCharacteristicView,
        order_views.OrderLineCharacteristicView,
        order_views.QuoteLineView,
        order_views.EnrichmentIssueView,
        CharacteristicDefinitionView,
        OrderChangeView,
        GlobalSearchView,
        ListExportView,
    ):
        appbuilder.add_view_no_menu(view)
    appbuilder.add_view_no_menu(PreferencesView)
    appbuilder.add_view_no_menu(attachment_views.AttachmentView)
    appbuilder.add_view_no_menu(CustomerPortalAttachmentsView)
    attachment_views.install_template_functions(current_app)
    add_list_refinement(quick_search)
    disable_file_downloads(appbuilder)

"""Back-office views of reference data, tasks and administration, and the whole menu structure."""
from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from . import case_views, order_views
from .models import (
    Account,
    AssignmentGroup,
    CaseLineTask,
    CaseTask,
    CharacteristicDefinition,
    Contact,
    Interaction,
    Location,
    OrderChange,
    ProductInventory,
    ProductOffering,
    ProductSpecification,
    ServiceDefinition,
    SlaDefinition,
)
from .view_support import BackOfficeModelView, ReadOnlyModelView


class AccountView(BackOfficeModelView):
    datamodel = SQLAInterface(Account)
    list_columns = ["number", "name", "parent", "primary_contact", "active"]
    search_columns = ["number", "name", "active"]


class ContactView(BackOfficeModelView):
    datamodel = SQLAInterface(Contact)
    list_columns = ["number", "first_name", "last_name", "account", "email", "phone"]
    search_columns = ["number", "first_name", "last_name", "email", "account"]


class LocationView(BackOfficeModelView):
    datamodel = SQLAInterface(Location)
    list_columns = ["number", "name", "street", "city", "country", "account"]
    search_columns = ["number", "name", "city", "country"]


class CharacteristicDefinitionView(BackOfficeModelView):
    datamodel = SQLAInterface(CharacteristicDefinition)
    list_columns = ["specification", "name", "value_type", "allowed_values", "required"]


class ProductSpecificationView(BackOfficeModelView):
    datamodel = SQLAInterface(ProductSpecification)
    list_columns = ["number", "name", "kind", "active"]
    search_columns = ["number", "name", "kind"]
    related_views = [CharacteristicDefinitionView]


class ProductOfferingView(BackOfficeModelView):
    datamodel = SQLAInterface(ProductOffering)
    list_columns = ["number", "name", "specification", "unit_price", "currency", "price_type", "active"]
    search_columns = ["number", "name", "specification", "active"]


class ProductInventoryView(BackOfficeModelView):
    datamodel = SQLAInterface(ProductInventory)
    list_columns = ["number", "name", "account", "offering", "location", "quantity", "state"]
    search_columns = ["number", "account", "state"]


class InteractionView(BackOfficeModelView):
    datamodel = SQLAInterface(Interaction)
    list_columns = ["number", "channel", "account", "contact", "short_description", "state", "agent"]
    search_columns = ["number", "account", "state", "channel"]


class CaseTaskView(BackOfficeModelView):
    datamodel = SQLAInterface(CaseTask)
    list_columns = ["number", "case", "subject", "state", "assigned_to"]
    search_columns = ["number", "subject", "state", "assigned_to"]


class CaseLineTaskView(BackOfficeModelView):
    datamodel = SQLAInterface(CaseLineTask)
    list_columns = ["number", "case_line", "subject", "state", "assigned_to"]
    search_columns = ["number", "subject", "state", "assigned_to"]


class MyTasksView(CaseTaskView):
    list_title = "My Tasks"


class OrderChangeView(ReadOnlyModelView):
    datamodel = SQLAInterface(OrderChange)
    list_columns = ["order", "order_line", "field", "old_value", "new_value", "case_line", "user", "created_on"]


class ServiceDefinitionView(BackOfficeModelView):
    datamodel = SQLAInterface(ServiceDefinition)
    list_columns = ["name", "active", "sort_order", "default_priority", "default_assignment_group"]


class AssignmentGroupView(BackOfficeModelView):
    datamodel = SQLAInterface(AssignmentGroup)
    list_columns = ["name", "manager", "description"]


class SlaDefinitionView(BackOfficeModelView):
    datamodel = SQLAInterface(SlaDefinition)
    list_columns = ["name", "applies_to", "kind", "priorities", "target_minutes", "schedule", "active"]


def register_views(appbuilder) -> None:
    """Every view and the menu structure, in menu order."""
    com = "Customer Order Management"
    appbuilder.add_view(case_views.OrderCaseView, "Order Cases", category=com)
    appbuilder.add_view(case_views.OrderCaseLineView, "Order Case Lines", category=com)
    appbuilder.add_view(order_views.CustomerOrderView, "Customer Orders", category=com)
    appbuilder.add_view(order_views.ServiceOrderView, "Service Orders", category=com)
    appbuilder.add_view(order_views.OrderLineItemView, "Order Line Items", category=com)
    appbuilder.add_view(order_views.QuoteView, "Quotes", category=com)
    appbuilder.add_view(InteractionView, "Interactions", category=com)
    appbuilder.add_view(ProductInventoryView, "Product Inventory", category=com)

    appbuilder.add_view(AccountView, "Accounts", category="Accounts")
    appbuilder.add_view(ContactView, "Contacts", category="Accounts")
    appbuilder.add_view(LocationView, "Locations", category="Accounts")

    appbuilder.add_view(ProductSpecificationView, "Product Specifications", category="Catalog")
    appbuilder.add_view(ProductOfferingView, "Product Offerings", category="Catalog")

    appbuilder.add_view(MyTasksView, "My Tasks", category="Tasks")
    appbuilder.add_view(CaseTaskView, "Case Tasks", category="Tasks")
    appbuilder.add_view(CaseLineTaskView, "Case Line Tasks", category="Tasks")

    appbuilder.add_view(ServiceDefinitionView, "Service Definitions", category="Administration")
    appbuilder.add_view(AssignmentGroupView, "Assignment Groups", category="Administration")
    appbuilder.add_view(SlaDefinitionView, "SLA Definitions", category="Administration")

    for view in (
        case_views.CaseLineCharacteristicView,
        order_views.OrderLineCharacteristicView,
        order_views.QuoteLineView,
        order_views.EnrichmentIssueView,
        CharacteristicDefinitionView,
        OrderChangeView,
    ):
        appbuilder.add_view_no_menu(view)

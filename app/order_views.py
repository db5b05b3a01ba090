"""Order views: customer and service orders, order line items, quotes, enrichment issues."""
from __future__ import annotations

from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface

from .choices import OrderType
from .models import CustomerOrder, EnrichmentIssue, OrderLineCharacteristic, OrderLineItem, Quote, QuoteLine
from .view_support import BackOfficeModelView


class OrderLineCharacteristicView(BackOfficeModelView):
    datamodel = SQLAInterface(OrderLineCharacteristic)
    list_columns = ["order_line", "name", "value"]


class OrderLineItemView(BackOfficeModelView):
    datamodel = SQLAInterface(OrderLineItem)
    list_title = "Order Line Items"
    list_columns = ["number", "order", "offering", "action", "quantity", "unit_price", "state", "expected_delivery_date"]
    search_columns = ["number", "order", "state", "action"]
    base_order = ("number", "desc")


class EnrichmentIssueView(BackOfficeModelView):
    datamodel = SQLAInterface(EnrichmentIssue)
    list_columns = ["order", "kind", "reference", "description", "resolved"]


class CustomerOrderView(BackOfficeModelView):
    datamodel = SQLAInterface(CustomerOrder)
    list_title = "Customer Orders"
    base_filters = [["order_type", FilterEqual, OrderType.PRODUCT]]
    list_columns = ["number", "account", "channel", "state", "order_date", "total_amount"]
    search_columns = ["number", "account", "state", "channel", "external_id"]
    base_order = ("number", "desc")
    related_views = [OrderLineItemView]


class ServiceOrderView(CustomerOrderView):
    list_title = "Service Orders"
    base_filters = [["order_type", FilterEqual, OrderType.SERVICE]]


class QuoteLineView(BackOfficeModelView):
    datamodel = SQLAInterface(QuoteLine)
    list_columns = ["quote", "offering", "quantity", "unit_price"]


class QuoteView(BackOfficeModelView):
    datamodel = SQLAInterface(Quote)
    list_title = "Quotes"
    list_columns = ["number", "account", "state", "valid_until", "total_amount", "order"]
    search_columns = ["number", "account", "state"]
    base_order = ("number", "desc")
    related_views = [QuoteLineView]

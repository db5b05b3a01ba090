"""Order case views: the Order Cases and Order Case Lines lists and their forms."""
from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface

from .models import CaseLineCharacteristic, OrderCase, OrderCaseLine
from .view_support import BackOfficeModelView, DeletableModelView


class CaseLineCharacteristicView(BackOfficeModelView):
    datamodel = SQLAInterface(CaseLineCharacteristic)
    list_columns = ["number", "case_line", "name", "value"]


class OrderCaseLineView(DeletableModelView):
    datamodel = SQLAInterface(OrderCaseLine)
    list_title = "Order Case Lines"
    list_columns = ["number", "case", "order", "order_line", "request_type", "state", "assigned_to"]
    search_columns = ["number", "state", "request_type"]
    base_order = ("number", "desc")


class OrderCaseView(DeletableModelView):
    datamodel = SQLAInterface(OrderCase)
    list_title = "Order Cases"
    list_columns = ["number", "short_description", "account", "state", "priority", "assigned_to", "opened_at"]
    search_columns = ["number", "short_description", "account", "state", "priority", "assigned_to"]
    base_order = ("number", "desc")
    related_views = [OrderCaseLineView]

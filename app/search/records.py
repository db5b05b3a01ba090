"""Which records a search can lead to, who may open them, and where they open.

Back office: a record kind opens on its view's page and is offered to whoever holds ``can_show`` on that
view (roles as data decide; an integrator holds none). Portal: a customer's own account's cases and
orders only (``AccountScope``); their lines open on the case or order page.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import current_app, url_for
from sqlalchemy import false

from app.core.choices import OrderType
from app.models import (
    Account,
    CaseLineTask,
    CaseTask,
    Contact,
    CustomerOrder,
    Interaction,
    Location,
    OrderCase,
    OrderCaseLine,
    OrderLineItem,
    ProductInventory,
    ProductOffering,
    ProductSpecification,
    Quote,
)
from app.portal.scope import AccountScope


@dataclass(frozen=True)
class Kind:
    """A record kind the search knows: its model, plural label and the back-office view it opens in."""

    key: str
    label: str
    model: type
    view: str

    def back_office_view(self, record) -> str:
        if self.model is CustomerOrder and getattr(record, "order_type", None) == OrderType.SERVICE:
            return "ServiceOrderView"
        return self.view


KINDS = [
    Kind("cases", "Order cases", OrderCase, "OrderCaseView"),
    Kind("case-lines", "Order case lines", OrderCaseLine, "OrderCaseLineView"),
    Kind("orders", "Orders", CustomerOrder, "CustomerOrderView"),
    Kind("order-lines", "Order lines", OrderLineItem, "OrderLineItemView"),
    Kind("quotes", "Quotes", Quote, "QuoteView"),
    Kind("accounts", "Accounts", Account, "AccountView"),
    Kind("contacts", "Contacts", Contact, "ContactView"),
    Kind("locations", "Locations", Location, "LocationView"),
    Kind("inventory", "Product inventory", ProductInventory, "ProductInventoryView"),
    Kind("interactions", "Interactions", Interaction, "InteractionView"),
    Kind("case-tasks", "Case tasks", CaseTask, "CaseTaskView"),
    Kind("case-line-tasks", "Case line tasks", CaseLineTask, "CaseLineTaskView"),
    Kind("offerings", "Product offerings", ProductOffering, "ProductOfferingView"),
    Kind("specifications", "Product specifications", ProductSpecification, "ProductSpecificationView"),
]
KIND_BY_MODEL = {kind.model: kind for kind in KINDS}
KIND_BY_KEY = {kind.key: kind for kind in KINDS}


class BackOffice:
    """What a back-office user may open: every record of a kind whose view they may show."""

    portal = False

    def may_open(self, kind: Kind, record=None) -> bool:
        view = kind.back_office_view(record) if record is not None else kind.view
        return current_app.appbuilder.sm.has_access("can_show", view)

    def restrict(self, kind: Kind, query):
        return query if self.may_open(kind) else query.where(false())

    def url(self, kind: Kind, record) -> str:
        if kind.model is OrderCase:
            return url_for("OrderCasePageView.record", pk=record.id)
        return url_for(f"{kind.back_office_view(record)}.show", pk=record.id)


class Portal:
    """What a customer may open in the portal: their account's cases and orders (and those records' lines)."""

    portal = True
    QUERIES: dict[type, Callable[[AccountScope], object]] = {
        OrderCase: AccountScope.cases,
        OrderCaseLine: AccountScope.case_lines,
        CustomerOrder: AccountScope.orders,
        OrderLineItem: AccountScope.order_lines,
    }

    def __init__(self, scope: AccountScope):
        self.scope = scope

    def may_open(self, kind: Kind, record=None) -> bool:
        return kind.model in self.QUERIES and self.scope.account_id is not None

    def restrict(self, kind: Kind, query):
        if not self.may_open(kind):
            return query.where(false())
        allowed = self.QUERIES[kind.model](self.scope).with_only_columns(kind.model.id)
        return query.where(kind.model.id.in_(allowed))

    def url(self, kind: Kind, record) -> str:
        if kind.model is OrderCase:
            return url_for("CustomerPortalView.case", case_pk=record.id)
        if kind.model is OrderCaseLine:
            return url_for("CustomerPortalView.case", case_pk=record.case_id) + f"#line-{record.id}"
        if kind.model is CustomerOrder:
            return url_for("CustomerPortalView.order", order_pk=record.id)
        return url_for("CustomerPortalView.order", order_pk=record.order_id) + f"#line-{record.id}"

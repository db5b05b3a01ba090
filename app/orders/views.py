"""Order views: customer and service orders, their lines, quotes and enrichment issues.

Lists are FAB lists; creating, editing and every state change go through purpose-built pages whose
POSTs call the workflows in ``order_workflows`` / ``quote_workflows`` (one commit, version checked,
audited). A refusal comes back as a flash message on the page, or next to the fields of a form.
"""
from __future__ import annotations

import re

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_login import current_user

from app.core.display import capitalised
from app.orders import form_fields, pages
from app.orders.bulk_views import LINE_BULK_PERMISSIONS, ORDER_BULK_PERMISSIONS, LineBulkActions, OrderBulkActions
from app.orders import guards
from app.orders import workflows as wf
from app.orders import quotes as qwf
from app.orders.rules import EDITABLE_ORDER_STATES
from app.core.choices import EnrichmentKind, JournalKind, LineAction, OrderLineState, OrderType, QuoteState
from app.core.exceptions import DomainError
from app.core.extensions import db
from app.models import (
    Account,
    CustomerOrder,
    EnrichmentIssue,
    OrderLineCharacteristic,
    OrderLineItem,
    Quote,
    QuoteLine,
)
from app.core.roles import CRU
from app.core.view_support import COMMON_LABELS, BackOfficeModelView, return_path

# Order actions beyond create/read/update, granted in roles.py (approve = approve and reject, manager only).
ORDER_ACTION_PERMISSIONS = ("can_submit", "can_approve", "can_cancel", "can_fulfil")
QUOTE_ACTION_PERMISSIONS = ("can_transition", "can_create_order")

HEADER_FIELDS = ("account_id", "contact_id", "description", "requested_start_date", "requested_completion_date",
                 "expected_delivery_date", "shipping_location_id", "currency")
LINE_FIELDS = ("action", "offering_id", "inventory_id", "quantity", "expected_delivery_date", "location_id",
               "description")
ORDER_LABELS = {
    **COMMON_LABELS,
    "order_type": "Order type",
    "order_date": "Order date",
    "total_amount": "Total",
    "total_one_time": "One-time total",
    "total_recurring": "Recurring total",
    "external_id": "External id",
    "expected_delivery_date": "Expected delivery",
    "valid_until": "Valid until",
}


def _user():
    return current_user._get_current_object()


def _form_values(fields) -> dict:
    return {name: request.form.get(name, "") for name in fields}


def _characteristics_from(source) -> dict:
    return {key[5:]: value for key, value in source.items() if key.startswith("char:")}


def _account_from_args() -> str | None:
    """The account a New order link pre-fills: ?account_id=, or the filter of an account's related list."""
    if request.args.get("account_id"):
        return request.args["account_id"]
    for key, value in request.args.items():
        if re.fullmatch(r"_flt_\d+_account", key):
            return value
    return None


def _as_int(value):
    return int(value) if str(value or "").isdigit() else None


class ManagedOnParentPage(BackOfficeModelView):
    """A record edited only on its parent's page (order or quote), where the workflows guard it."""

    base_permissions = list(CRU)

    def parent_url(self, item) -> str:
        raise NotImplementedError

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self.datamodel.get(pk)
        if item is None:
            abort(404)
        return redirect(self.parent_url(item))

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        flash(f"{self.list_title or 'These records'} are added on the page of the record they belong to.", "info")
        return redirect(url_for(f"{self.__class__.__name__}.list"))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        item = self.datamodel.get(pk)
        if item is None:
            abort(404)
        flash("Edit it on the page of the record it belongs to.", "info")
        return redirect(self.parent_url(item))


def order_url(order: CustomerOrder, endpoint: str = "show", **kwargs) -> str:
    view = "ServiceOrderView" if order.order_type == OrderType.SERVICE else "CustomerOrderView"
    return url_for(f"{view}.{endpoint}", pk=order.id, **kwargs)


class OrderLineCharacteristicView(ManagedOnParentPage):
    datamodel = SQLAInterface(OrderLineCharacteristic)
    list_title = "Order Line Characteristics"
    list_columns = ["order_line", "name", "value"]

    def parent_url(self, item):
        return order_url(item.order_line.order)


class OrderLineItemView(LineBulkActions, ManagedOnParentPage):
    datamodel = SQLAInterface(OrderLineItem)
    method_permission_name = LINE_BULK_PERMISSIONS
    list_title = "Order Line Items"
    list_columns = ["number", "order", "offering", "action", "quantity", "unit_price", "state", "expected_delivery_date",
                    "location"]
    search_columns = ["number", "order", "offering", "state", "action", "location"]
    label_columns = {**ORDER_LABELS, "expected_delivery_date": "Expected delivery"}
    base_order = ("number", "desc")
    quick_search_vocabularies = {"state": OrderLineState, "action": LineAction}
    quick_search_through = "order"
    row_permissions = {"edit": guards.may_edit_line}

    def parent_url(self, item):
        return order_url(item.order)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """The order line page: its values and its Order change ledger (edited on the order's page)."""
        context = pages.order_line_page(_as_int(pk) or -1)
        if context is None:
            abort(404)
        return self.render_template("orders/order_line.html", title=f"Order line {context['line'].number}",
                                    order_url=order_url(context["order"]), **context)


class EnrichmentIssueView(ManagedOnParentPage):
    datamodel = SQLAInterface(EnrichmentIssue)
    list_title = "Enrichment Issues"
    list_columns = ["order", "order_line", "kind", "reference", "description", "resolved"]
    search_columns = ["kind", "resolved"]

    def parent_url(self, item):
        return order_url(item.order)


class CustomerOrderView(OrderBulkActions, BackOfficeModelView):
    datamodel = SQLAInterface(CustomerOrder)
    method_permission_name = ORDER_BULK_PERMISSIONS
    order_type = OrderType.PRODUCT
    list_title = "Customer Orders"
    add_title = "New customer order"
    base_permissions = [*CRU, *ORDER_ACTION_PERMISSIONS]
    row_permissions = {"edit": guards.may_edit_order}
    base_filters = [["order_type", FilterEqual, OrderType.PRODUCT]]
    list_columns = ["number", "account", "contact", "channel", "state", "order_date", "total_amount"]
    search_columns = ["number", "account", "state", "channel", "external_id", "order_date"]
    label_columns = ORDER_LABELS
    base_order = ("number", "desc")

    # -- pages -----------------------------------------------------------------------------------

    def _order(self, pk) -> CustomerOrder:
        order = pages.load_order(_as_int(pk) or -1)
        if order is None:
            abort(404)
        return order

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        order = self._order(pk)
        if order.order_type != self.order_type:
            return redirect(order_url(order))
        context = pages.order_page(order, _user())
        return self.render_template(
            "orders/order.html",
            order=order,
            view_name=self.__class__.__name__,
            title=f"{'Service order' if order.order_type == OrderType.SERVICE else 'Customer order'} {order.number}",
            issue_choices=pages.issue_choices(order),
            journal_kinds=JournalKind.ALL,
            **context,
        )

    def _render_header_form(self, values, order=None, errors=None, message=None, status=200):
        account_id = values.get("account_id") or (order.account_id if order else None)
        title = f"Edit order {order.number}" if order else self.add_title
        return self.render_template(
            "orders/order_form.html", title=title, order=order, values=values, errors=errors or {},
            back_to=return_path(), message=message, view_name=self.__class__.__name__, order_type=self.order_type,
            **form_fields.account_fields(account_id, values, f"{self.__class__.__name__}.parties", with_locations=True),
        ), status

    @expose("/parties", methods=["GET"])
    @has_access
    @permission_name("add")
    def parties(self):
        """The contact and shipping location fields for the account just chosen (orderdesk.js swaps them in)."""
        return form_fields.parties_fragment(self, f"{self.__class__.__name__}.parties", with_locations=True)

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        if request.method == "GET":
            account = db.session.get(Account, _as_int(_account_from_args()) or -1)
            values = {"account_id": account.id if account else "", "currency": "USD"}
            if account is not None:
                values["contact_id"] = account.primary_contact_id or ""
                values["shipping_location_id"] = account.shipping_location_id or ""
            return self._render_header_form(values)
        values = _form_values(HEADER_FIELDS)
        if form_fields.refreshing():
            return self._render_header_form(values)
        try:
            order = wf.create_order(_user(), {**values, "order_type": self.order_type})
        except DomainError as error:
            return self._render_header_form(values, errors=error.field_errors, message=error.message,
                                            status=error.status_code)
        flash(f"Order {order.number} created. Add its lines, then submit it.", "success")
        return redirect(order_url(order))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        order = self._order(pk)
        if request.method == "GET" and order.state not in EDITABLE_ORDER_STATES:
            flash(f"Order {order.number} is {order.state}; its header can no longer be edited.", "info")
            return redirect(order_url(order))
        if request.method == "GET":
            values = {name: getattr(order, name) or "" for name in HEADER_FIELDS}
            # The form edits days; an unchanged day keeps the stored time of day (update_order).
            for name in ("requested_start_date", "requested_completion_date"):
                values[name] = values[name] and values[name].date()
            values["version"] = order.version
            return self._render_header_form(values, order=order)
        values = _form_values((*HEADER_FIELDS, "version"))
        if form_fields.refreshing():
            return self._render_header_form(values, order=order)
        data = {name: values[name] for name in HEADER_FIELDS}
        try:
            wf.update_order(_user(), order.id, values["version"], data)
        except DomainError as error:
            return self._render_header_form(values, order=order, errors=error.field_errors, message=error.message,
                                            status=error.status_code)
        flash(f"Order {order.number} saved.", "success")
        return redirect(order_url(order))

    # -- order actions ---------------------------------------------------------------------------

    def _act(self, pk, success: str, call, *args):
        order = self._order(pk)
        try:
            call(_user(), order.id, request.form.get("version"), *args)
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(success.format(number=order.number), "success")
        return redirect(order_url(order))

    @expose("/submit/<pk>", methods=["POST"])
    @has_access
    @permission_name("submit")
    def submit(self, pk):
        return self._act(pk, "Order {number} submitted.", wf.submit_order)

    @expose("/approve/<pk>", methods=["POST"])
    @has_access
    @permission_name("approve")
    def approve(self, pk):
        return self._act(pk, "Order {number} approved for fulfilment.", wf.approve_order)

    @expose("/reject/<pk>", methods=["POST"])
    @has_access
    @permission_name("approve")
    def reject(self, pk):
        return self._act(pk, "Order {number} rejected.", wf.reject_order, request.form.get("reason", ""))

    @expose("/cancel/<pk>", methods=["POST"])
    @has_access
    @permission_name("cancel")
    def cancel(self, pk):
        return self._act(pk, "Order {number} cancelled.", wf.cancel_order, request.form.get("reason", ""))

    @expose("/journal/<pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def journal(self, pk):
        order = self._order(pk)
        kind = request.form.get("kind", JournalKind.COMMENT)
        try:
            wf.add_order_journal(_user(), order.id, kind, request.form.get("text", ""))
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash("Comment added." if kind == JournalKind.COMMENT else "Work note added.", "success")
        return redirect(order_url(order) + "#journal")

    @expose("/issue/<pk>/<issue_id>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def fix_issue(self, pk, issue_id):
        order = self._order(pk)
        issue = db.session.get(EnrichmentIssue, _as_int(issue_id) or -1)
        if issue is None or issue.order_id != order.id:
            abort(404)
        value = request.form.get("value_id", "")
        if issue.kind == EnrichmentKind.PARTY and value and not value.isdigit():
            account = db.session.query(Account).filter(Account.number == value.strip().upper()).one_or_none()
            value = account.id if account else -1
        try:
            wf.resolve_enrichment_issue(_user(), issue.id, request.form.get("version"), value)
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(f"Enrichment issue resolved: {issue.description}", "success")
        return redirect(order_url(order))

    # -- lines -----------------------------------------------------------------------------------

    def _line(self, order, line_id) -> OrderLineItem:
        line = next((line for line in order.lines if line.id == _as_int(line_id)), None)
        if line is None:
            abort(404)
        return line

    def _line_choices(self, order, values, characteristics, line) -> dict:
        """What the line form's fields that follow its action, item and offering render (_line_choices.html)."""
        item = pages.inventory_item(values.get("inventory_id"))
        return dict(
            order=order, line=line, values=values, characteristics=characteristics, item=item,
            spec=pages.line_specification(values.get("offering_id"), values.get("inventory_id")),
            current={c.name: c.value for c in item.characteristics} if item is not None else {},
            actions=LineAction.ALL, offerings=pages.active_offerings(order.currency, order.order_type),
            inventory=pages.account_inventory(order.account_id),
            locations=pages.account_locations(order.account_id), view_name=self.__class__.__name__,
        )

    def _render_line_form(self, order, values, characteristics, line=None, errors=None, message=None, status=200):
        return self.render_template(
            "orders/line_form.html",
            title=f"{'Edit line ' + line.number if line else 'New line'} on order {order.number}",
            errors=errors or {}, message=message, **self._line_choices(order, values, characteristics, line),
        ), status

    @expose("/line/<pk>/characteristics", methods=["GET"])
    @expose("/line/<pk>/characteristics/<line_id>", methods=["GET"])
    @has_access
    @permission_name("edit")
    def line_choices(self, pk, line_id=None):
        """The fields of a new line on the order (or of its line *line_id*) that follow the action, item and
        offering in the query string: orderdesk.js swaps them in when one of those changes."""
        try:
            order = self._order(form_fields.record_id(pk, "The order"))
            line = None if line_id is None else self._line(order, form_fields.record_id(line_id, "The line"))
        except DomainError as error:
            return form_fields.refused(error)
        values = {name: request.args.get(name, "") for name in LINE_FIELDS}
        if line is not None:
            values["action"] = line.action  # a saved line keeps its action
        return self.render_template("orders/_line_choices.html", errors={},
                                    **self._line_choices(order, values, _characteristics_from(request.args), line))

    def _save_line(self, order, line=None):
        values = _form_values((*LINE_FIELDS, "version"))
        characteristics = _characteristics_from(request.form)
        if form_fields.refreshing():
            return self._render_line_form(order, values, characteristics, line=line)
        data = {**{name: values[name] for name in LINE_FIELDS}, "characteristics": characteristics}
        try:
            if line is None:
                saved = wf.add_line(_user(), order.id, values["version"], data)
            else:
                saved = wf.update_line(_user(), line.id, values["version"], data)
        except DomainError as error:
            return self._render_line_form(order, values, characteristics, line=line, errors=error.field_errors,
                                          message=error.message, status=error.status_code)
        flash(f"Line {saved.number} saved.", "success")
        return redirect(order_url(order) + "#lines")

    @expose("/line/<pk>/add", methods=["GET", "POST"])
    @has_access
    @permission_name("edit")
    def add_line(self, pk):
        order = self._order(pk)
        if request.method == "POST":
            return self._save_line(order)
        values = {"action": request.args.get("action", LineAction.ADD), "quantity": "1", "version": order.version,
                  "location_id": order.shipping_location_id or "",
                  "expected_delivery_date": order.expected_delivery_date or ""}
        return self._render_line_form(order, values, {})

    @expose("/line/<pk>/edit/<line_id>", methods=["GET", "POST"])
    @has_access
    @permission_name("edit")
    def edit_line(self, pk, line_id):
        order = self._order(pk)
        line = self._line(order, line_id)
        if request.method == "POST":
            return self._save_line(order, line)
        values = {name: getattr(line, name) or "" for name in LINE_FIELDS}
        values["version"] = line.version
        return self._render_line_form(order, values, {c.name: c.value for c in line.characteristics}, line=line)

    @expose("/line/<pk>/delete/<line_id>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def delete_line(self, pk, line_id):
        order = self._order(pk)
        line = self._line(order, line_id)
        number = line.number
        try:
            wf.delete_line(_user(), line.id, request.form.get("version"))
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(f"Line {number} deleted.", "success")
        return redirect(order_url(order) + "#lines")

    @expose("/line/<pk>/<action>/<line_id>", methods=["POST"])
    @has_access
    @permission_name("fulfil")
    def fulfil_line(self, pk, action, line_id):
        calls = {"start": (wf.start_line, "started"), "complete": (wf.complete_line, "completed"),
                 "cancel": (wf.cancel_line, "cancelled")}
        if action not in calls:
            abort(404)
        order = self._order(pk)
        line = self._line(order, line_id)
        call, done = calls[action]
        args = (request.form.get("reason", ""),) if action == "cancel" else ()
        try:
            call(_user(), line.id, request.form.get("version"), *args)
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(f"Line {line.number} {done}.", "success")
        return redirect(order_url(order) + "#lines")


class ServiceOrderView(CustomerOrderView):
    order_type = OrderType.SERVICE
    list_title = "Service Orders"
    add_title = "New service order"
    base_filters = [["order_type", FilterEqual, OrderType.SERVICE]]


class QuoteLineView(ManagedOnParentPage):
    datamodel = SQLAInterface(QuoteLine)
    list_title = "Quote Lines"
    list_columns = ["quote", "offering", "quantity", "unit_price"]
    # Not unit_price: Flask-AppBuilder compares a money filter's text with the NUMERIC column as text,
    # which PostgreSQL refuses (every unit price filter answered 500 there).
    search_columns = ["quote", "offering", "quantity"]

    def parent_url(self, item):
        return url_for("QuoteView.show", pk=item.quote_id)


class QuoteView(BackOfficeModelView):
    datamodel = SQLAInterface(Quote)
    list_title = "Quotes"
    add_title = "New quote"
    base_permissions = [*CRU, *QUOTE_ACTION_PERMISSIONS]
    row_permissions = {"edit": qwf.may_edit_quote}
    list_columns = ["number", "account", "contact", "state", "valid_until", "total_amount", "order"]
    search_columns = ["number", "account", "state", "valid_until"]
    label_columns = {**ORDER_LABELS, "order": "Converted order"}
    base_order = ("number", "desc")
    formatters_columns = {"state": capitalised}

    def _quote(self, pk) -> Quote:
        quote = pages.load_quote(_as_int(pk) or -1)
        if quote is None:
            abort(404)
        return quote

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        quote = self._quote(pk)
        user = _user()
        return self.render_template(
            "orders/quote.html", title=f"Quote {quote.number}", quote=quote, actions=qwf.quote_actions(quote, user),
            offerings=pages.active_offerings(quote.currency, qwf.quote_kind(quote)), history=pages.quote_history(quote),
            can_convert=qwf.may_convert(user, quote), can_edit=qwf.may_edit_quote(user, quote),
            explanation=qwf.QUOTE_STATE_EXPLANATIONS.get(quote.state, ""),
            order_link=order_url(quote.order) if quote.order is not None else None,
        )

    def _render_form(self, values, quote=None, errors=None, message=None, status=200):
        account_id = values.get("account_id") or (quote.account_id if quote else None)
        return self.render_template(
            "orders/quote_form.html", title=f"Edit quote {quote.number}" if quote else self.add_title, quote=quote,
            back_to=return_path(), values=values, errors=errors or {}, message=message,
            **form_fields.account_fields(account_id, values, "QuoteView.parties", with_locations=False),
        ), status

    @expose("/parties", methods=["GET"])
    @has_access
    @permission_name("add")
    def parties(self):
        """The contact field for the account just chosen (orderdesk.js swaps it in)."""
        return form_fields.parties_fragment(self, "QuoteView.parties", with_locations=False)

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        fields = ("account_id", "contact_id", "valid_until", "description", "currency")
        if request.method == "GET":
            return self._render_form({"account_id": _account_from_args() or "", "currency": "USD"})
        values = _form_values(fields)
        if form_fields.refreshing():
            return self._render_form(values)
        try:
            quote = qwf.create_quote(_user(), values)
        except DomainError as error:
            return self._render_form(values, errors=error.field_errors, message=error.message,
                                     status=error.status_code)
        flash(f"Quote {quote.number} created. Add its lines.", "success")
        return redirect(url_for("QuoteView.show", pk=quote.id))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        quote = self._quote(pk)
        fields = ("contact_id", "valid_until", "description")
        if request.method == "GET" and quote.state != QuoteState.DRAFT:
            flash(f"Quote {quote.number} is {quote.state}; only a draft quote can be edited.", "info")
            return redirect(url_for("QuoteView.show", pk=quote.id))
        if request.method == "GET":
            values = {name: getattr(quote, name) or "" for name in fields}
            return self._render_form({**values, "version": quote.version}, quote=quote)
        values = _form_values((*fields, "version"))
        try:
            qwf.update_quote(_user(), quote.id, values["version"], {name: values[name] for name in fields})
        except DomainError as error:
            return self._render_form(values, quote=quote, errors=error.field_errors, message=error.message,
                                     status=error.status_code)
        flash(f"Quote {quote.number} saved.", "success")
        return redirect(url_for("QuoteView.show", pk=quote.id))

    def _act(self, quote, success, call, *args):
        try:
            result = call(_user(), *args)
        except DomainError as error:
            flash(error.message, "danger")
            return redirect(url_for("QuoteView.show", pk=quote.id))
        flash(success(result) if callable(success) else success, "success")
        return redirect(url_for("QuoteView.show", pk=quote.id))

    @expose("/line/<pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("edit")
    def add_line(self, pk):
        """The quote line form: the chosen offering's characteristics to configure, then Save line."""
        quote = self._quote(pk)
        return self._line_form(quote, None)

    @expose("/line/<pk>/edit/<line_id>", methods=["GET", "POST"])
    @has_access
    @permission_name("edit")
    def edit_line(self, pk, line_id):
        quote = self._quote(pk)
        line = next((line for line in quote.lines if line.id == _as_int(line_id)), None) or abort(404)
        return self._line_form(quote, line)

    def _line_form(self, quote, line):
        source = request.form if request.method == "POST" else request.args
        offering_id = line.offering_id if line is not None else source.get("offering_id", "")
        values = {"offering_id": offering_id, "version": source.get("version", quote.version),
                  "quantity": source.get("quantity", line.quantity if line is not None else "1")}
        characteristics = ({c.name: c.value for c in line.characteristics} if line is not None else {}) \
            if request.method == "GET" else _characteristics_from(request.form)
        errors, message, status = {}, None, 200
        if request.method == "POST" and not form_fields.refreshing():
            try:
                if line is None:
                    saved = qwf.add_quote_line(_user(), quote.id, values["version"], offering_id, values["quantity"],
                                               characteristics)
                else:
                    saved = qwf.update_quote_line(_user(), line.id, values["version"], values["quantity"],
                                                  characteristics)
            except DomainError as error:
                db.session.rollback()
                errors, message, status = error.field_errors, error.message, error.status_code
            else:
                flash(f"Line saved: {saved}.", "success")
                return redirect(url_for("QuoteView.show", pk=quote.id) + "#quote-lines")
        return self.render_template(
            "orders/quote_line_form.html", title=f"{'Configure' if line else 'New'} line on quote {quote.number}",
            errors=errors, message=message, **self._line_choices(quote, line, values, characteristics),
        ), status

    @staticmethod
    def _line_choices(quote, line, values, characteristics) -> dict:
        """What the quote line form's offering and characteristics render (_quote_line_choices.html)."""
        kind = qwf.quote_kind(quote)
        return dict(quote=quote, line=line, values=values, characteristics=characteristics, kind=kind,
                    spec=pages.line_specification(values["offering_id"], None),
                    offerings=pages.active_offerings(quote.currency, kind))

    @expose("/line/<pk>/characteristics", methods=["GET"])
    @has_access
    @permission_name("edit")
    def line_choices(self, pk):
        """The offering and characteristics fields of a new line on the quote for the offering in the query
        string: orderdesk.js swaps them in when the offering changes."""
        try:
            quote = self._quote(form_fields.record_id(pk, "The quote"))
        except DomainError as error:
            return form_fields.refused(error)
        values = {"offering_id": request.args.get("offering_id", "")}
        return self.render_template("orders/_quote_line_choices.html", errors={},
                                    **self._line_choices(quote, None, values, _characteristics_from(request.args)))

    @expose("/line/<pk>/remove/<line_id>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def remove_line(self, pk, line_id):
        quote = self._quote(pk)
        if not any(line.id == _as_int(line_id) for line in quote.lines):
            abort(404)
        return self._act(quote, "Line removed.", qwf.remove_quote_line, int(line_id), request.form.get("version"))

    @expose("/transition/<pk>", methods=["POST"])
    @has_access
    @permission_name("transition")
    def transition(self, pk):
        quote = self._quote(pk)
        action = request.form.get("action", "")
        return self._act(quote, lambda q: f"{action}: quote {q.number} is now {q.state}.", qwf.change_quote_state,
                         quote.id, request.form.get("version"), action)

    @expose("/create_order/<pk>", methods=["POST"])
    @has_access
    @permission_name("create_order")
    def create_order(self, pk):
        quote = self._quote(pk)
        try:
            order = qwf.create_order_from_quote(_user(), quote.id, request.form.get("version"))
        except DomainError as error:
            flash(error.message, "danger")
            return redirect(url_for("QuoteView.show", pk=quote.id))
        flash(f"Order {order.number} created from quote {quote.number}.", "success")
        return redirect(order_url(order))


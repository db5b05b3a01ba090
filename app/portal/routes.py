"""The customer portal at /portal/: a customer's own order cases, orders, products and the catalog.

Its own look (``templates/portal``), none of the back-office menus. Every page needs the portal
permission (customers only) and a linked contact; every record is read through the customer's
``AccountScope``, so another account's ids answer 404 whatever the URL or form says. Changes are
the case and order workflows' own operations; a refusal is shown on the page and writes nothing.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_login import current_user

from app.exports.views import download
from app.portal import cart as ordering
from app.portal import exports, onboarding, pages
from app import workflows
from app.cases.queries import active_services, picker_rows
from app.core.display import time_zone_names
from app.core.preferences import choose_time_zone, shown_time_zone
from app.core.choices import CaseOrigin, CaseState, Priority, Scope
from app.core.exceptions import DomainError, PermissionDenied, RecordNotFound
from app.core.extensions import db
from app.portal.scope import AccountScope, customer_contact
from app.search.records import Portal
from app.search.service import TEXT_GROUPS, search

PERMISSION = "access"
VIEW_NAME = "CustomerPortal"


def portal_page(view):
    """A portal page: the portal permission, then the signed-in customer's contact and account scope."""

    @wraps(view)
    def page(self, **kwargs):
        contact = customer_contact(current_user)
        if contact is None:
            if view.__name__ == "index":
                return self.render_template("portal/not_linked.html"), 200
            return redirect(url_for("CustomerPortalView.index"))
        return view(self, contact, AccountScope(contact.account_id), **kwargs)

    return has_access(permission_name(PERMISSION)(page))


def _refusal(error: DomainError, status_for_input: int = 422) -> int:
    """Show a refusal on the page; the status a re-rendered form answers with."""
    db.session.rollback()
    if isinstance(error, RecordNotFound):
        abort(404)
    flash(error.message, "error")
    if isinstance(error, PermissionDenied):
        return 403
    return error.status_code if error.status_code != 422 else status_for_input


def _page_number(raw: str | None = None) -> int:
    raw = raw if raw is not None else request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 6 else 1


class CustomerPortalView(BaseView):
    route_base = "/portal"
    class_permission_name = VIEW_NAME
    base_permissions = [f"can_{PERMISSION}"]
    default_view = "index"

    def render(self, template: str, contact=None, status: int = 200, **context):
        """A portal page; the navigation shows how many items the contact's cart holds."""
        in_cart = ordering.cart_count(contact) if contact is not None else 0
        return self.render_template(f"portal/{template}", contact=contact, in_cart=in_cart, **context), status

    # -- home ----------------------------------------------------------------------------------------

    @expose("/")
    @portal_page
    def index(self, contact, scope):
        return self.render("index.html", contact, notices=pages.recent_notices(contact), **pages.home_summary(scope))

    # -- order cases ---------------------------------------------------------------------------------

    @expose("/cases/")
    @portal_page
    def cases(self, contact, scope):
        state = request.args.get("state") or None
        return self.render("cases.html", contact, listing=pages.case_list(scope, _page_number(), state),
                           state=state, states=CaseState.ALL, explanations=pages.CASE_STATE_EXPLANATIONS)

    @expose("/cases/new", methods=["GET", "POST"])
    @portal_page
    def new_case(self, contact, scope):
        """Step 1: the request's details; Next creates the Draft case."""
        form = request.form if request.method == "POST" else request.args
        errors, status = {}, 200
        services = active_services()
        if request.method == "POST":
            try:
                case = workflows.create_case(
                    current_user, service_id=form.get("service_id") or (services[0].id if services else None),
                    account_id=contact.account_id,
                    contact_id=contact.id, scope=form.get("scope"), origin=CaseOrigin.PORTAL,
                    short_description=form.get("short_description"), description=form.get("description"),
                    priority=form.get("priority") or 4,
                    order_number=form.get("order_number") if form.get("scope") == Scope.SINGLE_ORDER else None,
                )
                return redirect(url_for(".case", case_pk=case.id))
            except DomainError as refused:
                errors, status = refused.field_errors, _refusal(refused)
        return self.render("case_new.html", contact, status, form=form, errors=errors, services=services,
                           scopes=pages.SCOPES, priorities=Priority.LABELS,
                           orders=pages.orders_with_case_form(scope))

    @expose("/cases/<int:case_pk>/")
    @portal_page
    def case(self, contact, scope, case_pk):
        case = pages.find_case(scope, case_pk) or abort(404)
        comments = pages.conversation(scope, case, current_user.id)
        return self.render("case.html", contact, case=case, comments=comments,
                           question=pages.open_question(case, comments), tasks=pages.visible_tasks(scope, case),
                           explanation=pages.CASE_STATE_EXPLANATIONS.get(case.state, ""),
                           outcomes=pages.LINE_OUTCOMES)

    @expose("/cases/<int:case_pk>/add", methods=["GET", "POST"])
    @portal_page
    def add_lines(self, contact, scope, case_pk):
        """Step 2: pick the account's orders (Multiple orders) or the order's lines (single order)."""
        case = pages.find_case(scope, case_pk) or abort(404)
        status = 200
        if request.method == "POST":
            picked = request.form.getlist("pick")
            ids = {"order_ids": picked} if case.scope == Scope.MULTIPLE_ORDERS else {"order_line_ids": picked}
            try:
                workflows.add_case_lines(case.id, current_user, request.form.get("version"), **ids)
                return redirect(url_for(".case", case_pk=case.id))
            except DomainError as refused:
                status = _refusal(refused)
                case = pages.find_case(scope, case_pk) or abort(404)
        if case.state != CaseState.DRAFT:
            return redirect(url_for(".case", case_pk=case.id))
        title, _field, rows = picker_rows(case)
        return self.render("case_add.html", contact, status, case=case, title=title, rows=rows)

    @expose("/cases/<int:case_pk>/lines/<int:line_pk>/edit", methods=["GET", "POST"])
    @portal_page
    def edit_line(self, contact, scope, case_pk, line_pk):
        """Step 2: say what should change on one line."""
        case = pages.find_case(scope, case_pk) or abort(404)
        line = pages.find_case_line(scope, case, line_pk) or abort(404)
        errors, status, form = {}, 200, None
        if request.method == "POST":
            form = request.form
            try:
                pages.specify_change(current_user, scope, case, line, form)
                return redirect(url_for(".case", case_pk=case.id))
            except DomainError as refused:
                errors, status = refused.field_errors, _refusal(refused)
        if case.state != CaseState.DRAFT:
            return redirect(url_for(".case", case_pk=case.id))
        return self.render("line_edit.html", contact, status, case=case, line=line, errors=errors, form=form,
                           changes=pages.change_choices(case, line), locations=pages.account_locations(scope),
                           shown_for={field: change for change, field in pages.CHANGE_FIELDS.items()})

    @expose("/cases/<int:case_pk>/lines/<int:line_pk>/delete", methods=["POST"])
    @portal_page
    def delete_line(self, contact, scope, case_pk, line_pk):
        case = pages.find_case(scope, case_pk) or abort(404)
        line = pages.find_case_line(scope, case, line_pk) or abort(404)
        try:
            workflows.delete_case_lines(case.id, current_user, [line.id], {line.id: request.form.get("version")})
            flash(f"{line.number} was removed from your request.", "info")
        except DomainError as refused:
            _refusal(refused)
        return redirect(url_for(".case", case_pk=case.id))

    @expose("/cases/<int:case_pk>/review")
    @portal_page
    def review(self, contact, scope, case_pk):
        """Step 3: everything the request says, and Submit."""
        case = pages.find_case(scope, case_pk) or abort(404)
        if case.state != CaseState.DRAFT:
            return redirect(url_for(".case", case_pk=case.id))
        return self.render("case_review.html", contact, case=case, outcomes=pages.LINE_OUTCOMES)

    @expose("/cases/<int:case_pk>/submit", methods=["POST"])
    @portal_page
    def submit(self, contact, scope, case_pk):
        case = pages.find_case(scope, case_pk) or abort(404)
        try:
            workflows.submit_case(case.id, current_user, request.form.get("version"))
            flash(f"Thank you: {case.number} was sent to the order desk.", "info")
        except DomainError as refused:
            _refusal(refused)
            return redirect(url_for(".review", case_pk=case.id))
        return redirect(url_for(".case", case_pk=case.id))

    @expose("/cases/<int:case_pk>/comment", methods=["POST"])
    @portal_page
    def comment(self, contact, scope, case_pk):
        """Add comment; while the case awaits information, the comment is the answer and work resumes."""
        case = pages.find_case(scope, case_pk) or abort(404)
        answering = case.state == CaseState.AWAITING_INFO
        try:
            workflows.customer_reply(case.id, current_user, request.form.get("text"))
            flash("Thank you: your answer was sent and the order desk is working on it again." if answering
                  else "Your comment was added.", "info")
        except DomainError as refused:
            _refusal(refused)
        return redirect(url_for(".case", case_pk=case.id) + "#conversation")

    @expose("/cases/<int:case_pk>/accept", methods=["POST"])
    @portal_page
    def accept(self, contact, scope, case_pk):
        case = pages.find_case(scope, case_pk) or abort(404)
        try:
            workflows.accept_solution(case.id, current_user, request.form.get("version"))
            flash(f"Thank you: you accepted the solution and {case.number} is closed.", "info")
        except DomainError as refused:
            _refusal(refused)
        return redirect(url_for(".case", case_pk=case.id))

    @expose("/cases/<int:case_pk>/reject", methods=["GET", "POST"])
    @portal_page
    def reject(self, contact, scope, case_pk):
        case = pages.find_case(scope, case_pk) or abort(404)
        errors, status = {}, 200
        if request.method == "POST":
            try:
                workflows.reject_solution(case.id, current_user, request.form.get("version"),
                                          reason=request.form.get("reason"))
                flash(f"{case.number} went back to the order desk with your reason.", "info")
                return redirect(url_for(".case", case_pk=case.id))
            except DomainError as refused:
                errors, status = refused.field_errors, _refusal(refused)
        if case.state != CaseState.RESOLVED:
            return redirect(url_for(".case", case_pk=case.id))
        return self.render("case_reject.html", contact, status, case=case, errors=errors,
                           reason=request.form.get("reason", ""))

    # -- orders, products, catalog -------------------------------------------------------------------

    @expose("/orders/")
    @portal_page
    def orders(self, contact, scope):
        return self.render("orders.html", contact, listing=pages.order_list(scope, _page_number()))

    @expose("/orders/<int:order_pk>/")
    @portal_page
    def order(self, contact, scope, order_pk):
        order = pages.find_order(scope, order_pk) or abort(404)
        return self.render("order.html", contact, order=order, changes=pages.order_changes(scope, order),
                           cases=pages.order_cases(scope, order), notices=pages.order_notices(order))

    @expose("/products/")
    @portal_page
    def products(self, contact, scope):
        return self.render("products.html", contact, listing=pages.inventory_list(scope, _page_number()))

    @expose("/catalog/")
    @portal_page
    def catalog(self, contact, scope):
        return self._catalog_page(contact, request.args)

    def _catalog_page(self, contact, filters, errors=None, form=None, status: int = 200):
        words, category = (filters.get("q") or "").strip()[:200], filters.get("category") or ""
        found = ordering.search_catalog(words, category, _page_number(filters.get("page")))
        return self.render("catalog.html", contact, status, found=found, words=words, category=category,
                           categories=ordering.categories(), errors=errors or {}, form=form or {})

    @expose("/cart/add", methods=["POST"])
    @portal_page
    def add_to_cart(self, contact, scope):
        """Add to cart from a catalog card; a refusal shows the catalog page again, the error at the item."""
        try:
            added = ordering.add_to_cart(contact, request.form)
        except DomainError as refused:
            status = _refusal(refused)
            return self._catalog_page(contact, request.form, refused.field_errors, request.form, status)
        names = ", ".join(f"{item.quantity} × {item.offering.name}" for item in added)
        flash(f"In your cart: {names}.", "info")
        filters = {key: request.form[key] for key in ("q", "category", "page") if request.form.get(key)}
        return redirect(url_for(".catalog", **filters) + (f"#offering-{added[0].offering_id}" if added else ""))

    @expose("/cart/")
    @portal_page
    def cart(self, contact, scope):
        return self._cart_page(contact, scope)

    def _cart_page(self, contact, scope, errors=None, status: int = 200):
        items = ordering.cart_items(contact)
        return self.render("cart.html", contact, status, items=items, totals=ordering.cart_totals(items),
                           parts=ordering.cart_orders(items),
                           errors=errors or {}, form=request.form, locations=pages.account_locations(scope))

    @expose("/cart/update", methods=["POST"])
    @portal_page
    def update_cart(self, contact, scope):
        try:
            ordering.update_cart(contact, request.form)
            flash("Your cart was updated.", "info")
        except DomainError as refused:
            return self._cart_page(contact, scope, refused.field_errors, _refusal(refused))
        return redirect(url_for(".cart"))

    @expose("/cart/<int:item_pk>/remove", methods=["POST"])
    @portal_page
    def remove_from_cart(self, contact, scope, item_pk):
        try:
            flash(f"{ordering.remove_from_cart(contact, item_pk)} was removed from your cart.", "info")
        except DomainError as refused:
            _refusal(refused)
        return redirect(url_for(".cart"))

    @expose("/cart/order", methods=["POST"])
    @portal_page
    def place_order(self, contact, scope):
        """Place order: the quantities on the page are saved first, then the whole cart is ordered (as one
        order of each kind and provider it holds)."""
        try:
            ordering.update_cart(contact, request.form)
            placed = ordering.place_cart(current_user, contact, scope, request.form.get("shipping_location_id"))
        except DomainError as refused:
            return self._cart_page(contact, scope, refused.field_errors, _refusal(refused))
        if len(placed) == 1:
            flash(f"Thank you: order {placed[0].order.number} was placed.", "info")
            return redirect(url_for(".order", order_pk=placed[0].order.id))
        flash(f"Thank you: your cart became {len(placed)} orders: " + "; ".join(
            f"{part.order.number} for your {part.label}" for part in placed) + ".", "info")
        return redirect(url_for(".orders"))

    # -- settings -------------------------------------------------------------------------------------

    @expose("/settings", methods=["GET", "POST"])
    @portal_page
    def settings(self, contact, scope):
        """The customer's own settings: the time zone the portal shows times in."""
        errors, status = {}, 200
        if request.method == "POST":
            try:
                chosen = choose_time_zone(current_user.id, request.form.get("time_zone", ""))
                flash(f"Times are now shown in {chosen}.", "info")
                return redirect(url_for(".settings"))
            except DomainError as refused:
                errors, status = refused.field_errors, _refusal(refused)
        return self.render("settings.html", contact, status, errors=errors, zones=time_zone_names(),
                           chosen=request.form.get("time_zone") or shown_time_zone(current_user.id))

    # -- search and exports ---------------------------------------------------------------------------

    @expose("/search/")
    @portal_page
    def search(self, contact, scope):
        """The account's cases and orders by number or external id, or by words (and case comments)."""
        group = request.args.get("group")
        result = search(request.args.get("q", ""), Portal(scope), group if group in TEXT_GROUPS else None,
                        _page_number())
        if result.jump_url:
            return redirect(result.jump_url)
        return self.render("search.html", contact, result=result, group=group)

    @expose("/cases/export.<file_format>")
    @portal_page
    def export_cases(self, contact, scope, file_format):
        if file_format not in ("csv", "xlsx"):
            abort(404)
        state = request.args.get("state") or None
        return download("My order cases", file_format, exports.CASE_HEADINGS, exports.case_rows(scope, state))

    @expose("/orders/export.<file_format>")
    @portal_page
    def export_orders(self, contact, scope, file_format):
        if file_format not in ("csv", "xlsx"):
            abort(404)
        return download("My orders", file_format, exports.ORDER_HEADINGS, exports.order_rows(scope))


class PortalWelcomeView(BaseView):
    """The set-password page an invited contact opens from the e-mail; the signed link is the only key."""

    # Outside /portal: a public page that reads no account (the signed link names the user).
    route_base = "/welcome"

    @expose("/<token>", methods=["GET", "POST"])
    def welcome(self, token):
        errors, status = {}, 200
        try:
            login = onboarding.invited_user(token)
            if request.method == "POST":
                onboarding.set_first_password(token, request.form.get("password", ""),
                                              request.form.get("confirmation", ""))
                flash("Your password is set: sign in with it.", "info")
                return redirect(self.appbuilder.get_url_for_login)
        except DomainError as refused:
            errors, status = refused.field_errors, _refusal(refused)
            login = None if not refused.field_errors else onboarding.invited_user(token)
        return self.render_template("portal/welcome.html", login=login, errors=errors,
                                    min_length=onboarding.MIN_PASSWORD_LENGTH), status


def register_portal(appbuilder) -> None:
    appbuilder.add_view_no_menu(CustomerPortalView)
    appbuilder.add_view_no_menu(PortalWelcomeView)

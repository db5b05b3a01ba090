"""Order case views: the creation flow, the order case record page with its actions, and the lists.

The pages are thin: every change is one call into ``app.workflows``; a refusal (DomainError) becomes a
flash message and nothing is written. Forms and action buttons carry the record version.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_login import current_user

from app.cases import queries as case_queries
from app.cases.side_panel import side_panel
from app.core.url_patterns import url_pattern
from app.cases.tasks import may_create_task
from app.orders import changes as order_changes
from app.orders import form_fields
from app import workflows as wf
from app.core.choices import (
    CaseOrigin,
    CaseState,
    JournalKind,
    LineState,
    Priority,
    ReasonCode,
    RequestType,
    ResolutionCode,
    Scope,
)
from app.cases.bulk_views import BULK_PERMISSIONS, CaseBulkActions
from app.cases.guards import get_record, optional_id
from app.core.exceptions import DomainError, InvalidInput, VersionConflict
from app.core.extensions import db
from app.models import (
    CaseLineCharacteristic,
    CustomerOrder,
    Interaction,
    Location,
    OrderCase,
    OrderCaseLine,
    OrderLineItem,
    ProductOffering,
    ServiceDefinition,
)
from app.core.roles import ORDER_CASE_PERMISSIONS
from app.sla.views import SLA_COLUMN, SlaColumnMixin
from app.core.view_support import BackOfficeModelView, DeletableModelView, return_path

# URL slug → action label, for the case and for a line.
CASE_ACTION_SLUGS = {
    "submit": wf.SUBMIT,
    "assign-to-me": wf.ASSIGN_TO_ME,
    "request-information": wf.REQUEST_INFORMATION,
    "information-received": wf.INFORMATION_RECEIVED,
    "resolve": wf.RESOLVE_CASE,
    "close": wf.CLOSE_CASE,
    "cancel": wf.CANCEL,
}
LINE_ACTION_SLUGS = {
    "start-work": wf.START_WORK,
    "request-information": wf.REQUEST_INFORMATION,
    "information-received": wf.INFORMATION_RECEIVED,
    "accept": wf.ACCEPT,
    "deny": wf.DENY,
    "cancel": wf.CANCEL_LINE,
    "reopen": wf.REOPEN,
}
# Irreversible case actions: a confirmation saying what will happen comes first (a dialog, or a page
# without script). Their buttons say what they do: "Cancel" alone reads like a go-back link.
CASE_ACTION_CONFIRMATIONS = {wf.CANCEL}
CASE_ACTION_BUTTONS = {wf.CANCEL: "Cancel case"}
# The Order Case Line list's buttons that act on each ticked line separately.
BULK_LINE_OPERATIONS = {"assign-to-me": wf.LINE_ASSIGN_TO_ME, "accept": wf.ACCEPT, "deny": wf.DENY}
# Actions that ask for input first (a form page); the others are one button.
CASE_ACTION_INPUTS = {wf.REQUEST_INFORMATION: ("question",),
                      wf.RESOLVE_CASE: ("resolution_code", "resolution_notes", "outcome")}
LINE_ACTION_INPUTS = {
    wf.REQUEST_INFORMATION: ("question",),
    wf.ACCEPT: ("approved_quantity", "approved_delivery_date", "approved_unit_price", "requested_location_id",
                "replacement_offering_id", "resolution_notes"),
    wf.DENY: ("resolution_notes",),
    wf.CANCEL_LINE: ("reason",),
}
DONE = {
    wf.SUBMIT: "submitted", wf.ASSIGN_TO_ME: "assigned to you", wf.REQUEST_INFORMATION: "is awaiting information",
    wf.INFORMATION_RECEIVED: "is back in progress", wf.RESOLVE_CASE: "resolved", wf.CLOSE_CASE: "closed",
    wf.CANCEL: "cancelled", wf.START_WORK: "is in progress", wf.ACCEPT: "accepted", wf.DENY: "denied",
    wf.CANCEL_LINE: "cancelled", wf.REOPEN: "reopened",
}
# A case always has a contact: left empty on the intake form, it is the account's primary contact (create_case).
NO_CASE_CONTACT = "(the account's primary contact)"
ORIGINS = {
    "customer_order": CaseOrigin.CUSTOMER_ORDER,
    "order_line_items": CaseOrigin.ORDER_LINE_ITEMS,
    "interaction": CaseOrigin.INTERACTION,
    "list": CaseOrigin.LIST,
}


def _slug(label: str, slugs: dict[str, str]) -> str:
    return next(slug for slug, name in slugs.items() if name == label)


def case_url(case_id: int, anchor: str = "", lines_page: int = 1) -> str:
    """The record page (on page *lines_page* of its lines; the first page keeps the plain address)."""
    pages = {"lines_page": lines_page} if lines_page > 1 else {}
    return url_for("OrderCasePageView.record", pk=case_id, **pages) + (f"#{anchor}" if anchor else "")


def line_url(line: OrderCaseLine, anchor: str = "lines") -> str:
    """The record page of the line's case, on the page of lines that shows it."""
    return case_url(line.case_id, anchor, case_queries.line_page_number(line))


class OrderCasePageView(BaseView):
    """/ordercases/…: case type selector, intake form, record page, line picker and forms, and actions.

    Guarded by the Order Cases permissions (show / add / edit / delete on OrderCaseView); the
    workflows check the finer rules (state, role rank, version).
    """

    route_base = "/ordercases"
    class_permission_name = "OrderCaseView"
    # The whole permission set of OrderCaseView, can_list included though no page here lists: FAB strips
    # a shared view's permissions missing from any of its views from every role at registration, so a
    # starting instance would briefly take the Order Cases list away from the users of running ones.
    base_permissions = list(ORDER_CASE_PERMISSIONS)
    method_permission_name = {
        "select_type": "add", "intake": "add", "parties": "add", "record": "show", "add_lines": "edit",
        "new_line": "edit", "edit_line": "edit", "case_action": "edit", "line_action": "edit", "selected_lines": "edit",
        "journal": "edit", "delete_case": "delete", "edit_case": "edit", "attention": "edit",
    }
    default_view = "select_type"

    # -- creation ----------------------------------------------------------------------------------

    @expose("/create/", methods=["GET"])
    @has_access
    def select_type(self):
        """The case type selector; the query string (origin and its records) travels on to the intake form."""
        return self.render_template("cases/select_type.html", services=case_queries.active_services(),
                                    carry=_creation_params(request.args))

    @expose("/create/intake", methods=["GET", "POST"])
    @has_access
    def intake(self):
        source = request.form if request.method == "POST" else request.args
        params = _creation_params(source)
        service = get_record(ServiceDefinition, source.get("service_id"))
        if service is None or not service.active:
            flash("Choose a case type first.", "warning")
            return redirect(url_for("OrderCasePageView.select_type", **params))
        values = _intake_defaults(params)
        if request.method == "POST":
            values.update({k: source.get(k, "") for k in ("account_id", "contact_id", "scope", "order_number",
                                                          "short_description")})
            if values.get("fixed_scope"):
                values["scope"] = values["fixed_scope"]
            if form_fields.refreshing():
                return self._render_intake(service, params, values, {})
            try:
                case = wf.create_case(
                    current_user, service_id=service.id, account_id=values["account_id"], scope=values["scope"],
                    origin=values["origin"], short_description=values["short_description"],
                    order_number=values["order_number"], order_id=params.get("order_id") if values["origin"] ==
                    CaseOrigin.CUSTOMER_ORDER else None,
                    order_line_ids=params.get("order_line_id", []), interaction_id=params.get("interaction_id"),
                    contact_id=values.get("contact_id"),
                )
            except DomainError as error:
                db.session.rollback()
                flash(error.message, "danger")
                return self._render_intake(service, params, values, error.field_errors), error.status_code
            flash(f"Order case {case.number} created in Draft.", "success")
            return redirect(case_url(case.id))
        return self._render_intake(service, params, values, {})

    def _render_intake(self, service, params, values, errors):
        return self.render_template(
            "cases/intake.html", service=service, carry=params, values=values, errors=errors, scopes=Scope.ALL,
            **form_fields.account_fields(values.get("account_id"), values, "OrderCasePageView.parties",
                                         with_locations=False, no_contact=NO_CASE_CONTACT),
        )

    @expose("/create/parties", methods=["GET"])
    @has_access
    def parties(self):
        """The intake form's contact field for the account just chosen (orderdesk.js swaps it in)."""
        return form_fields.parties_fragment(self, "OrderCasePageView.parties", with_locations=False,
                                            no_contact=NO_CASE_CONTACT)

    # -- the record page ---------------------------------------------------------------------------

    @expose("/<int:pk>", methods=["GET"])
    @has_access
    def record(self, pk):
        case, line_counts = case_queries.load_case_record(pk)
        if case is None:
            abort(404)
        # Resolved once: the guards below are asked a few hundred times on a page of 50 lines.
        user = current_user._get_current_object()
        page = case_queries.case_line_page(case.id, request.args.get("lines_page"), line_counts)
        tasks = case_queries.case_tasks(case)
        lines = page.lines
        slas = case_queries.case_slas(case.id, lines)
        return self.render_template(
            "cases/record.html", case=case, line_page=page, lines=lines,
            activity=case_queries.activity_stream(case.id), tasks=tasks,
            line_tasks=case_queries.tasks_by_line(tasks),
            slas=slas, side=side_panel(case, page, slas),
            case_actions=self._case_actions(user, case), line_actions=self._line_actions(user, case, lines),
            can_delete_case=wf.may_delete_case(user, case),
            writable=wf.may_edit_case(user, case),
            can_add_lines=wf.may_add_lines(user, case),
            editable_lines={line.id for line in lines if wf.may_edit_line(user, case, line)},
            task_lines={line.id for line in lines if may_create_task(user, case, line)},
            can_create_case_task=may_create_task(user, case),
            bulk_operations=[slug for slug, action in BULK_LINE_OPERATIONS.items()
                             if any(wf.may_bulk_line_action(user, case, line, action) for line in lines)],
            can_delete_lines=any(wf.may_delete_line(user, case, line) for line in lines),
            priority_labels=Priority.LABELS,
            line_changes=order_changes.changes_by_case_line([line.id for line in lines]),
            edit_line_url=url_pattern("OrderCasePageView.edit_line", "pk"),
            create_line_task_url=url_pattern("TaskPageView.create_line_task", "case_line_id"),
            line_task_url=url_pattern("TaskPageView.line_task", "line_task_id"),
        )

    def _case_actions(self, user, case):
        """(button label, slug, opens a form first, irreversible) for each action the workflows allow."""
        return [
            (CASE_ACTION_BUTTONS.get(label, label), _slug(label, CASE_ACTION_SLUGS),
             label in CASE_ACTION_INPUTS or label in CASE_ACTION_CONFIRMATIONS, label in CASE_ACTION_CONFIRMATIONS)
            for label in wf.CASE_ACTION_SOURCES if wf.may_case_action(user, case, label)
        ]

    def _line_actions(self, user, case, lines) -> dict[int, list]:
        """For each of *lines*: (label, address, opens a form first) of each action the workflows allow *user*."""
        action_url = url_pattern("OrderCasePageView.line_action", "pk", "name")
        slugs = {label: _slug(label, LINE_ACTION_SLUGS) for label in wf.LINE_ACTION_SOURCES}
        return {
            line.id: [(label, action_url(line.id, slugs[label]), label in LINE_ACTION_INPUTS)
                      for label in wf.LINE_ACTION_SOURCES if wf.may_line_action(user, case, line, label)]
            for line in lines
        }

    @expose("/<int:pk>/edit", methods=["GET", "POST"])
    @has_access
    def edit_case(self, pk):
        case = case_queries.load_case_page(pk)
        if case is None:
            abort(404)
        if request.method == "POST":
            fields = {f: request.form.get(f, "") for f in wf.CASE_EDIT_FIELDS if f != "needs_attention"}
            fields["needs_attention"] = request.form.get("needs_attention", "")
            try:
                wf.edit_case(pk, current_user, version=request.form.get("version"), **fields)
            except DomainError as error:
                db.session.rollback()
                flash(error.message, "danger")
                case = case_queries.load_case_page(pk)
                return self._render_case_form(case, dict(request.form), error.field_errors,
                                              isinstance(error, VersionConflict)), error.status_code
            flash(f"{case.number} saved.", "success")
            return redirect(case_url(pk))
        values = {f: ("" if getattr(case, f) is None else getattr(case, f)) for f in wf.CASE_EDIT_FIELDS}
        return self._render_case_form(case, values, {})

    def _render_case_form(self, case, values, errors, conflict=False):
        return self.render_template("cases/case_form.html", case=case, values=values, errors=errors,
                                    conflict=conflict,
                                    priorities=Priority.LABELS, **case_queries.case_form_choices(case))

    # -- actions -----------------------------------------------------------------------------------

    @expose("/<int:pk>/action/<name>", methods=["GET", "POST"])
    @has_access
    def case_action(self, pk, name):
        label = CASE_ACTION_SLUGS.get(name)
        case = get_record(OrderCase, pk)
        if label is None or case is None:
            abort(404)
        inputs = CASE_ACTION_INPUTS.get(label, ())
        if request.method == "GET":
            if not inputs and label not in CASE_ACTION_CONFIRMATIONS:
                return redirect(case_url(pk))
            return self._render_action_form(case, None, label, inputs, dict(request.args), {})
        values = {field: request.form.get(field) for field in inputs}
        number = case.number  # read before the action commits: afterwards it would load the case again
        try:
            wf.CASE_ACTIONS[label](pk, current_user, version=request.form.get("version"), **values)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
            if inputs and isinstance(error, InvalidInput):
                return self._render_action_form(get_record(OrderCase, pk), None, label, inputs, values,
                                                error.field_errors), error.status_code
            return redirect(case_url(pk))
        flash(f"{number} {DONE[label]}.", "success")
        return redirect(case_url(pk))

    @expose("/line/<int:pk>/action/<name>", methods=["GET", "POST"])
    @has_access
    def line_action(self, pk, name):
        label = LINE_ACTION_SLUGS.get(name)
        line = case_queries.load_line(pk)
        if label is None or line is None:
            abort(404)
        inputs = LINE_ACTION_INPUTS.get(label, ())
        if request.method == "GET":
            if not inputs:
                return redirect(line_url(line))
            return self._render_action_form(line.case, line, label, inputs, _accept_defaults(line, label), {})
        values = {field: request.form.get(field) for field in inputs}
        # Read before the action commits (afterwards they would load the line again); a line action
        # adds lines only after this one, so the page that shows it stays the same.
        number, back = line.number, line_url(line)
        try:
            wf.LINE_ACTIONS[label](pk, current_user, version=request.form.get("version"), **values)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
            if inputs and isinstance(error, InvalidInput):
                line = case_queries.load_line(pk)
                return self._render_action_form(line.case, line, label, inputs, values,
                                                error.field_errors), error.status_code
            return redirect(back)
        flash(f"Line {number} {DONE[label]}.", "success")
        return redirect(back)

    def _render_action_form(self, case, line, label, inputs, values, errors):
        return self.render_template(
            "cases/action_form.html", case=case, line=line, action=label, inputs=inputs, values=values,
            button=CASE_ACTION_BUTTONS.get(label, label) if line is None else label,
            confirmation=_confirmation(case, label) if line is None and label in CASE_ACTION_CONFIRMATIONS else None,
            errors=errors, resolution_codes=ResolutionCode.ALL, locations=_locations(case),
            offerings=_offerings() if "replacement_offering_id" in inputs else [],
            open_lines=case_queries.open_line_count(case.id) if "outcome" in inputs else 0,
            back_url=line_url(line) if line else case_url(case.id),
        )

    # -- lines -------------------------------------------------------------------------------------

    @expose("/<int:pk>/add-lines", methods=["GET", "POST"])
    @has_access
    def add_lines(self, pk):
        case = get_record(OrderCase, pk)
        if case is None:
            abort(404)
        if request.method == "POST":
            try:
                created = wf.add_case_lines(pk, current_user, version=request.form.get("version"),
                                            order_ids=request.form.getlist("order_id"),
                                            order_line_ids=request.form.getlist("order_line_id"))
            except DomainError as error:
                db.session.rollback()
                flash(error.message, "danger")
                return redirect(url_for("OrderCasePageView.add_lines", pk=pk))
            flash(f"{len(created)} line(s) added: {', '.join(line.number for line in created)}.", "success")
            return redirect(line_url(created[0]) if created else case_url(pk, "lines"))
        title, field, rows = case_queries.picker_rows(case)
        return self.render_template("cases/picker.html", case=case, title=title, field=field, rows=rows)

    @expose("/<int:pk>/new-line", methods=["GET", "POST"])
    @has_access
    def new_line(self, pk):
        case = get_record(OrderCase, pk)
        if case is None:
            abort(404)
        values = dict(request.form) if request.method == "POST" else {}
        if request.method == "POST":
            fields = {f: request.form.get(f) for f in wf.LINE_EDIT_FIELDS if f in request.form}
            try:
                line = wf.create_case_line(pk, current_user, version=request.form.get("version"),
                                           order_id=request.form.get("order_id"),
                                           order_line_id=request.form.get("order_line_id"), **fields)
            except DomainError as error:
                db.session.rollback()
                flash(error.message, "danger")
                return self._render_line_form(get_record(OrderCase, pk), None, values, error.field_errors,
                                              isinstance(error, VersionConflict)), error.status_code
            flash(f"Line {line.number} created.", "success")
            return redirect(line_url(line))
        return self._render_line_form(case, None, values, {})

    @expose("/line/<int:pk>/edit", methods=["GET", "POST"])
    @has_access
    def edit_line(self, pk):
        line = case_queries.load_line(pk)
        if line is None:
            abort(404)
        if request.method == "POST":
            fields = {f: request.form.get(f) for f in wf.LINE_EDIT_FIELDS if f in request.form}
            if line.is_header_line:
                fields = {f: v for f, v in fields.items() if f not in ("requested_quantity", "replacement_offering_id")
                          or v}
            try:
                wf.edit_case_line(pk, current_user, version=request.form.get("version"), **fields)
            except DomainError as error:
                db.session.rollback()
                flash(error.message, "danger")
                line = case_queries.load_line(pk)
                return self._render_line_form(line.case, line, dict(request.form), error.field_errors,
                                              isinstance(error, VersionConflict)), error.status_code
            flash(f"Line {line.number} saved.", "success")
            return redirect(line_url(line))
        return self._render_line_form(line.case, line, _line_values(line), {})

    def _render_line_form(self, case, line, values, errors, conflict=False):
        header = case.scope == Scope.MULTIPLE_ORDERS
        choices = []
        if line is None:
            _title, _field, rows = case_queries.picker_rows(case)
            choices = [(row.id, f"{row.number} — {row.description}") for row in rows]
        return self.render_template(
            "cases/line_form.html", case=case, line=line, values=values, errors=errors, header=header,
            conflict=conflict,
            ref_choices=choices, request_types=RequestType.HEADER_LEVEL if header else RequestType.ALL,
            reason_codes=ReasonCode.ALL, priorities=Priority.LABELS, locations=_locations(case),
            offerings=[] if header else _offerings(),
            back_url=line_url(line) if line else case_url(case.id, "lines"),
        )

    @expose("/<int:pk>/lines/selected", methods=["POST"])
    @has_access
    def selected_lines(self, pk):
        """Delete (all or none), or Assign to me / Accept / Deny (line by line) on the ticked lines.

        Bulk Assign to me, Accept and Deny report every line's outcome: the lines that were changed and,
        for each refused one, why; a refused line does not hold the others back.
        """
        # Back to the page of lines the buttons were pressed on (the record page keeps it in range).
        back = case_url(pk, "lines", optional_id(request.form.get("lines_page")) or 1)
        line_ids = request.form.getlist("line_id")
        versions = {int(i): request.form.get(f"version_{i}") for i in line_ids if i.isdigit()}
        operation = request.form.get("operation")
        try:
            if operation == "delete":
                count = wf.delete_case_lines(pk, current_user, line_ids, versions)
                flash(f"{count} line(s) deleted.", "success")
            elif operation in BULK_LINE_OPERATIONS:
                action = BULK_LINE_OPERATIONS[operation]
                outcomes = wf.bulk_line_action(pk, current_user, action, line_ids, versions,
                                               resolution_notes=request.form.get("resolution_notes"))
                done = sum(1 for _number, ok, _message in outcomes if ok)
                flash(f"{action}: {done} of {len(outcomes)} line(s) done"
                      + (f", {len(outcomes) - done} refused." if done < len(outcomes) else "."),
                      "success" if done == len(outcomes) else "warning")
                for number, ok, message in outcomes:
                    flash(f"{number}: {message}", "success" if ok else "danger")
            else:
                abort(400)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
        return redirect(back)

    @expose("/<int:pk>/attention", methods=["POST"])
    @has_access
    def attention(self, pk):
        """Set (with a reason) or clear the case's Needs attention flag."""
        needs_attention = request.form.get("needs_attention") == "1"
        try:
            case = wf.set_needs_attention(pk, current_user, version=request.form.get("version"),
                                          needs_attention=needs_attention, reason=request.form.get("reason"))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return redirect(case_url(pk))
        flash(f"{case.number} marked as needing attention." if needs_attention else
              f"{case.number} no longer needs attention.", "success")
        return redirect(case_url(pk))

    @expose("/<int:pk>/journal", methods=["POST"])
    @has_access
    def journal(self, pk):
        kind = request.form.get("kind", JournalKind.COMMENT)
        try:
            wf.add_case_journal_entry(pk, current_user, kind, request.form.get("text", ""),
                                      line_id=request.form.get("line_id") or None)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            flash("Comment posted." if kind == JournalKind.COMMENT else "Work note added.", "success")
        return redirect(case_url(pk, "activity"))

    @expose("/<int:pk>/delete", methods=["POST"])
    @has_access
    def delete_case(self, pk):
        try:
            number = wf.delete_case(pk, current_user, version=request.form.get("version"))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return redirect(case_url(pk))
        flash(f"Order case {number} deleted.", "success")
        return redirect(url_for("OrderCaseView.list"))


# -- helpers for the pages -------------------------------------------------------------------------


def _int(value) -> int | None:
    return optional_id(value)


def _creation_params(source) -> dict:
    """The creation path from the query string (or the intake form's hidden fields)."""
    origin = source.get("origin") if source.get("origin") in ORIGINS else "list"
    params: dict = {"origin": origin}
    for key in ("order_id", "interaction_id", "for_account"):
        if _int(source.get(key)):
            params[key] = _int(source.get(key))
    if return_path():
        params["next"] = return_path()
    line_ids = [_int(v) for v in source.getlist("order_line_id")] if hasattr(source, "getlist") else []
    if line_ids:
        params["order_line_id"] = [i for i in line_ids if i]
    return params


def _intake_defaults(params: dict) -> dict:
    """Pre-fill the intake form as SPEC §3's table says for the path the agent came from."""
    origin = ORIGINS[params["origin"]]
    values = {"origin": origin, "account_id": "", "contact_id": "", "scope": "", "order_number": "",
              "short_description": "", "fixed_scope": "", "source_label": ""}
    order = get_record(CustomerOrder, params.get("order_id"))
    if origin == CaseOrigin.CUSTOMER_ORDER and order is not None:
        values.update(account_id=order.account_id, contact_id=order.contact_id or "",
                      fixed_scope=Scope.MULTIPLE_ORDERS, scope=Scope.MULTIPLE_ORDERS,
                      source_label=f"Order {order.number}")
    elif origin == CaseOrigin.ORDER_LINE_ITEMS:
        if order is None and params.get("order_line_id"):
            first = get_record(OrderLineItem, params["order_line_id"][0])
            order = first.order if first else None
            if order is not None:
                params["order_id"] = order.id
        if order is not None:
            numbers = [n for (n,) in db.session.query(OrderLineItem.number).filter(
                OrderLineItem.id.in_(params.get("order_line_id", [])), OrderLineItem.order_id == order.id)]
            values.update(account_id=order.account_id, contact_id=order.contact_id or "",
                          fixed_scope=Scope.SINGLE_ORDER, scope=Scope.SINGLE_ORDER, order_number=order.number,
                          source_label=f"Lines {', '.join(sorted(numbers))} of order {order.number}")
    elif origin == CaseOrigin.LIST and params.get("for_account"):
        # Started from the account page: the account is known, the agent picks the scope.
        values.update(account_id=params["for_account"])
    elif origin == CaseOrigin.INTERACTION and params.get("interaction_id"):
        interaction = get_record(Interaction, params["interaction_id"])
        if interaction is not None:
            values.update(account_id=interaction.account_id or "", contact_id=interaction.contact_id or "",
                          short_description=interaction.short_description or "",
                          source_label=f"Interaction {interaction.number}")
    return values


def _confirmation(case: OrderCase, label: str) -> str:
    """What an irreversible case action will do, in the words of its confirmation."""
    open_lines = case_queries.open_line_count(case.id)
    lines = f" and its {open_lines} open line{'s' if open_lines != 1 else ''}" if open_lines else ""
    return (f"{case.number}{lines} will be cancelled. A cancelled case is read-only: it cannot be edited, "
            "submitted or reopened, and this cannot be undone.")


def _accept_defaults(line: OrderCaseLine, label: str) -> dict:
    if label != wf.ACCEPT:
        return {}
    return {
        "approved_quantity": line.approved_quantity or line.requested_quantity or "",
        "approved_delivery_date": line.approved_delivery_date or line.requested_delivery_date or "",
        "approved_unit_price": line.approved_unit_price if line.approved_unit_price is not None
        else (line.disputed_unit_price if line.disputed_unit_price is not None else ""),
        "requested_location_id": line.requested_location_id or "",
        "replacement_offering_id": line.replacement_offering_id or "",
    }


def _line_values(line: OrderCaseLine) -> dict:
    return {f: ("" if getattr(line, f) is None else getattr(line, f)) for f in wf.LINE_EDIT_FIELDS}


def _locations(case: OrderCase) -> list[Location]:
    """Shipping locations offered for a case: the account's, then shared ones."""
    return (
        db.session.query(Location)
        .filter((Location.account_id == case.account_id) | Location.account_id.is_(None))
        .order_by(Location.account_id.is_(None), Location.name).limit(200).all()
    )


def _offerings() -> list[ProductOffering]:
    return (db.session.query(ProductOffering).filter(ProductOffering.active.is_(True))
            .order_by(ProductOffering.name).limit(500).all())


# -- list views ------------------------------------------------------------------------------------


class CaseLineCharacteristicView(BackOfficeModelView):
    datamodel = SQLAInterface(CaseLineCharacteristic)
    list_columns = ["number", "case_line", "name", "value"]


class OrderCaseLineView(DeletableModelView):
    """The Order Case Lines list; a line is created, changed and deleted on its case's page."""

    datamodel = SQLAInterface(OrderCaseLine)
    list_title = "Order Case Lines"
    list_columns = ["number", "case", "order", "order_line", "request_type", "state", "assigned_to"]
    search_columns = ["number", "state", "request_type"]
    base_order = ("number", "desc")
    quick_search_vocabularies = {"state": LineState, "request_type": RequestType}
    quick_search_through = "case"
    row_permissions = {"edit": lambda user, line: wf.may_edit_line(user, line.case, line),
                       "delete": lambda user, line: wf.may_delete_line(user, line.case, line)}

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        flash("Lines are added on their order case's page (Add or New on the Order Case Line list).", "info")
        return redirect(url_for("OrderCaseView.list"))

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        line = get_record(OrderCaseLine, pk)
        if line is None:
            abort(404)
        return redirect(line_url(line, f"line-{line.id}"))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        if get_record(OrderCaseLine, pk) is None:
            abort(404)
        return redirect(url_for("OrderCasePageView.edit_line", pk=_int(pk)))

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        line = get_record(OrderCaseLine, pk)
        if line is None:
            abort(404)
        if request.method == "POST":
            try:
                wf.delete_case_lines(line.case_id, current_user, [line.id])
            except DomainError as error:
                db.session.rollback()
                flash(error.message, "danger")
                return redirect(line_url(line))
            flash("Line deleted.", "success")
        return redirect(url_for("OrderCaseLineView.list"))


class OrderCaseView(CaseBulkActions, SlaColumnMixin, DeletableModelView):
    """The Order Cases list. New goes to the case type selector; a case opens on its record page; ticked
    cases are closed, reassigned or reprioritised in bulk."""

    datamodel = SQLAInterface(OrderCase)
    # Its own list: FAB appends action permissions to the class's list, which must not reach other views.
    base_permissions = list(ORDER_CASE_PERMISSIONS)
    method_permission_name = BULK_PERMISSIONS
    list_title = "Order Cases"
    list_columns = ["number", "short_description", "account", "state", "priority", "assigned_to", "opened_at",
                    SLA_COLUMN]
    search_columns = ["number", "short_description", "account", "state", "priority", "assigned_to"]
    base_order = ("number", "desc")
    companion_views = (OrderCasePageView,)
    add_label = "New case"
    add_endpoint = "OrderCasePageView.select_type"
    add_dialog = True
    row_permissions = {"edit": wf.may_edit_case, "delete": wf.may_delete_case}

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        # The record page and creation flow live under /ordercases and share this view's permissions.
        for view in self.companion_views:
            appbuilder.add_view_no_menu(view)
        return blueprint

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        return redirect(url_for("OrderCasePageView.select_type"))

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        if get_record(OrderCase, pk) is None:
            abort(404)
        return redirect(case_url(_int(pk)))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        if get_record(OrderCase, pk) is None:
            abort(404)
        return redirect(url_for("OrderCasePageView.edit_case", pk=_int(pk)))

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        case = get_record(OrderCase, pk)
        if case is None:
            abort(404)
        if request.method == "POST":
            try:
                wf.delete_case(case.id, current_user)
            except DomainError as error:
                db.session.rollback()
                flash(error.message, "danger")
                return redirect(case_url(case.id))
            flash("Order case deleted.", "success")
        return redirect(url_for("OrderCaseView.list"))

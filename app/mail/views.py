"""E-mail pages: the agent's e-mail from the case page, the administrators' e-mail templates, and the
list of inbound messages the desk must look at (senders matching no contact, quarantined messages)."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_login import current_user

from app.cases.guards import get_record
from app.core.exceptions import DomainError
from app.core.extensions import db
from app.core.roles import READ
from app.core.view_support import COMMON_LABELS, BackOfficeModelView
from app.mail import compose
from app.mail.models import EmailTemplate, InboundEmail, InboundOutcome
from app.models import OrderCase


class CaseEmailView(BaseView):
    """/ordercases/<id>/email: write to the case contact, from a template or from scratch. Shares the Order
    Cases permissions (edit), declaring their whole set as the case page does."""

    route_base = "/ordercases"
    class_permission_name = "OrderCaseView"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
    method_permission_name = {"compose": "edit"}

    @expose("/<int:pk>/email", methods=["GET", "POST"])
    @has_access
    def compose(self, pk):
        case = get_record(OrderCase, pk)
        if case is None:
            abort(404)
        templates = compose.active_templates()
        values = {"cc": "", "subject": "", "body": "", "attachment_ids": []}
        chosen = get_record(EmailTemplate, request.args.get("template_id"))
        if chosen is not None and chosen.active:
            values["subject"], values["body"] = compose.fill(chosen, case, current_user)
        errors, status = {}, 200
        if request.method == "POST":
            values = {"cc": request.form.get("cc", ""), "subject": request.form.get("subject", ""),
                      "body": request.form.get("body", ""), "attachment_ids": request.form.getlist("attachment_id")}
            try:
                notification = compose.send_case_email(current_user, pk, subject=values["subject"],
                                                       body=values["body"], cc=values["cc"],
                                                       attachment_ids=values["attachment_ids"])
            except DomainError as error:
                db.session.rollback()
                flash(error.message, "danger")
                errors, status = error.field_errors, error.status_code
                case = get_record(OrderCase, pk)
            else:
                flash(f"E-mail to {notification.recipient_email} queued for sending.", "success")
                return redirect(url_for("OrderCasePageView.record", pk=pk) + "#activity")
        return self.render_template(
            "mail/compose.html", case=case, templates=templates, chosen=chosen, values=values, errors=errors,
            files=compose.case_files(case), placeholders=compose.PLACEHOLDERS,
        ), status


def _placeholders_valid(form, field):
    from wtforms.validators import ValidationError

    problems = compose.template_problems(field.data or "")
    if problems:
        raise ValidationError("; ".join(problems).capitalize() + ". Placeholders: "
                              + ", ".join("{" + name + "}" for name in compose.PLACEHOLDERS) + ".")


class EmailTemplateView(BackOfficeModelView):
    """Administrators: the e-mail templates agents start from on the case page."""

    datamodel = SQLAInterface(EmailTemplate)
    list_title = "E-mail templates"
    show_title = "E-mail template"
    add_title = "New e-mail template"
    edit_title = "Edit e-mail template"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
    list_columns = ["name", "subject", "active", "changed_on"]
    search_columns = ["name", "subject", "active"]
    show_columns = ["name", "subject", "body", "active", "created_on", "changed_on"]
    add_columns = ["name", "subject", "body", "active"]
    edit_columns = add_columns
    validators_columns = {"subject": [_placeholders_valid], "body": [_placeholders_valid]}
    description_columns = {
        "body": "Placeholders filled from the case: " + "; ".join(
            f"{{{name}}} {meaning}" for name, meaning in compose.PLACEHOLDERS.items()) + ".",
        "subject": "The case number is added as [ORDCS…] so replies find their case.",
    }
    base_order = ("name", "asc")


class InboundEmailView(BackOfficeModelView):
    """The messages the desk mailbox brought that no case took: for review (unknown senders, a reply from
    someone other than the contact, automatic replies) and in quarantine (unreadable, too large)."""

    datamodel = SQLAInterface(InboundEmail)
    base_permissions = [*READ, "can_dismiss"]
    list_title = "Inbound e-mail to review"
    show_title = "Inbound e-mail"
    list_columns = ["received_on", "from_address", "subject", "outcome", "reason", "case"]
    search_columns = ["from_address", "subject", "outcome", "received_on"]
    show_columns = ["received_on", "from_address", "subject", "outcome", "reason", "case", "size", "text"]
    label_columns = {**COMMON_LABELS, "received_on": "Received", "from_address": "From", "text": "Message",
                     "size": "Size (bytes)"}
    base_filters = [["outcome", FilterInFunction, lambda: [InboundOutcome.REVIEW, InboundOutcome.QUARANTINED]]]
    base_order = ("received_on", "desc")

    @action("dismiss", "Dismiss", "Mark the selected messages as dealt with?", "fa-check")
    def dismiss(self, items):
        items = items if isinstance(items, list) else [items]
        for item in items:
            item.outcome = InboundOutcome.DISMISSED
        db.session.commit()
        flash(f"{len(items)} message(s) dismissed.", "success")
        return redirect(url_for("InboundEmailView.list"))

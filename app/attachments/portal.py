"""The portal's attachment routes: a customer attaches files to their account's cases, case lines and
orders, downloads them and deletes their own. Every id is read through the customer's account
(``store.customer_may_see``); another account's ids answer 404 like ids that do not exist."""
from __future__ import annotations

from flask import abort, flash, redirect
from flask_appbuilder import BaseView, expose
from flask_login import current_user

from app.attachments import store
from app.attachments.views import back_url, download_response, retarget, uploads_from_request
from app.core.exceptions import DomainError, RecordNotFound
from app.core.extensions import db
from app.portal.routes import VIEW_NAME, portal_page


class CustomerPortalAttachmentsView(BaseView):
    route_base = "/portal/attachments"
    class_permission_name = VIEW_NAME
    base_permissions = ["can_access"]
    default_view = "download"

    @expose("/<kind>/<int:record_pk>", methods=["POST"])
    @portal_page
    def upload(self, contact, scope, kind, record_pk):
        try:
            owner = store.find_owner(*retarget(kind, record_pk))
            if not store.customer_may_see(current_user, owner):
                raise RecordNotFound("The record does not exist, or you may not see it.")
            added = store.add_attachments(current_user, owner, uploads_from_request())
        except RecordNotFound:
            db.session.rollback()
            abort(404)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(back_url())
        flash(f"Attached: {', '.join(a.filename for a in added)}.", "info")
        return redirect(back_url())

    @expose("/<int:attachment_pk>", methods=["GET"])
    @portal_page
    def download(self, contact, scope, attachment_pk):
        try:
            attachment = store.find_attachment(current_user, attachment_pk)
        except RecordNotFound:
            abort(404)
        return download_response(attachment)

    @expose("/<int:attachment_pk>/delete", methods=["POST"])
    @portal_page
    def delete(self, contact, scope, attachment_pk):
        try:
            name = store.delete_attachment(current_user, attachment_pk)
        except RecordNotFound:
            db.session.rollback()
            abort(404)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(back_url())
        flash(f"{name} deleted.", "info")
        return redirect(back_url())

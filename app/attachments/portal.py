"""The portal's attachment routes: a customer attaches files to their account's cases, case lines and
orders, downloads them and deletes their own. Every id is read through the customer's account
(``store.customer_may_see``, inside the operations); another account's ids answer 404 like ids that do
not exist."""
from __future__ import annotations

from flask_appbuilder import BaseView, expose

from app.attachments.views import delete_file, download_file, upload_files
from app.portal.routes import VIEW_NAME, portal_page


class CustomerPortalAttachmentsView(BaseView):
    route_base = "/portal/attachments"
    class_permission_name = VIEW_NAME
    base_permissions = ["can_access"]
    default_view = "download"
    # The portal's flash categories.
    categories = ("error", "info")

    @expose("/<kind>/<int:record_pk>", methods=["POST"])
    @portal_page
    def upload(self, contact, scope, kind, record_pk):
        return upload_files(kind, record_pk, self.categories)

    @expose("/<int:attachment_pk>", methods=["GET"])
    @portal_page
    def download(self, contact, scope, attachment_pk):
        return download_file(attachment_pk)

    @expose("/<int:attachment_pk>/delete", methods=["POST"])
    @portal_page
    def delete(self, contact, scope, attachment_pk):
        return delete_file(attachment_pk, self.categories)

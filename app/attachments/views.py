"""The attachment pieces of the back office: upload (several files, drag and drop or a file input),
download and delete under /attachments/, and ``attachment_panel`` — what the pages' shared partial
(``templates/attachments/_panel.html``) lists and offers for a record."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

from flask import Response, abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user
from sqlalchemy import select

from app.attachments import store
from app.attachments.models import Attachment
from app.core.exceptions import DomainError, RecordNotFound
from app.core.extensions import db
from app.core.url_patterns import url_pattern
from app.models import OrderCase

UPLOAD_FIELD = "files"
TARGET = re.compile(r"/([a-z-]{1,20})/([0-9]{1,10})$")


def download_response(attachment: Attachment) -> Response:
    """The file as a download, never shown inline: a browser must not render or sniff what a user uploaded."""
    attachment_id, size = attachment.id, attachment.size
    ascii_name = attachment.filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    response = Response(store.content_chunks(attachment_id, size, db.engine), mimetype=attachment.content_type,
                        direct_passthrough=True)
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(attachment.filename, safe="")}')
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["ETag"] = f'"{attachment.sha256}"'
    return response


def retarget(kind: str, pk: int) -> tuple[str, int]:
    """The record the form's "Attach to" choice names (its upload address), else the one in the address."""
    match = TARGET.search(request.form.get("target") or "")
    return (match.group(1), int(match.group(2))) if match else (kind, pk)


def uploads_from_request() -> list[store.Upload]:
    return [store.read_upload(file.filename, file.stream) for file in request.files.getlist(UPLOAD_FIELD)
            if file.filename or file.content_length]


# ----------------------------------------------------------------------------------------------------
# The panel a page shows


@dataclass
class Target:
    """A record files can be uploaded to from this panel."""

    label: str
    upload_url: str


@dataclass
class Row:
    attachment: Attachment
    on: str
    download_url: str
    delete_url: str | None


@dataclass
class Panel:
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    max_file: str = ""
    max_record: str = ""
    portal: bool = False


def _labels(attachments: list[Attachment], known=()) -> dict[tuple[str, int], str]:
    """The human number of each attachment's owner: from the *known* records the page already holds
    (the owner and the lines it shows), else one query per kind of owner."""
    labels = {(record.__tablename__, record.id): record.number for record in known}
    wanted: dict[str, set[int]] = {}
    for attachment in attachments:
        if (attachment.record_type, attachment.record_id) not in labels:
            wanted.setdefault(attachment.record_type, set()).add(attachment.record_id)
    for record_type, ids in wanted.items():
        model = store.OWNERS[store.OWNER_NAMES[record_type]]
        for record_id, number in db.session.execute(select(model.id, model.number).where(model.id.in_(ids))):
            labels[(record_type, record_id)] = number
    return labels


def attachment_panel(owner, children=(), portal: bool = False) -> Panel:
    """The files of *owner* (for a case: of its lines and tasks too) and where new ones may go: the owner
    and *children* (the lines a case page shows), unless the case is closed."""
    user = current_user._get_current_object()
    attachments = store.attachments_of(owner)
    if portal:
        attachments = [a for a in attachments if a.record_type in store.CUSTOMER_RECORD_TYPES]
    labels = _labels(attachments, (owner, *children))
    panel = Panel(max_file=store.megabytes(store.max_file_bytes()), max_record=store.megabytes(store.max_record_bytes()),
                  portal=portal)
    # One address pattern per endpoint: a case page offers each of its 50 lines as an upload target.
    if portal:
        download_url = url_pattern("CustomerPortalAttachmentsView.download", "attachment_pk")
        delete_url = url_pattern("CustomerPortalAttachmentsView.delete", "attachment_pk")
        upload_url = url_pattern("CustomerPortalAttachmentsView.upload", "kind", "record_pk")
    else:
        download_url = url_pattern("AttachmentView.download", "pk")
        delete_url = url_pattern("AttachmentView.delete", "pk")
        upload_url = url_pattern("AttachmentView.upload", "kind", "pk")
    for attachment in attachments:
        panel.rows.append(Row(attachment, labels.get((attachment.record_type, attachment.record_id), ""),
                              download_url(attachment.id),
                              delete_url(attachment.id) if store.may_delete(user, attachment) else None))
    case = store.case_of(owner)
    if case is None or not case.is_read_only:
        for record in (owner, *children):
            kind = store.OWNER_NAMES[record.__tablename__]
            what = "the case" if isinstance(record, OrderCase) else f"line {record.number}" \
                if kind == "case-lines" else record.number
            panel.targets.append(Target(what, upload_url(kind, record.id)))
    return panel


# ----------------------------------------------------------------------------------------------------
# The back-office routes


def _act(operation, done, categories: tuple[str, str]):
    """Run one attachment operation for a page: 404 for what the user may not see, a refusal flashed, then
    back to the page the form was on. *categories*: the flash categories of a refusal and of success."""
    try:
        message = done(operation())
    except RecordNotFound:
        db.session.rollback()
        abort(404)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, categories[0])
        return redirect(back_url())
    flash(message, categories[1])
    return redirect(back_url())


def upload_files(kind: str, pk: int, categories: tuple[str, str]):
    """The upload form's files (all or none) to the record it names (or its "Attach to" choice)."""
    return _act(lambda: store.add_attachments(current_user, store.find_owner(*retarget(kind, pk)),
                                              uploads_from_request()),
                lambda added: f"Attached: {', '.join(a.filename for a in added)}.", categories)


def delete_file(pk: int, categories: tuple[str, str]):
    return _act(lambda: store.delete_attachment(current_user, pk), lambda name: f"{name} deleted.", categories)


def download_file(pk: int):
    try:
        attachment = store.find_attachment(current_user, pk)
    except RecordNotFound:
        abort(404)
    return download_response(attachment)


class AttachmentView(BaseView):
    """/attachments/…: upload to any record of the desk, download, delete (the uploader or a manager)."""

    route_base = "/attachments"
    base_permissions = ["can_add", "can_show", "can_delete"]
    method_permission_name = {"upload": "add", "download": "show", "delete": "delete"}
    default_view = "download"
    categories = ("danger", "success")

    @expose("/<kind>/<int:pk>", methods=["POST"])
    @has_access
    def upload(self, kind, pk):
        return upload_files(kind, pk, self.categories)

    @expose("/<int:pk>/download", methods=["GET"])
    @has_access
    def download(self, pk):
        return download_file(pk)

    @expose("/<int:pk>/delete", methods=["POST"])
    @has_access
    def delete(self, pk):
        return delete_file(pk, self.categories)


def back_url() -> str:
    """Back to the page the form was on (only a path of this site), else the home page."""
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def install_template_functions(app) -> None:
    """The functions the shared panel template calls."""
    app.jinja_env.globals.update(attachment_panel=attachment_panel, attachment_size=store.megabytes)

"""REST endpoints for attachments: list and upload (multipart) on cases, case lines, tasks and orders,
read, download and delete by id. The same operations as the pages (``app.attachments.store``); a
customer reaches only their account's cases and orders, and any other id answers 404."""
from __future__ import annotations

from flask import request
from sqlalchemy import select

from app.attachments import store
from app.attachments.models import Attachment
from app.attachments.views import UPLOAD_FIELD, download_response
from app.api.framework import CASE_READERS, ApiError, page_params, paged
from app.api.schemas import ATTACHMENT

# URL collection → (its id parameter, the attachment owner's name in ``store.OWNERS``).
COLLECTIONS = {
    "/cases": ("case_id", "cases"), "/case-lines": ("line_id", "case-lines"), "/case-tasks": ("task_id", "case-tasks"),
    "/case-line-tasks": ("task_id", "case-line-tasks"), "/orders": ("order_id", "orders"),
}
MULTIPART = {
    "multipart/form-data": {"schema": {
        "type": "object",
        "properties": {UPLOAD_FIELD: {"type": "array", "items": {"type": "string", "format": "binary"},
                                      "description": "One or more files (repeat the field)"}},
        "required": [UPLOAD_FIELD],
    }},
}


def _owner(caller, kind: str, record_id: int):
    owner = store.find_owner(kind, record_id)
    store.require_reader(caller.user, owner)
    return owner


def _uploads() -> list[store.Upload]:
    if not request.mimetype.startswith("multipart/form-data"):
        raise ApiError(422, "Send the files as multipart/form-data in the field 'files'.",
                       {UPLOAD_FIELD: "Required"})
    return [store.read_upload(file.filename, file.stream) for file in request.files.getlist(UPLOAD_FIELD)]


def register_attachment_routes(api) -> None:
    for collection, (parameter, kind) in COLLECTIONS.items():
        _owner_routes(api, collection, parameter, kind)

    @api.route("GET", "/attachments/{attachment_id}", summary="Read an attachment's details", tag="Attachments",
               roles=CASE_READERS, response="Attachment", errors=(404,))
    def read(caller, params, body, attachment_id):
        return ATTACHMENT.render(store.find_attachment(caller.user, attachment_id))

    @api.route("GET", "/attachments/{attachment_id}/content", summary="Download an attachment", tag="Attachments",
               roles=CASE_READERS, errors=(404,), description="The file's bytes, as a download "
               "(`Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`).")
    def content(caller, params, body, attachment_id):
        return download_response(store.find_attachment(caller.user, attachment_id))

    api.operations["/attachments/{attachment_id}/content"]["get"]["responses"]["200"]["content"] = {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}

    @api.route("DELETE", "/attachments/{attachment_id}", summary="Delete an attachment", tag="Attachments", status=204,
               roles=CASE_READERS, errors=(403, 404, 409), description="Only the person who attached the file "
               "or a manager; not on a closed or cancelled case.")
    def delete(caller, params, body, attachment_id):
        store.delete_attachment(caller.user, attachment_id)


def _owner_routes(api, collection: str, parameter: str, kind: str) -> None:
    path = f"{collection}/{{{parameter}}}/attachments"
    what = kind.rstrip("s").replace("-", " ")

    @api.route("GET", path, summary=f"List the files of a {what}", tag="Attachments", roles=CASE_READERS,
               response="AttachmentPage", query=page_params(), errors=(404,),
               description="For a case: the files of the case, its lines and its tasks.")
    def list_attachments(caller, params, body, **ids):
        owner = _owner(caller, kind, ids[parameter])
        query = select(Attachment)
        if kind == "cases":
            query = query.where(Attachment.case_id == owner.id)
        else:
            query = query.where(Attachment.record_type == owner.__tablename__, Attachment.record_id == owner.id)
        if caller.is_customer:
            query = query.where(Attachment.record_type.in_(store.CUSTOMER_RECORD_TYPES))
        return paged(query, Attachment, ATTACHMENT, params)

    @api.route("POST", path, summary=f"Attach files to a {what}", tag="Attachments", roles=CASE_READERS,
               response="AttachmentPage", status=201, errors=(404, 409, 413, 422),
               description="multipart/form-data with one or more `files`; all are stored or, when one is refused "
               "(empty, too large, forbidden type, over the record's total), none.")
    def upload(caller, params, body, **ids):
        owner = _owner(caller, kind, ids[parameter])
        added = store.add_attachments(caller.user, owner, _uploads())
        return {"count": len(added), "count_capped": False, "page": 1, "page_size": max(len(added), 1),
                "items": [ATTACHMENT.render(attachment) for attachment in added]}

    api.operations[path]["post"]["requestBody"] = {"required": True, "content": MULTIPART}

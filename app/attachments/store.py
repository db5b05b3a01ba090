"""Storing, listing, streaming and deleting attachments: the business operations behind every door
(back office, portal, REST API, inbound e-mail).

A batch of files is checked whole before anything is written: one refused file (empty, too big, of a
forbidden type, over the record's total) refuses the batch, so a failed upload stores nothing. Every
addition and deletion is an audit event on the owning record, shown in its case's activity.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterator

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import bindparam, func, select

from app.attachments.models import Attachment, AttachmentContent, AttachmentSource
from app.attachments.sniff import FileKind, identify
from app.cases.guards import as_id, require_writable
from app.core.exceptions import InvalidInput, PermissionDenied, RecordNotFound
from app.core.extensions import db
from app.core.model_base import utcnow
from app.core.roles import AGENT, MANAGER, has_back_office_role
from app.core.workflow_base import audit, operation
from app.models import CaseLineTask, CaseTask, CustomerOrder, OrderCase, OrderCaseLine, Quote
from app.portal.scope import customer_account_id

MEGABYTE = 1024 * 1024
DEFAULT_MAX_FILE_MB = 25
DEFAULT_MAX_RECORD_MB = 100
# Downloads and outgoing mail read the bytes this many at a time.
CHUNK_BYTES = MEGABYTE
ADD = "Attach file"
DELETE = "Delete attachment"

# URL name → owner model; the record types customers may attach to and see (tasks and quotes are internal).
OWNERS = {
    "cases": OrderCase, "case-lines": OrderCaseLine, "case-tasks": CaseTask, "case-line-tasks": CaseLineTask,
    "orders": CustomerOrder, "quotes": Quote,
}
OWNER_NAMES = {model.__tablename__: name for name, model in OWNERS.items()}
CUSTOMER_OWNERS = (OrderCase, OrderCaseLine, CustomerOrder)
CUSTOMER_RECORD_TYPES = tuple(model.__tablename__ for model in CUSTOMER_OWNERS)


@dataclass
class Upload:
    """A file as received: its name (cleaned) and its bytes; ``too_big`` when reading stopped at the limit."""

    filename: str
    data: bytes
    too_big: bool = False


def max_file_bytes() -> int:
    return int(float(current_app.config.get("ATTACHMENT_MAX_FILE_MB", DEFAULT_MAX_FILE_MB)) * MEGABYTE)


def max_record_bytes() -> int:
    return int(float(current_app.config.get("ATTACHMENT_MAX_RECORD_MB", DEFAULT_MAX_RECORD_MB)) * MEGABYTE)


def megabytes(size: int) -> str:
    """A size as people read it: 24.9 MB, 312 KB, 80 bytes."""
    if size >= MEGABYTE // 10:
        return f"{size / MEGABYTE:.1f} MB"
    return f"{size // 1024} KB" if size >= 1024 else f"{size} bytes"


def clean_filename(name: str | None) -> str:
    """The last part of a client's path, without control characters, at most 255 characters."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip(" .")
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 254 - len(extension)] + dot + extension) if dot and len(extension) < 20 else name[:255]
    return name or "attachment"


def read_upload(filename: str | None, stream, limit: int | None = None) -> Upload:
    """Read one uploaded file, stopping one byte past the per-file limit (the rest is never read)."""
    limit = max_file_bytes() if limit is None else limit
    data = stream.read(limit + 1)
    too_big = len(data) > limit
    # Slicing copies; a file within the limit (every accepted one, up to 25 MB) is kept as read.
    return Upload(clean_filename(filename), data[:limit] if too_big else data, too_big=too_big)


# ----------------------------------------------------------------------------------------------------
# Who may do what


def case_of(owner) -> OrderCase | None:
    if isinstance(owner, OrderCase):
        return owner
    return getattr(owner, "case", None) if isinstance(owner, (OrderCaseLine, CaseTask, CaseLineTask)) else None


def account_id_of(owner) -> int | None:
    case = case_of(owner)
    if case is not None:
        return case.account_id
    return getattr(owner, "account_id", None)


def customer_may_see(user, owner) -> bool:
    account_id = customer_account_id(user)
    return account_id is not None and isinstance(owner, CUSTOMER_OWNERS) and account_id_of(owner) == account_id


def require_reader(user, owner) -> None:
    """Back office reads every attachment; a customer those of their account's cases and orders. Anything
    else answers as if the record did not exist."""
    if has_back_office_role(user, AGENT) or customer_may_see(user, owner):
        return
    raise RecordNotFound("The attachment does not exist, or you may not see it.")


def find_owner(kind: str, record_id) -> object:
    model = OWNERS.get(kind)
    record = db.session.get(model, as_id(record_id, "record")) if model is not None else None
    if record is None:
        raise RecordNotFound("The record does not exist, or you may not see it.")
    return record


def owner_of(attachment: Attachment):
    model = OWNERS[OWNER_NAMES[attachment.record_type]]
    return db.session.get(model, attachment.record_id)


def _require_open(owner, action: str) -> None:
    case = case_of(owner)
    if case is not None:
        require_writable(case, action)


# ----------------------------------------------------------------------------------------------------
# Adding


def check_uploads(owner, uploads: list[Upload]) -> list[FileKind]:
    """The kind of every file, or InvalidInput naming every refused one (then nothing may be stored)."""
    if not uploads:
        raise InvalidInput("Choose at least one file to attach.", {"files": "Required"})
    limit, record_limit = max_file_bytes(), max_record_bytes()
    problems, kinds, total = [], [], 0
    for upload in uploads:
        if upload.too_big or len(upload.data) > limit:
            problems.append(f"{upload.filename} is larger than the limit of {megabytes(limit)} a file")
            continue
        if not upload.data:
            problems.append(f"{upload.filename} is empty")
            continue
        try:
            kinds.append(identify(upload.filename, upload.data))
        except InvalidInput as refused:
            problems.append(refused.message.rstrip("."))
            continue
        total += len(upload.data)
    stored = stored_bytes(owner)
    if not problems and stored + total > record_limit:
        problems.append(f"together with the {megabytes(stored)} already attached, these files pass the limit of "
                        f"{megabytes(record_limit)} a record")
    if problems:
        stored_nothing = "; nothing was stored" if len(uploads) > 1 else ""
        raise InvalidInput("Not attached: " + "; ".join(problems) + stored_nothing + ".", {"files": problems[0]})
    return kinds


def stored_bytes(owner) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(Attachment.size), 0)).where(
        Attachment.record_type == owner.__tablename__, Attachment.record_id == owner.id)) or 0


def store(owner, uploads: list[Upload], kinds: list[FileKind], user_id: int | None,
          source: str = AttachmentSource.UPLOAD) -> list[Attachment]:
    """Add checked files to the session (the caller commits), each with an audit event on its owner."""
    case = case_of(owner)
    added = []
    for upload, kind in zip(uploads, kinds):
        attachment = Attachment(
            record_type=owner.__tablename__, record_id=owner.id, case_id=case.id if case is not None else None,
            filename=upload.filename, content_type=kind.content_type, size=len(upload.data),
            sha256=hashlib.sha256(upload.data).hexdigest(), source=source, created_by_id=user_id,
            created_on=utcnow(),
        )
        db.session.add(attachment)
        db.session.flush()
        db.session.add(AttachmentContent(attachment_id=attachment.id, data=upload.data))
        audit(owner, "attachment", None, f"{attachment.filename} ({megabytes(attachment.size)})", action=ADD,
              case_id=attachment.case_id)
        added.append(attachment)
    return added


def add_attachments(user: User, owner, uploads: list[Upload]) -> list[Attachment]:
    """Attach *uploads* to *owner* as *user*: all of them, or (on any refusal) none."""
    with operation(user):
        if not has_back_office_role(user, AGENT):
            if not customer_may_see(user, owner):
                raise RecordNotFound("The record does not exist, or you may not see it.")
        _require_open(owner, ADD)
        kinds = check_uploads(owner, uploads)
        added = store(owner, uploads, kinds, user.id if user is not None else None)
    return added


# ----------------------------------------------------------------------------------------------------
# Reading and deleting


def find_attachment(user, attachment_id) -> Attachment:
    """The attachment *attachment_id* if *user* may see it; RecordNotFound otherwise (same message either way)."""
    attachment = db.session.get(Attachment, as_id(attachment_id, "attachment"))
    if attachment is None:
        raise RecordNotFound("The attachment does not exist, or you may not see it.")
    owner = owner_of(attachment)
    if owner is None:
        raise RecordNotFound("The attachment does not exist, or you may not see it.")
    require_reader(user, owner)
    return attachment


def may_delete(user, attachment: Attachment) -> bool:
    return attachment.created_by_id == getattr(user, "id", None) or has_back_office_role(user, MANAGER)


def delete_attachment(user: User, attachment_id) -> str:
    """Delete one attachment (its uploader or a manager); returns its name."""
    with operation(user):
        attachment = find_attachment(user, attachment_id)
        if not may_delete(user, attachment):
            raise PermissionDenied(f"{DELETE} is not allowed: only the person who attached "
                                   f"{attachment.filename} or a manager may delete it.")
        owner = owner_of(attachment)
        _require_open(owner, DELETE)
        name = attachment.filename
        audit(owner, "attachment", f"{name} ({megabytes(attachment.size)})", None, action=DELETE,
              case_id=attachment.case_id)
        db.session.query(AttachmentContent).filter(AttachmentContent.attachment_id == attachment.id).delete()
        db.session.delete(attachment)
    return name


# The case page's, built once: built per request, it cost more CPU than it takes to run.
_CASE_ATTACHMENTS = (select(Attachment).where(Attachment.case_id == bindparam("case_id"))
                     .order_by(Attachment.created_on.desc(), Attachment.id.desc()))


def attachments_of(owner) -> list[Attachment]:
    """The files of *owner*; for a case, those of the case, its lines and its tasks (newest first)."""
    if isinstance(owner, OrderCase):
        return db.session.scalars(_CASE_ATTACHMENTS, {"case_id": owner.id}).all()
    query = select(Attachment).order_by(Attachment.created_on.desc(), Attachment.id.desc())
    query = query.where(Attachment.record_type == owner.__tablename__, Attachment.record_id == owner.id)
    return db.session.scalars(query).all()


def content_chunks(attachment_id: int, size: int, engine=None) -> Iterator[bytes]:
    """The bytes of an attachment, a slice at a time, so a download never holds the whole file. With
    *engine*, on a connection of its own: a streamed response is read after its request has ended."""
    statement = select(func.substr(AttachmentContent.data, bindparam("start"), CHUNK_BYTES)).where(
        AttachmentContent.attachment_id == attachment_id)
    if engine is None:
        yield from _chunks(db.session, statement, size)
        return
    with engine.connect() as connection:
        yield from _chunks(connection, statement, size)


def _chunks(connection, statement, size: int) -> Iterator[bytes]:
    for start in range(0, size, CHUNK_BYTES):
        chunk = connection.execute(statement, {"start": start + 1}).scalar()
        if chunk is None:
            return
        yield bytes(chunk)


def content(attachment_id: int) -> bytes:
    return db.session.scalar(select(AttachmentContent.data).where(AttachmentContent.attachment_id == attachment_id))

"""Attachment records: who attached which file to which record, and, in a table of its own, its bytes.

The bytes live in the database (PostgreSQL ``bytea``, SQLite blob) so every host of a deployment sees
the same files and a database backup holds them. Lists read only ``attachment``; the content is read
in slices when it is downloaded or mailed.
"""
from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import relationship

from app.core.extensions import Model
from app.core.model_base import utcnow


class AttachmentSource:
    UPLOAD = "upload"
    EMAIL = "email"


class Attachment(Model):
    """One file on one record (``record_type`` is the owner's table); ``case_id`` when the owner is part of
    a case, so the case page lists the files of the case, its lines and its tasks in one query."""

    __tablename__ = "attachment"
    id = Column(Integer, primary_key=True)
    record_type = Column(String(40), nullable=False)
    record_id = Column(Integer, nullable=False)
    case_id = Column(Integer, ForeignKey("order_case.id"), index=True)
    filename = Column(String(255), nullable=False)
    content_type = Column(String(100), nullable=False)
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    source = Column(String(20), nullable=False, default=AttachmentSource.UPLOAD)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))
    created_by = relationship("User")
    created_on = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_attachment_record", "record_type", "record_id"),)

    def __str__(self):
        return self.filename


class AttachmentContent(Model):
    """The bytes of one attachment; deleted with it."""

    __tablename__ = "attachment_content"
    attachment_id = Column(Integer, ForeignKey("attachment.id", ondelete="CASCADE"), primary_key=True)
    data = Column(LargeBinary, nullable=False)

"""Records to attach files to, and helpers to upload them through the pages."""
from __future__ import annotations

import io

import pytest

from app.core.choices import CaseState, LineState
from app.core.extensions import db
from app.models import Attachment, AttachmentContent
from tests import factories


@pytest.fixture
def desk(users):
    """An account whose contact is the session's customer, with an order and a Work in Progress case."""
    account = factories.make_account("Initech")
    account.primary_contact.user_id = users["customer"].id
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    db.session.commit()
    return case


def multipart(*files: tuple[str, bytes], **fields) -> dict:
    return {**fields, "files": [(io.BytesIO(data), name) for name, data in files]}


def upload(client, page: str, action: str, *files: tuple[str, bytes], **fields):
    """Upload *files* with the form on *page* (its CSRF token), as a browser would."""
    from tests.conftest import csrf_from

    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(action, data=multipart(*files, csrf_token=token, next=page, **fields),
                       content_type="multipart/form-data")


def stored() -> tuple[int, int]:
    db.session.expire_all()
    return db.session.query(Attachment).count(), db.session.query(AttachmentContent).count()

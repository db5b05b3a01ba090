"""Bad uploads by every door a file comes in (back office page, portal page, REST API): oversized, empty,
mistyped and malformed. Each answers below 500 with a clear refusal and writes nothing at all; a good
file sent afterwards by the same door is stored, so the sweep reached the real upload code."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.core.extensions import db
from app.models import Attachment
from tests.attachments import files
from tests.attachments.conftest import stored
from tests.conftest import changed_tables, csrf_from, database_fingerprint

# Sizes the sweep lowers the limits to, so "oversized" costs kilobytes rather than 25 MB.
FILE_LIMIT_MB = 0.05
REQUEST_LIMIT = 200_000

# (what is wrong, the files sent, a phrase the refusal must contain)
BAD_FILES = [
    ("empty", [("empty.pdf", b"")], "empty.pdf is empty"),
    ("over the file limit", [("big.pdf", files.pdf(padding=60_000))], "larger than the limit"),
    ("PNG named .pdf", [("invoice.pdf", files.png())], "its content is a PNG image"),
    ("PDF named .png", [("photo.png", files.pdf())], "its content is a PDF document"),
    ("PDF named .docx", [("report.docx", files.pdf())], "its content is a PDF document"),
    ("broken ZIP named .docx", [("report.docx", b"PK\x03\x04" + b"\x00" * 40)], "its content is a ZIP archive"),
    ("Windows program named .pdf", [("invoice.pdf", files.EXE)], "a Windows program"),
    ("shell script named .txt", [("notes.txt", b"#!/bin/sh\nrm -rf /\n")], "a script"),
    ("HTML named .txt", [("notes.txt", files.HTML)], "a web page"),
    ("SVG", [("logo.svg", files.SVG)], ".svg files are not accepted"),
    ("program extension", [("setup.exe", files.pdf())], ".exe files are not accepted"),
    ("unknown binary", [("data.bin", bytes(range(256)) * 8)], "not recognised"),
    ("one bad file in a batch", [("good.pdf", files.pdf()), ("bad.pdf", files.EXE)], "nothing was stored"),
    ("no file at all", [], "at least one file"),
]


def malformed_bodies(token: str) -> list[tuple[str, bytes, str]]:
    """(what is wrong, body, Content-Type): requests a browser would never send."""
    csrf = b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + token.encode() + b"\r\n"
    part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.pdf"\r\nContent-Type: application/pdf'
    return [
        ("not multipart at all", b"not multipart at all", "multipart/form-data; boundary=b"),
        ("multipart without a boundary", csrf + part + b"\r\n\r\n%PDF-1.4\r\n--b--\r\n", "multipart/form-data"),
        ("boundary that never appears", csrf + part + b"\r\n\r\n%PDF-1.4\r\n--b--\r\n",
         "multipart/form-data; boundary=zz"),
        ("file part cut off (no closing boundary)", csrf + part + b"\r\n\r\n%PDF-1.4 half a fi", "multipart/form-data; "
         "boundary=b"),
        ("part without headers", csrf + b"--b\r\n\r\n%PDF-1.4\r\n--b--\r\n", "multipart/form-data; boundary=b"),
        ("file part with an empty name and no bytes", csrf + b'--b\r\nContent-Disposition: form-data; name="files"; '
         b'filename=""\r\n\r\n\r\n--b--\r\n', "multipart/form-data; boundary=b"),
        ("files under another field name", csrf + b'--b\r\nContent-Disposition: form-data; name="file"; '
         b'filename="a.pdf"\r\n\r\n' + files.pdf() + b"\r\n--b--\r\n", "multipart/form-data; boundary=b"),
        ("JSON instead of a form", b'{"files": "a.pdf"}', "application/json"),
    ]


class Door:
    """One way a file comes in: where it is posted and how the request is authenticated."""

    def __init__(self, name: str, client, action: str, page: str | None = None, headers: dict | None = None):
        self.name, self.client, self.action, self.page, self.headers = name, client, action, page, headers or {}

    def token(self) -> str:
        return csrf_from(self.client.get(self.page).get_data(as_text=True)) if self.page else ""

    def fields(self) -> dict:
        return {"csrf_token": self.token(), "next": self.page} if self.page else {}

    def send_files(self, sent: list[tuple[str, bytes]]):
        data = {**self.fields(), "files": [(io.BytesIO(raw), name) for name, raw in sent]}
        return self.client.post(self.action, data=data, content_type="multipart/form-data", headers=self.headers)

    def send_raw(self, body: bytes, content_type: str):
        return self.client.post(self.action, data=body, content_type=content_type, headers=self.headers)

    def refusal(self, response) -> str:
        """What the user is told: the JSON message, or the page the form returns to."""
        if not self.page:
            return (response.get_json(silent=True) or {}).get("message", "")
        assert response.status_code in (302, 400, 413), f"{self.name}: {response.status_code}"
        if response.status_code != 302:
            return response.get_data(as_text=True)
        return self.client.get(self.page).get_data(as_text=True)


@pytest.fixture
def doors(client_for, users, desk):
    api = client_for(None)
    token = api.post("/api/v1/auth/token", json={"username": users["customer"].username,
                                                 "password": users["customer"].password}).get_json()["access_token"]
    return [
        Door("back office", client_for("agent"), f"/attachments/cases/{desk.id}", page=f"/ordercases/{desk.id}"),
        Door("portal", client_for("customer"), f"/portal/attachments/cases/{desk.id}", page=f"/portal/cases/{desk.id}/"),
        Door("REST API", api, f"/api/v1/cases/{desk.id}/attachments", headers={"Authorization": f"Bearer {token}"}),
    ]


def test_bad_uploads_by_every_door_are_refused_clearly_and_write_nothing(app, doors, desk):
    saved = {key: app.config[key] for key in ("ATTACHMENT_MAX_FILE_MB", "MAX_CONTENT_LENGTH")}
    app.config.update(ATTACHMENT_MAX_FILE_MB=FILE_LIMIT_MB, MAX_CONTENT_LENGTH=REQUEST_LIMIT)
    sent = 0
    try:
        before = database_fingerprint(db)
        for door in doors:
            for what, batch, phrase in BAD_FILES:
                response = door.send_files(batch)
                assert response.status_code < 500, f"{door.name}, {what}: {response.status_code}"
                assert phrase in door.refusal(response), f"{door.name}, {what}"
                if not door.page:
                    assert response.status_code == 422, f"{door.name}, {what}: {response.status_code}"
                sent += 1
            too_large = door.send_files([("huge.pdf", files.pdf(padding=REQUEST_LIMIT))])
            assert too_large.status_code == (413 if not door.page else 302), door.name
            refusal = door.refusal(too_large)
            assert "larger than" in refusal and "nothing was stored" in refusal, door.name
            sent += 1
            for what, body, content_type in malformed_bodies(door.token() or "no-token"):
                response = door.send_raw(body, content_type)
                assert 400 <= response.status_code < 500 or response.status_code == 302, \
                    f"{door.name}, {what}: {response.status_code}"
                sent += 1
            assert stored() == (0, 0), door.name
        assert changed_tables(before, database_fingerprint(db)) == []
        assert sent == 3 * (len(BAD_FILES) + 1 + len(malformed_bodies("")))
    finally:
        app.config.update(saved)
    # The same doors take a good file: the refusals came from the upload code, not from a dead route.
    for door in doors:
        response = door.send_files([(f"{door.name}.pdf", files.pdf())])
        assert response.status_code in (201, 302), door.name
    assert sorted(db.session.scalars(select(Attachment.filename))) == ["REST API.pdf", "back office.pdf", "portal.pdf"]

"""Attachments in headless Chromium: a customer attaches a PDF in the portal (file input on a phone,
drag and drop on a desktop) and the agent downloads the very same bytes from the case page."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from app.core.extensions import db
from app.models import Attachment
from tests.attachments import files

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def drop_files(page, selector: str, name: str, data: bytes, mime: str) -> None:
    """Drop a file on *selector* the way a file dragged from the desktop arrives (a DataTransfer)."""
    page.evaluate(
        """([selector, name, bytes, mime]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, {type: mime}));
            const zone = document.querySelector(selector);
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        [selector, name, list(data), mime],
    )


def test_a_customer_attaches_a_pdf_in_the_portal_and_the_agent_downloads_the_same_bytes(page_as, live_server, desk,
                                                                                         tmp_path):
    invoice = files.pdf("Invoice 2026-117 disputed", padding=50_000)
    path = tmp_path / "disputed invoice.pdf"
    path.write_bytes(invoice)
    customer = page_as("customer", viewport=PHONE)
    customer.goto(f"{live_server}/portal/cases/{desk.id}/")
    customer.set_input_files("#attachment-files", str(path))
    with customer.expect_navigation():
        customer.click(".attachment-submit")
    assert "Attached: disputed invoice.pdf." in customer.inner_text("body")
    assert "disputed invoice.pdf" in customer.inner_text("#attachments")
    assert customer.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    agent = page_as("agent")
    agent.goto(f"{live_server}/ordercases/{desk.id}")
    row = agent.locator(".attachment", has_text="disputed invoice.pdf")
    assert "Agent" not in row.inner_text()  # added by the customer, not the agent
    with agent.expect_download() as download_info:
        row.locator("a.attachment-download").click()
    download = download_info.value
    assert download.suggested_filename == "disputed invoice.pdf"
    downloaded = download.path().read_bytes()
    assert hashlib.sha256(downloaded).hexdigest() == hashlib.sha256(invoice).hexdigest()


def test_files_dropped_on_the_case_page_are_uploaded_to_the_chosen_line(page_as, live_server, desk):
    agent = page_as("agent")
    agent.goto(f"{live_server}/ordercases/{desk.id}")
    line = desk.lines[1]
    agent.select_option("#attachment-target", label=f"line {line.number}")
    with agent.expect_navigation():
        drop_files(agent, "[data-attachment-dropzone]", "photo.png", files.png(), "image/png")
    assert "Attached: photo.png." in agent.inner_text("body")
    db.session.expire_all()
    attachment = db.session.scalars(select(Attachment)).one()
    assert (attachment.record_type, attachment.record_id) == ("order_case_line", line.id)
    assert line.number in agent.inner_text("#attachments")


def test_a_refused_drop_says_why_and_stores_nothing(page_as, live_server, desk):
    customer = page_as("customer")
    customer.goto(f"{live_server}/portal/cases/{desk.id}/")
    with customer.expect_navigation():
        drop_files(customer, "[data-attachment-dropzone]", "invoice.pdf", files.EXE, "application/pdf")
    assert "invoice.pdf was refused: its content is a Windows program" in customer.inner_text("body")
    db.session.expire_all()
    assert db.session.query(Attachment).count() == 0

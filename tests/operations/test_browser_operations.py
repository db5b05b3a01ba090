"""The Operations page in headless Chromium, at desktop and phone size: an administrator finds it in the
Administration menu, runs the periodic job, retries a failed message, and the page fits the screen."""
from __future__ import annotations

import pytest

from app.core.choices import NotificationState
from app.core.extensions import db
from app.models import Notification
from tests.operations.test_operations_page import message

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_an_administrator_runs_the_job_and_retries_a_failed_message(page_as, size):
    failed = message(recipient="buyer@example.test")
    page = page_as("admin", viewport=SIZES[size])
    link = page.locator(".navbar .dropdown-menu a:has-text('Operations')")
    assert link.get_attribute("href") == "/operations/"
    if size == "desktop":
        page.click(".navbar a.dropdown-toggle:has-text('Administration')")
        link.click()
    else:
        page.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + "/operations/")
    page.wait_for_load_state("networkidle")
    assert "has not run yet" in page.inner_text("#last-run")

    page.click("button:has-text('Run now')")
    page.wait_for_load_state("networkidle")
    assert "Periodic run done" in page.inner_text(".alert")
    assert "(manual," in page.inner_text("#last-run")
    assert page.locator("#last-run-tasks tbody tr").count() >= 4

    page.click(f"tr[data-notification='{failed.id}'] button:has-text('Retry')")
    page.wait_for_load_state("networkidle")
    assert "buyer@example.test is queued again" in page.inner_text(".alert")
    db.session.expire_all()
    assert db.session.get(Notification, failed.id).state == NotificationState.QUEUED
    # The page fits the screen: wide tables scroll inside it, not the whole page sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"] + 1

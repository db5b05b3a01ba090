"""In the browser: a manager invites a contact from the contact page; the contact opens the e-mailed link,
sets a password and signs in to the portal for the first time (desktop and phone)."""
from __future__ import annotations

import pytest

from tests.portal.test_onboarding import contact, invitation_path  # noqa: F401  (fixture)


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}])
def test_invitation_from_contact_to_first_portal_sign_in(page_as, browser, live_server, contact, viewport):
    manager = page_as("manager", viewport)
    manager.goto(f"{live_server}/contactview/show/{contact.id}")
    manager.get_by_role("link", name="Invite to the portal").click()
    manager.wait_for_selector("#confirm-invite")
    manager.locator("#confirm-invite").click()
    manager.wait_for_selector(".alert-success")
    assert "is invited" in manager.locator(".alert-success").first.inner_text()

    visitor = browser.new_context(viewport=viewport).new_page()
    visitor.set_default_timeout(15000)
    visitor.goto(f"{live_server}{invitation_path()}")
    visitor.get_by_label("New password").fill("portal secret 42")
    visitor.get_by_label("Repeat the password").fill("portal secret 42")
    visitor.get_by_role("button", name="Set password").click()
    visitor.wait_for_selector("input[name=username]")
    visitor.fill("input[name=username]", contact.email.lower())
    visitor.fill("input[name=password]", "portal secret 42")
    visitor.locator("input[name=password]").press("Enter")
    visitor.wait_for_selector("text=Welcome, Pat")
    assert "/portal" in visitor.url
    assert visitor.locator(".portal-nav").get_by_role("link", name="My Orders").count() == 1
    visitor.context.close()

"""The styled 404 in Chromium, on a desktop and on a phone: the app's menu, a way back that works, no
critical or serious accessibility violation."""
from __future__ import annotations

import pytest

from tests.accessibility import axe_violations, blocking

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_a_dead_link_lands_on_a_styled_404_with_a_way_back(page_as, live_server, viewport):
    page = page_as("agent", viewport)
    page.goto(f"{live_server}/ordercaseview/list/")
    page.evaluate("url => { const a = document.createElement('a'); a.href = url; a.id = 'dead';"
                  " a.textContent = 'dead link'; document.querySelector('main').prepend(a); }",
                  f"{live_server}/ordercases/999999")
    with page.expect_navigation():
        page.click("#dead")
    assert page.locator("h1.error-title").inner_text() == "Page not found"
    assert page.locator("nav[aria-label='Main menu'] .navbar-brand").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert not blocking(axe_violations(page))
    with page.expect_navigation():
        page.get_by_role("link", name="Go back").click()
    assert page.url.endswith("/ordercaseview/list/")

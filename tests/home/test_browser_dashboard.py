"""The managers' dashboard in headless Chromium with every non-loopback request blocked: the charts are
drawn (SVG with a real size) from the demo data without anything from the internet."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from tests.home.test_dashboard import clean_tables, demo  # noqa: F401  (the loaded demo data set, shared)

SCREENSHOT = Path(__file__).resolve().parents[2] / "test-results" / "dashboard.png"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def test_dashboard_charts_render_offline(demo, browser, live_server, users):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    outside: list[str] = []

    def only_loopback(route):
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:", "about:")) or host in LOOPBACK:
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", only_loopback)
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{live_server}/login/")
        page.fill("input[name=username]", users["manager"].username)
        page.fill("input[name=password]", users["manager"].password)
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_load_state("networkidle")

        page.click(".navbar a.dropdown-toggle:has-text('Reports')")
        page.click(".navbar .dropdown-menu a:has-text('Dashboard')")
        page.wait_for_load_state("networkidle")
        assert urlsplit(page.url).path == "/dashboard/"

        charts = page.locator("svg.chart-svg")
        assert charts.count() == 11  # 7 case charts, 4 order panels
        for index in range(charts.count()):
            box = charts.nth(index).bounding_box()
            assert box and box["width"] > 100 and box["height"] > 10, f"chart {index} has no size: {box}"
        bars = page.locator("svg.chart-svg rect")
        assert bars.count() >= 20
        sizes = [bars.nth(i).bounding_box() for i in range(bars.count())]
        assert all(box and box["width"] > 0 and box["height"] > 0 for box in sizes)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # A bar is a link to the list it counts.
        first_bar = page.locator("#chart-by-state a.chart-link").first
        expected = int(first_bar.get_attribute("data-value"))
        first_bar.locator("rect").click()
        page.wait_for_load_state("networkidle")
        assert urlsplit(page.url).path == "/opencasesview/list/"
        rows = page.locator("table tbody tr", has_text=re.compile(r"ORDCS\d{7}"))
        assert rows.count() == min(expected, 20)
    finally:
        context.close()
    assert outside == [], f"the dashboard tried to reach the internet: {outside}"

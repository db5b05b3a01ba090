"""axe-core (tests/vendor/axe-core, MPL-2.0, vendored so the browser tests need no network) run inside a
Playwright page: the WCAG 2 A and AA rules, reported by impact."""
from __future__ import annotations

from pathlib import Path

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")

_RUN = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
    return result.violations.map(v => ({
        rule: v.id, impact: v.impact,
        nodes: v.nodes.map(n => n.target.join(" ") + " — " + (n.failureSummary || "").split("\\n")[1]),
    }));
}"""


def axe_violations(page) -> list[dict]:
    """Every WCAG 2 A/AA violation on the page as it is now: [{rule, impact, nodes}]."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the browser's debugging protocol: a <script> tag would be an inline script,
        # which the pages' Content-Security-Policy refuses.
        page.evaluate(AXE_SOURCE)
    return page.evaluate(_RUN, WCAG_TAGS)


def impact_counts(violations: list[dict]) -> dict[str, int]:
    """Violating nodes per impact."""
    counts: dict[str, int] = {}
    for violation in violations:
        counts[violation["impact"]] = counts.get(violation["impact"], 0) + len(violation["nodes"])
    return counts


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]

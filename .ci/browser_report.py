"""pytest plugin used by .ci/run: reports how many browser tests passed, so the CI log shows they
really ran, and fails the run when browser tests are required but one was skipped."""
from __future__ import annotations

import os

import pytest

_counts = {"passed": 0, "failed": 0, "skipped": 0}


def pytest_runtest_logreport(report):
    if "browser" not in report.keywords:
        return
    if report.failed:
        _counts["failed"] += 1
    elif report.skipped:
        _counts["skipped"] += 1
    elif report.when == "call":
        _counts["passed"] += 1


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        "browser tests: {passed} passed, {failed} failed, {skipped} skipped".format(**_counts), bold=True
    )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("REQUIRE_BROWSER_TESTS") and _counts["skipped"] and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

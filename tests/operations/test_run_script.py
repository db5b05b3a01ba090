"""``./scripts/run`` as a newcomer meets it (run.py in a process of its own, fresh instance folder): the
banner says where the app and its mail are, the periodic work runs in-process, mail lands in the demo
mailbox, the console has one plain line per request, and a busy port is refused up front."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.test_production import CSRF_RE, Browser, free_port

ROOT = Path(__file__).resolve().parents[2]


def environment(instance: Path, port: int) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MAIL_", "DATABASE_URL", "LOG_LEVEL", "PERIODIC_INTERVAL", "HOST"))}
    return {**env, "INSTANCE_PATH": str(instance), "PORT": str(port), "PERIODIC_INTERVAL": "1"}


def wait_for(predicate, timeout: float, process: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        if process.poll() is not None:
            raise AssertionError(f"run.py exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)
    raise AssertionError(f"timed out:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    instance = tmp_path_factory.mktemp("run-instance")
    log = instance / "console.log"
    port = free_port()
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=environment(instance, port),
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: "is running on" in log.read_text(), 240, process, log)
        yield port, instance, log, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def admin_password(instance: Path) -> str:
    rows = [line.split("\t") for line in (instance / "logins.txt").read_text().splitlines() if "\t" in line]
    return next(password for role, username, password in rows if username == "admin")


def signed_in_admin(port: int, instance: Path) -> Browser:
    browser = Browser(port)
    page = browser.request("GET", "/login/")
    token = CSRF_RE.search(page.body)
    response = browser.request("POST", "/login/", form={"username": "admin", "password": admin_password(instance),
                                                          "csrf_token": token.group(1) or token.group(2)})
    assert response.status == 302 and response.headers.get("location") in ("/", f"http://127.0.0.1:{port}/")
    return browser


def test_the_banner_says_where_the_app_and_its_mail_are(served):
    port, instance, log, _process = served
    banner = log.read_text()
    assert f"Order Operations is running on http://127.0.0.1:{port}/" in banner
    assert re.search(rf"Mail goes to a local mail sink \(127\.0\.0\.1:\d+\), nowhere else: read it as admin on "
                     rf"http://127\.0\.0\.1:{port}/operations/ or in {re.escape(str(instance / 'mailbox'))}", banner)
    assert "Periodic work (SLA notices, auto-close, mail delivery) runs every 1 s" in banner


def test_periodic_work_runs_and_the_demo_mail_lands_in_the_mailbox(served):
    port, instance, log, process = served
    wait_for(lambda: "periodic run ok" in log.read_text(), 60, process, log)
    admin = signed_in_admin(port, instance)
    page = admin.request("GET", "/operations/").body
    assert "This server runs them every 1 s" in page and "(schedule," in page
    # The demo data holds breached and at-risk cases: their notices were delivered to the sink.
    assert re.search(r'href="/operations/mailbox/[^"]+">SLA (breached|at risk) on ', page)
    assert any((instance / "mailbox" / "new").iterdir())


def test_the_console_has_one_plain_line_per_request_and_no_noise(served):
    port, instance, log, _process = served
    signed_in_admin(port, instance)
    Browser(port).request("GET", "/health", headers={"X-Request-ID": "newcomer-health-check"})
    time.sleep(0.5)
    console = log.read_text()
    assert len(re.findall(r"request_id=newcomer-health-check .*path=/health status=200", console)) == 1
    assert console.count("path=/health") == 1, "the development server logs each request a second time"
    for noise in ("\x1b[", "Invalid redirect detected", "Context impl", "Will assume", '"GET /', " * Serving Flask app"):
        assert noise not in console, f"{noise!r} in the console:\n{console[-2000:]}"


def test_a_busy_port_is_refused_before_start_up_with_how_to_choose_another(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run([sys.executable, "run.py"], cwd=ROOT, env=environment(tmp_path, port),
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert f"PORT={port + 1} ./scripts/run" in result.stderr
    database = tmp_path / "orderdesk.db"
    # Reading the configuration may create the empty 0600 file; nothing is migrated or loaded into it.
    assert "is running on" not in result.stdout and (not database.exists() or database.stat().st_size == 0)
    assert time.monotonic() - started < 60

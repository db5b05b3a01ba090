"""Two order desks on loopback for the Service Exchange tests: each a ``scripts/serve-production`` process
with a database of its own (the provider on PostgreSQL when TEST_DATABASE_URL names one, the consumer on
SQLite), users and reference data set up by a script, and a REST/TMF client per user."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.core.test_production import (
    PASSWORD,
    ROOT,
    Browser,
    Response,
    create_database,
    free_port,
    sqlalchemy_url,
)

SETUP_SCRIPT = r"""
import json, sys
from app import create_app
from app.core.extensions import db
from app.models import (Account, CharacteristicDefinition, Contact, Location, ProductOffering,
                        ProductSpecification, ServiceDefinition)
role_of_desk, password = sys.argv[1], sys.argv[2]
app = create_app({"LOAD_DEMO_DATA": False, "FAB_UPDATE_PERMS": False})
with app.app_context():
    sm = app.appbuilder.sm
    out = {"keys": {}}
    users = {"admin": "admin", "manager": "manager", "integrator": "integrator"}
    if role_of_desk == "consumer":
        users["customer"] = "customer"
    for username, role in users.items():
        user = sm.find_user(username=username) or sm.add_user(
            username, role.title(), "Desk", f"{username}@{role_of_desk}.test", [sm.find_role(role)], password)
        out["keys"][username] = sm.create_api_key(user, "exchange-test")["key"]
    service = ServiceDefinition(name="Sales Order Change Request", active=True)
    db.session.add(service)
    if role_of_desk == "provider":
        site = Location(name="Consumer HQ", street="1 Main St", city="Springfield", country="US")
        account = Account(name="Consumer Co", active=True, shipping_location=site)
        spec = ProductSpecification(name="Fibre access", characteristics=[CharacteristicDefinition(
            name="Bandwidth", value_type="string", allowed_values="100,1000", required=True)])
        fibre = ProductOffering(name="Fibre 1G", unit_price="100.00", currency="USD", price_type="recurring",
                                specification=spec, active=True)
        router = ProductOffering(name="Edge router", unit_price="250.00", currency="USD", active=True)
        db.session.add_all([site, account, spec, fibre, router])
        db.session.commit()
        out.update(account_id=account.id, fibre_id=fibre.id, router_id=router.id)
    else:
        site = Location(name="Plant 7", street="7 Factory Rd", city="Shelbyville", country="US")
        account = Account(name="Plant Operations", active=True, shipping_location=site)
        db.session.add_all([site, account])
        db.session.flush()
        contact = Contact(account=account, first_name="Casey", last_name="Customer", email="casey@consumer.test",
                          user_id=sm.find_user(username="customer").id, active=True)
        db.session.add(contact)
        account.primary_contact = contact
        db.session.commit()
        out.update(account_id=account.id)
    out["service_id"] = service.id
    print("SETUP" + json.dumps(out))
"""


class Desk:
    """One instance: started, stopped and started again on the same port and database."""

    def __init__(self, role: str, database_url: str, workdir: Path, secret_key: str, port: int | None = None):
        self.role, self.database_url, self.workdir, self.secret_key = role, database_url, workdir, secret_key
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.log_path = workdir / f"{role}.log"
        self.records: dict = {}

    def env(self) -> dict:
        return {**os.environ, "DATABASE_URL": self.database_url, "SECRET_KEY": self.secret_key,
                "INSTANCE_PATH": str(self.workdir / f"{self.role}-instance"), "AUTO_MIGRATE": "true",
                "LOAD_DEMO_DATA": "false", "AUTH_RATE_LIMITED": "false", "RATELIMIT_ENABLED": "false",
                "PUBLIC_BASE_URL": self.base, "EXCHANGE_POLL_SECONDS": "0.5", "EXCHANGE_RETRY_MAX_SECONDS": "1",
                # The other desk listens on loopback, an internal address the outbound guard refuses by default.
                "CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8"}

    def start(self) -> "Desk":
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "serve-production"), "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--threads", "4"],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.role} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if Browser(self.port).get("/health").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{self.role} not healthy:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def set_up(self) -> dict:
        env = {**self.env(), "AUTO_MIGRATE": "false"}
        env["INSTANCE_PATH"] = str(self.workdir / f"{self.role}-setup")
        result = subprocess.run([sys.executable, "-c", SETUP_SCRIPT, self.role, PASSWORD], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=180)
        line = next((l for l in result.stdout.splitlines() if l.startswith("SETUP")), None)
        assert line, f"setup failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        self.records = json.loads(line[len("SETUP"):])
        return self.records

    # ------------------------------------------------------------ clients

    def browser(self, username: str) -> Browser:
        browser = Browser(self.port)
        browser.login(username)
        return browser

    def api(self, method: str, path: str, username: str, body: dict | None = None) -> Response:
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self.records['keys'][username]}"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        return Browser(self.port).request(method, path, body=data, headers=headers)

    def get_json(self, path: str, username: str = "manager"):
        response = self.api("GET", path, username)
        assert response.status == 200, (path, response.status, response.body[:500])
        return json.loads(response.body)

    def sql(self, statement: str, **params) -> list:
        url = self.database_url
        engine = create_engine(sqlalchemy_url(url) if url.startswith("postgres") else url)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(statement), params)]
        finally:
            engine.dispose()


def database_for(role: str, workdir: Path, server_url: str | None, name: str) -> str:
    if server_url:
        return create_database(server_url, name)
    return f"sqlite:///{workdir / (role + '.db')}"


def eventually(check, timeout: float = 45, interval: float = 0.3, what: str = "the condition"):
    """Poll *check* until it returns something truthy; fail with its last answer after *timeout* s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except AssertionError as failure:
            last = failure
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def post_form(browser: Browser, page: str, action: str, form: dict) -> Response:
    """Submit a form of *page* to *action* with the page's CSRF token."""
    return browser.post(action, {"csrf_token": browser.csrf(page), **form})

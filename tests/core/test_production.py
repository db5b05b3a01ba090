"""Production serving: two gunicorn instances (scripts/serve-production) on loopback ports sharing one
PostgreSQL database serve the same users — a session cookie from one works on the other, record numbers
stay unique across them — and every request is logged with its request id.

PostgreSQL only (TEST_DATABASE_URL); each test gets a database of its own next to the test database.
The helpers here are shared with ``test_fault_tolerance``.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
IS_POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql"))
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
PASSWORD = "prod-test-password-1"

needs_postgres = pytest.mark.skipif(not IS_POSTGRES, reason="serving tests need PostgreSQL (TEST_DATABASE_URL)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def plain_url(url: str) -> str:
    """postgresql://… (what DATABASE_URL takes) from any spelling."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(plain_url(url))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + plain_url(url)[len("postgresql://"):]


def create_database(server_url: str, name: str) -> str:
    engine = create_engine(sqlalchemy_url(with_database(server_url, "postgres")), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    engine = create_engine(sqlalchemy_url(with_database(server_url, "postgres")), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


class Instance:
    """One ``scripts/serve-production`` on a loopback port, its output in a log file."""

    def __init__(self, database_url: str, secret_key: str, workdir: Path, workers: int = 2, threads: int = 2):
        self.secret_key = secret_key
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"instance-{self.port}.log"
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secret_key,
               "INSTANCE_PATH": str(workdir / f"instance-{self.port}"), "AUTO_MIGRATE": "true",
               "LOAD_DEMO_DATA": "false", "AUTH_RATE_LIMITED": "false", "RATELIMIT_ENABLED": "false"}
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(ROOT / "scripts" / "serve-production"), "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--threads", str(threads)],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"instance on {self.port} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if Browser(self.port).get("/health").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"instance on {self.port} not healthy:\n{self.log_path.read_text()[-3000:]}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()

    def log_text(self) -> str:
        return self.log_path.read_text()


class Response:
    def __init__(self, status: int, headers: dict, body: str):
        self.status, self.headers, self.body = status, headers, body


class Browser:
    """A minimal HTTP client on one loopback port with its own cookie store (which may be shared)."""

    def __init__(self, port: int, cookies: dict | None = None, timeout: float = 30):
        self.port = port
        self.cookies = cookies if cookies is not None else {}
        self.timeout = timeout

    def request(self, method: str, path: str, form: dict | None = None, body: bytes | None = None,
                headers: dict | None = None) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        all_headers = {"Accept": "text/html", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode(form, doseq=True).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        received = {}
        for name, value in response.getheaders():
            received[name.lower()] = value
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        return Response(response.status, received, data)

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict, **kwargs) -> Response:
        return self.request("POST", path, form=form, **kwargs)

    def post_json(self, path: str, document: dict, token: str, **kwargs) -> Response:
        return self.request("POST", path, body=json.dumps(document).encode(),
                            headers={"Content-Type": "application/json", "Accept": "application/json",
                                     "Authorization": f"Bearer {token}"}, **kwargs)

    def csrf(self, path: str) -> str:
        match = CSRF_RE.search(self.get(path).body)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def login(self, username: str, password: str = PASSWORD) -> None:
        token = self.csrf("/login/")
        response = self.post("/login/", {"username": username, "password": password, "csrf_token": token})
        assert response.status == 302 and "/login" not in response.headers.get("location", ""), "login failed"


SETUP_SCRIPT = """
import json, sys
from app import create_app
from app.core.extensions import db
from app.models import Account, ProductOffering, ServiceDefinition
app = create_app({"LOAD_DEMO_DATA": False, "FAB_UPDATE_PERMS": False})
with app.app_context():
    sm = app.appbuilder.sm
    out = {}
    for username, role in (("prod_agent", "agent"), ("prod_integrator", "integrator")):
        user = sm.find_user(username=username) or sm.add_user(
            username, role.title(), "Prod", f"{username}@example.test", [sm.find_role(role)], sys.argv[1])
        out[username] = user.id
    out["api_key"] = sm.create_api_key(sm.find_user(username="prod_integrator"), "prod-test")["key"]
    def one(model, **fields):
        found = db.session.query(model).filter_by(name=fields["name"]).first()
        if found is None:
            found = model(**fields)
            db.session.add(found)
        return found
    service = one(ServiceDefinition, name="Sales Order Change Request", active=True)
    account = one(Account, name="Shared Instances Co", active=True)
    offering = one(ProductOffering, name="Edge router", unit_price="12.50", currency="USD", active=True)
    db.session.commit()
    out.update(service_id=service.id, account_id=account.id, account_number=account.number,
               offering_number=offering.number)
    print("SETUP" + json.dumps(out))
"""


def set_up_records(database_url: str, workdir: Path, secret_key: str) -> dict:
    """Users (agent, integrator with an API key), a service definition, an account and an offering, in a
    fresh process with the instances' secret key (API keys are hashed with it)."""
    env = {**os.environ, "DATABASE_URL": database_url, "AUTO_MIGRATE": "false",
           "INSTANCE_PATH": str(workdir / "setup-instance"), "SECRET_KEY": secret_key}
    result = subprocess.run([sys.executable, "-c", SETUP_SCRIPT, PASSWORD], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    line = next((l for l in result.stdout.splitlines() if l.startswith("SETUP")), None)
    assert line, f"setup failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return json.loads(line[len("SETUP"):])


def create_case(browser: Browser, records: dict, description: str) -> Response:
    token = browser.csrf(f"/ordercases/create/intake?service_id={records['service_id']}&origin=list")
    return browser.post("/ordercases/create/intake", {
        "csrf_token": token, "service_id": records["service_id"], "origin": "list",
        "account_id": records["account_id"], "scope": "Multiple orders", "short_description": description,
    })


@pytest.fixture
def served(tmp_path):
    """A fresh database and a way to start instances on it; everything stopped and dropped afterwards."""
    name = f"orderdesk_prod_{secrets.token_hex(4)}"
    database_url = create_database(TEST_DATABASE_URL, name)
    secret_key = secrets.token_hex(32)
    instances: list[Instance] = []

    def start(**kwargs) -> Instance:
        instance = Instance(database_url, secret_key, tmp_path, **kwargs)
        instances.append(instance)
        return instance

    yield {"url": database_url, "start": start, "workdir": tmp_path}
    for instance in instances:
        instance.stop()
    drop_database(TEST_DATABASE_URL, name)


@needs_postgres
def test_two_instances_share_sessions_and_numbering(served):
    first, second = served["start"](), served["start"]()  # both migrate at once: the advisory lock serialises
    first.wait_healthy()
    second.wait_healthy()
    records = set_up_records(served["url"], served["workdir"], first.secret_key)

    # Signed in on the first instance, the same cookie is a valid session on the second.
    cookies: dict = {}
    on_first = Browser(first.port, cookies)
    on_first.login("prod_agent")
    on_second = Browser(second.port, cookies)
    listing = on_second.get("/ordercaseview/list/", headers={"X-Request-ID": "prod-check-0001"})
    assert listing.status == 200 and "Order Cases" in listing.body
    assert listing.headers["x-request-id"] == "prod-check-0001"

    # Cases created at the same time through both instances get unique numbers from the shared sequence.
    created, failures = [], []

    def create(browser: Browser, index: int) -> None:
        for round_ in range(3):
            response = create_case(browser, records, f"Shared instance case {index}-{round_}")
            (created if response.status == 302 else failures).append(response.status)

    threads = [threading.Thread(target=create, args=(Browser(port, dict(cookies)), i))
               for i, port in enumerate([first.port, second.port] * 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == [] and len(created) == 18
    engine = create_engine(sqlalchemy_url(served["url"]))
    with engine.connect() as conn:
        numbers = [n for (n,) in conn.execute(text(
            "SELECT number FROM order_case WHERE short_description LIKE 'Shared instance case %'"))]
    engine.dispose()
    assert len(numbers) == 18 and len(set(numbers)) == 18
    assert all(re.fullmatch(r"ORDCS\d{7}", number) for number in numbers)

    # Both instances answer health checks from the same database, and the second logged our request.
    assert Browser(first.port).get("/health").status == Browser(second.port).get("/health").status == 200
    second.stop()
    line = next(l for l in second.log_text().splitlines() if "request_id=prod-check-0001" in l)
    assert "user=prod_agent" in line and "method=GET" in line and "path=/ordercaseview/list/" in line
    assert "status=200" in line and re.search(r"duration_ms=\d+\.\d", line)


@needs_postgres
def test_request_ids_are_generated_when_missing_or_unsafe(served):
    instance = served["start"](workers=1)
    instance.wait_healthy()
    browser = Browser(instance.port)
    generated = browser.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    unsafe = browser.get("/health", headers={"X-Request-ID": "bad id\twith spaces"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe) and unsafe != generated


@needs_postgres
def test_the_log_has_one_line_per_request_and_no_library_chatter(served):
    instance = served["start"](workers=1)
    instance.wait_healthy()
    Browser(instance.port).get("/health", headers={"X-Request-ID": "prod-log-check"})
    instance.stop()
    log = instance.log_text()
    assert len([line for line in log.splitlines() if "request_id=prod-log-check" in line]) == 1
    assert "Running upgrade" in log, "the migrations it ran still show"
    # Lines of our format ("date time pid LEVEL logger message") below WARNING come from our own loggers only.
    chatter = [line for line in log.splitlines()
               if (m := re.match(r"\S+ \S+ \d+ (DEBUG|INFO) (\S+) ", line))
               and not m.group(2).startswith(("orderdesk.", "app.", "alembic.runtime.migration"))]
    assert chatter == []


@needs_postgres
def test_https_through_the_tls_proxy_on_the_host_gets_hsts(served):
    """A TLS proxy on the same host (serve-production's default --forwarded-allow-ips) marks HTTPS requests
    with X-Forwarded-Proto: their responses carry HSTS, plain HTTP ones do not."""
    instance = served["start"](workers=1)
    instance.wait_healthy()
    browser = Browser(instance.port)
    proxied = browser.get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert proxied.status == 200
    assert proxied.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    plain = browser.get("/login/")
    assert plain.status == 200 and "strict-transport-security" not in plain.headers
    assert plain.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in plain.headers[
        "content-security-policy"]

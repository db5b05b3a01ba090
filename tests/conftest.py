"""Test harness: one migrated database per session (SQLite file, or PostgreSQL via TEST_DATABASE_URL),
real users per role, CSRF on, and a table wipe after every test."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
import threading
import time
from contextlib import contextmanager

import pytest
from flask.globals import _cv_app
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests import factories

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
IS_POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql"))

# FAB's own tables survive between tests (users and roles are created once per session).
KEEP_TABLES_PREFIX = "ab_"
KEEP_TABLES = {"alembic_version"}


def _sqlalchemy_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if IS_POSTGRES:
        url = _sqlalchemy_url(TEST_DATABASE_URL)
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from app import create_app

    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_DIR": str(tmp_path_factory.mktemp("instance")),
            "LOAD_DEMO_DATA": False,
            "AUTH_RATE_LIMITED": False,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": True,
            "MAIL_SERVER": "",
            # The TMF hub tests' listeners run on loopback, an internal address refused by default.
            "CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8, ::1/128",
        }
    )
    return application


@pytest.fixture(scope="session")
def db(app):
    from app.core.extensions import db as database

    return database


@pytest.fixture(scope="session")
def users(app, db):
    """One user per role: {role: factories.UserLogin}."""
    from app.core.roles import ALL_ROLES

    with app.app_context():
        return {role: factories.make_user(role, username=f"test_{role}") for role in ALL_ROLES}


def _truncate(conn, names: str, attempts: int = 3) -> None:
    """TRUNCATE the business tables. A test's TMF events may still be in delivery by the background
    sender; when its locks and the TRUNCATE's form a cycle, PostgreSQL cancels one side: try again."""
    for attempt in range(attempts):
        try:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        except OperationalError as error:
            conn.rollback()
            if "deadlock detected" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.2)


@pytest.fixture(autouse=True)
def clean_tables(app, db):
    """A fresh app context per test (requests must not share flask.g), then wipe business tables."""
    with app.app_context():
        yield
        _wipe(db)


def _wipe(db):
    db.session.rollback()
    db.session.remove()
    from app.core.extensions import metadata

    business_tables = [
        table for table in metadata.sorted_tables
        if not table.name.startswith(KEEP_TABLES_PREFIX) and table.name not in KEEP_TABLES
    ]
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Foreign keys are enforced (app/core/model_base.py); the wipe deletes whole tables in any order.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        if sqlite:
            for table in reversed(business_tables):
                conn.execute(table.delete())
        else:
            names = ", ".join(f'"{t.name}"' for t in business_tables)
            _truncate(conn, names)
        # Users made by a test (beyond the per-role session users) go too, with their API keys.
        temporary = "SELECT id FROM ab_user WHERE username LIKE 'tmp_%'"
        conn.execute(text(f"DELETE FROM ab_api_key WHERE user_id IN ({temporary})"))
        conn.execute(text(f"DELETE FROM ab_user_role WHERE user_id IN ({temporary})"))
        conn.execute(text("DELETE FROM ab_user WHERE username LIKE 'tmp_%'"))
        conn.commit()
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


@contextmanager
def demo_data_loaded(app, db):
    """The demo data set loaded into the emptied test database (for a module's shared fixture); it and
    its users are removed afterwards."""
    from app.demo.loader import DEMO_USERS, load_demo_data

    with app.app_context():
        _wipe(db)
        result = load_demo_data(app)
    try:
        yield result
    finally:
        with app.app_context():
            _wipe(db)
            with db.engine.begin() as conn:
                params = {f"u{i}": username for i, (username, *_) in enumerate(DEMO_USERS)}
                names = ", ".join(f":{key}" for key in params)
                conn.execute(text(f"DELETE FROM ab_api_key WHERE user_id IN "
                                  f"(SELECT id FROM ab_user WHERE username IN ({names}))"), params)
                conn.execute(text(f"DELETE FROM ab_user_role WHERE user_id IN "
                                  f"(SELECT id FROM ab_user WHERE username IN ({names}))"), params)
                conn.execute(text(f"DELETE FROM ab_user WHERE username IN ({names})"), params)
        result.logins_path.unlink(missing_ok=True)


def database_fingerprint(db, skip: frozenset = frozenset()) -> dict[str, str]:
    """A digest of every table's rows (but *skip*): equal fingerprints mean nothing was written."""
    db.session.rollback()
    tables = [t for t in metadata_tables() if t.name != "alembic_version" and t.name not in skip]
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # One round trip: each table's rows as text, digested by the server.
            digests = " UNION ALL ".join(
                f"SELECT '{table.name}', md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                f'FROM "{table.name}" t' for table in tables)
            return dict(connection.execute(text(digests)).all())
        return {table.name: hashlib.sha256(repr(connection.execute(
            table.select().order_by(*table.primary_key.columns)).all()).encode()).hexdigest() for table in tables}


def metadata_tables():
    from app.core.extensions import metadata

    return metadata.sorted_tables


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page, as a browser would submit it."""
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


REQUEST_METHODS = {"get", "post", "put", "patch", "delete", "open", "head", "options"}


def _outside_test_app_context(send):
    """Run a request in its own app context, as in production: flask.g (the logged-in user) and the
    database session must not leak from the test's context or between two users' clients."""

    def wrapped(*args, **kwargs):
        token = _cv_app.set(None)
        try:
            response = send(*args, **kwargs)
            if getattr(response, "is_streamed", False):
                # A streamed download (an export) is read now, while its own contexts are the current ones.
                response.make_sequence()
            return response
        finally:
            _cv_app.reset(token)

    return wrapped


class UserClient:
    """A Flask test client logged in through the real login form, with CSRF enforced."""

    def __init__(self, client, login: factories.UserLogin | None):
        self.client = client
        self.login = login

    def __getattr__(self, name):
        attribute = getattr(self.client, name)
        if name in REQUEST_METHODS:
            return _outside_test_app_context(attribute)
        return attribute

    def submit(self, form_url: str, data: dict, post_url: str | None = None, **kwargs):
        """GET the page holding the form, then POST it with that page's CSRF token."""
        # Through the wrapped methods: each request in its own app context, so flask.g (and the CSRF
        # token Flask-WTF caches there) never leaks from another client of the same test.
        page = self.get(form_url)
        assert page.status_code == 200, f"{form_url} answered {page.status_code}"
        payload = {"csrf_token": csrf_from(page.get_data(as_text=True)), **data}
        return self.post(post_url or form_url, data=payload, **kwargs)


def log_in(client, login: factories.UserLogin):
    client = UserClient(client, login) if not isinstance(client, UserClient) else client
    page = client.get("/login/")
    token = csrf_from(page.get_data(as_text=True))
    response = client.post(
        "/login/", data={"username": login.username, "password": login.password, "csrf_token": token}
    )
    assert response.status_code == 302, f"login of {login.username} failed"
    return response


@pytest.fixture
def client_for(app, users):
    """client_for("agent") → a UserClient logged in as the session's agent (None → anonymous)."""

    def make(role: str | None):
        client = UserClient(app.test_client(), users.get(role) if role else None)
        if role is not None:
            log_in(client, users[role])
        return client

    return make


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(app):
    """The application served over HTTP on loopback, for the browser tests."""
    from werkzeug.serving import make_server

    port = _free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER_TESTS"):
            pytest.fail(f"{CHROMIUM} is missing and browser tests are required")
        pytest.skip(f"{CHROMIUM} is not installed")
    with playwright_api.sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page_as(browser, live_server, users):
    """page_as("agent") → a Playwright page signed in through the login form."""
    contexts = []

    def make(role: str, viewport: dict | None = None, javascript: bool = True):
        context = browser.new_context(viewport=viewport or {"width": 1366, "height": 900},
                                      java_script_enabled=javascript)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{live_server}/login/")
        page.fill("input[name=username]", users[role].username)
        page.fill("input[name=password]", users[role].password)
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def random_suffix() -> str:
    return secrets.token_hex(3)

"""Holes found by probing, closed: sessions that outlive sign-out, a login limit that a burst slips through,
a world-readable SQLite file, REST log lines without their user, "Database Error" on an edit race."""
from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import limits.storage.memory
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from app.models import Account
from tests import factories
from tests.api.test_rest_api import api_key
from tests.conftest import UserClient, csrf_from, log_in
from tests.core.test_generated_bad_input import FormParser

ROOT = Path(__file__).resolve().parents[2]


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_session_cookie_captured_before_sign_out_fails_after_it(app, users):
    browser = UserClient(app.test_client(), users["agent"])
    log_in(browser, users["agent"])
    other_device = UserClient(app.test_client(), users["agent"])
    log_in(other_device, users["agent"])
    assert browser.get("/ordercaseview/list/").status_code == 200
    captured = session_cookie(browser)

    assert browser.get("/logout/").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", captured)
    replay = thief.get("/ordercaseview/list/")
    assert replay.status_code == 302 and "/login" in replay.headers["Location"]
    # Signing out ends every session of the user, not only the one that signed out.
    assert other_device.get("/ordercaseview/list/").status_code == 302
    # The refused cookie is not revived by a later request either.
    assert thief.get("/ordercaseview/list/").status_code == 302

    # Signing in again gives a working session, and the old cookie stays dead.
    log_in(browser, users["agent"])
    assert browser.get("/ordercaseview/list/").status_code == 200
    again = app.test_client()
    again.set_cookie("session", captured)
    assert again.get("/ordercaseview/list/").status_code == 302


class FakeClock:
    """limits' in-memory storage reads time.time(); the test moves it."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_burst_of_bad_logins_straddling_the_window_gets_429(app, users, tmp_path, monkeypatch):
    from app import create_app

    clock = FakeClock(1_000_000.0)
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    limited = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_DIR": str(tmp_path), "LOAD_DEMO_DATA": False, "AUTH_RATE_LIMITED": True,
        "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://", "AUTH_RATE_LIMIT": "10 per 20 second",
    })
    client = UserClient(limited.test_client(), None)
    token = csrf_from(client.get("/login/").get_data(as_text=True))

    def bad_login() -> int:
        return client.post("/login/", data={"username": users["agent"].username, "password": "wrong",
                                            "csrf_token": token}).status_code

    # One failure opens a fixed window; a burst of 12 just before and after its end would pass it.
    assert bad_login() != 429
    clock.now += 19.5
    statuses = []
    for _ in range(12):
        statuses.append(bad_login())
        clock.now += 0.1
    # The first failure leaves the window after the tenth of the burst: ten in any 20 seconds, two refused.
    # (A fixed window, reset by then, refused none of the twelve.)
    assert statuses[-2:] == [429, 429] and 429 not in statuses[:10], statuses
    # A minute later the limit has passed.
    clock.now += 60
    assert bad_login() != 429


def test_the_sqlite_database_file_is_readable_by_its_owner_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env["INSTANCE_PATH"] = str(tmp_path / "instance")
    old = tmp_path / "old"
    old.mkdir()
    (old / "orderdesk.db").write_bytes(b"")
    (old / "orderdesk.db").chmod(0o644)
    for instance in (tmp_path / "instance", old):
        env["INSTANCE_PATH"] = str(instance)
        subprocess.run([sys.executable, "-c", "import config; print(config.Config.SQLALCHEMY_DATABASE_URI)"],
                       cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
        assert stat.S_IMODE((instance / "orderdesk.db").stat().st_mode) == 0o600, instance


def test_rest_requests_are_logged_with_their_user(client_for, users, caplog):
    client = client_for(None)
    key = api_key(users["integrator"])
    login = users["agent"]
    token = client.post("/api/v1/auth/token", json={"username": login.username, "password": login.password})
    jwt = token.get_json()["access_token"]
    with caplog.at_level(logging.INFO, logger="orderdesk.request"):
        assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {jwt}"}).status_code == 200
        assert client.get("/api/v1/auth/me").status_code == 401
    lines = [record.getMessage() for record in caplog.records if "path=/api/v1/auth/me" in record.getMessage()]
    assert [line.split(" user=")[1].split(" ")[0] for line in lines] == [
        users["integrator"].username, login.username, "-"], lines


def test_the_loser_of_two_simultaneous_account_edits_gets_the_conflict_message(app, client_for, db, monkeypatch):
    from app.core.errors import STALE_MESSAGE
    from app.views import AccountView

    account = factories.make_account("Race Co")
    first, second = client_for("manager"), client_for("manager")
    pages = [client.get(f"/accountview/edit/{account.id}") for client in (first, second)]
    assert all(page.status_code == 200 for page in pages)

    # The second save passes its version check while the first is being committed: the first one's
    # change lands between the check and the second one's UPDATE.
    def concurrent_save(view, item):
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE account SET name = 'First Co', version = version + 1 WHERE id = :id"),
                               {"id": item.id})

    monkeypatch.setattr(AccountView, "pre_update", concurrent_save, raising=False)
    form = FormParser()
    form.feed(pages[1].get_data(as_text=True))
    fields = MultiDict([(name, value) for name, value, kind in next(
        found for found in form.forms if any(field[0] == "expected_version" for field in found["fields"]))["fields"] if kind != "submit"])
    assert fields["expected_version"] == str(account.version)
    fields["name"] = "Second Co"
    response = second.post(f"/accountview/edit/{account.id}", data=fields, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Database Error" not in page
    assert STALE_MESSAGE.split(";")[0] in page.replace("&#39;", "'")
    db.session.expire_all()
    assert db.session.get(Account, account.id).name == "First Co"

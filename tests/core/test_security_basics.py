"""Safe by default (SPEC §11): CSRF on every POST, no state change on GET, private cookies, login rate
limiting, and a secret key that comes from the environment or the instance folder, never from git."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import Account, OrderCase
from tests import factories
from tests.conftest import UserClient, csrf_from, log_in

ROOT = Path(__file__).resolve().parents[2]


def accounts_named(db, name: str) -> int:
    return db.session.execute(select(func.count()).select_from(Account).where(Account.name == name)).scalar_one()


def test_post_without_csrf_token_is_refused_and_writes_nothing(client_for, db):
    manager = client_for("manager")
    response = manager.post("/accountview/add", data={"name": "Forged Request Ltd", "active": "y"})
    assert response.status_code == 400
    assert accounts_named(db, "Forged Request Ltd") == 0
    # The same form with the page's token is not refused: the 400 above was the missing token.
    accepted = manager.submit("/accountview/add", {"name": "Genuine Request Ltd", "active": "y"})
    assert accepted.status_code != 400


def test_delete_through_get_is_refused_and_deletes_nothing(client_for, db):
    account = factories.make_account("Get Delete Co")
    case = factories.make_case(account)
    case_id = case.id
    response = client_for("admin").get(f"/ordercaseview/delete/{case_id}")
    assert response.status_code in (302, 400, 403, 405)
    db.session.expire_all()
    assert db.session.get(OrderCase, case_id) is not None


def test_session_cookie_is_http_only_and_same_site_lax(app, users):
    client = UserClient(app.test_client(), users["agent"])
    response = log_in(client, users["agent"])
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "login set no session cookie"
    assert "HttpOnly" in cookies[-1]
    assert "SameSite=Lax" in cookies[-1]


def test_eleventh_rapid_failed_login_is_rate_limited(app, users, tmp_path):
    from app import create_app

    limited = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_DIR": str(tmp_path),
        "LOAD_DEMO_DATA": False,
        "AUTH_RATE_LIMITED": True,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "AUTH_RATE_LIMIT": "10 per 20 second",
    })
    client = UserClient(limited.test_client(), None)
    token = csrf_from(client.get("/login/").get_data(as_text=True))
    statuses = [
        client.post("/login/", data={"username": users["agent"].username, "password": "wrong password",
                                     "csrf_token": token}).status_code
        for _ in range(11)
    ]
    assert 429 not in statuses[:10], statuses
    assert statuses[10] == 429, statuses
    # The JWT login API of the security manager is held to the same limit.
    api_client = limited.test_client()
    api_statuses = [
        api_client.post("/api/v1/security/login", json={"username": users["agent"].username,
                                                         "password": "wrong", "provider": "db"}).status_code
        for _ in range(11)
    ]
    assert 429 not in api_statuses[:10] and api_statuses[10] == 429, api_statuses


def _secret_key_in_subprocess(instance: Path, secret: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["INSTANCE_PATH"] = str(instance)
    if secret is not None:
        env["SECRET_KEY"] = secret
    result = subprocess.run(
        [sys.executable, "-c", "import config; print(config.Config.SECRET_KEY)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    return result.stdout.strip()


def test_secret_key_is_generated_into_the_instance_folder_once(tmp_path):
    instance = tmp_path / "instance"
    first = _secret_key_in_subprocess(instance)
    key_file = instance / "secret_key"
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 32 and key_file.read_text().strip() == first
    assert _secret_key_in_subprocess(instance) == first, "a restart must reuse the generated key"

    other = tmp_path / "other"
    assert _secret_key_in_subprocess(other, secret="from-the-environment") == "from-the-environment"
    assert not (other / "secret_key").exists()


def test_no_secret_or_generated_file_is_tracked_by_git():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    offending = [path for path in tracked.splitlines()
                 if Path(path).name in {"secret_key", "logins.txt", ".env"} or path.endswith((".db", ".sqlite"))]
    assert not offending, f"tracked secrets or local databases: {offending}"
    ignored = subprocess.run(["git", "check-ignore", "-q", "instance/secret_key"], cwd=ROOT)
    assert ignored.returncode == 0, "instance/ must be ignored by git"


@pytest.mark.browser
def test_a_real_browser_cannot_read_the_session_cookie(page_as):
    page = page_as("agent")
    assert "/login" not in page.url, "the login form did not sign the agent in"
    session = [cookie for cookie in page.context.cookies() if cookie["name"] == "session"]
    assert session and session[0]["httpOnly"] and session[0]["sameSite"] == "Lax"
    assert "session=" not in page.evaluate("document.cookie")


def test_a_starting_instance_takes_no_permission_away_from_any_role(app, users, tmp_path, monkeypatch):
    """Instances share one database: the start of one must not, even briefly, strip what the users of the
    others may do (FAB drops permissions a view does not declare from every role while it registers)."""
    from flask_appbuilder.security.sqla.manager import SecurityManager

    from app import create_app

    removed = []
    remove = SecurityManager.del_permission_role
    monkeypatch.setattr(SecurityManager, "del_permission_role",
                        lambda sm, role, perm: removed.append((role.name, perm.name)) or remove(sm, role, perm))
    create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_DIR": str(tmp_path), "LOAD_DEMO_DATA": False, "AUTH_RATE_LIMITED": False,
    })
    assert removed == []

"""Customer onboarding: a manager or an admin invites a contact, the contact sets a password through a
one-time, expiring link and signs in to the portal as that contact; removing access (or deactivating the
contact) ends it. Roles an admin creates survive a restart; the built-in ones say they cannot be edited and
are restored at every start."""
from __future__ import annotations

import re
import secrets

import pytest
from flask import current_app
from flask_appbuilder.security.sqla.models import Role, User
from itsdangerous import TimestampSigner

from app.core.exceptions import PermissionDenied, StateConflict
from app.core.extensions import db
from app.core.roles import sync_roles
from app.models import Contact, Notification
from app.portal import onboarding
from tests import factories
from tests.conftest import UserClient, csrf_from, log_in


def person(users, role) -> User:
    return db.session.get(User, users[role].id)


def link(token: str) -> str:
    return f"http://desk.test/welcome/{token}"


def invitation_path() -> str:
    body = db.session.query(Notification).filter_by(event="portal invitation").order_by(Notification.id.desc()) \
        .first().body
    return re.search(r"http://[^/\s]+(/welcome/\S+)", body).group(1)


@pytest.fixture
def contact():
    account = factories.make_account("Onboard Co")
    contact = account.primary_contact
    # FAB's users outlive each test (the harness keeps them): every invitation gets an address of its own.
    contact.email = f"Pat.Buyer.{secrets.token_hex(4)}@Example.test"
    db.session.commit()
    return contact


def test_an_invitation_creates_a_linked_customer_login_and_mails_a_link(users, contact):
    login = onboarding.invite_contact(person(users, "manager"), contact.id, link)
    db.session.expire_all()
    contact = db.session.get(Contact, contact.id)
    assert contact.user_id == login.id
    assert (login.username, login.active, [r.name for r in login.roles]) == (contact.email.lower(), True, ["customer"])
    (notice,) = db.session.query(Notification).filter_by(event="portal invitation").all()
    assert notice.recipient_email == contact.email and "http://desk.test/welcome/" in notice.body
    assert f"sign in as {login.username}" in notice.body
    # The link sets the password once.
    token = notice.body.split("/welcome/")[1].split()[0]
    onboarding.set_first_password(token, "a long secret 1", "a long secret 1")
    with pytest.raises(StateConflict, match="already used"):
        onboarding.set_first_password(token, "another secret 2", "another secret 2")


def test_only_managers_invite_and_bad_invitations_are_refused(users, contact):
    with pytest.raises(PermissionDenied):
        onboarding.invite_contact(person(users, "agent"), contact.id, link)
    contact.email = None
    db.session.commit()
    with pytest.raises(Exception, match="needs the contact's e-mail address"):
        onboarding.invite_contact(person(users, "manager"), contact.id, link)
    contact.email = f"{users['agent'].username}@example.test"
    db.session.commit()
    with pytest.raises(StateConflict, match="already uses"):
        onboarding.invite_contact(person(users, "manager"), contact.id, link)
    assert db.session.get(Contact, contact.id).user_id is None


def test_an_expired_or_forged_link_is_refused(users, contact, monkeypatch):
    onboarding.invite_contact(person(users, "manager"), contact.id, link)
    token = invitation_path().rsplit("/", 1)[1]
    later = TimestampSigner.get_timestamp(TimestampSigner("x")) + 8 * 86400
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    with pytest.raises(StateConflict, match="expired"):
        onboarding.invited_user(token)
    monkeypatch.undo()
    with pytest.raises(Exception, match="not valid"):
        onboarding.invited_user(token[:-3] + "abc")


def test_removing_access_or_deactivating_the_contact_ends_the_portal(users, contact):
    manager = person(users, "manager")
    login = onboarding.invite_contact(manager, contact.id, link)
    onboarding.remove_portal_access(manager, contact.id)
    assert db.session.get(User, login.id).active is False
    with pytest.raises(StateConflict):
        onboarding.remove_portal_access(manager, contact.id)
    # Invited again: the same login, active again, with a fresh link (the old one no longer works).
    again = onboarding.invite_contact(manager, contact.id, link)
    assert again.id == login.id and db.session.get(User, login.id).active


def test_roles_an_admin_creates_survive_the_sync_and_built_in_ones_stay_as_defined(app, client_for):
    sm = current_app.appbuilder.sm
    auditor = sm.add_role("auditor_h18")
    sm.add_permission_role(auditor, sm.find_permission_view_menu("can_list", "OrderCaseView"))
    agent_role = sm.find_role("agent")
    agent_role.permissions = agent_role.permissions[:1]
    db.session.commit()
    sync_roles(sm)
    db.session.expire_all()
    assert [(p.permission.name, p.view_menu.name) for p in sm.find_role("auditor_h18").permissions] == [
        ("can_list", "OrderCaseView")]
    assert len(sm.find_role("agent").permissions) > 1
    admin = client_for("admin")
    refused = admin.get(f"/roles/edit/{sm.find_role('agent').id}", follow_redirects=True).get_data(as_text=True)
    assert "is built into the application" in refused
    editable = admin.get(f"/roles/edit/{sm.find_role('auditor_h18').id}")
    assert editable.status_code == 200 and 'name="permissions"' in editable.get_data(as_text=True)
    db.session.query(Role).filter_by(name="auditor_h18").delete()
    db.session.commit()


# ----------------------------------------------------------------------------------------------------
# Through HTTP: from the contact page to the first portal sign-in


def test_from_the_contact_page_to_the_first_portal_sign_in(app, client_for, contact):
    assert ">Invite to the portal<" not in client_for("agent").get(
        f"/contactview/show/{contact.id}").get_data(as_text=True)
    assert client_for("agent").get(f"/contactview/invite/{contact.id}").status_code == 403
    manager = client_for("manager")
    page = manager.get(f"/contactview/show/{contact.id}").get_data(as_text=True)
    assert ">Invite to the portal<" in page
    done = manager.submit(f"/contactview/invite/{contact.id}", {}, follow_redirects=True)
    assert "is invited" in done.get_data(as_text=True)
    path = invitation_path()
    visitor = UserClient(app.test_client(), None)
    form = visitor.get(path)
    assert form.status_code == 200 and "Set password" in form.get_data(as_text=True)
    short = visitor.post(path, data={"csrf_token": csrf_from(form.get_data(as_text=True)), "password": "short",
                                     "confirmation": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    saved = visitor.submit(path, {"password": "portal secret 42", "confirmation": "portal secret 42"})
    assert saved.status_code == 302 and "/login" in saved.headers["Location"]
    login = factories.UserLogin(contact.user_id if contact.user_id else db.session.get(Contact, contact.id).user_id,
                                contact.email.lower(), "portal secret 42", "customer")
    customer = UserClient(app.test_client(), login)
    log_in(customer, login)
    assert "Welcome, Pat" in customer.get("/portal/").get_data(as_text=True)
    # The link is spent.
    assert "already used" in visitor.get(path).get_data(as_text=True)
    # Removing access: the next sign-in is refused.
    manager.submit(f"/contactview/remove-access/{contact.id}", {}, follow_redirects=True)
    again = UserClient(app.test_client(), login)
    page = again.get("/login/")
    response = again.post("/login/", data={"username": login.username, "password": login.password,
                                           "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code != 302 or "/login" in response.headers.get("Location", "")


def test_an_admin_invites_too_and_deactivating_the_contact_on_its_form_ends_the_portal(client_for, contact):
    admin = client_for("admin")
    assert ">Invite to the portal<" in admin.get(f"/contactview/show/{contact.id}").get_data(as_text=True)
    assert "is invited" in admin.submit(f"/contactview/invite/{contact.id}", {},
                                        follow_redirects=True).get_data(as_text=True)
    db.session.expire_all()
    login_id = db.session.get(Contact, contact.id).user_id
    assert db.session.get(User, login_id).active
    manager = client_for("manager")
    form = manager.get(f"/contactview/edit/{contact.id}").get_data(as_text=True)
    version = re.search(r'name="expected_version"[^>]*value="(\d+)"', form)
    # The "active" box left unticked: the contact no longer works for the customer. (The form's e-mail check
    # refuses the reserved .test domain the fixture's addresses use.)
    saved = manager.submit(f"/contactview/edit/{contact.id}", {
        "account": str(contact.account_id), "first_name": contact.first_name, "last_name": contact.last_name,
        "email": contact.email.replace(".test", ".com"), **({"expected_version": version.group(1)} if version else {})})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).active is False
    assert db.session.get(User, login_id).active is False


def test_a_role_an_admin_creates_survives_a_restart_and_built_in_ones_are_restored(app, client_for, tmp_path):
    from app import create_app

    sm = current_app.appbuilder.sm
    admin = client_for("admin")
    listed = admin.get("/roles/list/").get_data(as_text=True)
    assert "are built in" in listed
    grant = sm.find_permission_view_menu("can_list", "OrderCaseView")
    created = admin.submit("/roles/add", {"name": "auditor_restart", "permissions": [str(grant.id)]})
    assert created.status_code == 302, created.get_data(as_text=True)[-1500:]
    agent_role = sm.find_role("agent")
    granted_to_agents = len(agent_role.permissions)
    agent_role.permissions = agent_role.permissions[:1]  # a change made behind the application's back
    db.session.commit()
    try:
        create_app({**{key: app.config[key] for key in (
            "TESTING", "SQLALCHEMY_DATABASE_URI", "AUTH_RATE_LIMITED", "RATELIMIT_ENABLED", "MAIL_SERVER")},
            "INSTANCE_DIR": str(tmp_path), "LOAD_DEMO_DATA": False, "AUTO_MIGRATE": False})
        db.session.expire_all()
        assert [(p.permission.name, p.view_menu.name) for p in sm.find_role("auditor_restart").permissions] == [
            ("can_list", "OrderCaseView")]
        assert len(sm.find_role("agent").permissions) == granted_to_agents
    finally:
        db.session.rollback()
        db.session.query(Role).filter_by(name="auditor_restart").delete()
        db.session.commit()

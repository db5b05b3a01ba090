"""Customer onboarding: a manager or admin invites a contact to the portal, the contact sets a password
through a one-time, expiring link, and access ends when it is removed or the contact is deactivated.

The invitation creates (or reactivates) a user with the customer role linked to the contact. The link
is signed with the application's secret and carries a fingerprint of the user's password hash: setting
the password changes the hash, so the link works once; it expires after ``PORTAL_INVITATION_DAYS``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from werkzeug.security import generate_password_hash

from app.core.exceptions import InvalidInput, RecordNotFound, StateConflict
from app.core.extensions import db
from app.core.roles import CUSTOMER, MANAGER
from app.core.workflow_base import audit, lock_for_update, operation, require_back_office
from app.models import Contact
from app.sla.notifications import NotificationEvent, queue

INVITE = "Invite to the portal"
REMOVE_ACCESS = "Remove portal access"
DEFAULT_INVITATION_DAYS = 7
MIN_PASSWORD_LENGTH = 10
_SALT = "portal-invitation"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password or "").encode()).hexdigest()[:16]


def invitation_days() -> int:
    return int(current_app.config.get("PORTAL_INVITATION_DAYS", DEFAULT_INVITATION_DAYS))


def invitation_token(user: User) -> str:
    return _serializer().dumps({"user": user.id, "key": _fingerprint(user)})


def _load_contact(contact_id) -> Contact:
    contact = lock_for_update(Contact, int(contact_id)) if str(contact_id or "").isdigit() else None
    if contact is None:
        raise RecordNotFound("The contact does not exist.")
    return contact


def invite_contact(user, contact_id, link_for) -> User:
    """Give the contact a portal login (customer role, linked to the contact) and e-mail a set-password link.

    *link_for(token)* turns the token into the absolute link the e-mail carries.
    """
    sm = current_app.appbuilder.sm
    with operation(user):
        require_back_office(user, MANAGER, INVITE)
        contact = _load_contact(contact_id)
        email = (contact.email or "").strip().lower()
        if not contact.active or not contact.account.active:
            raise StateConflict(f"{INVITE} is not allowed: {contact.name} or their account is inactive.")
        if not email:
            raise InvalidInput(f"{INVITE} needs the contact's e-mail address: add it to {contact.name} first.",
                               {"email": "Required"})
        login = contact.user
        if login is not None and login.active and login.last_login is not None:
            raise StateConflict(f"{INVITE} is not allowed: {contact.name} already uses the portal as "
                                f"{login.username}.")
        if login is None:
            taken = db.session.scalar(select(User).where(or_(func.lower(User.username) == email,
                                                             func.lower(User.email) == email)))
            if taken is not None:
                raise StateConflict(f"{INVITE} is not allowed: the login {taken.username} already uses "
                                    f"{email}; link it or choose another address.")
            login = User(first_name=contact.first_name, last_name=contact.last_name, username=email, email=email,
                         active=True, roles=[sm.find_role(CUSTOMER)])
            db.session.add(login)
        # Nobody knows this password; the invitation link replaces it with the contact's own.
        login.password = generate_password_hash(secrets.token_urlsafe(32))
        login.active = True
        db.session.flush()
        audit(contact, "portal user", contact.user.username if contact.user else None, login.username,
              action=INVITE)
        contact.user_id = login.id
        expires = dt.datetime.utcnow() + dt.timedelta(days=invitation_days())
        queue(NotificationEvent.PORTAL_INVITATION, contact, contact,
              app_name=current_app.config.get("APP_NAME", "order desk"), account_name=contact.account.name,
              inviter=f"{user.first_name} {user.last_name}".strip() or user.username, username=login.username,
              invitation_link=link_for(invitation_token(login)), expires=expires)
    return login


def remove_portal_access(user, contact_id) -> Contact:
    """Deactivate the contact's portal login: signing in is refused from now on."""
    with operation(user):
        require_back_office(user, MANAGER, REMOVE_ACCESS)
        contact = _load_contact(contact_id)
        if contact.user is None or not contact.user.active:
            raise StateConflict(f"{REMOVE_ACCESS} is not allowed: {contact.name} has no active portal login.")
        contact.user.active = False
        audit(contact, "portal user", contact.user.username, f"{contact.user.username} (deactivated)",
              action=REMOVE_ACCESS)
    return contact


def invited_user(token: str) -> User:
    """The user a set-password link is for; refused when it is forged, used or expired."""
    try:
        data = _serializer().loads(token, max_age=invitation_days() * 86400)
    except SignatureExpired as exc:
        raise StateConflict("This link has expired; ask the order desk for a new invitation.") from exc
    except BadSignature as exc:
        raise RecordNotFound("This link is not valid.") from exc
    login = db.session.get(User, data.get("user")) if isinstance(data, dict) else None
    if login is None or not login.active or data.get("key") != _fingerprint(login):
        raise StateConflict("This link was already used or replaced by a newer invitation; sign in, or ask the "
                            "order desk for a new invitation.")
    return login


def set_first_password(token: str, password: str, confirmation: str) -> User:
    """Set the invited user's password (which also spends the link)."""
    login = invited_user(token)
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.",
                           {"password": "Too short"})
    if password != confirmation:
        raise InvalidInput("The two passwords differ.", {"confirmation": "Does not match"})
    with operation(login):
        login.password = generate_password_hash(password)
    return login

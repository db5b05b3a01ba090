"""Who acts on this side for the other side: the Service Exchange user, and the marker of inbound work."""
from __future__ import annotations

import secrets

from flask import current_app

from app.core.roles import MANAGER

ACTOR_USERNAME = "service-exchange"
# Set in the session's info while a received message is applied, so what it changes is not echoed back.
INBOUND_KEY = "exchange_inbound_connection"


def exchange_actor():
    """The user the other side's decisions are recorded under (a manager who cannot sign in: no password
    anyone knows); created on first use."""
    sm = current_app.appbuilder.sm
    user = sm.find_user(username=ACTOR_USERNAME)
    if user is None:
        user = sm.add_user(ACTOR_USERNAME, "Service", "Exchange", f"{ACTOR_USERNAME}@invalid",
                           [sm.find_role(MANAGER)], secrets.token_urlsafe(32))
    return user

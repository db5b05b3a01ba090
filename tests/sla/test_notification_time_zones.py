"""E-mails show times in the recipient's own time zone, named: a customer's as chosen in the portal's
settings, an agent's as chosen in My settings, anyone else's (or a user who chose none) in the desk's."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from app.core.choices import CaseState
from app.core.extensions import db
from app.models import CustomerOrder, Notification
from app.sla import notifications
from app.sla.notifications import NotificationEvent
from tests import factories
from tests.portal.shopping import order_through_the_cart

DUE = dt.datetime(2026, 5, 4, 9, 0)  # UTC: 11:00 in Berlin, 05:00 in New York, 10:00 in London (summer)
AT_RISK = {"sla_name": "Case response 4 h", "elapsed_percent": "80", "due": DUE}


@pytest.fixture
def desk_zone(app):
    saved = app.config.get("DEFAULT_TIME_ZONE")
    app.config["DEFAULT_TIME_ZONE"] = "Europe/London"
    yield "Europe/London"
    app.config["DEFAULT_TIME_ZONE"] = saved


def test_a_customers_order_email_reads_in_the_zone_chosen_in_the_portal(client_for, users):
    account = factories.make_account("Berlin Buyer GmbH")
    account.primary_contact.user_id = users["customer"].id
    db.session.commit()
    modem = factories.make_offering("Zone Modem")
    customer = client_for("customer")
    assert customer.submit("/portal/settings", {"time_zone": "Europe/Berlin"}).status_code == 302

    assert order_through_the_cart(customer, {f"qty-{modem.id}": "1"}).status_code == 302
    order = db.session.query(CustomerOrder).one()
    notice = db.session.query(Notification).filter_by(event=NotificationEvent.ORDER_SUBMITTED).one()
    assert notice.recipient_email == account.primary_contact.email
    received = notice.created_on.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo("Europe/Berlin"))
    said = re.search(rf"we received your order {order.number} on (.+?)\. ", notice.body).group(1)
    assert said == received.strftime("%Y-%m-%d %H:%M %Z") + " (Europe/Berlin)"
    assert received.strftime("%Z") in ("CET", "CEST")


def test_agents_read_their_own_zone_and_everyone_else_the_desks(client_for, users, desk_zone):
    account = factories.make_account("Globex")
    order = factories.make_order(account, lines=1)
    case = factories.make_case(account, order=order, order_lines=list(order.lines), state=CaseState.WORK_IN_PROGRESS)
    case.assigned_to_id = users["agent"].id
    db.session.commit()
    assert client_for("agent").submit("/preferences/", {"time_zone": "America/New_York"}).status_code == 302

    [to_agent] = notifications.notify(NotificationEvent.SLA_AT_RISK, case, now=DUE, **AT_RISK)
    assert "It is due 2026-05-04 05:00 EDT (America/New_York)." in to_agent.body

    # The manager chose no zone, and an address is nobody's: both read the desk's.
    manager = db.session.get(type(case.assigned_to), users["manager"].id)
    for recipient in (manager, "ops@example.test"):
        message = notifications.queue(NotificationEvent.SLA_AT_RISK, recipient, case, now=DUE, **AT_RISK)
        assert "It is due 2026-05-04 10:00 BST (Europe/London)." in message.body, recipient
    # In UTC the zone's abbreviation is its name: said once.
    in_utc = notifications.render(NotificationEvent.SLA_AT_RISK, case, "Pat", "UTC", **AT_RISK)[1]
    assert "It is due 2026-05-04 09:00 UTC." in in_utc

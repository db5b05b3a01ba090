"""TMF622 / TMF641 as an integrator finds them (issue 20): one test per finding of the fuzzing and of the
flows an integrator uses — every response body checked against the official v4 swaggers."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import delete, update

from app.core.choices import OrderState, QuoteState
from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import CustomerOrder, OrderLineCharacteristic, OrderLineItem, Quote
from app.orders import workflows as order_workflows
from app.tmf.common import tmf_datetime
from app.tmf.events import LEASE_SECONDS, MAX_ATTEMPTS, deliver_due_events, retry_event
from app.tmf.models import TmfEvent, TmfHubSubscription
from tests import factories
from tests.tmf.test_tmf_api import (  # noqa: F401 (listener is a fixture)
    CTK_622_BODY,
    P622,
    S641,
    Tmf,
    api_key_for,
    listener,
    service_order_body,
    valid,
)

LISTS = (f"{P622}/productOrder", f"{P622}/cancelProductOrder", f"{S641}/serviceOrder", f"{S641}/cancelServiceOrder")


@pytest.fixture
def tmf(client_for, users):
    return Tmf(client_for(None), api_key_for(users["integrator"]))


def create(tmf, **attributes):
    response = tmf.post(f"{P622}/productOrder", {**CTK_622_BODY, **attributes})
    assert response.status_code == 201, response.get_json()
    return valid(response, "ProductOrder")


def wait_for(received, count, seconds=15):
    deadline = time.monotonic() + seconds
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return received


# 1 ---------------------------------------------------------------------------------------------------

def test_delete_of_an_order_converted_from_a_quote_is_refused_not_a_500(tmf):
    account = factories.make_account("Quoted Co")
    order = factories.make_order(account, lines=1, state=OrderState.NEW)
    quote = Quote(account=account, state=QuoteState.ACCEPTED, order_id=order.id)
    db.session.add(quote)
    db.session.commit()
    response = tmf.delete(f"{P622}/productOrder/{order.tmf_id}")
    assert response.status_code == 409
    assert quote.number in valid(response, "ProductError")["message"]
    assert tmf.get(f"{P622}/productOrder/{order.tmf_id}").status_code == 200


# 2 ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", LISTS)
def test_offsets_beyond_any_sql_integer_give_an_empty_page(tmf, url):
    create(tmf)
    for offset in (2**63 - 1, 2**63, 10**30):
        response = tmf.get(url, query_string={"offset": offset})
        assert response.status_code == 200 and response.get_json() == []
        assert response.headers["X-Result-Count"] == "0"
    assert tmf.get(url, query_string={"offset": "9" * 5000}).status_code == 400


# 3 ---------------------------------------------------------------------------------------------------

def test_dates_before_the_year_1000_are_valid_date_times(tmf):
    assert tmf_datetime(dt.datetime(1, 1, 1)) == "0001-01-01T00:00:00.000Z"
    assert tmf_datetime(dt.date(999, 12, 31)) == "0999-12-31T00:00:00.000Z"
    created = create(tmf, requestedStartDate="0001-01-01T00:00:00Z",
                     requestedCompletionDate="0999-12-31T23:59:59.999+00:00")
    assert created["requestedStartDate"] == "0001-01-01T00:00:00.000Z"
    assert created["requestedCompletionDate"] == "0999-12-31T23:59:59.999Z"
    # An offset that moves the first instant of year 1 before it is refused, not a 500.
    early = tmf.post(f"{P622}/productOrder", {**CTK_622_BODY, "requestedStartDate": "0001-01-01T00:00:00+01:00"})
    assert early.status_code == 400 and "requestedStartDate" in valid(early, "ProductError")["message"]


# 4 ---------------------------------------------------------------------------------------------------

def test_requested_dates_keep_the_time_of_day_on_post_and_patch(tmf, users, client_for):
    created = create(tmf, requestedStartDate="2019-05-02T08:13:59.506Z",
                     requestedCompletionDate="2019-05-09T17:00:00.000+02:00")
    assert created["requestedStartDate"] == "2019-05-02T08:13:59.506Z"
    assert created["requestedCompletionDate"] == "2019-05-09T15:00:00.000Z"
    url = f"{P622}/productOrder/{created['id']}"
    patched = valid(tmf.patch(url, {"requestedCompletionDate": "2019-06-01T17:45:00.250+02:00"}), "ProductOrder")
    assert patched["requestedCompletionDate"] == "2019-06-01T15:45:00.250Z"
    assert tmf.get(url).get_json()["requestedStartDate"] == "2019-05-02T08:13:59.506Z"

    # The desk edits days: the form shows the day, an unchanged day keeps the time, a new day is midnight.
    order = db.session.query(CustomerOrder).filter_by(tmf_id=created["id"]).one()
    agent = client_for("agent")
    form = agent.get(f"/customerorderview/edit/{order.id}").get_data(as_text=True)
    assert 'value="2019-05-02"' in form
    assert "2019-05-02 08:13 UTC" in agent.get(f"/customerorderview/show/{order.id}").get_data(as_text=True)
    order_workflows.update_order(db.session.get(User, users["agent"].id), order.id, order.version,
                                 {"requested_start_date": "2019-05-02", "requested_completion_date": "2019-06-03"})
    document = tmf.get(url).get_json()
    assert document["requestedStartDate"] == "2019-05-02T08:13:59.506Z"
    assert document["requestedCompletionDate"] == "2019-06-03T00:00:00.000Z"


# 5 ---------------------------------------------------------------------------------------------------

def test_priority_is_a_string_on_post_and_patch_alike(tmf):
    refused_post = tmf.post(f"{P622}/productOrder", {**CTK_622_BODY, "priority": 1})
    assert refused_post.status_code == 400
    created = create(tmf, priority="0")
    assert created["priority"] == "0"
    url = f"{P622}/productOrder/{created['id']}"
    refused_patch = tmf.patch(url, {"priority": 2})
    assert refused_patch.status_code == 400
    assert valid(refused_patch, "ProductError")["message"] == valid(refused_post, "ProductError")["message"]
    assert valid(tmf.patch(url, {"priority": "2"}), "ProductOrder")["priority"] == "2"
    assert [o["id"] for o in tmf.get(f"{P622}/productOrder?priority=2").get_json()] == [created["id"]]
    assert valid(tmf.patch(url, {"priority": None}), "ProductOrder")["priority"] == "4"


# 6 ---------------------------------------------------------------------------------------------------

def test_405_names_the_allowed_methods_and_204_has_no_content_type(tmf):
    refused = tmf.client.put(f"{P622}/productOrder", headers=tmf.headers)
    assert refused.status_code == 405 and valid(refused, "ProductError")["code"] == "405"
    assert {"GET", "POST"} <= {m.strip() for m in refused.headers["Allow"].split(",")}
    item = tmf.client.put(f"{S641}/serviceOrder/x", headers=tmf.headers)
    assert item.status_code == 405 and {"GET", "PATCH", "DELETE"} <= set(item.headers["Allow"].replace(" ", "").split(","))
    hub = tmf.post(f"{P622}/hub", {"callback": "http://127.0.0.1:9/listener"}).get_json()
    for response in (tmf.delete(f"{P622}/hub/{hub['id']}"), tmf.delete(f"{P622}/productOrder/{create(tmf)['id']}")):
        assert response.status_code == 204
        assert "Content-Type" not in response.headers and response.data == b""


# 7 ---------------------------------------------------------------------------------------------------

def test_cancel_request_lists_filter_sort_and_count(tmf):
    first, second = create(tmf), create(tmf)
    done = tmf.post(f"{P622}/cancelProductOrder", {"productOrder": {"id": first["id"]}}).get_json()
    failed = tmf.post(f"{P622}/cancelProductOrder", {"productOrder": {"id": first["id"]}}).get_json()
    other = tmf.post(f"{P622}/cancelProductOrder", {"productOrder": {"id": second["id"]},
                                                     "cancellationReason": "duplicate"}).get_json()
    assert (done["state"], failed["state"], other["state"]) == ("done", "terminatedWithError", "done")
    listing = tmf.get(f"{P622}/cancelProductOrder?state=done")
    assert [c["id"] for c in listing.get_json()] == [other["id"], done["id"]]
    assert listing.headers["X-Total-Count"] == "2"
    assert [c["id"] for c in tmf.get(f"{P622}/cancelProductOrder?state.ne=done").get_json()] == [failed["id"]]
    by_order = tmf.get(f"{P622}/cancelProductOrder", query_string={"productOrder.id": second["id"]}).get_json()
    assert [c["id"] for c in by_order] == [other["id"]]
    assert [c["id"] for c in tmf.get(f"{P622}/cancelProductOrder?sort=state,id").get_json()][-1] == failed["id"]
    assert tmf.get(f"{S641}/cancelServiceOrder?state=done").get_json() == []


# 8 ---------------------------------------------------------------------------------------------------

def test_cancelled_orders_say_when_and_why_and_cancel_requests_send_events(tmf, listener):
    callback, received = listener
    tmf.post(f"{P622}/hub", {"callback": callback, "query": "eventType=CancelProductOrderCreateEvent,"
                                                            "CancelProductOrderStateChangeEvent"})
    created = create(tmf)
    before = utcnow().replace(microsecond=0)
    task = tmf.post(f"{P622}/cancelProductOrder", {"productOrder": {"id": created["id"]},
                                                    "cancellationReason": "customer changed mind"}).get_json()
    order = valid(tmf.get(f"{P622}/productOrder/{created['id']}"), "ProductOrder")
    assert order["state"] == "cancelled" and order["cancellationReason"] == "customer changed mind"
    assert dt.datetime.fromisoformat(order["cancellationDate"].replace("Z", "")) >= before
    wait_for(received, 2)
    assert [event["eventType"] for event in received] == ["CancelProductOrderCreateEvent",
                                                          "CancelProductOrderStateChangeEvent"]
    assert received[0]["event"]["cancelProductOrder"]["id"] == task["id"]
    assert received[0]["event"]["cancelProductOrder"]["state"] == "acknowledged"
    assert received[1]["event"]["cancelProductOrder"]["state"] == "done"
    for event in received:
        assert valid_document(event["event"]["cancelProductOrder"], "CancelProductOrder")
    # Cancelled by a PATCH, or on the order page: the same two attributes.
    patched = create(tmf)
    cancelled = valid(tmf.patch(f"{P622}/productOrder/{patched['id']}",
                                {"state": "cancelled", "cancellationReason": "by patch"}), "ProductOrder")
    assert cancelled["cancellationReason"] == "by patch" and "cancellationDate" in cancelled
    assert tmf.patch(f"{P622}/productOrder/{patched['id']}", {"cancellationReason": "later"}).status_code == 400


def valid_document(document, schema):
    from tests.tmf.test_tmf_api import SCHEMAS

    errors = list(SCHEMAS[schema].iter_errors(document))
    assert not errors, errors[0].message
    return True


# 9 ---------------------------------------------------------------------------------------------------

@pytest.fixture
def dated_orders(tmf):
    """Three product orders with order dates one day apart (oldest first) and distinct priorities."""
    ids = []
    for day, priority, external_id in ((1, "3", "b-2"), (2, "1", "a-1"), (3, "2", "c-3")):
        created = create(tmf, priority=priority, externalId=external_id)
        db.session.execute(update(CustomerOrder).where(CustomerOrder.tmf_id == created["id"])
                           .values(order_date=dt.datetime(2024, 3, day, 10, 30, 15, 123456)))
        db.session.commit()
        ids.append(created["id"])
    return ids


def listed(tmf, query):
    response = tmf.get(f"{P622}/productOrder?{query}")
    assert response.status_code == 200, response.get_json()
    return [o["id"] for o in valid(response, "ProductOrderList")]


def test_tmf630_operators_on_dates(tmf, dated_orders):
    old, middle, new = dated_orders
    second = "2024-03-02T10:30:15.123Z"
    assert listed(tmf, f"orderDate.gt={second}") == [new]
    assert listed(tmf, f"orderDate.gte={second}") == [new, middle]
    assert listed(tmf, f"orderDate.lt={second}") == [old]
    assert listed(tmf, f"orderDate.lte={second}") == [middle, old]
    assert listed(tmf, f"orderDate.eq={second}") == [middle]
    assert listed(tmf, f"orderDate.ne={second}") == [new, old]
    assert listed(tmf, f"orderDate>={second}") == [new, middle]
    assert listed(tmf, f"orderDate>{second}") == [new]
    assert listed(tmf, f"orderDate<={second}") == [middle, old]
    assert listed(tmf, f"orderDate<{second}") == [old]
    assert listed(tmf, "orderDate!=2024-03-02T10:30:15.123Z") == [new, old]
    assert listed(tmf, "orderDate.gt=2024-03-02") == [new, middle]
    assert listed(tmf, "orderDate.gte=2024-03-01T11:30:15.123%2B01:00&orderDate.lt=2024-03-03") == [middle, old]


def test_tmf630_operators_on_numbers_and_strings_and_nested_paths(tmf, dated_orders):
    old, middle, new = dated_orders
    assert listed(tmf, "priority.gte=2") == [new, old]
    assert listed(tmf, "priority<2") == [middle]
    assert listed(tmf, "externalId.gt=a-1") == [new, old]
    assert listed(tmf, "externalId.lte=b-2") == [middle, old]
    # Attributes without a column are compared on the documents with the same rules.
    assert listed(tmf, "productOrderItem.quantity.gte=1&state=acknowledged") == [new, middle, old]
    assert listed(tmf, "productOrderItem.quantity.gt=1") == []
    assert listed(tmf, "relatedParty.id.ne=456-dd-df45") == []


def test_sort_ascending_descending_and_by_several_keys(tmf, dated_orders):
    old, middle, new = dated_orders
    assert listed(tmf, "sort=orderDate") == [old, middle, new]
    assert listed(tmf, "sort=-orderDate") == [new, middle, old]
    assert listed(tmf, "sort=priority") == [middle, new, old]
    assert listed(tmf, "sort=-externalId") == [new, old, middle]
    assert listed(tmf, "sort=state,-priority") == [old, new, middle]  # state on the documents, then priority
    assert listed(tmf, "sort=orderDate&limit=1&offset=1") == [middle]
    assert listed(tmf, "sort=relatedParty.id,orderDate&limit=2") == [old, middle]


@pytest.mark.parametrize("query, message", [
    ("orderDate.gt=yesterday", "date-time"),
    ("orderDate.regex=2024.*", "not supported"),
    ("priority.gt=1,2", "exactly one value"),
    ("orderDate.gt>=2024-01-01", "either"),
    ("sort=-", "sort"),
    ("sort=order%20Date", "sort"),
    ("productOrderItem.quantity.gt=many", "numbers"),
])
def test_what_is_not_supported_or_malformed_is_a_400_never_a_silent_answer(tmf, dated_orders, query, message):
    response = tmf.get(f"{P622}/productOrder?{query}")
    assert response.status_code == 400
    assert message in valid(response, "ProductError")["message"]


# 10 --------------------------------------------------------------------------------------------------

def test_orders_without_items_are_not_shown_by_tmf(tmf, users, listener):
    callback, received = listener
    tmf.post(f"{P622}/hub", {"callback": callback})
    shown = create(tmf)
    wait_for(received, 1)
    account = factories.make_account("Drafting Co")
    draft = order_workflows.create_order(db.session.get(User, users["agent"].id), {"account_id": account.id})
    db.session.commit()
    listing = tmf.get(f"{P622}/productOrder")
    assert [o["id"] for o in valid(listing, "ProductOrderList")] == [shown["id"]]
    assert listing.headers["X-Total-Count"] == "1"
    assert tmf.get(f"{P622}/productOrder/{draft.tmf_id}").status_code == 404
    assert tmf.post(f"{P622}/cancelProductOrder", {"productOrder": {"id": draft.tmf_id}}).status_code == 404
    time.sleep(0.5)
    assert [event["event"]["productOrder"]["id"] for event in received] == [shown["id"]]


def test_tmf_shows_an_order_from_its_first_item_until_its_last_is_gone(tmf, users):
    # Whether an order has items is kept by triggers on order_line_item (migration 0029), whoever writes.
    account = factories.make_account("Itemised Co")
    first, second = factories.make_order(account, lines=2), factories.make_order(account, lines=0)

    def listed() -> set[str]:
        db.session.expire_all()
        return {o["id"] for o in valid(tmf.get(f"{P622}/productOrder?limit=100"), "ProductOrderList")}

    assert first.tmf_id in listed() and second.tmf_id not in listed()
    moved, kept = first.lines
    db.session.execute(update(OrderLineItem).where(OrderLineItem.id == moved.id).values(order_id=second.id))
    db.session.commit()
    assert {first.tmf_id, second.tmf_id} <= listed()
    db.session.delete(db.session.get(OrderLineItem, kept.id))
    db.session.commit()
    assert second.tmf_id in listed() and first.tmf_id not in listed()
    assert tmf.get(f"{P622}/productOrder/{first.tmf_id}").status_code == 404
    db.session.execute(delete(OrderLineCharacteristic).where(OrderLineCharacteristic.order_line_id == moved.id))
    db.session.execute(delete(OrderLineItem).where(OrderLineItem.id == moved.id))
    db.session.commit()
    assert not {first.tmf_id, second.tmf_id} & listed()


# 11 --------------------------------------------------------------------------------------------------

def _queued_event(callback, **values) -> int:
    subscription = TmfHubSubscription(api="TMF622", callback=callback)
    db.session.add(subscription)
    db.session.flush()
    tmf_event = TmfEvent(subscription_id=subscription.id, event_type="ProductOrderCreateEvent",
                         payload={"eventId": "evt-1", "eventType": "ProductOrderCreateEvent", "event": {}}, **values)
    db.session.add(tmf_event)
    db.session.commit()
    return tmf_event.id


def test_an_event_claimed_by_a_sender_that_died_is_sent_again_after_its_lease(listener):
    callback, received = listener
    now = utcnow()
    # A sender claimed it and died: its lease runs until now + LEASE_SECONDS.
    event_id = _queued_event(callback, state="sending", attempts=1,
                             next_attempt_at=now + dt.timedelta(seconds=LEASE_SECONDS))
    deliver_due_events(now)
    assert received == [] and db.session.get(TmfEvent, event_id).state == "sending"
    deliver_due_events(now + dt.timedelta(seconds=LEASE_SECONDS + 1))
    db.session.expire_all()
    tmf_event = db.session.get(TmfEvent, event_id)
    assert (tmf_event.state, tmf_event.attempts) == ("delivered", 2)
    assert [event["eventId"] for event in received] == ["evt-1"]


def test_a_sender_that_dies_on_every_attempt_ends_failed_and_retry_queues_it_again(listener):
    callback, received = listener
    event_id = _queued_event(callback, state="sending", attempts=MAX_ATTEMPTS,
                             next_attempt_at=utcnow() - dt.timedelta(seconds=1))
    deliver_due_events()
    db.session.expire_all()
    assert db.session.get(TmfEvent, event_id).state == "failed" and received == []
    retry_event(event_id)
    deadline = time.monotonic() + 15
    while db.session.get(TmfEvent, event_id).state != "delivered" and time.monotonic() < deadline:
        time.sleep(0.05)
        db.session.rollback()
    assert db.session.get(TmfEvent, event_id).state == "delivered"
    assert [event["eventId"] for event in received] == ["evt-1"]


# Fuzzing: what the official swagger refuses is refused -------------------------------------------

def test_bodies_the_official_swagger_refuses_get_400_naming_the_place(tmf):
    created = tmf.post(f"{S641}/serviceOrder", service_order_body()).get_json()
    patched = tmf.patch(f"{S641}/serviceOrder/{created['id']}", {"externalReference": 0.0, "category": None})
    assert patched.status_code == 400
    assert valid(patched, "ServiceError")["message"].startswith("externalReference: 0.0 is not of type 'array'")
    posted = tmf.post(f"{P622}/productOrder", {**CTK_622_BODY, "notificationContact": 5})
    assert posted.status_code == 400
    assert valid(posted, "ProductError")["message"].startswith("notificationContact: 5 is not of type 'string'")
    assert tmf.get(f"{S641}/serviceOrder/{created['id']}").get_json()["category"] == "CloudServiceOrdering"

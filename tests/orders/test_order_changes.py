"""Accepting a case line applies it to the order (SPEC §5): one end-to-end test per request type (the
order, the Order change ledger, the order page), every guard (refused with the line named, database
unchanged), and idempotency (the same line never changes the order twice)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app import workflows as wf
from app.core.choices import (
    CaseOrigin,
    CaseState,
    LineAction,
    LineState,
    OrderLineState,
    OrderState,
    RequestType,
    ResolutionCode,
    Scope,
)
from app.core.exceptions import InvalidInput, StateConflict, VersionConflict
from app.core.extensions import db
from app.models import CustomerOrder, Location, OrderCase, OrderCaseLine, OrderChange, OrderLineItem
from tests import factories
from tests.conftest import csrf_from
from tests.cases.test_case_workflows import assert_refused, reload, user_for

TODAY = dt.date.today()


def line_case(request_type: str, lines: int = 3, line_states=None, order_state=OrderState.IN_PROGRESS, **fields):
    """An In progress order of *lines* lines (5 × 10.00 each) and a Work in Progress single-order case with one
    case line on its first order line, of *request_type* with *fields* set."""
    account = factories.make_account()
    order = factories.make_order(account, lines=lines, state=order_state)
    for order_line, state in zip(order.lines, line_states or []):
        order_line.state = state
    db.session.commit()
    case = factories.make_case(account, order=order, order_lines=[order.lines[0]], state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    line = case.lines[0]
    line.request_type = request_type
    line.current_unit_price = order.lines[0].unit_price
    line.current_delivery_date = order.lines[0].expected_delivery_date
    line.current_location_id = order.lines[0].location_id
    for field, value in fields.items():
        setattr(line, field, value)
    line.order_line_version = order.lines[0].version
    db.session.commit()
    return order, case, line


def header_case(request_type: str, lines: int = 3, line_states=None, order_state=OrderState.IN_PROGRESS, **fields):
    """The same order on a Multiple-orders case as one header line."""
    account = factories.make_account()
    order = factories.make_order(account, lines=lines, state=order_state)
    for order_line, state in zip(order.lines, line_states or []):
        order_line.state = state
    db.session.commit()
    case = factories.make_case(account, order=order, state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    line = case.lines[0]
    line.request_type = request_type
    line.current_unit_price = order.total_amount
    for field, value in fields.items():
        setattr(line, field, value)
    db.session.commit()
    return order, case, line


def ledger(order_id) -> list[tuple]:
    db.session.expire_all()
    rows = db.session.query(OrderChange).filter_by(order_id=order_id).order_by(OrderChange.id).all()
    return [(row.order_line.number if row.order_line else None, row.field, row.old_value, row.new_value,
             row.case_line_id) for row in rows]


def order_page(client, order) -> str:
    response = client.get(f"/customerorderview/show/{order.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def assert_page_shows(client, order, line, *values):
    page = order_page(client, order)
    assert f'href="/ordercaselineview/show/{line.id}"' in page and line.number in page
    for value in values:
        assert value in page, value


# ----------------------------------------------------------------------------------------------------
# One end-to-end test per request type


def test_quantity_change_sets_the_order_line_quantity_and_recomputes_totals(users, client_for):
    order, case, line = line_case(RequestType.QUANTITY, requested_quantity=8)
    version = order.version
    wf.accept_line(line.id, user_for(users, "agent"))
    order, line = reload(CustomerOrder, order.id), reload(OrderCaseLine, line.id)
    first = order.lines[0]
    assert (first.quantity, first.version) == (8, 2)
    assert (order.total_amount, order.total_one_time, order.version) == (Decimal("180.00"), Decimal("180.00"),
                                                                        version + 1)
    assert [l.quantity for l in order.lines[1:]] == [5, 5]
    assert ledger(order.id) == [(first.number, "quantity", "5", "8", line.id)]
    assert (line.state, line.approved_quantity, line.order_line_version) == (LineState.ACCEPTED, 8, 2)
    assert line.applied_at is not None
    agent = client_for("agent")
    assert_page_shows(agent, order, line, "180.00")
    line_page = agent.get(f"/orderlineitemview/show/{first.id}").get_data(as_text=True)
    assert 'id="line-quantity">8<' in line_page and f"/ordercaselineview/show/{line.id}" in line_page
    case_page = agent.get(f"/ordercases/{case.id}").get_data(as_text=True)
    assert "line-order-changes" in case_page and "5 → 8" in case_page
    follow = agent.get(f"/ordercaselineview/show/{line.id}")
    assert follow.status_code == 302 and follow.headers["Location"].endswith(f"/ordercases/{case.id}#line-{line.id}")


def test_delivery_date_change_on_an_order_line(users, client_for):
    new_date = TODAY + dt.timedelta(days=30)
    order, _case, line = line_case(RequestType.DELIVERY_DATE, requested_delivery_date=new_date)
    old_date = order.lines[0].expected_delivery_date
    wf.accept_line(line.id, user_for(users, "agent"))
    order = reload(CustomerOrder, order.id)
    assert [l.expected_delivery_date for l in order.lines] == [new_date, old_date, old_date]
    assert order.expected_delivery_date == old_date
    assert ledger(order.id) == [(order.lines[0].number, "expected delivery date", str(old_date), str(new_date),
                                 line.id)]
    assert_page_shows(client_for("agent"), order, line, str(new_date))


def test_delivery_date_change_on_a_header_line_moves_the_order_and_its_open_lines(users, client_for):
    new_date = TODAY + dt.timedelta(days=40)
    order, _case, line = header_case(RequestType.DELIVERY_DATE, requested_delivery_date=new_date,
                                     line_states=[OrderLineState.COMPLETED])
    old_date, version = order.expected_delivery_date, order.version
    wf.accept_line(line.id, user_for(users, "agent"), approved_delivery_date=str(new_date))
    order = reload(CustomerOrder, order.id)
    assert order.expected_delivery_date == new_date and order.version == version + 1
    assert [l.expected_delivery_date for l in order.lines] == [old_date, new_date, new_date]
    assert ledger(order.id) == [
        (None, "expected delivery date", str(old_date), str(new_date), line.id),
        (order.lines[1].number, "expected delivery date", str(old_date), str(new_date), line.id),
        (order.lines[2].number, "expected delivery date", str(old_date), str(new_date), line.id),
    ]
    assert_page_shows(client_for("agent"), order, line)


def test_address_change_on_a_header_line_moves_the_shipping_location_and_open_lines(users, client_for):
    order, _case, line = header_case(RequestType.ADDRESS, line_states=[OrderLineState.CANCELLED])
    depot = Location(name="Depot", city="Leeds", account_id=order.account_id)
    db.session.add(depot)
    db.session.commit()
    old = db.session.get(Location, order.shipping_location_id)
    old_label, new_label = f"{old.number} {old}", f"{depot.number} {depot}"
    wf.accept_line(line.id, user_for(users, "agent"), requested_location_id=depot.id)
    order = reload(CustomerOrder, order.id)
    assert order.shipping_location_id == depot.id
    assert [l.location_id for l in order.lines] == [old.id, depot.id, depot.id]
    assert ledger(order.id)[0] == (None, "shipping location", old_label, new_label, line.id)
    assert {row[1] for row in ledger(order.id)[1:]} == {"location"} and len(ledger(order.id)) == 3
    assert_page_shows(client_for("agent"), order, line, "Depot, Leeds")


def test_address_change_on_an_order_line(users):
    order, _case, line = line_case(RequestType.ADDRESS)
    depot = Location(name="Depot", city="York")
    db.session.add(depot)
    db.session.commit()
    line = reload(OrderCaseLine, line.id)
    line.requested_location_id = depot.id
    db.session.commit()
    wf.accept_line(line.id, user_for(users, "agent"))
    order = reload(CustomerOrder, order.id)
    assert [l.location_id == depot.id for l in order.lines] == [True, False, False]
    assert order.shipping_location_id != depot.id
    assert [row[1] for row in ledger(order.id)] == ["location"]


def test_price_dispute_sets_the_unit_price_and_records_the_credit(users, client_for):
    order, _case, line = line_case(RequestType.PRICE, disputed_unit_price=Decimal("8.00"))
    wf.accept_line(line.id, user_for(users, "agent"), approved_unit_price="7.50")
    order, line = reload(CustomerOrder, order.id), reload(OrderCaseLine, line.id)
    assert order.lines[0].unit_price == Decimal("7.50")
    assert order.total_amount == Decimal("137.50")
    assert (line.approved_unit_price, line.credit_amount) == (Decimal("7.50"), Decimal("12.50"))
    number = order.lines[0].number
    assert ledger(order.id) == [(number, "unit price", "10.00", "7.50", line.id), (number, "credit", None, "12.50",
                                                                                  line.id)]
    assert_page_shows(client_for("agent"), order, line, "12.50")


def test_price_dispute_on_a_header_line_is_a_credit_on_the_order(users):
    order, _case, line = header_case(RequestType.PRICE, disputed_unit_price=Decimal("120.00"))
    wf.accept_line(line.id, user_for(users, "agent"))
    order, line = reload(CustomerOrder, order.id), reload(OrderCaseLine, line.id)
    assert line.credit_amount == Decimal("30.00")
    assert [l.unit_price for l in order.lines] == [Decimal("10.00")] * 3 and order.total_amount == Decimal("150.00")
    assert ledger(order.id) == [(None, "credit", None, "30.00", line.id)]


def test_wrong_item_adds_a_linked_replacement_line(users, client_for):
    order, _case, line = line_case(RequestType.WRONG_ITEM, requested_quantity=2)
    gadget = factories.make_offering("Gadget", price="25.00")
    wf.accept_line(line.id, user_for(users, "agent"), replacement_offering_id=gadget.id)
    order = reload(CustomerOrder, order.id)
    original, replacement = order.lines[0], order.lines[-1]
    assert len(order.lines) == 4
    assert (replacement.action, replacement.offering_id, replacement.quantity, replacement.state,
            replacement.replaces_line_id, replacement.unit_price) == (
        LineAction.ADD, gadget.id, 2, OrderLineState.NEW, original.id, Decimal("0.00"))
    assert original.quantity == 5 and original.state == OrderLineState.IN_PROGRESS
    assert ledger(order.id) == [(replacement.number, "replacement line", None,
                                 f"{replacement.number}: Gadget × 2, replaces {original.number}", line.id)]
    assert_page_shows(client_for("agent"), order, line, f"replaces {original.number}")


def test_wrong_item_on_a_completed_order_reopens_it_for_the_replacement(users):
    order, _case, line = line_case(RequestType.WRONG_ITEM, lines=1, order_state=OrderState.COMPLETED,
                                   line_states=[OrderLineState.COMPLETED], requested_quantity=1)
    wf.accept_line(line.id, user_for(users, "agent"), replacement_offering_id=factories.make_offering("Gadget").id)
    order = reload(CustomerOrder, order.id)
    assert order.state == OrderState.IN_PROGRESS and order.lines[1].state == OrderLineState.NEW
    assert ("state" in [row[1] for row in ledger(order.id)])


def test_line_cancellation_cancels_the_order_line_and_the_last_one_settles_the_order(users):
    order, _case, line = line_case(RequestType.LINE_CANCELLATION, lines=2)
    wf.accept_line(line.id, user_for(users, "agent"))
    order = reload(CustomerOrder, order.id)
    assert [l.state for l in order.lines] == [OrderLineState.CANCELLED, OrderLineState.IN_PROGRESS]
    assert (order.state, order.total_amount) == (OrderState.IN_PROGRESS, Decimal("50.00"))
    assert ledger(order.id) == [(order.lines[0].number, "state", OrderLineState.IN_PROGRESS, OrderLineState.CANCELLED,
                                 line.id)]
    single, _case, last = line_case(RequestType.LINE_CANCELLATION, lines=1)
    wf.accept_line(last.id, user_for(users, "agent"))
    single = reload(CustomerOrder, single.id)
    assert (single.state, single.lines[0].state) == (OrderState.CANCELLED, OrderLineState.CANCELLED)
    assert ledger(single.id)[-1] == (None, "state", OrderState.IN_PROGRESS, OrderState.CANCELLED, last.id)


def test_order_cancellation_cancels_every_open_line_and_settles_the_order(users, client_for):
    order, _case, line = header_case(RequestType.ORDER_CANCELLATION, line_states=[OrderLineState.COMPLETED])
    wf.accept_line(line.id, user_for(users, "agent"))
    order = reload(CustomerOrder, order.id)
    assert [l.state for l in order.lines] == [OrderLineState.COMPLETED] + [OrderLineState.CANCELLED] * 2
    assert order.state == OrderState.COMPLETED  # one line was already delivered
    assert [row[1:4] for row in ledger(order.id)] == [
        ("state", OrderLineState.IN_PROGRESS, OrderLineState.CANCELLED)] * 2 + [
        ("state", OrderState.IN_PROGRESS, OrderState.COMPLETED)]
    untouched, _case, whole = header_case(RequestType.ORDER_CANCELLATION, order_state=OrderState.NEW,
                                          line_states=[OrderLineState.NEW] * 3)
    wf.accept_line(whole.id, user_for(users, "agent"))
    untouched = reload(CustomerOrder, untouched.id)
    assert untouched.state == OrderState.CANCELLED and untouched.total_amount == Decimal("150.00")
    assert_page_shows(client_for("agent"), untouched, whole, "Cancelled")


def test_inquiry_changes_nothing_on_the_order(users):
    order, _case, line = line_case(RequestType.INQUIRY)
    version = order.version
    wf.accept_line(line.id, user_for(users, "agent"))
    order, line = reload(CustomerOrder, order.id), reload(OrderCaseLine, line.id)
    assert ledger(order.id) == [] and order.version == version
    assert line.state == LineState.ACCEPTED


# ----------------------------------------------------------------------------------------------------
# Guards: refused with the line named, nothing written


def test_closed_order_lines_refuse_quantity_date_address_and_cancellation(users):
    agent = user_for(users, "agent")
    for request_type, fields in ((RequestType.QUANTITY, {"requested_quantity": 9}),
                                 (RequestType.DELIVERY_DATE, {"requested_delivery_date": TODAY}),
                                 (RequestType.ADDRESS, {}),
                                 (RequestType.LINE_CANCELLATION, {})):
        for closed in (OrderLineState.COMPLETED, OrderLineState.CANCELLED):
            order, _case, line = line_case(request_type, line_states=[closed], **fields)
            if request_type == RequestType.ADDRESS:
                line.requested_location_id = order.shipping_location_id
                db.session.commit()
            assert_refused(lambda: wf.accept_line(line.id, agent), StateConflict,
                           f"line {line.number} refers to order line {order.lines[0].number}, which is {closed}")


def test_a_moved_order_line_and_a_final_order_are_refused(users):
    agent = user_for(users, "agent")
    order, _case, line = line_case(RequestType.QUANTITY, requested_quantity=8)
    order.lines[0].unit_price = Decimal("11.00")
    db.session.commit()
    assert_refused(lambda: wf.accept_line(line.id, agent), StateConflict,
                   f"order line {order.lines[0].number} of line {line.number} changed after the case line was saved")
    order, _case, line = header_case(RequestType.DELIVERY_DATE, order_state=OrderState.COMPLETED,
                                     requested_delivery_date=TODAY)
    assert_refused(lambda: wf.accept_line(line.id, agent), StateConflict,
                   f"line {line.number} refers to order {order.number}, which is Completed")
    order, _case, line = line_case(RequestType.WRONG_ITEM, order_state=OrderState.CANCELLED,
                                   replacement_offering_id=None, requested_quantity=1)
    offering = factories.make_offering("Gadget")
    assert_refused(lambda: wf.accept_line(line.id, agent, replacement_offering_id=offering.id), StateConflict,
                   f"line {line.number} would add a replacement line to order {order.number}, which is Cancelled")


def test_approved_quantity_must_be_at_least_one(users):
    order, _case, line = line_case(RequestType.QUANTITY, requested_quantity=8)
    assert_refused(lambda: wf.accept_line(line.id, user_for(users, "agent"), approved_quantity="0"), InvalidInput,
                   "Approved quantity must be a whole number of at least 1")
    order, _case, line = line_case(RequestType.WRONG_ITEM)
    gadget = factories.make_offering("G")
    assert_refused(lambda: wf.accept_line(line.id, user_for(users, "agent"), approved_quantity="-2",
                                          replacement_offering_id=gadget.id),
                   InvalidInput, "Approved quantity must be a whole number of at least 1")


def test_resolve_case_accept_all_applies_every_line_or_none(users):
    account = factories.make_account()
    order = factories.make_order(account, lines=3)
    order.lines[2].state = OrderLineState.COMPLETED
    db.session.commit()
    case = factories.make_case(account, order=order, order_lines=order.lines, state=CaseState.WORK_IN_PROGRESS,
                               line_state=LineState.WORK_IN_PROGRESS)
    first, second, third = sorted(case.lines, key=lambda l: l.id)
    for case_line, quantity in ((first, 6), (second, 7), (third, 9)):
        case_line.request_type, case_line.requested_quantity = RequestType.QUANTITY, quantity
    db.session.commit()
    agent = user_for(users, "agent")
    resolve = lambda: wf.resolve_case(case.id, agent, resolution_code=ResolutionCode.CHANGE_APPROVED,  # noqa: E731
                                      resolution_notes="as asked", outcome="accept")
    assert_refused(resolve, StateConflict, f"line {third.number} refers to order line {order.lines[2].number}, "
                                           "which is Completed")
    third = reload(OrderCaseLine, third.id)
    third.request_type, third.requested_quantity = RequestType.INQUIRY, None
    db.session.commit()
    resolve()
    order = reload(CustomerOrder, order.id)
    assert [l.quantity for l in order.lines] == [6, 7, 5] and order.total_amount == Decimal("180.00")
    assert [row[1:4] for row in ledger(order.id)] == [("quantity", "5", "6"), ("quantity", "5", "7")]


# ----------------------------------------------------------------------------------------------------
# Idempotency


def test_accepting_the_same_line_twice_changes_the_order_once(users):
    order, _case, line = line_case(RequestType.QUANTITY, requested_quantity=8)
    agent, manager = user_for(users, "agent"), user_for(users, "manager")
    version = reload(OrderCaseLine, line.id).version
    wf.accept_line(line.id, agent, version=version)
    # The double-submitted form: same version, then no version at all.
    assert_refused(lambda: wf.accept_line(line.id, agent, version=version), VersionConflict, line.number)
    assert_refused(lambda: wf.accept_line(line.id, agent), StateConflict, "Accept is not allowed")
    # Reopened and accepted again: the line was applied already, the order is not changed again.
    wf.reopen_line(line.id, manager)
    wf.accept_line(line.id, agent, approved_quantity="12")
    order = reload(CustomerOrder, order.id)
    assert order.lines[0].quantity == 8
    assert len(ledger(order.id)) == 1


def test_a_double_submitted_accept_form_changes_the_order_once(users, client_for):
    order, case, line = line_case(RequestType.QUANTITY, requested_quantity=8)
    agent = client_for("agent")
    form_url = f"/ordercases/line/{line.id}/action/accept"
    page = agent.get(form_url).get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "version": str(reload(OrderCaseLine, line.id).version),
            "approved_quantity": "8"}
    first = agent.post(form_url, data=data)
    second = agent.post(form_url, data=data, follow_redirects=True)
    assert first.status_code == 302
    assert "was changed by" in second.get_data(as_text=True)
    order = reload(CustomerOrder, order.id)
    assert order.lines[0].quantity == 8 and len(ledger(order.id)) == 1


# ----------------------------------------------------------------------------------------------------
# Lines: current values, characteristics, other open cases, request types per scope


def test_new_line_copies_current_values_and_characteristics_and_validates_its_type(users):
    account = factories.make_account()
    order = factories.make_order(account, lines=2)
    agent = user_for(users, "agent")
    case = wf.create_case(agent, service_id=factories.make_service().id, account_id=account.id,
                          scope=Scope.SINGLE_ORDER, origin=CaseOrigin.LIST, order_id=order.id,
                          short_description="Change")
    line = wf.create_case_line(case.id, agent, order_line_id=order.lines[0].id, request_type=RequestType.QUANTITY,
                               requested_quantity="9")
    line = reload(OrderCaseLine, line.id)
    order_line = order.lines[0]
    assert (line.ordered_quantity, line.current_unit_price, line.current_delivery_date, line.current_location_id,
            line.order_line_version) == (5, Decimal("10.00"), order_line.expected_delivery_date,
                                         order_line.location_id, order_line.version)
    assert [(c.name, c.value) for c in line.characteristics] == [("Colour", "Red")]
    assert_refused(lambda: wf.edit_case_line(line.id, agent, request_type=RequestType.ORDER_CANCELLATION),
                   InvalidInput, f"line {line.number} is one order line")
    assert_refused(lambda: wf.edit_case_line(line.id, agent, requested_delivery_date=str(TODAY)), InvalidInput,
                   "Requested delivery date does not apply to a Quantity change")
    assert_refused(lambda: wf.edit_case_line(line.id, agent, requested_quantity="5"), InvalidInput,
                   "the requested quantity of line")
    # Another type clears what the previous one asked for.
    wf.edit_case_line(line.id, agent, request_type=RequestType.DELIVERY_DATE, requested_quantity="",
                      requested_delivery_date=str(TODAY))
    line = reload(OrderCaseLine, line.id)
    assert (line.requested_quantity, line.requested_delivery_date) == (None, TODAY)


def test_header_lines_offer_only_header_level_types_and_carry_the_order_values(users):
    account = factories.make_account()
    order = factories.make_order(account)
    agent = user_for(users, "agent")
    case = wf.create_case(agent, service_id=factories.make_service().id, account_id=account.id,
                          scope=Scope.MULTIPLE_ORDERS, origin=CaseOrigin.CUSTOMER_ORDER, order_id=order.id,
                          short_description="Whole order")
    line = reload(OrderCase, case.id).lines[0]
    assert (line.current_delivery_date, line.current_location_id, line.current_unit_price) == (
        order.expected_delivery_date, order.shipping_location_id, Decimal("150.00"))
    assert_refused(lambda: wf.edit_case_line(line.id, agent, request_type=RequestType.QUANTITY), InvalidInput,
                   "only header-level changes")


def test_a_line_on_another_open_case_is_refused_naming_that_case(users):
    account = factories.make_account()
    order = factories.make_order(account)
    agent = user_for(users, "agent")
    first = factories.make_case(account, order=order, order_lines=[order.lines[0]], state=CaseState.NEW,
                                line_state=LineState.NEW)
    second = wf.create_case(agent, service_id=factories.make_service().id, account_id=account.id,
                            scope=Scope.SINGLE_ORDER, origin=CaseOrigin.LIST, order_id=order.id,
                            short_description="Another")
    assert_refused(lambda: wf.add_case_lines(second.id, agent, order_line_ids=[order.lines[0].id]), InvalidInput,
                   f"order line {order.lines[0].number} is already on open case {first.number}")
    assert_refused(lambda: wf.create_case_line(second.id, agent, order_line_id=order.lines[0].id), InvalidInput,
                   f"already on open case {first.number}")
    header = wf.create_case(agent, service_id=factories.make_service().id, account_id=account.id,
                            scope=Scope.MULTIPLE_ORDERS, origin=CaseOrigin.LIST, short_description="Header")
    assert_refused(lambda: wf.add_case_lines(header.id, agent, order_ids=[order.id]), InvalidInput,
                   f"is already on open case {first.number}")
    wf.add_case_lines(second.id, agent, order_line_ids=[order.lines[1].id])
    assert db.session.query(OrderLineItem).count() == 3

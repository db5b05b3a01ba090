"""The order cases of the demo data set: every case state, lines consistent with it, and their history.

A case's lines follow SPEC §4 (Draft cases hold Draft lines, Resolved and Closed cases only terminal
lines, Cancelled cases only Cancelled lines); accepted lines were applied to their order with Order
change rows; each case carries the audit trail, journal, tasks and SLA clocks its history implies.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.core.choices import (
    CaseOrigin, CaseState, JournalKind, LineAction, LineState, OrderLineState, OrderState, ReasonCode, RequestType,
    ResolutionCode, Scope, TaskState,
)
from app.demo.catalog import CASE_SUBJECTS, COMMENTS, QUESTIONS, WORK_NOTES
from app.models import (
    AuditEvent, CaseLineCharacteristic, CaseLineTask, CaseTask, CustomerOrder, JournalEntry, OrderCase, OrderCaseLine,
    OrderChange,
    OrderLineItem,
)
from app.orders.rules import order_totals
from app.core.workflow_base import as_text

# (min, max) days since a case in each state was opened
CASE_AGE_DAYS = {
    CaseState.DRAFT: (0, 2), CaseState.NEW: (0, 0), CaseState.WORK_IN_PROGRESS: (0, 3),
    CaseState.AWAITING_INFO: (1, 6), CaseState.RESOLVED: (1, 6), CaseState.CLOSED: (10, 45),
    CaseState.CANCELLED: (4, 30),
}
# How long after the previous step an action usually happens (minutes); a few miss their SLA.
STEP_MINUTES = {
    "Submit": (5, 90), "Assign to me": (10, 280), "Request Information": (60, 1200),
    "Resolve Case": (300, 4700), "Close Case": (600, 7200), "Cancel": (30, 1440),
}
LINE_ACTION_FOR_STATE = {
    LineState.WORK_IN_PROGRESS: "Start work", LineState.AWAITING_INFO: "Request Information",
    LineState.ACCEPTED: "Accept", LineState.DENIED: "Deny", LineState.CANCELLED: "Cancel line",
}
LINE_REQUESTS = (RequestType.QUANTITY, RequestType.DELIVERY_DATE, RequestType.ADDRESS, RequestType.WRONG_ITEM,
                 RequestType.LINE_CANCELLATION, RequestType.INQUIRY)
LINE_REQUEST_WEIGHTS = (4, 4, 2, 1, 1, 1)
HEADER_REQUESTS = (RequestType.DELIVERY_DATE, RequestType.ADDRESS, RequestType.ORDER_CANCELLATION, RequestType.INQUIRY)
HEADER_REQUEST_WEIGHTS = (4, 3, 1, 2)
OPEN_ORDER_STATES = (OrderState.NEW, OrderState.IN_PROGRESS)
# Case states in the set; Work in Progress and Closed are the most common, as on a real desk.
CASE_STATE_COUNTS = {
    CaseState.DRAFT: 3, CaseState.NEW: 5, CaseState.WORK_IN_PROGRESS: 7, CaseState.AWAITING_INFO: 4,
    CaseState.RESOLVED: 4, CaseState.CLOSED: 5, CaseState.CANCELLED: 2,
}
# The transitions (action, from, to) that bring a case to each state, for its audit trail.
CASE_PATHS = {
    CaseState.DRAFT: (),
    CaseState.NEW: (("Submit", CaseState.DRAFT, CaseState.NEW),),
    CaseState.WORK_IN_PROGRESS: (("Submit", CaseState.DRAFT, CaseState.NEW),
                                 ("Assign to me", CaseState.NEW, CaseState.WORK_IN_PROGRESS)),
    CaseState.AWAITING_INFO: (("Submit", CaseState.DRAFT, CaseState.NEW),
                              ("Assign to me", CaseState.NEW, CaseState.WORK_IN_PROGRESS),
                              ("Request Information", CaseState.WORK_IN_PROGRESS, CaseState.AWAITING_INFO)),
    CaseState.RESOLVED: (("Submit", CaseState.DRAFT, CaseState.NEW),
                         ("Assign to me", CaseState.NEW, CaseState.WORK_IN_PROGRESS),
                         ("Resolve Case", CaseState.WORK_IN_PROGRESS, CaseState.RESOLVED)),
    CaseState.CLOSED: (("Submit", CaseState.DRAFT, CaseState.NEW),
                       ("Assign to me", CaseState.NEW, CaseState.WORK_IN_PROGRESS),
                       ("Resolve Case", CaseState.WORK_IN_PROGRESS, CaseState.RESOLVED),
                       ("Close Case", CaseState.RESOLVED, CaseState.CLOSED)),
    CaseState.CANCELLED: (("Cancel", CaseState.DRAFT, CaseState.CANCELLED),),
}


class CaseBuilder:
    def __init__(self, data):
        self.data = data
        self.rng = data.rng
        self.session = data.session
        self.now = data.now
        self.agent = data.users["agent"]
        self.manager = data.users["manager"]
        self.customer = data.users["customer"]
        self.used_orders: set[int] = set()

    def build(self):
        rng = self.rng
        plan = []
        for state, count in CASE_STATE_COUNTS.items():
            for _ in range(count):
                low, high = CASE_AGE_DAYS[state]
                minutes = rng.randint(20, 240) if state == CaseState.NEW else rng.randint(30, 900)
                plan.append((self.now - dt.timedelta(days=rng.randint(low, high), minutes=minutes), state))
        plan.sort(key=lambda item: item[0])
        seen: dict[str, int] = {}
        interactions = iter(self.data.interactions)
        for opened, state in plan:
            nth = seen[state] = seen.get(state, 0) + 1
            options = {}
            if state == CaseState.WORK_IN_PROGRESS and nth == 1:
                options = {"priority": 1, "needs_attention": True, "opened": self.now - dt.timedelta(hours=3)}
            elif state in (CaseState.AWAITING_INFO, CaseState.RESOLVED) and nth == 1:
                options = {"account": self.data.customer_account, "origin": CaseOrigin.PORTAL}
            elif state in (CaseState.NEW, CaseState.WORK_IN_PROGRESS) and nth == 2:
                interaction = next(interactions)
                options = {"account": interaction.account, "origin": CaseOrigin.INTERACTION, "interaction": interaction}
            self._case(state, options.pop("opened", opened), **options)

    # One case ------------------------------------------------------------------------------------------

    def _case(self, state, opened, account=None, origin=None, interaction=None, priority=None, needs_attention=False):
        rng = self.rng
        data = self.data
        dispute = rng.random() < 0.25
        single = dispute or rng.random() < 0.7
        wanted = account
        account, orders = self._pick_orders(account, single)
        if wanted is not None and account is not wanted:  # that account has no open order left to raise a case on
            origin, interaction = None, None
        service = data.services["Sales Order Dispute" if dispute else "Sales Order Change Request"]
        contact = account.contacts[0] if origin == CaseOrigin.PORTAL else orders[0].contact or account.primary_contact
        path = CASE_PATHS[state]
        priority = priority or rng.choice((2, 3, 3, 4, 4, 4, 4))
        times = self._times(opened, path, priority)
        assigned = state not in (CaseState.DRAFT, CaseState.NEW, CaseState.CANCELLED)
        assignee = self.manager if assigned and rng.random() < 0.2 else self.agent
        case = OrderCase(
            account=account, contact=contact, service=service,
            scope=Scope.SINGLE_ORDER if single else Scope.MULTIPLE_ORDERS,
            order=orders[0] if single else None,
            origin=origin or (CaseOrigin.ORDER_LINE_ITEMS if single else CaseOrigin.CUSTOMER_ORDER),
            interaction=interaction, priority=priority, state=state,
            needs_attention=needs_attention, assignment_group=service.default_assignment_group,
            assigned_to=assignee if assigned else None, opened_at=opened, created_on=opened,
            created_by_id=self.customer.id if origin == CaseOrigin.PORTAL else self.agent.id,
        )
        self.session.add(case)
        lines = self._lines(case, orders, single, dispute, assignee if assigned else None)
        case.short_description = lines[0].short_description
        case.description = (
            f"{contact.name} of {account.name} asks about "
            + ", ".join(sorted({line.order.number or "their order" for line in lines})) + ". "
            + "; ".join(f"{line.request_type.lower()}" for line in lines) + "."
        )
        if needs_attention:
            case.description += " Customer's site opening depends on this; follow up immediately."
        self.session.flush()
        self._settle(case, lines, state, times)
        self._history(case, lines, path, times)
        self._tasks(case, lines, times)
        self._slas(case, lines)

    def _pick_orders(self, account, single):
        rng = self.rng
        candidates = [o for o in self.data.orders
                      if o.state in OPEN_ORDER_STATES and o.account is not None and not o.enrichment_issues
                      and o.id not in self.used_orders
                      and any(line.state not in OrderLineState.CLOSED for line in o.lines)]
        if account is not None and any(o.account is account for o in candidates):
            candidates = [o for o in candidates if o.account is account]
        else:
            account = rng.choice(sorted({o.account for o in candidates}, key=lambda a: a.id))
            candidates = [o for o in candidates if o.account is account]
        orders = rng.sample(candidates, 1 if single else min(len(candidates), rng.randint(1, 3)))
        self.used_orders.update(o.id for o in orders)
        return account, orders

    def _times(self, opened, path, priority):
        """*opened*, then the moment of each transition of *path*, at a desk's usual pace and in the past."""
        times, moment = [opened], opened
        pace = 4 if priority <= 2 else 1  # urgent cases are worked faster
        for action, _, _ in path:
            typical = moment + dt.timedelta(minutes=self.rng.randint(*STEP_MINUTES[action]) / pace)
            moment = min(typical, moment + (self.now - moment) * 0.9)
            times.append(moment.replace(microsecond=0))
        return times

    def _lines(self, case, orders, single, dispute, assignee):
        rng = self.rng
        lines = []
        if single:
            order = orders[0]
            open_lines = [line for line in order.lines if line.state not in OrderLineState.CLOSED]
            if dispute:
                # Only a priced line has a price to dispute: disconnects and suspensions cost nothing.
                open_lines = [line for line in open_lines if line.unit_price > 0] or open_lines
            for order_line in rng.sample(open_lines, min(len(open_lines), rng.randint(1, 3))):
                request = RequestType.PRICE if dispute else rng.choices(LINE_REQUESTS, LINE_REQUEST_WEIGHTS)[0]
                if request == RequestType.PRICE and not order_line.unit_price > 0:
                    request = RequestType.INQUIRY
                lines.append(self._line(case, order, order_line, request, assignee))
        else:
            for order in orders:
                weights = [w if r != RequestType.ORDER_CANCELLATION or order.state == OrderState.NEW else 0
                           for r, w in zip(HEADER_REQUESTS, HEADER_REQUEST_WEIGHTS)]
                lines.append(self._line(case, order, None, rng.choices(HEADER_REQUESTS, weights)[0], assignee))
        return lines

    def _line(self, case, order, order_line, request, assignee) -> OrderCaseLine:
        rng = self.rng
        line = OrderCaseLine(
            case=case, order=order, order_line=order_line, request_type=request,
            reason_code=rng.choice(ReasonCode.ALL), short_description=rng.choice(CASE_SUBJECTS[request]),
            priority=case.priority, assigned_to=assignee, created_on=case.opened_at,
            order_line_version=order_line.version if order_line is not None else None,
        )
        current_date = (order_line or order).expected_delivery_date
        current_location = order_line.location if order_line is not None else order.shipping_location
        if order_line is not None:
            line.ordered_quantity = order_line.quantity
            line.current_unit_price = order_line.unit_price
            line.characteristics = [CaseLineCharacteristic(name=c.name, value=c.value)
                                    for c in order_line.characteristics]
        if request == RequestType.QUANTITY:
            # A request for the quantity already ordered would change nothing: never below one, never the same.
            changes = [delta for delta in (-3, -2, -1, 1, 2, 5, 10) if order_line.quantity + delta >= 1]
            line.requested_quantity = order_line.quantity + rng.choice(changes)
        elif request == RequestType.DELIVERY_DATE:
            line.current_delivery_date = current_date
            requested = max(self.data.today + dt.timedelta(days=2),
                            current_date + dt.timedelta(days=rng.choice((-7, -4, 5, 10, 14))))
            line.requested_delivery_date = requested if requested != current_date else requested + dt.timedelta(days=7)
        elif request == RequestType.ADDRESS:
            line.current_location = current_location
            others = [loc for loc in order.account.locations if loc is not current_location]
            line.requested_location = rng.choice(others)
        elif request == RequestType.PRICE:
            line.disputed_unit_price = (order_line.unit_price * Decimal(rng.choice(("0.85", "0.9", "0.95")))).quantize(
                Decimal("0.01"))
        elif request == RequestType.WRONG_ITEM:
            siblings = [o for o in self.data.offerings
                        if o.specification is order_line.specification and o is not order_line.offering and o.active]
            line.replacement_offering = rng.choice(siblings)
            line.requested_quantity = order_line.quantity
        self.session.add(line)
        return line

    # Outcomes ------------------------------------------------------------------------------------------

    def _settle(self, case, lines, state, times):
        """Give every line the state its case implies, applying accepted lines to their orders."""
        rng = self.rng
        final = {
            CaseState.DRAFT: lambda: LineState.DRAFT,
            CaseState.NEW: lambda: LineState.NEW,
            CaseState.CANCELLED: lambda: LineState.CANCELLED,
            CaseState.WORK_IN_PROGRESS: lambda: rng.choices(
                (LineState.WORK_IN_PROGRESS, LineState.NEW, LineState.AWAITING_INFO, LineState.ACCEPTED,
                 LineState.DENIED), (5, 1, 1, 2, 1))[0],
            CaseState.AWAITING_INFO: lambda: rng.choices(
                (LineState.WORK_IN_PROGRESS, LineState.AWAITING_INFO, LineState.ACCEPTED), (2, 2, 1))[0],
            CaseState.RESOLVED: lambda: rng.choices((LineState.ACCEPTED, LineState.DENIED, LineState.CANCELLED),
                                                    (4, 1, 1))[0],
        }
        final[CaseState.CLOSED] = final[CaseState.RESOLVED]
        decided = times[-1] + (self.now - times[-1]) / 2
        for index, line in enumerate(lines):
            line_state = final[state]()
            if index == 0 and state == CaseState.WORK_IN_PROGRESS:
                line_state = LineState.WORK_IN_PROGRESS
            if index == 0 and state == CaseState.AWAITING_INFO:
                line_state = LineState.AWAITING_INFO
            if line_state == LineState.ACCEPTED and not self._apply(line, decided):
                line_state = LineState.DENIED
            line.state = line_state
            if line_state in LineState.TERMINAL:
                line.resolved_at = decided
                line.resolution_notes = _line_notes(line)
        if state in (CaseState.RESOLVED, CaseState.CLOSED):
            outcomes = {line.state for line in lines}
            case.resolution_code = (
                ResolutionCode.CHANGE_APPROVED if outcomes == {LineState.ACCEPTED}
                else ResolutionCode.CHANGE_DENIED if outcomes == {LineState.DENIED}
                else ResolutionCode.CANCELLED_BY_CUSTOMER if outcomes == {LineState.CANCELLED}
                else ResolutionCode.PARTIALLY_APPROVED
            )
            case.resolution_notes = "; ".join(f"{line.number}: {line.resolution_notes}" for line in lines)
            resolve_index = len(CASE_PATHS[CaseState.RESOLVED])
            case.resolved_at = times[resolve_index]
            for line in lines:
                line.resolved_at = case.resolved_at
            if state == CaseState.CLOSED:
                case.closed_at = times[-1]
        if state == CaseState.CANCELLED:
            case.resolution_notes = "Customer withdrew the request before it was submitted."

    def _apply(self, line, when) -> bool:
        """Apply an accepted line to its order as SPEC §5 says; False when the order no longer allows it."""
        order, order_line = line.order, line.order_line
        request = line.request_type
        open_lines = [ol for ol in order.lines if ol.state not in OrderLineState.CLOSED]
        targets = [order_line] if order_line is not None else open_lines
        if order_line is not None and order_line.state in OrderLineState.CLOSED:
            return request == RequestType.INQUIRY
        record = _ChangeRecorder(self, order, line, when)
        if request == RequestType.QUANTITY:
            line.approved_quantity = line.requested_quantity
            record(order_line, "quantity", order_line.quantity, line.approved_quantity)
        elif request == RequestType.DELIVERY_DATE:
            line.approved_delivery_date = line.requested_delivery_date
            if order_line is None:
                record(None, "expected_delivery_date", order.expected_delivery_date, line.approved_delivery_date)
            for target in targets:
                record(target, "expected_delivery_date", target.expected_delivery_date, line.approved_delivery_date)
        elif request == RequestType.ADDRESS:
            if order_line is None:
                record(None, "shipping_location", order.shipping_location, line.requested_location)
            for target in targets:
                record(target, "location", target.location, line.requested_location)
        elif request == RequestType.PRICE:
            line.approved_unit_price = line.disputed_unit_price
            line.credit_amount = (order_line.unit_price - line.approved_unit_price) * order_line.quantity
            record(order_line, "unit_price", order_line.unit_price, line.approved_unit_price)
        elif request == RequestType.WRONG_ITEM:
            line.approved_quantity = line.requested_quantity
            replacement = OrderLineItem(
                order=order, offering=line.replacement_offering, specification=line.replacement_offering.specification,
                action=LineAction.ADD, quantity=line.approved_quantity, unit_price=line.replacement_offering.unit_price,
                price_type=line.replacement_offering.price_type, replaces_line=order_line,
                state=OrderLineState.NEW if order.state == OrderState.NEW else OrderLineState.IN_PROGRESS,
                expected_delivery_date=order_line.expected_delivery_date, location=order_line.location,
                description=f"Replacement for {order_line.number}",
            )
            self.session.add(replacement)
            self.session.flush()
            record(replacement, "line added", None, f"{replacement.number} {replacement.offering.name}", assign=False)
        elif request == RequestType.LINE_CANCELLATION:
            if len(open_lines) < 2:  # cancelling the last open line would finish the whole order
                return False
            record(order_line, "state", order_line.state, OrderLineState.CANCELLED)
        elif request == RequestType.ORDER_CANCELLATION:
            if any(ol.state == OrderLineState.COMPLETED for ol in order.lines):
                return False
            for target in open_lines:
                record(target, "state", target.state, OrderLineState.CANCELLED)
            record(None, "state", order.state, OrderState.CANCELLED)
        if request != RequestType.INQUIRY:
            recompute_totals(order)
            line.applied_at = when
        return True

    # History -------------------------------------------------------------------------------------------

    def _history(self, case, lines, path, times):
        """Audit events for the transitions that brought the case and its lines here, plus journal entries."""
        rng = self.rng
        actor = self.customer if case.origin == "Portal" else self.agent
        for step, (action, old, new) in enumerate(path):
            when = times[step + 1]
            user = actor if action in ("Submit", "Cancel") else (case.assigned_to or self.agent)
            self._audit(case, case, action, "state", old, new, user, when)
            if action == "Assign to me":
                self._audit(case, case, action, "assigned_to", None, case.assigned_to.username, user, when)
            for line in lines:
                line_old = {"Submit": LineState.DRAFT, "Assign to me": LineState.NEW}.get(action)
                line_new = {"Submit": LineState.NEW, "Assign to me": LineState.WORK_IN_PROGRESS,
                            "Cancel": LineState.CANCELLED}.get(action)
                if action == "Cancel":
                    line_old = LineState.DRAFT
                if line_new and (action != "Assign to me" or line.state != LineState.NEW):
                    self._audit(case, line, action, "state", line_old, line_new, user, when)
        settled = times[-1]
        for line in lines:
            if line.state in (LineState.AWAITING_INFO, LineState.ACCEPTED, LineState.DENIED) or (
                    line.state == LineState.CANCELLED and case.state != CaseState.CANCELLED):
                self._audit(case, line, LINE_ACTION_FOR_STATE[line.state], "state", LineState.WORK_IN_PROGRESS,
                            line.state, case.assigned_to or self.agent, line.resolved_at or settled)
        if case.state == CaseState.DRAFT:
            return
        if case.state == CaseState.AWAITING_INFO:
            self._journal(case, JournalKind.COMMENT, rng.choice(QUESTIONS), case.assigned_to, times[3])
        if rng.random() < 0.6:
            self._journal(case, JournalKind.WORK_NOTE, rng.choice(WORK_NOTES), case.assigned_to or self.agent,
                          times[1] + (self.now - times[1]) * 0.3)
        if rng.random() < 0.5 and case.state != CaseState.CANCELLED:
            author = self.customer if case.origin == "Portal" else None
            self._journal(case, JournalKind.COMMENT, rng.choice(COMMENTS), author,
                          times[1] + (self.now - times[1]) * 0.2)
        if case.state in (CaseState.RESOLVED, CaseState.CLOSED):
            self._journal(case, JournalKind.COMMENT, f"Proposed solution: {case.resolution_code}. "
                          "Please accept the solution or tell us what is still missing.", case.assigned_to,
                          case.resolved_at)

    def _audit(self, case, record, action, field, old, new, user, when):
        self.session.add(AuditEvent(
            record_type=record.__tablename__, record_id=record.id, record_number=record.number, case_id=case.id,
            action=action, field=field, old_value=as_text(old), new_value=as_text(new),
            user_id=user.id if user is not None else None, created_on=when,
        ))

    def _journal(self, case, kind, text, author, when):
        self.session.add(JournalEntry(record_type=case.__tablename__, record_id=case.id, case_id=case.id, kind=kind,
                                      text=text, author_id=author.id if author is not None else None, created_on=when))

    def _tasks(self, case, lines, times):
        rng = self.rng
        group = self.data.groups["Service Fulfilment"]
        for line in lines:
            if line.state in (LineState.WORK_IN_PROGRESS, LineState.AWAITING_INFO) and rng.random() < 0.35:
                self._task(case, line, "Confirm feasibility with the warehouse", TaskState.OPEN, group, times[-1])
            elif line.state == LineState.ACCEPTED and rng.random() < 0.3:
                self._task(case, line, "Update the delivery schedule", TaskState.CLOSED_COMPLETE, group, times[-1])
        if case.priority == 1:
            task = CaseTask(case=case, subject="Call the customer back within the hour",
                            state=TaskState.WORK_IN_PROGRESS,
                            priority=1, assignment_group=self.data.groups["Order Desk"], assigned_to=self.manager,
                            visible_to_customer=False, created_on=times[-1])
            self.session.add(task)
            case.contributors.append(self.manager)
        elif case.state == CaseState.CLOSED and rng.random() < 0.5:
            self.session.add(CaseTask(case=case, subject="Send the corrected order confirmation",
                                      state=TaskState.CLOSED_COMPLETE, visible_to_customer=True,
                                      assignment_group=self.data.groups["Order Desk"], assigned_to=self.agent,
                                      created_on=case.resolved_at, closed_at=case.closed_at))

    def _task(self, case, line, subject, state, group, when):
        self.session.add(CaseLineTask(
            case=case, case_line=line, subject=subject, state=state, assignment_group=group, assigned_to=self.agent,
            priority=case.priority, created_on=when, closed_at=when if state not in TaskState.ACTIVE else None,
        ))
        if self.agent not in case.contributors and case.assigned_to is not self.agent:
            case.contributors.append(self.agent)

    def _slas(self, case, lines):
        """Response and resolution clocks computed by the SLA engine from the audit trail written above."""
        from app.sla.clocks import sync_slas

        for record in (case, *lines):
            sync_slas(record, self.now)


class _ChangeRecorder:
    """Changes one field of the order (or one of its lines) and writes the Order change row for it."""

    def __init__(self, builder, order, case_line, when):
        self.builder, self.order, self.case_line, self.when = builder, order, case_line, when

    def __call__(self, order_line, field, old, new, assign=True):
        if assign:
            setattr(order_line if order_line is not None else self.order, field, new)
        self.builder.session.add(OrderChange(
            order=self.order, order_line=order_line, case_line=self.case_line, field=field,
            old_value=as_text(old), new_value=as_text(new), user_id=self.builder.agent.id, created_on=self.when,
        ))




def _line_notes(line) -> str:
    if line.state == LineState.CANCELLED:
        return "Cancelled at the customer's request."
    if line.state == LineState.DENIED:
        return "Denied: the order line is already being fulfilled as ordered."
    return {
        RequestType.QUANTITY: f"Quantity changed to {line.approved_quantity}.",
        RequestType.DELIVERY_DATE: f"Delivery moved to {line.approved_delivery_date}.",
        RequestType.ADDRESS: f"Shipping location changed to {line.requested_location}.",
        RequestType.PRICE: f"Unit price corrected to {line.approved_unit_price}; credit {line.credit_amount}.",
        RequestType.WRONG_ITEM: f"Replacement {line.replacement_offering} added to the order.",
        RequestType.LINE_CANCELLATION: "Order line cancelled.",
        RequestType.ORDER_CANCELLATION: "Order cancelled.",
        RequestType.INQUIRY: "Answered: the order is on schedule.",
    }[line.request_type]


def _money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def recompute_totals(order: CustomerOrder) -> None:
    """Order totals by the order rule, set directly: demo history needs no audit event per total."""
    one_time, recurring = order_totals(order.lines)
    order.total_one_time = _money(one_time)
    order.total_recurring = _money(recurring)
    order.total_amount = _money(one_time + recurring)


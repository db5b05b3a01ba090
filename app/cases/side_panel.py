"""What the case page's side panel reads: who the customer is and how to reach them, the account, the
orders the case is about, the account's other open cases, and the SLAs the case has or would get.

A fixed number of bounded queries whatever the size of the case or the account, so the record page's cost
does not grow with them; none for the case's orders when the page shows every line (they came with them).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Integer, bindparam, func, literal, select

from app.core.choices import CaseState
from app.cases.queries import LinePage
from app.core.extensions import db
from app.models import CustomerOrder, OrderCase, OrderCaseLine
from app.sla.terms import SlaTerms, expected_terms

ORDERS_SHOWN = 10
OTHER_CASES_SHOWN = 8


@dataclass
class SidePanel:
    orders: list = field(default_factory=list)
    order_count: int = 0
    other_cases: list = field(default_factory=list)
    other_case_count: int = 0
    # Draft: the SLAs submitting would start, with their due times if submitted now.
    expected_slas: list[SlaTerms] = field(default_factory=list)
    # Submitted: the case's own clocks (rows of ``case_slas`` with their terms).
    running_slas: list = field(default_factory=list)


def _case_orders(case: OrderCase, page: LinePage) -> tuple[list[CustomerOrder], int]:
    """The case's order and its lines' orders (newest first), at most ORDERS_SHOWN, and how many in all."""
    if page.holds_every_line:
        # The page's lines were loaded with their orders, and so was the case's: nothing left to ask.
        orders = {line.order for line in page.lines if line.order is not None}
        if case.order is not None:
            orders.add(case.order)
        newest_first = sorted(orders, key=lambda order: (order.order_date, order.id), reverse=True)
        return newest_first[:ORDERS_SHOWN], len(orders)
    # The ids first, through the case's own lines (materialized: a subquery OR'd with the case's order let
    # PostgreSQL walk every order newest first looking for them, 105 ms at a million cases), then those
    # orders by primary key, with how many there are: one statement.
    ids = select(OrderCaseLine.order_id.label("id")).where(OrderCaseLine.case_id == case.id,
                                                          OrderCaseLine.order_id.is_not(None))
    if case.order_id is not None:
        ids = ids.union(select(literal(case.order_id, Integer).label("id")))
    else:
        ids = ids.distinct()
    order_ids = ids.cte("case_order_ids").prefix_with("MATERIALIZED")
    rows = db.session.execute(
        select(CustomerOrder, func.count().over()).join(order_ids, order_ids.c.id == CustomerOrder.id)
        .order_by(CustomerOrder.order_date.desc(), CustomerOrder.id.desc()).limit(ORDERS_SHOWN)).all()
    return [order for order, _count in rows], rows[0][1] if rows else 0


@dataclass(frozen=True)
class OtherCase:
    """One of the account's other open cases, as the panel lists it (*assigned_to*: the assignee's name)."""

    id: int
    number: str
    state: str
    short_description: str
    priority: int
    assigned_to: str | None


# Built once (as the record page's other statements, app.cases.queries): built per request, it cost more
# CPU than it takes to run. Plain columns, not cases: the panel shows five of a case's fifty, and loading
# eight whole cases with their assignees was a tenth of the record page's CPU.
_OTHER_OPEN_CASES = (
    select(OrderCase.id, OrderCase.number, OrderCase.state, OrderCase.short_description, OrderCase.priority,
           User.first_name, User.last_name, OrderCase.assigned_to_id, func.count().over())
    .outerjoin(User, User.id == OrderCase.assigned_to_id)
    .where(OrderCase.account_id == bindparam("account_id"), OrderCase.id != bindparam("case_id"),
           OrderCase.state.in_(CaseState.OPEN))
    .order_by(OrderCase.priority, OrderCase.opened_at.desc(), OrderCase.id.desc())
    .limit(OTHER_CASES_SHOWN)
)


def _other_open_cases(case: OrderCase) -> tuple[list[OtherCase], int]:
    """The account's other open cases, most urgent first, and how many in all: one query (the count is a
    window over the same rows, which the ordering reads anyway)."""
    rows = db.session.execute(_OTHER_OPEN_CASES, {"account_id": case.account_id, "case_id": case.id}).all()
    others = [OtherCase(id=row.id, number=row.number, state=row.state, short_description=row.short_description,
                        priority=row.priority,
                        # As a user reads everywhere else (FAB's User: first and last name).
                        assigned_to=f"{row.first_name} {row.last_name}" if row.assigned_to_id is not None else None)
              for row in rows]
    return others, rows[0][-1] if rows else 0


def _line_priorities(case: OrderCase, page: LinePage) -> set:
    if page.holds_every_line:
        return {line.priority for line in page.lines}
    return set(db.session.scalars(
        select(OrderCaseLine.priority).where(OrderCaseLine.case_id == case.id).distinct()))


def side_panel(case: OrderCase, page: LinePage, sla_rows: list) -> SidePanel:
    """The panel of *case* shown beside *page* of its lines; *sla_rows* are the page's ``case_slas`` rows
    (the case's own carry terms)."""
    panel = SidePanel()
    panel.orders, panel.order_count = _case_orders(case, page)
    panel.other_cases, panel.other_case_count = _other_open_cases(case)
    if case.state == CaseState.DRAFT:
        panel.expected_slas = expected_terms(case.priority, _line_priorities(case, page))
    else:
        panel.running_slas = [row for row in sla_rows if row.terms is not None]
    return panel

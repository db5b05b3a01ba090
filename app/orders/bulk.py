"""Bulk order operations from the order lists, the approvals inbox and the REST API: approve and reject
orders (managers; a rejection needs its reason), start and complete order lines. Each record is its own
workflow operation (``app.core.bulk``)."""
from __future__ import annotations

from app.core.bulk import Outcome, each_record, record_ids
from app.core.exceptions import InvalidInput
from app.core.roles import MANAGER
from app.core.workflow_base import require_back_office
from app.models import CustomerOrder, OrderLineItem
from app.orders import workflows as flows

APPROVE, REJECT, START, COMPLETE = "Approve", "Reject", "Start", "Complete"


def bulk_approve(user, order_ids) -> list[Outcome]:
    require_back_office(user, MANAGER, APPROVE)
    ids = record_ids(order_ids, APPROVE)
    return each_record(CustomerOrder, ids, lambda order_id: _done(
        flows.approve_order(user, order_id, None), "approved for fulfilment"))


def bulk_reject(user, order_ids, reason: str) -> list[Outcome]:
    require_back_office(user, MANAGER, REJECT)
    ids = record_ids(order_ids, REJECT)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Reject needs a reason.", {"reason": "Required"})
    return each_record(CustomerOrder, ids, lambda order_id: _done(
        flows.reject_order(user, order_id, None, reason), "rejected"))


def bulk_start_lines(user, line_ids) -> list[Outcome]:
    ids = record_ids(line_ids, START)
    return each_record(OrderLineItem, ids, lambda line_id: _done(flows.start_line(user, line_id, None), "started"))


def bulk_complete_lines(user, line_ids) -> list[Outcome]:
    ids = record_ids(line_ids, COMPLETE)
    return each_record(OrderLineItem, ids, lambda line_id: _done(
        flows.complete_line(user, line_id, None), "completed"))


def _done(_record, message: str) -> str:
    return message

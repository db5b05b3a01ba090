"""Bulk case operations from the case lists and the REST API: reassign and set priority (managers),
close resolved cases. Each case is its own Edit case / Close Case operation (``app.core.bulk``)."""
from __future__ import annotations

from flask_appbuilder.security.sqla.models import User

from app import workflows as wf
from app.cases.guards import parse_priority
from app.core.bulk import Outcome, each_record, record_ids
from app.core.choices import Priority
from app.core.exceptions import InvalidInput
from app.core.workflow_base import require_back_office
from app.core.roles import MANAGER
from app.models import OrderCase

REASSIGN, SET_PRIORITY, CLOSE = "Reassign", "Set priority", "Close Case"
OPERATIONS = {"reassign": REASSIGN, "set-priority": SET_PRIORITY, "close": CLOSE}


def bulk_reassign(user: User, case_ids, assigned_to_id, assignment_group_id=None) -> list[Outcome]:
    """Hand every selected case to one user (and group, when given); the workflow checks membership."""
    require_back_office(user, MANAGER, REASSIGN)
    ids = record_ids(case_ids, REASSIGN)
    if assigned_to_id in (None, ""):
        raise InvalidInput("Reassign needs the user to hand the cases to.", {"assigned_to_id": "Required"})
    fields = {"assigned_to_id": assigned_to_id}
    if assignment_group_id not in (None, ""):
        fields["assignment_group_id"] = assignment_group_id
    return each_record(OrderCase, ids, lambda case_id: _edit(user, case_id, fields, "reassigned"))


def bulk_set_priority(user: User, case_ids, priority) -> list[Outcome]:
    require_back_office(user, MANAGER, SET_PRIORITY)
    ids = record_ids(case_ids, SET_PRIORITY)
    value = parse_priority(priority, SET_PRIORITY)
    return each_record(OrderCase, ids, lambda case_id: _edit(
        user, case_id, {"priority": value}, f"priority set to {Priority.LABELS.get(value, value)}"))


def bulk_close(user: User, case_ids) -> list[Outcome]:
    ids = record_ids(case_ids, CLOSE)

    def close(case_id: int) -> str:
        wf.close_case(case_id, user)
        return "closed"

    return each_record(OrderCase, ids, close)


def _edit(user: User, case_id: int, fields: dict, done: str) -> str:
    wf.edit_case(case_id, user, **fields)
    return done

"""The order case lifecycle: creating cases and lines, case and line actions, and their synchronisation.

Each public function is one business operation, called by the UI views and the REST API alike. It
checks the role, the record version and the state, changes the records, writes audit events and
commits once (``operation``); a refusal raises a DomainError before anything is written.

Concurrency: every operation on a case or one of its lines first locks the case row, then the line,
so two people acting on the same case are serialised (PostgreSQL) and the second one sees what the
first did. Line synchronisation on many lines uses one UPDATE and one multi-row audit INSERT.
"""
from __future__ import annotations

from typing import Any

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.cases.guards import (
    bulk_line_transition,
    bulk_line_values,
    clean_text,
    existing_id,
    limited_text,
    line_state_counts,
    lines_in_states,
    load_case,
    load_line,
    parse_date,
    parse_money,
    parse_positive_int,
    require_submitted,
    require_writable,
    required_text,
)
from app.cases.lines import (  # noqa: F401  (re-exported: the views and the API call every operation from here)
    ADD_LINES,
    CASE_EDIT_FIELDS,
    CREATE_CASE,
    DELETE,
    EDIT_CASE,
    EDIT_LINE,
    LINE_ASSIGN_TO_ME,
    LINE_EDIT_FIELDS,
    NEW_LINE,
    add_case_journal_entry,
    add_case_lines,
    assign_lines_to_me,
    create_case,
    create_case_line,
    delete_case,
    delete_case_lines,
    edit_case,
    edit_case_line,
    may_add_lines,
    may_assign_line,
    may_delete_case,
    may_delete_line,
    may_edit_case,
    may_edit_line,
)
from app.cases.requests import refuse_incomplete_lines
from app.core.choices import CaseState, JournalKind, LineState, RequestType, ResolutionCode, TaskState
from app.core.exceptions import DomainError, InvalidInput, PermissionDenied, StateConflict
from app.core.extensions import db
from app.core.model_base import utcnow
from app.models import CaseLineTask, Location, OrderCase, OrderCaseLine, ProductOffering
from app.sla.notifications import NotificationEvent, notify
from app.orders import changes as order_changes
from app.portal.scope import customer_account_id, require_case_writer, require_own_draft
from app.sla.clocks import sync_case_slas
from app.core.roles import AGENT, MANAGER
from app.core.workflow_base import (
    allowed,
    add_journal_entry,
    check_version,
    operation,
    require_back_office,
    require_state,
    set_fields,
    transition,
)

# Case action labels: the button words of the spec, also used in messages and audit events.
SUBMIT = "Submit"
ASSIGN_TO_ME = "Assign to me"
REQUEST_INFORMATION = "Request Information"
INFORMATION_RECEIVED = "Information Received"
RESOLVE_CASE = "Resolve Case"
CLOSE_CASE = "Close Case"
CANCEL = "Cancel"
# The customer's answers in the portal.
ACCEPT_SOLUTION = "Accept solution"
REJECT_SOLUTION = "Reject solution"
CUSTOMER_REPLY = "Reply"
# Line action labels.
START_WORK = "Start work"
ACCEPT = "Accept"
DENY = "Deny"
CANCEL_LINE = "Cancel line"
REOPEN = "Reopen"

OUTCOME_ACCEPT = "accept"
OUTCOME_DENY = "deny"
OUTCOMES = (OUTCOME_ACCEPT, OUTCOME_DENY)

# Where each case action may start (the spec's table); the views use this to offer buttons.
CASE_ACTION_SOURCES = {
    SUBMIT: (CaseState.DRAFT,),
    ASSIGN_TO_ME: (CaseState.NEW,),
    REQUEST_INFORMATION: (CaseState.WORK_IN_PROGRESS,),
    INFORMATION_RECEIVED: (CaseState.AWAITING_INFO,),
    RESOLVE_CASE: (CaseState.WORK_IN_PROGRESS,),
    CLOSE_CASE: (CaseState.RESOLVED,),
    CANCEL: (CaseState.DRAFT,),
}
LINE_ACTION_SOURCES = {
    START_WORK: (LineState.NEW,),
    REQUEST_INFORMATION: (LineState.WORK_IN_PROGRESS,),
    INFORMATION_RECEIVED: (LineState.AWAITING_INFO,),
    ACCEPT: (LineState.NEW, LineState.WORK_IN_PROGRESS, LineState.AWAITING_INFO),
    DENY: (LineState.NEW, LineState.WORK_IN_PROGRESS, LineState.AWAITING_INFO),
    CANCEL_LINE: (LineState.DRAFT, LineState.NEW, LineState.WORK_IN_PROGRESS, LineState.AWAITING_INFO),
    REOPEN: LineState.TERMINAL,
}
# The role each action needs at least (agent < manager < admin); customers and integrators have none.
LINE_ACTION_ROLES = {REOPEN: MANAGER}


# ----------------------------------------------------------------------------------------------------
# Synchronisation rules (SPEC §4), run inside the triggering operation's transaction


def _line_entered_work(case: OrderCase, action: str) -> None:
    """Rule 1: a line entering Work in Progress moves a New, Awaiting Info or Resolved case to Work in Progress."""
    if case.state in (CaseState.NEW, CaseState.AWAITING_INFO, CaseState.RESOLVED):
        if case.state == CaseState.RESOLVED:
            set_fields(case, {"resolution_code": None, "resolved_at": None}, action=action, case_id=case.id)
        transition(case, CaseState.WORK_IN_PROGRESS, action, case_id=case.id)


def automatic_resolution_code(counts: dict[str, int]) -> str | None:
    """Rule 2's resolution code for a case whose lines are all terminal, or None when some line is open.

    Cancelled lines do not count against an outcome: a case whose other lines were all accepted is
    "Change approved"; only a case with nothing but cancelled lines is "Cancelled by customer".
    """
    if not counts or any(state not in LineState.TERMINAL for state in counts):
        return None
    accepted = counts.get(LineState.ACCEPTED, 0)
    denied = counts.get(LineState.DENIED, 0)
    if accepted and denied:
        return ResolutionCode.PARTIALLY_APPROVED
    if accepted:
        return ResolutionCode.CHANGE_APPROVED
    if denied:
        return ResolutionCode.CHANGE_DENIED
    return ResolutionCode.CANCELLED_BY_CUSTOMER


def _resolve_when_all_lines_terminal(case: OrderCase, action: str) -> None:
    """Rule 2: when every line is terminal, a New, Work in Progress or Awaiting Info case moves to Resolved."""
    if case.state not in (CaseState.NEW, CaseState.WORK_IN_PROGRESS, CaseState.AWAITING_INFO):
        return
    db.session.flush()
    code = automatic_resolution_code(line_state_counts(case.id))
    if code is None:
        return
    set_fields(case, {"resolution_code": code, "resolved_at": utcnow()}, action=action, case_id=case.id)
    transition(case, CaseState.RESOLVED, action, case_id=case.id)
    notify(NotificationEvent.SOLUTION_PROPOSED, case, resolution_code=code, resolution_notes="")


# ----------------------------------------------------------------------------------------------------
# Case actions


def submit_case(case_id, user: User, version=None) -> OrderCase:
    """Submit: Draft → New with every Draft line; needs at least one line."""
    with operation(user):
        customer = require_case_writer(user, SUBMIT)
        case = load_case(case_id)
        require_own_draft(customer, case, SUBMIT)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[SUBMIT], SUBMIT)
        if not line_state_counts(case.id):
            raise StateConflict(f"{SUBMIT} is not allowed: {case.number} has no lines; add at least one order or "
                                "order line first.")
        refuse_incomplete_lines(case.id, (LineState.DRAFT,), SUBMIT)
        transition(case, CaseState.NEW, SUBMIT, case_id=case.id)
        bulk_line_transition(case, lines_in_states(case, (LineState.DRAFT,)), LineState.NEW, SUBMIT, user)
        sync_case_slas(case)
    return case


def assign_case_to_me(case_id, user: User, version=None) -> OrderCase:
    """Assign to me: New → Work in Progress, assigned to the current user; New lines → Work in Progress,
    each assigned to the user too unless it already has someone."""
    with operation(user):
        require_back_office(user, AGENT, ASSIGN_TO_ME)
        case = load_case(case_id)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[ASSIGN_TO_ME], ASSIGN_TO_ME)
        group = case.assignment_group
        if group is not None and user.id not in {member.id for member in group.members}:
            raise PermissionDenied(
                f"{ASSIGN_TO_ME} is not allowed: you are not a member of the assignment group {group.name}."
            )
        set_fields(case, {"assigned_to_id": user.id}, action=ASSIGN_TO_ME, case_id=case.id)
        transition(case, CaseState.WORK_IN_PROGRESS, ASSIGN_TO_ME, case_id=case.id)
        moving = lines_in_states(case, (LineState.NEW,))
        assigned = set(db.session.execute(
            select(OrderCaseLine.id).where(OrderCaseLine.case_id == case.id, OrderCaseLine.state == LineState.NEW,
                                           OrderCaseLine.assigned_to_id.is_not(None))).scalars())
        # The lines the agent now works are theirs too, unless someone already holds them.
        bulk_line_transition(case, [line for line in moving if line[0] not in assigned], LineState.WORK_IN_PROGRESS,
                              ASSIGN_TO_ME, user, {"assigned_to_id": user.id})
        bulk_line_transition(case, [line for line in moving if line[0] in assigned], LineState.WORK_IN_PROGRESS,
                              ASSIGN_TO_ME, user)
        sync_case_slas(case)
    return case


def request_case_information(case_id, user: User, version=None, question: str | None = None) -> OrderCase:
    """Request Information: Work in Progress → Awaiting Info; the question goes to the contact as a comment."""
    with operation(user):
        require_back_office(user, AGENT, REQUEST_INFORMATION)
        case = load_case(case_id)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[REQUEST_INFORMATION], REQUEST_INFORMATION)
        question = required_text(question, REQUEST_INFORMATION, "question", "the question for the customer")
        transition(case, CaseState.AWAITING_INFO, REQUEST_INFORMATION, case_id=case.id)
        add_journal_entry(case, JournalKind.COMMENT, question, user, case_id=case.id)
        notify(NotificationEvent.INFORMATION_REQUESTED, case, question=question)
        sync_case_slas(case)
    return case


def case_information_received(case_id, user: User, version=None) -> OrderCase:
    """Information Received: Awaiting Info → Work in Progress."""
    with operation(user):
        require_back_office(user, AGENT, INFORMATION_RECEIVED)
        case = load_case(case_id)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[INFORMATION_RECEIVED], INFORMATION_RECEIVED)
        transition(case, CaseState.WORK_IN_PROGRESS, INFORMATION_RECEIVED, case_id=case.id)
        sync_case_slas(case)
    return case


def resolve_case(case_id, user: User, version=None, resolution_code: str | None = None,
                 resolution_notes: str | None = None, outcome: str | None = None) -> OrderCase:
    """Resolve Case: Work in Progress → Resolved; every open line gets the chosen outcome (accept/deny all)."""
    with operation(user):
        require_back_office(user, AGENT, RESOLVE_CASE)
        case = load_case(case_id)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[RESOLVE_CASE], RESOLVE_CASE)
        if resolution_code not in ResolutionCode.ALL:
            raise InvalidInput(f"{RESOLVE_CASE} needs a resolution code.", {"resolution_code": "Required"})
        notes = required_text(resolution_notes, RESOLVE_CASE, "resolution_notes", "resolution notes")
        open_lines = (
            db.session.query(OrderCaseLine)
            .options(selectinload(OrderCaseLine.order_line), selectinload(OrderCaseLine.order))
            .filter(OrderCaseLine.case_id == case.id, OrderCaseLine.state.in_(LineState.OPEN))
            .order_by(OrderCaseLine.id).all()
        )
        if open_lines:
            if outcome not in OUTCOMES:
                raise InvalidInput(f"{RESOLVE_CASE} needs the outcome for the open lines: accept all or deny all.",
                                   {"outcome": "Required"})
            _refuse_open_tasks(case, [line.id for line in open_lines], RESOLVE_CASE)
            now = utcnow()
            with_notes = [(line.id, line.number, line.state) for line in open_lines if line.resolution_notes]
            without_notes = [(line.id, line.number, line.state) for line in open_lines if not line.resolution_notes]
            if outcome == OUTCOME_ACCEPT:
                apply_accepted_lines(case, open_lines, user, action=RESOLVE_CASE)
                bulk_line_transition(case, with_notes + without_notes, LineState.ACCEPTED, RESOLVE_CASE, user,
                                     {"resolved_at": now})
            else:
                bulk_line_transition(case, with_notes, LineState.DENIED, RESOLVE_CASE, user, {"resolved_at": now})
                bulk_line_transition(case, without_notes, LineState.DENIED, RESOLVE_CASE, user,
                                     {"resolved_at": now, "resolution_notes": notes})
        set_fields(case, {"resolution_code": resolution_code, "resolution_notes": notes, "resolved_at": utcnow()},
                   action=RESOLVE_CASE, case_id=case.id)
        transition(case, CaseState.RESOLVED, RESOLVE_CASE, case_id=case.id)
        notify(NotificationEvent.SOLUTION_PROPOSED, case, resolution_code=resolution_code, resolution_notes=notes)
        sync_case_slas(case)
    return case


def close_case(case_id, user: User, version=None) -> OrderCase:
    """Close Case: Resolved → Closed, only when every line is terminal."""
    with operation(user):
        require_back_office(user, AGENT, CLOSE_CASE)
        case = load_case(case_id)
        check_version(case, version)
        _close(case, CLOSE_CASE)
    return case


def _close(case: OrderCase, action: str) -> None:
    require_state(case, CASE_ACTION_SOURCES[CLOSE_CASE], action)
    open_line = db.session.execute(
        select(OrderCaseLine.number, OrderCaseLine.state)
        .where(OrderCaseLine.case_id == case.id, OrderCaseLine.state.in_(LineState.OPEN))
        .order_by(OrderCaseLine.id).limit(1)
    ).first()
    if open_line is not None:
        raise StateConflict(f"{action} is not allowed: line {open_line.number} is still {open_line.state}.")
    set_fields(case, {"closed_at": utcnow()}, action=action, case_id=case.id)
    transition(case, CaseState.CLOSED, action, case_id=case.id)
    notify(NotificationEvent.CASE_CLOSED, case,
           closed_how=" on your acceptance of the solution" if action == ACCEPT_SOLUTION else "")
    sync_case_slas(case)


def cancel_case(case_id, user: User, version=None) -> OrderCase:
    """Cancel: a Draft case and every one of its lines → Cancelled."""
    with operation(user):
        require_back_office(user, AGENT, CANCEL)
        case = load_case(case_id)
        check_version(case, version)
        require_state(case, CASE_ACTION_SOURCES[CANCEL], CANCEL)
        transition(case, CaseState.CANCELLED, CANCEL, case_id=case.id)
        set_fields(case, {"closed_at": utcnow()}, action=CANCEL, case_id=case.id)
        bulk_line_transition(case, lines_in_states(case, LineState.OPEN), LineState.CANCELLED, CANCEL, user)
        sync_case_slas(case)
    return case


# Needs attention: set (with a reason) or cleared on the case page by an agent or manager.
SET_ATTENTION = "Needs attention"
CLEAR_ATTENTION = "Clear attention"
ATTENTION_REASON_LIMIT = 500


def set_needs_attention(case_id, user: User, version=None, needs_attention: bool = True,
                        reason: str | None = None) -> OrderCase:
    """Flag an open case as needing attention, with the reason, or clear the flag.

    Setting it tells the assignee (or, unassigned, the group's manager) unless they set it themselves;
    the reason is kept on the case while flagged and as a work note for the history.
    """
    action = SET_ATTENTION if needs_attention else CLEAR_ATTENTION
    with operation(user):
        require_back_office(user, AGENT, action)
        case = load_case(case_id)
        check_version(case, version)
        require_writable(case, action)
        if needs_attention:
            reason = limited_text(required_text(reason, action, "reason", "a reason"), action, "reason", "The reason",
                                  ATTENTION_REASON_LIMIT)
            set_fields(case, {"needs_attention": True, "attention_reason": reason}, action=action, case_id=case.id)
            add_journal_entry(case, JournalKind.WORK_NOTE, f"Needs attention: {reason}", user, case_id=case.id)
            if case.assigned_to_id != user.id:
                notify(NotificationEvent.NEEDS_ATTENTION, case, reason=reason)
        else:
            if not case.needs_attention:
                raise StateConflict(f"{action} is not allowed: {case.number} is not marked as needing attention.")
            set_fields(case, {"needs_attention": False, "attention_reason": None}, action=action, case_id=case.id)
            note = clean_text(reason)
            if note:
                add_journal_entry(case, JournalKind.WORK_NOTE, f"Attention cleared: {note}", user, case_id=case.id)
    return case


CASE_ACTIONS = {
    SUBMIT: submit_case,
    ASSIGN_TO_ME: assign_case_to_me,
    REQUEST_INFORMATION: request_case_information,
    INFORMATION_RECEIVED: case_information_received,
    RESOLVE_CASE: resolve_case,
    CLOSE_CASE: close_case,
    CANCEL: cancel_case,
}


# ----------------------------------------------------------------------------------------------------
# The customer's answers (portal): accept or reject the proposed solution, reply to a question


def _require_case_contact(user: User, case: OrderCase, action: str) -> None:
    """A portal user acts only on cases of the account their contact belongs to."""
    if customer_account_id(user) != case.account_id:
        raise PermissionDenied(f"{action} is not allowed: only a contact of the case's account may answer.")


def accept_solution(case_id, user: User, version=None) -> OrderCase:
    """Accept solution (customer): the Resolved case closes, as Close Case does."""
    with operation(user):
        case = load_case(case_id)
        _require_case_contact(user, case, ACCEPT_SOLUTION)
        check_version(case, version)
        _close(case, ACCEPT_SOLUTION)
    return case


def reject_solution(case_id, user: User, version=None, reason: str | None = None) -> OrderCase:
    """Reject solution (customer): the Resolved case goes back to Work in Progress; the reason is a comment."""
    with operation(user):
        case = load_case(case_id)
        _require_case_contact(user, case, REJECT_SOLUTION)
        check_version(case, version)
        _reopen_rejected(case, user, reason)
    return case


def record_solution_rejected(case_id, user: User, version=None, reason: str | None = None) -> OrderCase:
    """The customer's Reject solution that reached the desk another way (a connected order desk relays
    it): recorded by the back office, with the same effect as the customer's own."""
    with operation(user):
        require_back_office(user, AGENT, REJECT_SOLUTION)
        case = load_case(case_id)
        check_version(case, version)
        _reopen_rejected(case, user, reason)
    return case


def _reopen_rejected(case: OrderCase, user: User, reason: str | None) -> None:
    require_state(case, (CaseState.RESOLVED,), REJECT_SOLUTION)
    reason = required_text(reason, REJECT_SOLUTION, "reason", "a reason")
    set_fields(case, {"resolution_code": None, "resolved_at": None, "needs_attention": True},
               action=REJECT_SOLUTION, case_id=case.id)
    transition(case, CaseState.WORK_IN_PROGRESS, REJECT_SOLUTION, case_id=case.id)
    add_journal_entry(case, JournalKind.COMMENT, reason, user, case_id=case.id)
    notify(NotificationEvent.NEEDS_ATTENTION, case, reason_line=f"\n\nThe customer rejected the solution: {reason}")
    sync_case_slas(case)


def customer_reply(case_id, user: User, text: str) -> OrderCase:
    """A customer's comment; while the case is Awaiting Info it is the answer and work resumes."""
    with operation(user):
        case = load_case(case_id)
        _require_case_contact(user, case, CUSTOMER_REPLY)
        require_writable(case, CUSTOMER_REPLY)
        record_customer_answer(case, text, user)
    return case


def record_customer_answer(case: OrderCase, text: str, user: User | None):
    """The customer's comment (from the portal, the API or an e-mail reply), in the caller's operation;
    on an Awaiting Info case it is the answer and the case goes back to Work in Progress."""
    entry = add_journal_entry(case, JournalKind.COMMENT, text, user, case_id=case.id)
    if case.state == CaseState.AWAITING_INFO:
        transition(case, CaseState.WORK_IN_PROGRESS, CUSTOMER_REPLY, case_id=case.id)
        sync_case_slas(case)
    return entry


# ----------------------------------------------------------------------------------------------------
# Line actions


def _begin_line_action(line_id, user: User, version, action: str) -> tuple[OrderCase, OrderCaseLine]:
    require_back_office(user, LINE_ACTION_ROLES.get(action, AGENT), action)
    case, line = load_line(line_id)
    check_version(line, version)
    require_line_action(user, case, line, action)
    return case, line


def require_line_action(user: User, case: OrderCase, line: OrderCaseLine, action: str) -> None:
    require_back_office(user, LINE_ACTION_ROLES.get(action, AGENT), action)
    require_submitted(case, action)
    require_state(line, LINE_ACTION_SOURCES[action], action, label=f"line {line.number}")


def may_line_action(user: User, case: OrderCase, line: OrderCaseLine, action: str) -> bool:
    return allowed(lambda: require_line_action(user, case, line, action))


def may_case_action(user: User, case: OrderCase, action: str) -> bool:
    """A back-office case action's role and starting state (the operations check the rest on the locked case)."""
    return allowed(lambda: (require_back_office(user, AGENT, action),
                            require_state(case, CASE_ACTION_SOURCES[action], action)))


def _refuse_open_tasks(case: OrderCase, line_ids: list[int], action: str) -> None:
    found = db.session.execute(
        select(OrderCaseLine.number, CaseLineTask.number)
        .join(CaseLineTask, CaseLineTask.case_line_id == OrderCaseLine.id)
        .where(CaseLineTask.case_id == case.id, CaseLineTask.case_line_id.in_(line_ids),
               CaseLineTask.state.in_(TaskState.ACTIVE))
        .order_by(OrderCaseLine.id, CaseLineTask.id).limit(1)
    ).first()
    if found:
        line_number, task_number = found
        raise StateConflict(f"{action} is not allowed: line {line_number} has open tasks ({task_number}); "
                            "close them first.")


def start_line_work(line_id, user: User, version=None) -> OrderCaseLine:
    """Start work: New → Work in Progress (the case follows to Work in Progress)."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, START_WORK)
        transition(line, LineState.WORK_IN_PROGRESS, START_WORK, case_id=case.id)
        if line.assigned_to_id is None:
            set_fields(line, {"assigned_to_id": user.id}, action=START_WORK, case_id=case.id)
        _line_entered_work(case, START_WORK)
        sync_case_slas(case)
    return line


def request_line_information(line_id, user: User, version=None, question: str | None = None) -> OrderCaseLine:
    """Request Information on a line: Work in Progress → Awaiting Info; the question is posted as a comment."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, REQUEST_INFORMATION)
        question = required_text(question, REQUEST_INFORMATION, "question", "the question for the customer")
        transition(line, LineState.AWAITING_INFO, REQUEST_INFORMATION, case_id=case.id)
        add_journal_entry(line, JournalKind.COMMENT, question, user, case_id=case.id)
        sync_case_slas(case)
    return line


def line_information_received(line_id, user: User, version=None) -> OrderCaseLine:
    """Information Received on a line: Awaiting Info → Work in Progress (the case follows)."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, INFORMATION_RECEIVED)
        transition(line, LineState.WORK_IN_PROGRESS, INFORMATION_RECEIVED, case_id=case.id)
        _line_entered_work(case, INFORMATION_RECEIVED)
        sync_case_slas(case)
    return line


def accept_line(line_id, user: User, version=None, resolution_notes: str | None = None, **approved) -> OrderCaseLine:
    """Accept: the line's change is approved (Resolved - Accepted); the case resolves when all lines are done."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, ACCEPT)
        _refuse_open_tasks(case, [line.id], ACCEPT)
        apply_accepted_lines(case, [line], user, action=ACCEPT, **approved)
        values = {"resolved_at": utcnow()}
        if clean_text(resolution_notes):
            values["resolution_notes"] = clean_text(resolution_notes)
        set_fields(line, values, action=ACCEPT, case_id=case.id)
        transition(line, LineState.ACCEPTED, ACCEPT, case_id=case.id)
        _resolve_when_all_lines_terminal(case, ACCEPT)
        sync_case_slas(case)
    return line


def deny_line(line_id, user: User, version=None, resolution_notes: str | None = None) -> OrderCaseLine:
    """Deny: Resolved - Denied, with resolution notes saying why."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, DENY)
        notes = required_text(resolution_notes, DENY, "resolution_notes", "resolution notes")
        _refuse_open_tasks(case, [line.id], DENY)
        set_fields(line, {"resolution_notes": notes, "resolved_at": utcnow()}, action=DENY, case_id=case.id)
        transition(line, LineState.DENIED, DENY, case_id=case.id)
        _resolve_when_all_lines_terminal(case, DENY)
        sync_case_slas(case)
    return line


def cancel_line(line_id, user: User, version=None, reason: str | None = None) -> OrderCaseLine:
    """Cancel line: any open line → Cancelled, with the reason kept as its resolution notes."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, CANCEL_LINE)
        reason = required_text(reason, CANCEL_LINE, "reason", "a reason")
        set_fields(line, {"resolution_notes": reason, "resolved_at": utcnow()}, action=CANCEL_LINE, case_id=case.id)
        transition(line, LineState.CANCELLED, CANCEL_LINE, case_id=case.id)
        _resolve_when_all_lines_terminal(case, CANCEL_LINE)
        sync_case_slas(case)
    return line


def reopen_line(line_id, user: User, version=None) -> OrderCaseLine:
    """Reopen (managers): a terminal line → Work in Progress; a Resolved case goes back to Work in Progress."""
    with operation(user):
        case, line = _begin_line_action(line_id, user, version, REOPEN)
        set_fields(line, {"resolved_at": None}, action=REOPEN, case_id=case.id)
        transition(line, LineState.WORK_IN_PROGRESS, REOPEN, case_id=case.id)
        _line_entered_work(case, REOPEN)
        sync_case_slas(case)
    return line


LINE_ACTIONS = {
    START_WORK: start_line_work,
    REQUEST_INFORMATION: request_line_information,
    INFORMATION_RECEIVED: line_information_received,
    ACCEPT: accept_line,
    DENY: deny_line,
    CANCEL_LINE: cancel_line,
    REOPEN: reopen_line,
}


# ----------------------------------------------------------------------------------------------------
# Bulk line actions: the lines ticked in the Order Case Line list, each its own operation


BULK_LINE_ACTIONS = (LINE_ASSIGN_TO_ME, ACCEPT, DENY)


def may_bulk_line_action(user: User, case: OrderCase, line: OrderCaseLine, action: str) -> bool:
    if action == LINE_ASSIGN_TO_ME:
        return may_assign_line(user, case, line)
    return may_line_action(user, case, line, action)


def bulk_line_action(case_id, user: User, action: str, line_ids, versions: dict | None = None,
                     resolution_notes: str | None = None) -> list[tuple[str, bool, str]]:
    """Assign to me, Accept or Deny on each selected line of the case, one operation per line.

    A refused line does not hold the others back: the result lists (line number, done, message) per
    line, in line order, with the refusal's own message for the lines that were not changed.
    """
    from app.cases.guards import as_id, id_list

    if action not in BULK_LINE_ACTIONS:
        raise InvalidInput(f"{action!r} cannot be applied to several lines at once.")
    case_id = as_id(case_id, "case")
    ids = id_list(line_ids)
    if not ids:
        raise InvalidInput(f"{action} needs at least one selected line.", {"line_id": "Select a line"})
    numbers = dict(db.session.execute(
        select(OrderCaseLine.id, OrderCaseLine.number)
        .where(OrderCaseLine.id.in_(ids), OrderCaseLine.case_id == case_id)
    ).all())
    versions = versions or {}
    outcomes = []
    for line_id in sorted(ids):
        number = numbers.get(line_id)
        if number is None:
            outcomes.append((f"#{line_id}", False, "Not a line of this case (it may have been deleted)."))
            continue
        try:
            if action == LINE_ASSIGN_TO_ME:
                assign_lines_to_me(case_id, user, [line_id], {line_id: versions.get(line_id)})
            elif action == ACCEPT:
                accept_line(line_id, user, version=versions.get(line_id))
            else:
                deny_line(line_id, user, version=versions.get(line_id), resolution_notes=resolution_notes)
        except DomainError as error:
            outcomes.append((number, False, error.message))
        else:
            outcomes.append((number, True, {LINE_ASSIGN_TO_ME: "assigned to you", ACCEPT: "accepted",
                                            DENY: "denied"}[action]))
    return outcomes


# ----------------------------------------------------------------------------------------------------
# Accepting a line's change


def apply_accepted_lines(case: OrderCase, lines: list[OrderCaseLine], user: User, action: str = ACCEPT,
                         **approved) -> dict[int, dict]:
    """Validate the approved values of accepted lines and apply them to their orders (SPEC §5).

    The one place an accepted line takes effect, called by Accept (one line) and by Resolve Case (accept
    all): the orders are locked and loaded with their lines in one query, every line is checked first,
    then the orders (``order_changes``) and the lines are written with bulk statements, so one refused
    line leaves everything untouched. A line already applied (``applied_at``, e.g. accepted again after
    a Reopen) is never applied twice. Returns {line id: {field: (old, new)}}.
    """
    orders = order_changes.lock_orders(lines)
    changes, pending = [], []
    for line in lines:
        values = approved_values(line, action, check_order=line.applied_at is None, **approved)
        if line.applied_at is None:
            pending.append((line, values))
        changes.append((line, values))
    recorded = order_changes.apply_lines(pending, orders, user, action, case.id)
    result = []
    for line, values in changes:
        values = {**values, **recorded.get(line.id, {})}
        result.append((line.id, line.number, {
            field: (getattr(line, field), value) for field, value in values.items() if getattr(line, field) != value
        }))
    bulk_line_values(case, result, action, user)
    return {line_id: fields for line_id, _number, fields in result}


def approved_values(line: OrderCaseLine, action: str = ACCEPT, approved_quantity=None, approved_delivery_date=None,
                    approved_unit_price=None, requested_location_id=None, replacement_offering_id=None,
                    check_order: bool = True) -> dict:
    """The values Accept records on *line*: what the agent approved, defaulting to what was requested."""
    where = f"line {line.number}"
    rtype = line.request_type
    values: dict[str, Any] = {}
    if rtype is None:
        # Accepting a line that asks for nothing would record an outcome with nothing applied.
        raise InvalidInput(f"{action} is not allowed: {where} has no request type; edit the line to say what the "
                           "customer wants changed.", {"request_type": "Required"})
    if check_order:
        order_changes.check_order_guards(line, line.order, action)
    if rtype == RequestType.QUANTITY:
        quantity = approved_quantity if approved_quantity not in (None, "") else (
            line.approved_quantity or line.requested_quantity)
        if quantity in (None, ""):
            raise InvalidInput(f"{action} is not allowed: {where} needs an approved quantity.",
                               {"approved_quantity": "Required"})
        values["approved_quantity"] = parse_positive_int(quantity, f"{action} of {where}", "approved_quantity",
                                                    "Approved quantity")
    elif rtype == RequestType.DELIVERY_DATE:
        date = approved_delivery_date if approved_delivery_date not in (None, "") else (
            line.approved_delivery_date or line.requested_delivery_date)
        if date in (None, ""):
            raise InvalidInput(f"{action} is not allowed: {where} needs an approved delivery date.",
                               {"approved_delivery_date": "Required"})
        values["approved_delivery_date"] = parse_date(date, action, "approved_delivery_date", "Approved delivery date")
    elif rtype == RequestType.ADDRESS:
        location_id = requested_location_id or line.requested_location_id
        if not location_id:
            raise InvalidInput(f"{action} is not allowed: {where} needs the requested shipping location.",
                               {"requested_location_id": "Required"})
        values["requested_location_id"] = existing_id(Location, location_id, action, "requested_location_id",
                                                       "Requested shipping location")
    elif rtype == RequestType.PRICE:
        price = approved_unit_price if approved_unit_price not in (None, "") else (
            line.approved_unit_price if line.approved_unit_price is not None else line.disputed_unit_price)
        if price in (None, ""):
            raise InvalidInput(f"{action} is not allowed: {where} needs an approved unit price.",
                               {"approved_unit_price": "Required"})
        price = parse_money(price, action, "approved_unit_price", "Approved unit price")
        values["approved_unit_price"] = price
        if line.current_unit_price is not None:
            values["credit_amount"] = (line.current_unit_price - price) * (line.ordered_quantity or 1)
    elif rtype == RequestType.WRONG_ITEM:
        offering_id = replacement_offering_id or line.replacement_offering_id
        if not offering_id:
            raise InvalidInput(f"{action} is not allowed: {where} needs a replacement offering.",
                               {"replacement_offering_id": "Required"})
        values["replacement_offering_id"] = existing_id(ProductOffering, offering_id, action,
                                                         "replacement_offering_id", "Replacement offering")
        quantity = approved_quantity if approved_quantity not in (None, "") else (
            line.approved_quantity or line.requested_quantity or line.ordered_quantity)
        values["approved_quantity"] = parse_positive_int(quantity, action, "approved_quantity", "Approved quantity")
    return values



"""The order workflows' checks on records already loaded, and the "may I" answers the order pages ask them
for: a page offers an action only where its operation would not refuse it, and the operation runs the
same check, so the two cannot disagree.

Each ``require_*`` raises the operation's own domain error; *version* (the record version the form
carried) is checked where the operation checks it, so a stale form still meets the same error first.
"""
from __future__ import annotations

from app.core.choices import OrderChannel, OrderLineState, OrderState
from app.core.exceptions import PermissionDenied, StateConflict
from app.core.extensions import db
from app.core.roles import AGENT, CUSTOMER, INTEGRATOR, MANAGER, has_back_office_role, role_names
from app.core.workflow_base import allowed, check_version, require_back_office, require_state
from app.models import Contact
from app.orders.rules import EDITABLE_ORDER_STATES, LIVE_ORDER_STATES, OPEN_LINE_STATES, open_enrichment_issues

# Who may capture an order through each channel besides the back office.
CHANNEL_ROLES = {OrderChannel.PORTAL: CUSTOMER, OrderChannel.TMF622: INTEGRATOR, OrderChannel.TMF641: INTEGRATOR}
CHANGEABLE_LINE_STATES = (OrderLineState.DRAFT, OrderLineState.NEW)


def require_capture(user, channel: str, action: str, account_id: int | None = None) -> None:
    """Back office captures on any channel; a customer only through the portal, for their own account;
    an integrator only through its API channel."""
    if has_back_office_role(user, AGENT):
        return
    role = CHANNEL_ROLES.get(channel)
    if role is None or role not in role_names(user):
        raise PermissionDenied(f"{action} is not allowed for your role.")
    if role == CUSTOMER:
        own = db.session.query(Contact.account_id).filter(Contact.user_id == user.id).scalar()
        if own is None or own != account_id:
            raise PermissionDenied(f"{action} is not allowed: you may only order for your own account.")


# -- the order ---------------------------------------------------------------------------------------

def require_order_editable(user, order, version=None) -> None:
    require_back_office(user, AGENT, "Edit order")
    check_version(order, version)
    require_state(order, EDITABLE_ORDER_STATES, "Edit order")


def require_lines_addable(user, order, version=None) -> None:
    require_capture(user, order.channel, "Add line", order.account_id)
    check_version(order, version)
    require_state(order, EDITABLE_ORDER_STATES, "Add line")
    if order.account_id is None:
        raise StateConflict("Add line is not allowed: the order has no account yet; fix the party first.")


def require_submittable(user, order, version=None) -> None:
    require_capture(user, order.channel, "Submit", order.account_id)
    check_version(order, version)
    require_state(order, (OrderState.DRAFT,), "Submit")
    if not any(line.state != OrderLineState.CANCELLED for line in order.lines):
        raise StateConflict(f"Submit is not allowed: {order.number} has no lines; add at least one.")


def require_approvable(user, order, version=None) -> None:
    require_back_office(user, MANAGER, "Approve")
    check_version(order, version)
    require_state(order, (OrderState.NEW,), "Approve")
    issues = open_enrichment_issues(order)
    if issues:
        listed = "; ".join(issue.description for issue in issues)
        raise StateConflict(f"Approve is not allowed: {order.number} has {len(issues)} unresolved enrichment "
                            f"issue{'s' if len(issues) > 1 else ''}: {listed}.")
    if order.account_id is None:
        raise StateConflict(f"Approve is not allowed: {order.number} has no account.")
    if not any(line.state not in OrderLineState.CLOSED for line in order.lines):
        raise StateConflict(f"Approve is not allowed: {order.number} has no open lines.")


def require_rejectable(user, order, version=None) -> None:
    require_back_office(user, MANAGER, "Reject")
    check_version(order, version)
    require_state(order, (OrderState.NEW,), "Reject")


def require_cancellable(user, order, version=None) -> None:
    require_capture(user, order.channel, "Cancel order", order.account_id)
    check_version(order, version)
    require_state(order, LIVE_ORDER_STATES, "Cancel order")
    completed = [line.number for line in order.lines if line.state == OrderLineState.COMPLETED]
    if completed:
        raise StateConflict(
            f"Cancel order is not allowed: line {', '.join(completed)} of {order.number} is already completed.")


def require_issue_fixable(user, order, issue, version=None) -> None:
    """Fix enrichment issue: an agent, on an order still being captured or reviewed, an issue still open."""
    require_back_office(user, AGENT, "Fix enrichment issue")
    check_version(order, version)
    require_state(order, EDITABLE_ORDER_STATES, "Fix enrichment issue")
    if issue.resolved:
        raise StateConflict(f"Fix enrichment issue is not allowed: {issue.description} is already resolved.")


ORDER_GUARDS = {
    "submit": require_submittable, "approve": require_approvable, "reject": require_rejectable,
    "cancel": require_cancellable, "edit": require_order_editable, "add_line": require_lines_addable,
}


def may_edit_order(user, order) -> bool:
    """For the order lists' Edit on each row: the header form's own check."""
    return allowed(lambda: require_order_editable(user, order))


def order_actions(user, order) -> list[str]:
    """The order actions (keys of ORDER_GUARDS) this user may take on *order* now."""
    return [name for name, guard in ORDER_GUARDS.items() if allowed(lambda: guard(user, order))]


def fixable_issues(user, order) -> set[int]:
    """The ids of the order's enrichment issues this user may fix now (each gets a Fix form)."""
    return {issue.id for issue in order.enrichment_issues
            if allowed(lambda: require_issue_fixable(user, order, issue))}


def open_line_count(order) -> int:
    return sum(1 for line in order.lines if line.state in OPEN_LINE_STATES)


# -- its lines ---------------------------------------------------------------------------------------

def _line_guard(action: str, order_states, line_states):
    def guard(user, order, line, version=None) -> None:
        require_back_office(user, AGENT, action)
        check_version(line, version)
        require_state(order, order_states, action, order.number)
        require_state(line, line_states, action)
    guard.__name__ = f"require_{action.lower().replace(' ', '_')}"
    return guard


require_line_editable = _line_guard("Edit line", EDITABLE_ORDER_STATES, CHANGEABLE_LINE_STATES)
require_line_deletable = _line_guard("Delete line", EDITABLE_ORDER_STATES, CHANGEABLE_LINE_STATES)
require_line_startable = _line_guard("Start", (OrderState.IN_PROGRESS,), (OrderLineState.NEW,))
require_line_completable = _line_guard("Complete", (OrderState.IN_PROGRESS,), (OrderLineState.IN_PROGRESS,))
require_line_cancellable = _line_guard("Cancel line", (OrderState.NEW, OrderState.IN_PROGRESS),
                                       (OrderLineState.NEW, OrderLineState.IN_PROGRESS))

LINE_GUARDS = {
    "start": require_line_startable, "complete": require_line_completable, "cancel": require_line_cancellable,
    "edit": require_line_editable, "delete": require_line_deletable,
}


def may_edit_line(user, line) -> bool:
    """For the Order Line Items list's Edit on each row: the line form's own check."""
    return allowed(lambda: require_line_editable(user, line.order, line))


def line_actions(user, order, line) -> list[str]:
    """The line actions (keys of LINE_GUARDS) this user may take on *line* now."""
    return [name for name, guard in LINE_GUARDS.items() if allowed(lambda: guard(user, order, line))]

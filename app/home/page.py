"""The home page: a back-office user's work queues, each with a capped count and a link to its list.

Counts are capped (``LIMIT``) so the page costs the same with a thousand or a million cases.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import redirect, url_for
from flask_appbuilder import IndexView, expose
from flask_appbuilder.models.sqla.filters import FilterNotIn, FilterRelationOneToManyEqual
from flask_login import current_user
from sqlalchemy import func, select

from app.core.choices import CaseState, TaskState
from app.core.extensions import db
from app.models import CaseLineTask, CaseTask, OrderCase
from app.orders.approvals import awaiting_approval
from app.core.roles import AGENT, CUSTOMER, has_back_office_role, role_names

COUNT_CAP = 99
CLOSED_CASE_STATES = tuple(state for state in CaseState.ALL if state not in CaseState.OPEN)


@dataclass
class Queue:
    label: str
    hint: str
    url: str
    count: str


def capped_count(statement) -> str:
    """How many rows *statement* selects, counting at most COUNT_CAP + 1 of them ("99+")."""
    found = db.session.execute(select(func.count()).select_from(statement.limit(COUNT_CAP + 1).subquery())).scalar()
    return f"{COUNT_CAP}+" if found > COUNT_CAP else str(found)


def list_url(appbuilder, view_name: str, filters: list[tuple[str, type, list]]) -> str | None:
    """The list URL of a registered view, with FAB URL filters where the view offers them; None if absent."""
    view = next((v for v in appbuilder.baseviews if type(v).__name__ == view_name), None)
    if view is None or not hasattr(view, "_filters"):
        return None
    search_filters = view._filters.get_search_filters()
    args = []
    for column, filter_class, values in filters:
        offered = search_filters.get(column, [])
        index = next((i for i, flt in enumerate(offered) if type(flt) is filter_class), None)
        if index is not None:
            args.extend((f"_flt_{index}_{column}", value) for value in values)
    base = url_for(f"{view.endpoint}.list")
    return f"{base}?{urlencode(args)}" if args else base


def can_list(appbuilder, view_name: str) -> bool:
    return appbuilder.sm.has_access("can_list", view_name)


def work_queues(appbuilder, user_id: int) -> list[Queue]:
    queues = []
    not_closed = ("state", FilterNotIn, list(CLOSED_CASE_STATES))
    open_cases = select(OrderCase.id).where(OrderCase.state.in_(CaseState.OPEN))
    if can_list(appbuilder, "OrderCaseView"):
        queues += [
            Queue(
                "My open cases", "Order cases assigned to you",
                list_url(appbuilder, "OrderCaseView", [not_closed, ("assigned_to", FilterRelationOneToManyEqual,
                                                                   [str(user_id)])]),
                capped_count(open_cases.where(OrderCase.assigned_to_id == user_id)),
            ),
            Queue(
                "Unassigned cases", "Open order cases nobody has picked up",
                list_url(appbuilder, "OrderCaseView", [not_closed, ("assigned_to", FilterRelationOneToManyEqual,
                                                                   [""])]),
                capped_count(open_cases.where(OrderCase.assigned_to_id.is_(None))),
            ),
            Queue(
                "Open cases", "Every order case not yet closed or cancelled",
                list_url(appbuilder, "OrderCaseView", [not_closed]),
                capped_count(open_cases),
            ),
        ]
    if can_list(appbuilder, "MyTasksView"):
        queues.append(Queue(
            "My tasks", "Open case and case line tasks assigned to you",
            list_url(appbuilder, "MyTasksView", [("state", FilterNotIn, [s for s in TaskState.ALL
                                                                        if s not in TaskState.ACTIVE])]),
            capped_count(
                select(CaseTask.id).where(CaseTask.assigned_to_id == user_id, CaseTask.state.in_(TaskState.ACTIVE))
                .union_all(select(CaseLineTask.id).where(CaseLineTask.assigned_to_id == user_id,
                                                         CaseLineTask.state.in_(TaskState.ACTIVE)))
            ),
        ))
    if can_list(appbuilder, "ApprovalsInboxView"):
        queues.append(Queue(
            "Approvals", "Product and service orders and quotes awaiting your decision",
            url_for("ApprovalsInboxView.inbox"),
            capped_count(select(awaiting_approval().subquery().c.id)),
        ))
    return [queue for queue in queues if queue.url]


class HomeView(IndexView):
    """Where every signed-in user lands; anonymous visitors are sent to the login page."""

    index_template = "home.html"

    @expose("/")
    def index(self):
        if not current_user.is_authenticated:
            return redirect(url_for(f"{type(self.appbuilder.sm.auth_view).__name__}.login"))
        back_office = has_back_office_role(current_user, AGENT)
        if not back_office and CUSTOMER in role_names(current_user):
            return redirect(url_for("CustomerPortalView.index"))
        queues = work_queues(self.appbuilder, current_user.id) if back_office else []
        return self.render_template(self.index_template, queues=queues, back_office=back_office)

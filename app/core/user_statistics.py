"""The Security menu's "User's Statistics" page, drawn on the server: FAB's own version loads Google Charts
from the internet (a blank page offline) and answers 500 for its second chart's address."""
from __future__ import annotations

from flask import abort
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.core.extensions import db

# The two figures FAB's chart offered, in its order: /chart/0 and /chart/1 (and /chart/ for the first).
FIGURES = (("login_count", "Sign-ins"), ("fail_login_count", "Failed sign-ins"))


class UserStatisticsView(BaseView):
    """Sign-ins and failed sign-ins per user, as a table with bars (HTML and CSS, nothing to download)."""

    route_base = "/userstatschartview"
    class_permission_name = "UserStatsChartView"  # FAB's permission, so existing grants keep working
    method_permission_name = {"chart": "chart"}
    default_view = "chart"

    @expose("/chart/")
    @expose("/chart/<int:figure>")
    @has_access
    def chart(self, figure: int = 0):
        if figure >= len(FIGURES):
            abort(404)
        column, label = FIGURES[figure]
        rows = db.session.execute(
            select(User.username, User.first_name, User.last_name, getattr(User, column))
            .order_by(getattr(User, column).desc().nulls_last(), User.username)
        ).all()
        top = max((row[3] or 0 for row in rows), default=0)
        return self.render_template("views/user_statistics.html", figures=FIGURES, figure=figure, label=label,
                                    rows=rows, top=top)

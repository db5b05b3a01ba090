"""The back office's global search page (/search/?q=…), reached from the search box in the menu bar."""
from __future__ import annotations

from flask import redirect, request
from flask_appbuilder import BaseView, expose, has_access

from app.search.records import BackOffice
from app.search.service import TEXT_GROUPS, search


def page_number() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < len(value) < 5 else 1


class GlobalSearchView(BaseView):
    """A number or external id opens its record; words list the matching records by type."""

    route_base = "/search"
    default_view = "search"

    @expose("/")
    @has_access
    def search(self):
        group = request.args.get("group")
        result = search(request.args.get("q", ""), BackOffice(), group if group in TEXT_GROUPS else None,
                        page_number())
        if result.jump_url:
            return redirect(result.jump_url)
        return self.render_template("search/results.html", result=result, group=group, endpoint="GlobalSearchView.search")

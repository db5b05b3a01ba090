"""GET /export/<list view>.csv|.xlsx?<the list's own arguments>: the list as a file, streamed.

Anyone who may list a view may export it (``can_export`` here, ``can_list`` there); a view they may not
list does not exist for them (404), nor does a view that is no list.
"""
from __future__ import annotations

import datetime as dt

from flask import Response, abort, current_app, stream_with_context
from flask_appbuilder import BaseView, expose, has_access

from app.core.extensions import db
from app.core.view_support import BackOfficeModelView
from app.exports.lists import list_export
from app.exports.writers import csv_stream, xlsx_stream

FORMATS = {
    "csv": ("text/csv; charset=utf-8", csv_stream),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx_stream),
}


def exportable_view(view_name: str):
    """The registered back-office list called *view_name* if the signed-in user may list it, else None."""
    appbuilder = current_app.appbuilder
    view = next((v for v in appbuilder.baseviews if type(v).__name__ == view_name), None)
    if not isinstance(view, BackOfficeModelView):
        return None
    if not appbuilder.sm.has_access("can_list", view.class_permission_name):
        return None
    return view


def download(title: str, file_format: str, headings: list[str], rows) -> Response:
    mimetype, writer = FORMATS[file_format]
    chunks = writer(headings, rows, title) if file_format == "xlsx" else writer(headings, rows)
    name = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-") or "export"
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(_releasing(chunks, db.session())), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{file_format}"'
    response.headers["Cache-Control"] = "no-store"
    # Proxies must pass the rows on as they come instead of holding the whole file.
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _releasing(chunks, session):
    """The file's pieces, then the rows' session closed: the stream outlives the view, and the session it
    reads through must give its connection (and its transaction) back when the last row is written."""
    try:
        yield from chunks
    finally:
        session.close()


class ListExportView(BaseView):
    route_base = "/export"
    default_view = "export"

    @expose("/<view_name>.<file_format>")
    @has_access
    def export(self, view_name, file_format):
        if file_format not in FORMATS:
            abort(404)
        view = exportable_view(view_name)
        if view is None:
            abort(404)
        export = list_export(view)
        return download(export.title, file_format, export.headings, export.rows)

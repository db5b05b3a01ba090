"""The one gate every request's input passes before a view sees it.

Views read forms in many ways (Flask-AppBuilder's WTForms, ``request.form`` in the case and order pages,
the portal), so the rules every text input shares are checked here, once, for all of them, with the
limits the REST schemas publish (``app/api/schemas.py`` imports them from here):

- text holds no NUL or other control character (tab, line feed and carriage return are text), and is at
  most ``MAX_TEXT`` characters; PostgreSQL refuses NUL in text, and nothing longer fits a description;
- a list's paging and sorting parameters (``page_<View>``, ``psize_<View>``, ``_oc_<View>``,
  ``_od_<View>``) are whole numbers in range and sortable columns of that list;
- a JSON body is nested at most ``MAX_JSON_DEPTH`` levels (the parsers and validators recurse).

A refused request is answered 400 (malformed parameter or body), 404 (an address with a control
character names nothing) or 422 (a form field) before anything is
read from or written to the database: a page saying which input and why for people, a JSON body for
the APIs. Per-field limits shorter than ``MAX_TEXT`` (a 200-character subject) stay with the forms and
workflows that know the field.
"""
from __future__ import annotations

import re

from flask import Flask, current_app, jsonify, render_template, request
from flask_appbuilder.models.sqla.filters import FilterRelation
from werkzeug.exceptions import BadRequest

MAX_TEXT = 10_000
MAX_JSON_DEPTH = 32
# Flask-AppBuilder numbers list pages from 0 and offers page sizes up to 100.
MAX_LIST_PAGE = 100_000
MAX_LIST_PAGE_SIZE = 100
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
API_PREFIXES = ("/api/", "/tmf-api/")
LIST_PAGING = re.compile(r"(page|psize|_oc|_od)_(.+)")
LIST_FILTER = re.compile(r"_flt_(\d)_(.+)")
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class RefusedInput(BadRequest):
    """Input refused by the gate; *field* names it, *status* is 400 or 422."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.code, self.field, self.message = status, field, message


def text_problem(value: str, limit: int = MAX_TEXT) -> str | None:
    """Why *value* cannot be stored as text, or None when it can."""
    found = CONTROL_CHARACTER.search(value)
    if found:
        character = found.group()
        return "contains a NUL character" if character == "\x00" else \
            f"contains a control character (U+{ord(character):04X})"
    if len(value) > limit:
        return f"is longer than {limit:,} characters ({len(value):,})"
    return None


def json_depth(raw: bytes) -> int:
    """How deeply *raw* JSON nests arrays and objects, without parsing it (brackets inside strings skipped)."""
    depth = deepest = 0
    for token in _JSON_TOKEN.findall(raw):
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def _check_path() -> None:
    # No record's identifier holds a control character (the gate refuses them in every input), so such an
    # address names nothing: 404, as for any other unknown record, before a query is built from it.
    if CONTROL_CHARACTER.search(request.path):
        raise RefusedInput("Nothing is found at this address: it contains a control character.", status=404)


def _check_query() -> None:
    for name, value in request.args.items(multi=True):
        problem = text_problem(name, 200) or text_problem(value)
        if problem:
            raise RefusedInput(f"The address parameter {_printable(name)!r} {problem}.", name)
        paging, search = LIST_PAGING.fullmatch(name), LIST_FILTER.fullmatch(name)
        if paging:
            _check_list_parameter(name, paging.group(1), paging.group(2), value)
        elif search:
            _check_list_filter(name, int(search.group(1)), search.group(2), value)


def _check_list_parameter(name: str, kind: str, view_name: str, value: str) -> None:
    if kind in ("page", "psize"):
        low, high = (0, MAX_LIST_PAGE) if kind == "page" else (1, MAX_LIST_PAGE_SIZE)
        if not re.fullmatch(r"\d{1,7}", value) or not low <= int(value) <= high:
            raise RefusedInput(f"{name} must be a whole number from {low} to {high:,}.", name)
    elif kind == "_od":
        if value not in ("asc", "desc"):
            raise RefusedInput(f"{name} must be asc or desc.", name)
    else:
        view = current_app.extensions["list_views"].get(view_name)
        if view is not None and value not in (view.order_columns or ()):
            raise RefusedInput(f"The list cannot be sorted by {_printable(value)!r}.", name)


def _check_list_filter(name: str, index: int, column: str, value: str) -> None:
    """``_flt_<n>_<column>`` picks the n-th filter of the column; its view is the page's (any list's on
    pages that show several). The value must be one the filter can compare: Flask-AppBuilder passes it
    to the database as it came for a record, a yes/no column or a number out of range, which PostgreSQL
    refuses (SQLite silently matches nothing)."""
    lists = current_app.extensions["list_views"]
    page_view = lists.get((request.endpoint or "").partition(".")[0])
    for view in [page_view] if page_view is not None else lists.values():
        filters = view.search_columns and view._filters.get_search_filters().get(column)
        if not filters:
            continue
        if index >= len(filters):
            raise RefusedInput(f"{name} names no filter of the list.", name)
        problem = _filter_value_problem(view.datamodel, filters[index], column, value)
        if problem:
            raise RefusedInput(f"{name} {problem}.", name)


def _filter_value_problem(datamodel, list_filter, column: str, value: str) -> str | None:
    if isinstance(list_filter, FilterRelation):
        return None if re.fullmatch(r"\d{1,9}", value) else "must name a record by its number"
    if datamodel.is_boolean(column):
        return None if value == "y" else "must be y (a ticked box)"
    if datamodel.is_integer(column) and value and not re.fullmatch(r"-?\d{1,9}", value):
        return "must be a whole number of at most 9 digits"
    return None


def _check_form() -> None:
    for name, value in request.form.items(multi=True):
        problem = text_problem(name, 200) or text_problem(value)
        if problem:
            raise RefusedInput(f"{_label(name)} {problem}; nothing was saved.", name, 422)


def _check_json() -> None:
    raw = request.get_data(cache=True)
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and json_depth(raw) > MAX_JSON_DEPTH:
        raise RefusedInput(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.")


def _guard():
    if request.routing_exception is not None:
        return None  # 404 and 405 answer first
    api = request.path.startswith(API_PREFIXES)
    try:
        _check_path()
        if request.is_json:
            _check_json()
        if not api:
            # The APIs check their query strings and bodies against their own published schemas.
            _check_query()
            if request.method in ("POST", "PUT", "PATCH"):
                _check_form()
    except RefusedInput as refused:
        return _api_refusal(refused) if api else _refusal_page(refused)
    return None


def _api_refusal(refused: RefusedInput):
    """The refusal in the API's own error shape (registered by the API per path prefix), else the REST one."""
    for prefix, render in current_app.extensions["api_refusals"].items():
        if request.path.startswith(prefix):
            return render(refused.code, refused.message)
    return jsonify({"message": refused.message}), refused.code


def _refusal_page(refused: RefusedInput):
    if request.accept_mimetypes.best == "application/json":
        body = {"message": refused.message}
        if refused.field:
            body["errors"] = {refused.field: refused.message}
        return jsonify(body), refused.code
    appbuilder = current_app.appbuilder
    portal = request.path.startswith("/portal")
    html = render_template("core/refused_input.html", refused=refused, portal=portal, appbuilder=appbuilder,
                           base_template=appbuilder.base_template, contact=None)
    return html, refused.code


def _label(name: str) -> str:
    return _printable(name).replace("_", " ").strip().capitalize() or "A field"


def _printable(text: str) -> str:
    return CONTROL_CHARACTER.sub("?", text)[:80]


def init_input_guard(app: Flask, appbuilder) -> None:
    """Check every request once the views are registered: lists are known by the name their paging
    parameters carry (the view's class name)."""
    app.extensions["list_views"] = {type(view).__name__: view for view in appbuilder.baseviews
                                    if getattr(view, "order_columns", None) is not None}
    app.extensions.setdefault("api_refusals", {})
    app.before_request(_guard)

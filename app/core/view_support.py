"""Building blocks shared by the back-office views: base views, select fields and readable labels."""
from __future__ import annotations

import sys
import time
from collections import Counter
from functools import cached_property

from flask import abort, current_app, flash, g, has_request_context, jsonify, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.security.decorators import has_access as fab_has_access, permission_name
from flask_appbuilder.security.views import RoleModelView
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.filters import Filters
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from flask_appbuilder.widgets import ListWidget, SearchWidget
from flask_babel import get_locale, get_translations, lazy_gettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.local import LocalProxy
from wtforms import BooleanField, HiddenField, SelectField
from wtforms.validators import DataRequired, Optional

from app.core.display import readable
from app.core.errors import STALE_MESSAGE
from app.core.request_logging import note_username
from app.core.exceptions import DomainError
from app.core.sessions import generation_of, remember_loaded_generation
from app.core.roles import ALL_ROLES, CRU, DELETE, READ
from app.core.web_login import WebLoginView
from app.core.user_statistics import UserStatisticsView

# Labels FAB would otherwise derive from column names ("Created By Id", "Target Minutes").
COMMON_LABELS = {
    "number": "Number",
    "created_on": "Created",
    "changed_on": "Updated",
    "created_by": "Created by",
    "changed_by": "Updated by",
    "short_description": "Short description",
    "assigned_to": "Assigned to",
    "assignment_group": "Assignment group",
    "primary_contact": "Primary contact",
    "billing_location": "Billing location",
    "shipping_location": "Shipping location",
    "first_name": "First name",
    "last_name": "Last name",
    "postal_code": "Postal code",
    "state": "State",
    "unit_price": "Unit price",
    "price_type": "Price type",
    "value_type": "Value type",
    "allowed_values": "Allowed values",
    "visible_to_customer": "Visible to customer",
    "case_line": "Case line",
    "order_line": "Order line",
    "opened_at": "Opened",
    "closed_at": "Closed",
    "sort_order": "Order",
    "default_priority": "Default priority",
    "default_assignment_group": "Default assignment group",
    "applies_to": "Applies to",
    "target_minutes": "Target (minutes)",
    "business_day_start": "Business day starts",
    "business_day_end": "Business day ends",
    "business_days": "Business days",
    "pause_states": "Pause states",
    "at_risk_percent": "At risk at (%)",
    "timezone": "Time zone",
    "old_value": "Old value",
    "new_value": "New value",
    "user": "Changed by",
}


def choice_field(label: str, vocabulary, required: bool = True, description: str = "") -> SelectField:
    """A select over one vocabulary of ``app.core.choices`` (never free text for states, kinds, channels)."""
    coerce = int if vocabulary.ALL and isinstance(vocabulary.ALL[0], int) else str
    choices = vocabulary.choices()
    if not required:
        choices = [("", "")] + choices
        coerce = _optional(coerce)
    return SelectField(
        label,
        choices=choices,
        coerce=coerce,
        description=description,
        validators=[DataRequired()] if required else [Optional()],
        widget=Select2Widget(),
    )


def _optional(coerce):
    def convert(value):
        if value in ("", None, "None"):
            return None
        return coerce(value)

    return convert


def current_user_id() -> int | None:
    """The signed-in user's id, for base filters such as My Tasks."""
    user = getattr(g, "user", None) or current_user
    return user.id if user is not None and user.is_authenticated else None


# Lists count at most this many rows ("1000+"): an exact count of a million-row table costs a full scan.
COUNT_CAP = 1000
# Search filters on a relation offer at most this many records, so a list page never loads a whole table.
SEARCH_CHOICES_CAP = 200
# A filter box's inputs (the relation filters carry a query and up to SEARCH_CHOICES_CAP options each)
# are rendered once and reused until this process writes to the table the choices come from, or for at
# most this many seconds: a record added through another process shows in the filters within a minute.
SEARCH_FIELDS_TTL = 60.0
# Rendered fragments kept per app (search inputs, menu bars) stay below this many entries.
FRAGMENTS_CAP = 256
# A list's filters that matched COUNT_CAP rows or more show "1000+" without counting again for this long,
# unless this process writes to the list's table: a list falls below the cap only as its records leave
# the filters, and counting to the cap was a seventh of a full list page's CPU.
CAPPED_COUNT_TTL = 60.0
# Flushes that wrote to each table, in this process. Work on cases (a work note, an assignment) must not
# throw away the account, user and offering choices: re-rendering them costs more than the page.
_writes: Counter[str] = Counter()


@event.listens_for(Session, "after_flush")
def _count_writes(session, flush_context):
    for table in {obj.__table__.name for obj in (*session.new, *session.dirty, *session.deleted)}:
        _writes[table] += 1


class CachedSearchWidget(SearchWidget):
    """FAB's filter box, rendering each filter input from the cache above instead of on every list page."""

    def __call__(self, **kwargs):
        form, columns = self.template_args["form"], self.template_args["include_cols"]
        kwargs.update(self._labels(form, columns))
        kwargs["form_fields"] = {column: self._field_html(form, column) for column in columns}
        kwargs["active_filters"] = self.filters.get_filters_values_tojson()
        return super(SearchWidget, self).__call__(**kwargs)

    def _labels(self, form, columns) -> dict:
        # The columns' and filters' names are the view's, in the user's language: translated once, not
        # per list page (each is a lazy string, ~90 of them on the case lists).
        key = ("search labels", self.template_args["route_base"], tuple(columns), str(get_locale()))
        cached = _fragments().get(key)
        if cached is None:
            search_filters = self.filters.get_search_filters()
            cached = _remember(key, {
                "label_columns": {column: as_unicode(form[column].label.text) for column in columns},
                "search_filters": {column: [as_unicode(flt.name) for flt in search_filters[column]]
                                   for column in columns},
            })
        return cached

    def _field_html(self, form, column: str) -> str:
        datamodel = self.filters.datamodel
        choices = datamodel.get_related_model(column).__table__.name if datamodel.is_relation(column) else None
        now, generation = time.monotonic(), _writes[choices] if choices else 0
        key = ("search field", self.template_args["route_base"], column)
        cached = _fragments().get(key)
        if cached is None or cached[0] != generation or cached[1] < now:
            cached = _remember(key, (generation, now + SEARCH_FIELDS_TTL, form[column]()))
        return cached[2]


def _fragments() -> dict:
    return current_app.extensions["rendered_fragments"]


def _remember(key, value, store: str = "rendered_fragments"):
    """Keep *value* under *key* in one of the app's stores (rendered fragments, capped counts)."""
    kept = current_app.extensions[store]
    if len(kept) >= FRAGMENTS_CAP:  # permission sets and filter combinations come and go
        kept.clear()
    kept[key] = value
    return value


class CodeDefinedRoleView(RoleModelView):
    """FAB's role pages, except that the built-in roles are the application's (``roles.py``, restored at
    every start): their edit and delete explain that instead of accepting a change that would be undone.
    Roles an administrator creates are theirs to edit, and the start-up sync leaves them alone."""

    class_permission_name = "RoleModelView"
    list_title = "Roles (admin, manager, agent, customer and integrator are built in; create your own for others)"

    def _built_in(self, pk):
        role = self.datamodel.get(pk)
        names = (*ALL_ROLES, current_app.config.get("AUTH_ROLE_PUBLIC", "Public"))
        return role if role is not None and role.name in names else None

    def _refuse(self, role):
        flash(f"The role {role.name} is built into the application: its permissions are defined in code "
              "(app/core/roles.py) and restored at every start, so it cannot be changed here. Copy it (Copy Role) "
              "or add a new role to grant a different set of permissions.", "warning")
        return redirect(url_for(f"{type(self).__name__}.show", pk=role.id))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @fab_has_access
    def edit(self, pk):
        role = self._built_in(pk)
        return self._refuse(role) if role is not None else super().edit(pk)

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @fab_has_access
    def delete(self, pk):
        role = self._built_in(pk)
        return self._refuse(role) if role is not None else super().delete(pk)


class RequestCachedSecurityManager(SecurityManager):
    """FAB's security manager, reading the signed-in user's permissions once per request.

    FAB asks the database once per permission check, and a page checks one per menu entry and button
    (about 30 queries, half of a list page's time); here the roles' permission pairs are loaded in one
    query and every check of the request is a set lookup.
    """

    authdbview = WebLoginView
    rolemodelview = CodeDefinedRoleView
    userstatschartview = UserStatisticsView

    @cached_property
    def _user_statement(self):
        # Built once per application, not per request: its construction and cache key cost more than
        # running it, and the subquery of a statement built per request leaves a reference cycle behind.
        return (select(self.user_model, generation_of(self.user_model.id))
                .options(joinedload(self.user_model.roles), joinedload(self.user_model.groups))
                .where(self.user_model.id == bindparam("user_id")))

    def get_user_by_id(self, pk):
        # Every request loads the signed-in user, then its roles and groups, then checks its session
        # generation (app.core.sessions): one statement instead of four.
        user_id = as_record_id(pk)
        found = self.session.execute(self._user_statement, {"user_id": user_id}).unique().first()
        if found is None:
            return None
        if has_request_context():
            remember_loaded_generation(user_id, found[1])
            note_username(found[0])
        return found[0]

    def has_access(self, permission_name: str, view_name: str) -> bool:
        # A page asks 30-40 different questions (menu, buttons, row actions); FAB re-resolves the user
        # and its roles for each. Here a signed-in user's answers come from one set per request.
        granted = self._granted_pairs() if has_request_context() else None
        if granted is None:
            return super().has_access(permission_name, view_name)
        return (view_name, permission_name) in granted

    def _granted_pairs(self) -> frozenset | None:
        """The (view, permission) pairs of the request's signed-in user (or API-key user), or None where
        FAB's own rules decide: anonymous visitors (public role), JWT users, built-in roles."""
        user = g.get("user")
        # g.user is FAB's current_user proxy: key on the user behind it (it changes on sign-in).
        user = user._get_current_object() if isinstance(user, LocalProxy) else user
        cached = g.get("granted_pairs")
        if cached is not None and cached[0] is user:
            return cached[1]
        granted = None
        safe_user = self._get_safe_user(user) if getattr(user, "is_authenticated", False) else None
        if safe_user is not None:
            roles = self.get_user_roles(safe_user)
            if not safe_user.is_active:
                granted = frozenset()
            elif not any(role.name in self.builtin_roles for role in roles):
                granted = self._role_pairs([role.id for role in roles])
        g.granted_pairs = (user, granted)
        return granted

    def _role_pairs(self, role_ids: list[int]) -> frozenset:
        cache = g.setdefault("role_permissions", {})
        key = tuple(sorted(role_ids))
        if key not in cache:
            # Plain tuples, not result rows: the menu bar's cache (navbar_menu_html) is keyed on this set, and
            # comparing two sets of rows ran a Python-level Row.__eq__ per pair (0.3 ms a page).
            cache[key] = frozenset(tuple(pair) for pair in self.session.execute(
                self._role_pairs_statement, {"role_ids": list(key)}))
        return cache[key]

    @cached_property
    def _role_pairs_statement(self):
        # Built once per application, like _user_statement.
        return (select(self.viewmenu_model.name, self.permission_model.name)
                .select_from(self.permissionview_model)
                .join(assoc_permissionview_role,
                      self.permissionview_model.id == assoc_permissionview_role.c.permission_view_id)
                .join(self.permission_model, self.permission_model.id == self.permissionview_model.permission_id)
                .join(self.viewmenu_model, self.viewmenu_model.id == self.permissionview_model.view_menu_id)
                .where(assoc_permissionview_role.c.role_id.in_(bindparam("role_ids", expanding=True))))

    def exist_permission_on_roles(self, view_name: str, permission_name: str, role_ids: list[int]) -> bool:
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        return (view_name, permission_name) in self._role_pairs(role_ids)


class CappedCount(int):
    """A row count that stopped counting at *cap*: shown as "1000+", while paging still uses the number."""

    def __new__(cls, value: int, cap: int):
        count = super().__new__(cls, value)
        count.cap = cap
        return count

    def __str__(self):
        return f"{self.cap}+"

    __html__ = __str__


def list_query(datamodel, filters, order_column, order_direction, list_columns, page=None, page_size=None):
    """A FAB list's rows as one query, the many-to-one columns it shows joined in (all rows when *page*
    is None: the export streams them)."""
    session, model = datamodel.session, datamodel.obj
    related = [getattr(model, column) for column in list_columns
               if datamodel.is_relation_many_to_one(column)]
    return (datamodel.apply_all(session.query(model), filters, order_column, order_direction, page, page_size)
            .options(*(joinedload(relation) for relation in related)))


def list_page(datamodel, filters, order_column, order_direction, page, page_size, list_columns):
    """One page of a FAB list and its (capped) count, in two queries whatever the table size.

    FAB's own query counts every matching row and loads each row's related records one by one; here the
    many-to-one columns the list shows are joined into the page query and the count stops at COUNT_CAP
    (or at the current page, for deep pages). A page that is not full is the last one: its rows give
    the count, and the count query is not run at all (a personal queue usually fits on one page).
    """
    session, model = datamodel.session, datamodel.obj
    rows = list_query(datamodel, filters, order_column, order_direction, list_columns, page, page_size).all()
    if len(rows) < page_size and (rows or not page):
        return (page or 0) * page_size + len(rows), rows
    limit = max(COUNT_CAP, ((page or 0) + 1) * page_size) + 1
    key, now = (model.__name__, limit, _filter_signature(filters)), time.monotonic()
    generation, capped = _writes[model.__tablename__], current_app.extensions["capped_counts"]
    if key in capped and capped[key][0] == generation and capped[key][1] > now:
        return CappedCount(limit, limit - 1), rows
    matching = datamodel._apply_inner_all(session.query(model), filters, aliases_mapping={})
    counted = matching.with_entities(datamodel.get_pk()).order_by(None).limit(limit).subquery()
    found = session.query(func.count()).select_from(counted).scalar()
    if found < limit:
        return found, rows
    _remember(key, (generation, now + CAPPED_COUNT_TTL), "capped_counts")
    return CappedCount(found, limit - 1), rows


def _filter_signature(filters) -> tuple:
    """What a list's filters select, comparable from one request to the next: each filter's column, kind
    and value, functions (the signed-in user, the open states) called as the filter would call them."""
    return tuple(sorted((flt.column_name, type(flt).__name__, repr(value() if callable(value) else value))
                        for flt, value in filters.get_filters_values()))


# Conditions other domains add to every back-office list (the quick search box, app/search/quick.py): each
# is called with the view and returns (column, filter class, value) to add to the list's filters, or None.
LIST_REFINEMENTS: list = []


def add_list_refinement(refinement) -> None:
    if refinement not in LIST_REFINEMENTS:
        LIST_REFINEMENTS.append(refinement)


class FastListWidget(ListWidget):
    """FAB's list table with the same markup, rendered with a fraction of the work per row: each cell is
    formatted and escaped here, as the template's autoescape would, instead of through two template calls."""

    template = "views/list_widget.html"

    def __call__(self, **kwargs):
        formatters = self.template_args.get("formatters_columns") or {}
        columns = self.template_args["include_columns"]
        # FAB hands the rows over as a generator: read once here, for the cells and the row loop.
        rows = self.template_args["value_columns"] = list(self.template_args["value_columns"])
        kwargs["cells"] = [[escape(formatters[column](row.get(column)) if column in formatters else readable(row.get(column)))
                            for column in columns] for row in rows]
        return super().__call__(**kwargs)


def as_record_id(value) -> int:
    """A URL's record id, or -1 (which names no record) for anything that is not one."""
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 10 else -1


def return_path() -> str | None:
    """Where a form's Back returns: the ``next`` it was opened with, when that is a path of this site."""
    target = request.values.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else None


class BackOfficeModelView(ModelView):
    """A FAB model view with explicit permissions (no implicit can_download) and 20-row pages.

    Edit forms of versioned records carry the version the user saw: saving over someone else's newer
    change is refused with a message instead of silently overwriting it. ``check_form`` is the place for
    rules that involve several fields; the errors it sets show next to the fields and nothing is written.

    Lists cost the same at a thousand and a million rows: capped count, related columns joined into the
    page query, relation search filters offering a bounded number of records (``list_page``).
    """

    base_permissions = list(CRU)
    page_size = 20
    search_widget = CachedSearchWidget

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        # FAB looks the posted action up and calls it without checking it exists: an unknown name was a 500.
        if request.form.get("action") not in self.actions:
            abort(400, description="That list action does not exist.")
        return super().action_post()
    list_widget = FastListWidget
    label_columns = dict(COMMON_LABELS)
    show_template = "views/record_show.html"
    # The list's labelled primary action ("New case"), where it leads (default: this view's add page) and
    # whether it opens as a dialog (the page behind it marks its [data-dialog-content]).
    add_label = "New"
    add_endpoint: str | None = None
    add_dialog = False
    # {"edit" | "delete": may(user, record)}: a row offers the action only where its workflow allows it.
    row_permissions: dict = {}
    # FAB's list page with the quick search box and the export buttons above the filters.
    list_template = "views/list.html"
    # The quick search of a list whose table is too large to read its texts row by row (millions of
    # lines): words find the values of its coded columns ({column: vocabulary of app.core.choices}) and
    # the full text of the record its many-to-one column *quick_search_through* names.
    quick_search_vocabularies: dict = {}
    quick_search_through: str | None = None

    @classmethod
    def for_model(cls, model):
        return SQLAInterface(model)

    def check_form(self, form, item=None) -> None:
        """Add field errors for rules spanning several fields; *item* is the record being edited."""

    @property
    def database_error_message(self) -> str:
        # FAB flashes this inside its ``except`` around the edit's commit, without keeping the error: a
        # version conflict (someone saved the record between our check and our commit) is told as one.
        error = sys.exc_info()[1]
        if isinstance(error, StaleDataError) or isinstance(getattr(error, "__cause__", None), StaleDataError):
            return STALE_MESSAGE
        return lazy_gettext("Database Error")

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="", page=None,
                         page_size=None, widgets=None, **kwargs):
        # FAB's ModelView._get_list_widget with list_page instead of datamodel.query.
        widgets = widgets or {}
        actions = actions or self.actions
        page_size = page_size or self.page_size
        if not order_column and self.base_order:
            order_column, order_direction = self.base_order
        joined_filters = self.list_filters(filters)
        count, rows = list_page(self.datamodel, joined_filters, order_column, order_direction, page, page_size,
                                self.list_columns)
        widgets["list"] = self.list_widget(
            label_columns=self.label_columns,
            include_columns=self.list_columns,
            value_columns=self.datamodel.get_values(rows, self.list_columns),
            order_columns=self.order_columns,
            formatters_columns=self.formatters_columns,
            page=page,
            page_size=page_size,
            count=count,
            pks=[self._serialize_pk_if_composite(pk) for pk in self.datamodel.get_keys(rows)],
            actions=actions,
            filters=filters,
            modelview_name=self.__class__.__name__,
            add_label=self.add_label, add_endpoint=self.add_endpoint, add_dialog=self.add_dialog,
            row_allowed={action: [may(current_user, row) for row in rows]
                         for action, may in self.row_permissions.items()},
            **kwargs,
        )
        return widgets

    def list_filters(self, filters):
        """What the list shows: the user's filters, the view's base filters and the refinements (quick search)."""
        joined = filters.get_joined_filters(self._base_filters)
        for refine in LIST_REFINEMENTS:
            extra = refine(self)
            if extra is not None:
                joined.add_filter(*extra)
        return joined

    def computed_columns(self, pks: list) -> dict:
        """Values of list columns that are no model attribute, per record id: {pk: {column: value}}."""
        return {}

    def _bound_search_choices(self) -> None:
        """Relation filters list SEARCH_CHOICES_CAP records, not the whole related table, on every list page."""
        for column in self.search_columns or []:
            if not self.datamodel.is_relation_many_to_one(column):
                continue
            related = self.datamodel.get_related_interface(column)
            setattr(self.search_form, column, QuerySelectField(
                self.label_columns.get(column, column),
                query_func=lambda related=related: related.session.query(related.obj)
                .order_by(related.get_pk()).limit(SEARCH_CHOICES_CAP).all(),
                get_pk_func=related.get_pk_value, allow_blank=True, validators=[Optional()],
                widget=Select2Widget(),
            ))

    def record_links(self, pk) -> list[tuple[str, str]]:
        """Buttons shown on the record's page: (label, url)."""
        return []

    def render_template(self, template, **kwargs):
        if template == self.show_template and "pk" in kwargs:
            kwargs.setdefault("record_links", self.record_links(kwargs["pk"]))
        return super().render_template(template, **kwargs)

    def _init_forms(self):
        # FAB requires input for every NOT NULL column, so an unticked (false) checkbox could never be saved.
        checkboxes = {
            column: BooleanField(self.label_columns.get(column, column.replace("_", " ").capitalize()),
                                 description=self.description_columns.get(column, ""),
                                 default=self.datamodel.get_col_default(column))
            for column in dict.fromkeys([*(self.add_columns or []), *(self.edit_columns or [])])
            if self.datamodel.is_boolean(column)
        }
        self.add_form_extra_fields = {**checkboxes, **(self.add_form_extra_fields or {})}
        self.edit_form_extra_fields = {**checkboxes, **(self.edit_form_extra_fields or {})}
        super()._init_forms()
        self._bound_search_choices()
        self.add_form = self._checked_form(self.add_form, editing=False)
        self.edit_form = self._checked_form(self.edit_form, editing=True)

    def _checked_form(self, form_class, editing: bool):
        view = self
        versioned = editing and "version" in self.datamodel.get_columns_list()
        attributes = {}
        if versioned:
            attributes["expected_version"] = HiddenField()

        def validate(form, extra_validators=None):
            valid = form_class.validate(form, extra_validators=extra_validators)
            item = view.datamodel.get(form._id) if editing and getattr(form, "_id", None) is not None else None
            if versioned and item is not None and form.expected_version.data not in (None, ""):
                if str(item.version) != str(form.expected_version.data):
                    flash(STALE_MESSAGE, "danger")
                    return False
            if valid:
                view.check_form(form, item)
                valid = not any(field.errors for field in form)
            return valid

        def process(form, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
            form_class.process(form, formdata, obj, data=data, extra_filters=extra_filters, **kwargs)
            if versioned and form.expected_version.data in (None, "") and hasattr(obj, "version"):
                form.expected_version.data = obj.version

        def populate_obj(form, obj):
            for name, field in form._fields.items():
                if name != "expected_version":
                    field.populate_obj(obj, name)

        attributes.update(validate=validate, process=process, populate_obj=populate_obj)
        return type(form_class.__name__, (form_class,), attributes)


class TypeAheadLookup:
    """``GET <view>/lookup?q=…``: the view's records matching a type-ahead field, as JSON for
    ``static/js/orderdesk.js`` (``{"results": [{"id", "label", "detail"}]}``). Guarded by the view's list
    permission: who may not list the records may not look them up. The view's ``lookup_choices`` asks its
    domain; a refused input (a parent that is not an id, too long a text) is a 422 saying why."""

    def lookup_choices(self, typed: str, args) -> list:
        raise NotImplementedError

    @expose("/lookup", methods=["GET"])
    @fab_has_access
    @permission_name("list")
    def lookup(self):
        try:
            choices = self.lookup_choices(request.args.get("q", ""), request.args)
        except DomainError as error:
            return jsonify(message=error.message, errors=error.field_errors), error.status_code
        return jsonify(results=[{"id": c.id, "label": c.label, "detail": c.detail} for c in choices])


class ReadOnlyModelView(BackOfficeModelView):
    base_permissions = list(READ)


class DeletableModelView(BackOfficeModelView):
    base_permissions = list(CRU + DELETE)


def disable_file_downloads(appbuilder) -> None:
    """Withdraw FAB's file download endpoint from views whose records hold no files.

    FAB offers it on every model view (its security views included); on a record without file columns
    it can only fail, so it is answered with 403 like any other permission the view does not offer.
    """
    for view in appbuilder.baseviews:
        datamodel = getattr(view, "datamodel", None)
        if datamodel is None or "can_download" not in (view.base_permissions or ()):
            continue
        columns = datamodel.get_columns_list()
        if not any(datamodel.is_file(column) or datamodel.is_image(column) for column in columns):
            view.base_permissions = [p for p in view.base_permissions if p != "can_download"]


def _shared_column_filters(filters: Filters, columns) -> dict:
    """FAB's Filters._get_filters, converted once per model view and column list instead of per request.

    FAB builds a ``Filters`` three times per list page (search, joined and inner filters), each time
    making every filter of every column of the model (a case list: 600 objects, a tenth of the page's
    CPU). The filters hold only their column and view, so they are shared; the lists are copied because
    FAB appends a view's extra search filters to them in place.
    """
    converted = filters.datamodel.__dict__.setdefault("shared_column_filters", {})
    key = (filters.filter_converter, tuple(columns))
    if key not in converted:
        converted[key] = _convert_column_filters(filters, columns)
    return {column: list(column_filters) for column, column_filters in converted[key].items()}


_convert_column_filters = Filters._get_filters


def install_page_rendering(app) -> None:
    """Rendering shortcuts for FAB's pages: template gettext reading the request's translations once
    (a page translates ~180 strings, and Flask-Babel resolves domain, context and locale for each),
    column filters converted once per view, a per-app store of rendered fragments (filter inputs,
    menu bars) and one of the list filters that counted to the cap."""
    app.extensions["rendered_fragments"] = {}
    app.extensions["capped_counts"] = {}
    Filters._get_filters = _shared_column_filters

    def translations():
        if not has_request_context():
            return get_translations()
        found = g.get("page_translations")
        if found is None:
            found = g.page_translations = get_translations()
        return found

    app.jinja_env.install_gettext_callables(
        gettext=lambda string: translations().ugettext(string),
        ngettext=lambda singular, plural, n: translations().ungettext(singular, plural, n),
        pgettext=lambda context, string: translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, n: translations().unpgettext(context, singular, plural, n),
        newstyle=True,
    )
    app.jinja_env.globals["navbar_menu_html"] = navbar_menu_html


def navbar_menu_html():
    """The menu bar's entries: the same for everyone with the same permissions, so rendered once per
    permission set (FAB renders them, with a visibility check and a URL each, on every page)."""
    granted = current_app.appbuilder.sm._granted_pairs()
    key = ("navbar menu", granted, str(get_locale()))
    if granted is None or key not in _fragments():
        html = Markup(current_app.jinja_env.get_template("views/navbar_menu_items.html")
                      .render(menu=current_app.appbuilder.menu))
        if granted is None:
            return html
        _remember(key, html)
    return _fragments()[key]

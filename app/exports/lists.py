"""A back-office list as rows to export: the filters, sort and quick search of its URL, its columns as
the list shows them (headings, formatted values), every matching row read in batches."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Iterator

from flask_appbuilder.urltools import get_filter_args, get_order_args

from app.core.view_support import list_query
from app.exports.writers import plain

BATCH = 1000


@dataclass
class ListExport:
    title: str
    headings: list[str]
    rows: Iterator[list]


def _value(item, column: str):
    value = item
    for part in column.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value() if callable(value) else value


def list_export(view) -> ListExport:
    """What *view*'s list shows for this request's arguments, every page of it."""
    order_column, order_direction = get_order_args().get(type(view).__name__, ("", ""))
    if order_column not in (view.order_columns or []):
        order_column, order_direction = view.base_order or ("", "")
    get_filter_args(view._filters)
    filters = view.list_filters(view._filters)
    columns = list(view.list_columns)
    model = view.datamodel.obj
    query = list_query(view.datamodel, filters, order_column, order_direction, columns)
    formatters = view.formatters_columns or {}

    def rows() -> Iterator[list]:
        found = iter(query.yield_per(BATCH))
        while batch := list(islice(found, BATCH)):
            computed = view.computed_columns([item.id for item in batch])
            for item in batch:
                row = []
                for column in columns:
                    if hasattr(model, column.split(".")[0]):
                        value = _value(item, column)
                    else:
                        value = computed.get(item.id, {}).get(column)
                    formatter = formatters.get(column)
                    row.append(plain(formatter(value) if formatter and value is not None else value))
                yield row

    headings = [str(view.label_columns.get(column, column.replace("_", " ").capitalize())) for column in columns]
    return ListExport(str(view.list_title or type(view).__name__), headings, rows())

"""A back-office list as rows to export: the filters, sort and quick search of its URL, its columns as
the list shows them (headings, formatted values), every matching row read through ``rows``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from flask_appbuilder.urltools import get_filter_args, get_order_args
from sqlalchemy import inspect

from app.exports.rows import Column, export_rows
from app.exports.writers import plain


@dataclass
class ListExport:
    title: str
    headings: list[str]
    rows: Iterator[list]


# Distinct values whose formatted text a column remembers (choices, flags: a handful each).
FORMATTED_MEMORY = 256


def _formatted(formatter):
    """The column's formatter as text, each distinct value formatted once."""
    memory = {}

    def convert(value):
        try:
            return memory[value]
        except KeyError:
            text = memory[value] = plain(formatter(value))
            if len(memory) > FORMATTED_MEMORY:
                memory.clear()
            return text
        except TypeError:  # unhashable
            return plain(formatter(value))

    return convert


def list_columns(view) -> list[Column]:
    """The list's columns as export columns: its own fields selected, its many-to-one columns named as the
    list names them, its computed columns (``computed_columns``) read once per batch."""
    model = view.datamodel.obj
    mapper = inspect(model)
    formatters = view.formatters_columns or {}
    batch_memory = {}

    def computed(column):
        def values(ids):
            if batch_memory.get("ids") is not ids:
                batch_memory.update(ids=ids, values=view.computed_columns(ids))
            return {record_id: plain(row.get(column)) for record_id, row in batch_memory["values"].items()}
        return values

    columns = []
    for name in view.list_columns:
        heading = str(view.label_columns.get(name, name.replace("_", " ").capitalize()))
        formatter = formatters.get(name)
        if name in mapper.relationships:
            relationship = mapper.relationships[name]
            (foreign_key,) = relationship.local_columns
            columns.append(Column(heading, getattr(model, foreign_key.key), related=relationship.mapper.class_))
        elif name in mapper.column_attrs:
            columns.append(Column(heading, getattr(model, name), convert=formatter and _formatted(formatter)))
        else:
            columns.append(Column(heading, per_batch=computed(name), convert=formatter and _formatted(formatter)))
    return columns


def list_export(view) -> ListExport:
    """What *view*'s list shows for this request's arguments, every page of it."""
    order_column, order_direction = get_order_args().get(type(view).__name__, ("", ""))
    if order_column not in (view.order_columns or []):
        order_column, order_direction = view.base_order or ("", "")
    get_filter_args(view._filters)
    filters = view.list_filters(view._filters)
    datamodel = view.datamodel
    query = datamodel.apply_all(datamodel.session.query(datamodel.obj), filters, order_column, order_direction)
    columns = list_columns(view)
    return ListExport(str(view.list_title or type(view).__name__), [column.heading for column in columns],
                      export_rows(query, datamodel.obj, columns))

"""Lists of TMF orders and cancellation requests: TMF630 conditions and sort keys on attributes held in
columns become SQL (so a page of a large list costs one page of rows); the rest are evaluated on the
rendered documents by ``app.tmf.query``, whose semantics the SQL reproduces.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy import and_, func, not_, or_, select

from app.core.extensions import db
from app.models import CustomerOrder
from app.tmf.query import ONE_MILLISECOND, Condition, SortKey, instant, matches, sort_documents


def _text(column):
    # Compare and sort text by code point, as Python does on documents (PostgreSQL's default collation
    # follows the locale).
    return column.collate("C") if db.engine.dialect.name == "postgresql" else column


def order_columns(api) -> dict[str, tuple[str, object]]:
    """Document path → (kind, column) for the order attributes held in columns."""
    return {
        "id": ("text", CustomerOrder.tmf_id),
        api.external_id_path: ("text", CustomerOrder.external_id),
        "category": ("text", CustomerOrder.category),
        "description": ("text", CustomerOrder.description),
        "priority": ("priority", CustomerOrder.priority),
        "state": ("state", CustomerOrder.state),
        api.order_date_key: ("instant", CustomerOrder.order_date),
        "requestedStartDate": ("instant", CustomerOrder.requested_start_date),
        "requestedCompletionDate": ("instant", CustomerOrder.requested_completion_date),
        "completionDate": ("instant", CustomerOrder.completed_at),
        "cancellationDate": ("instant", CustomerOrder.cancelled_at),
        "cancellationReason": ("text", CustomerOrder.cancellation_reason),
    }


def _clause(api, kind: str, column, condition: Condition):
    """The SQL for *condition* on *column*, or None when it is left to the documents."""
    operator, values = condition.operator, condition.values
    if kind == "text":
        column = _text(column)
        if operator == "eq":
            return column.in_(values)
        if operator == "ne":
            return or_(column.is_(None), column.notin_(values))
        return {"gt": column > values[0], "gte": column >= values[0],
                "lt": column < values[0], "lte": column <= values[0]}[operator]
    if kind == "priority":
        if not all(value.isdigit() for value in values):
            return None  # compared as text on the documents
        numbers = [int(value) for value in values]
        if operator == "eq":
            return column.in_(numbers)
        if operator == "ne":
            return column.notin_(numbers)
        return {"gt": column > numbers[0], "gte": column >= numbers[0],
                "lt": column < numbers[0], "lte": column <= numbers[0]}[operator]
    if kind == "state":
        if operator not in ("eq", "ne"):
            return None
        ours = [state for state, tmf in api.order_states.items() if tmf in values]
        return column.in_(ours) if operator == "eq" else column.notin_(ours)
    # An instant: the document shows it to the millisecond, so compare whole milliseconds.
    moments = [instant(value, condition.path) for value in values]
    windows = [and_(column >= moment, column < moment + ONE_MILLISECOND) for moment in moments]
    if operator == "eq":
        return or_(*windows)
    if operator == "ne":
        return or_(column.is_(None), not_(or_(*windows)))
    moment = moments[0]
    return {"gt": column >= moment + ONE_MILLISECOND, "gte": column >= moment,
            "lt": column < moment, "lte": column < moment + ONE_MILLISECOND}[operator]


def list_orders(api, query, conditions: list[Condition], sort: list[SortKey], offset: int, limit: int,
                render: Callable) -> tuple[int, list[dict]]:
    """(total, documents of the page) for the order *query* of *api*."""
    columns = order_columns(api)
    leftover = []
    for condition in conditions:
        kind, column = columns.get(condition.path, (None, None))
        clause = _clause(api, kind, column, condition) if kind else None
        if clause is None:
            leftover.append(condition)
        else:
            query = query.where(clause)
    sql_sort = all(key.path in columns and columns[key.path][0] != "state" for key in sort)
    if leftover or not sql_sort:
        documents = [render(order) for order in db.session.scalars(query.order_by(CustomerOrder.id.desc()))]
        documents = sort_documents([d for d in documents if matches(d, leftover)], sort)
        return len(documents), documents[offset:offset + limit]
    order_by = []
    for key in sort:
        kind, column = columns[key.path]
        column = _text(column) if kind == "text" else column
        order_by.append((column.desc() if key.descending else column.asc()).nulls_last())
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    if offset >= total:
        return total, []
    page = db.session.scalars(query.order_by(*order_by, CustomerOrder.id.desc()).offset(offset).limit(limit))
    return total, [render(order) for order in page]


def list_documents(documents: list[dict], conditions: list[Condition], sort: list[SortKey], offset: int,
                   limit: int) -> tuple[int, list[dict]]:
    """(total, page) of documents filtered and sorted in Python (the cancellation requests)."""
    selected = sort_documents([d for d in documents if matches(d, conditions)], sort)
    return len(selected), selected[offset:offset + limit]


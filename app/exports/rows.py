"""The one path every export reads its rows through (back-office lists, portal lists, API exports).

The caller hands over the list's own statement (its permission filters, the user's filters and its sort,
unchanged) and the columns to export. Only those columns are selected, as plain rows: no ORM object per
row. What a row cannot hold is read once per batch of rows, whatever the batch size:

- a many-to-one column shows the related record as the list does (its ``str``): the related ids of a
  batch are named in one query and remembered, so agents or accounts that recur cost nothing more;
- values computed per record (the SLA column, an API record's characteristics) come from one function
  call per batch, given the batch's record ids.

Each column decides once how its values become cells (a formatter, a label lookup, a getter), so the
per-row work is a list comprehension.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable, Iterable, Iterator

from sqlalchemy import ARRAY, Integer, any_, bindparam, inspect, select
from sqlalchemy.orm import Query

from app.core.extensions import db

BATCH = 2000
# Related records' names remembered per column; past this many the memory starts over (it stays bounded
# whatever the export's size, and a million distinct orders are named batch by batch).
LABEL_MEMORY = 20_000


@dataclass
class Column:
    """One exported column. Exactly one source: *expression* (selected in the row query, then
    *convert*ed), *related* (the model named by the foreign key *expression*) or *per_batch* (a function
    of the batch's record ids answering {record id: value})."""

    heading: str
    expression: object = None
    convert: Callable | None = None
    related: type | None = None
    per_batch: Callable[[list], dict] | None = None


def export_rows(statement, model, columns: list[Column]) -> Iterator[list]:
    """Every row of *statement* (a ``select`` or ORM ``Query`` of *model*, filtered and sorted as its list)
    as the cells of *columns*, read BATCH rows at a time.

    The query runs when the first row is asked for, inside the stream: a server-side cursor opened in the
    view would not outlive the transaction the request ends (PostgreSQL closes it)."""
    selected = [model.id, *(column.expression for column in columns if column.expression is not None)]
    if isinstance(statement, Query):
        statement = statement.with_entities(*selected).statement
    else:
        statement = statement.with_only_columns(*selected, maintain_column_froms=True)
    yield from _rows(db.session.execute(statement.execution_options(yield_per=BATCH)), columns)


def _rows(result, columns: list[Column]) -> Iterator[list]:
    cells = []
    position = 1
    related = {}
    for index, column in enumerate(columns):
        if column.per_batch is not None:
            cells.append(("batch", index, column.convert))
            continue
        if column.related is not None:
            related[index] = _Labels(column.related)
            cells.append(("related", position, related[index]))
        else:
            cells.append(("row", position, column.convert))
        position += 1
    for rows in result.partitions(BATCH):
        ids = [row[0] for row in rows]
        computed = {index: columns[index].per_batch(ids) for kind, index, _convert in cells if kind == "batch"}
        for labels_index, labels in related.items():
            labels.learn(row[cells[labels_index][1]] for row in rows)
        for row in rows:
            out = []
            for kind, where, convert in cells:
                if kind == "row":
                    value = row[where]
                    out.append(value if convert is None or value is None else convert(value))
                elif kind == "related":
                    value = row[where]
                    out.append(None if value is None else convert.names.get(value))
                else:
                    value = computed[where].get(row[0])
                    out.append(value if convert is None or value is None else convert(value))
            yield out


def among(column, ids) -> object:
    """*column* is one of a batch's *ids*. PostgreSQL takes them as one array: psycopg parses a statement
    with thousands of placeholders anew for every batch (a second of CPU per 100,000 rows)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("batch_ids", list(ids), type_=ARRAY(Integer)))
    return column.in_(list(ids))


class _Labels:
    """The names of one related model's records, as its ``str``, learned a batch of ids at a time."""

    def __init__(self, model):
        self.model = model
        self.names: dict = {}

    def learn(self, ids: Iterable) -> None:
        missing = {value for value in ids if value is not None} - self.names.keys()
        if not missing:
            return
        if len(self.names) + len(missing) > LABEL_MEMORY:
            self.names = {}
        records = db.session.scalars(select(self.model).where(among(self.model.id, missing))).all()
        self.names.update((record.id, str(record)) for record in records)


def children(model, relationship: str, getter: Callable) -> Callable[[list], dict]:
    """A per-batch column from a one-to-many *relationship* of *model*: the children of a batch's records
    in one query, each record's value *getter* of an object holding just that relationship."""
    prop = inspect(model).relationships[relationship]
    child = prop.mapper.class_
    (parent_key,) = [remote for _local, remote in prop.local_remote_pairs]

    def values(ids: list) -> dict:
        grouped = defaultdict(list)
        for record in db.session.scalars(select(child).where(among(parent_key, ids)).order_by(child.id)):
            grouped[getattr(record, parent_key.key)].append(record)
        return {record_id: getter(SimpleNamespace(**{relationship: grouped.get(record_id, [])}))
                for record_id in ids}

    return values

"""psycopg cursors that describe their result's columns only when someone reads the description.

psycopg builds a ``Column`` object per result column at every ``cursor.description``, and SQLAlchemy asks
for it after every statement; for a statement it has compiled before, SQLAlchemy already holds the result's
columns and only checks that a description exists. The agent pages run wide statements (a case page reads
about 700 columns in 11 statements), so those objects were about a tenth of a page's CPU, thrown away unread.
Here the description is a sequence that knows its length and builds the columns on first access: code that
reads it (SQLAlchemy for a statement it has not seen, textual SQL) gets the same ``Column`` objects.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import event
from sqlalchemy.engine import Engine

try:
    from psycopg import Cursor
    from psycopg._column import Column
    from psycopg.pq import ExecStatus
except ImportError:  # SQLite-only installs run without the PostgreSQL driver
    Cursor = None

# A result with these statuses has a description even without columns ("SELECT;"), as in psycopg's own.
_RETURNS_ROWS = ("TUPLES_OK", "SINGLE_TUPLE", "TUPLES_CHUNK")


class LazyDescription(Sequence):
    """A cursor result's column descriptions, built all at once on first access."""

    __slots__ = ("_cursor", "_count", "_columns")

    def __init__(self, cursor, count: int):
        self._cursor, self._count, self._columns = cursor, count, None

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        return self._built()[index]

    def __iter__(self):
        return iter(self._built())

    def _built(self) -> list:
        if self._columns is None:
            self._columns = [Column(self._cursor, i) for i in range(self._count)]
        return self._columns


if Cursor is not None:
    _ROW_STATUSES = tuple(getattr(ExecStatus, name) for name in _RETURNS_ROWS if hasattr(ExecStatus, name))

    class LazyDescriptionCursor(Cursor):
        """psycopg's client cursor with a description built on demand (same values, same None)."""

        @property
        def description(self):
            result = self.pgresult
            if result and (result.nfields or result.status in _ROW_STATUSES):
                return LazyDescription(self, result.nfields)
            return None


def _use_lazy_descriptions(dbapi_connection, connection_record) -> None:
    # Only psycopg's default cursor: a connection configured with another (ClientCursor) keeps it.
    if Cursor is not None and getattr(dbapi_connection, "cursor_factory", None) is Cursor:
        dbapi_connection.cursor_factory = LazyDescriptionCursor


def describe_columns_on_demand() -> None:
    """Give every new psycopg connection cursors with on-demand descriptions (idempotent)."""
    if not event.contains(Engine, "connect", _use_lazy_descriptions):
        event.listen(Engine, "connect", _use_lazy_descriptions)

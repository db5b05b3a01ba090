"""Keep PostgreSQL's prepared statements from one request to the next.

psycopg prepares a statement once it has run on a connection, and after a few executions PostgreSQL
plans it once (its generic plan) instead of at every execution. At a million cases that matters more
than the reads themselves: the case page's line query takes about 10 ms to plan and 1 ms to run.

psycopg drops every prepared statement of a connection on ROLLBACK, and a request's session ends with
a rollback even when it only read, so no plan ever survived a page. A transaction that wrote nothing
ends the same way with COMMIT: a request that only read and succeeded commits; one that wrote anything
(flushed or not) or failed still rolls back, as before.
"""
from __future__ import annotations

import logging
import re

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.core.extensions import db

log = logging.getLogger(__name__)

WROTE = "orderdesk.transaction_wrote"
# A plain SELECT, or a WITH query whose text names no data-changing command.
_SELECT = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_WITH = re.compile(r"\s*WITH\b", re.IGNORECASE)
_CHANGES = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b", re.IGNORECASE)

#: psycopg prepares a statement at its second execution on a connection (its default waits for the
#: sixth), and keeps up to this many (its default, 100, is fewer than the app's pages use).
PREPARE_THRESHOLD = 1
PREPARED_MAX = 500


def writes(statement: str) -> bool:
    """Whether *statement* may change data (a SELECT ... FOR UPDATE only locks: it counts as a read)."""
    if _SELECT.match(statement):
        return False
    if _WITH.match(statement):
        return bool(_CHANGES.search(statement))
    return True


@event.listens_for(Engine, "connect")
def _allow_more_prepared_statements(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith("psycopg"):
        dbapi_connection.prepare_threshold = PREPARE_THRESHOLD
        dbapi_connection.prepared_max = PREPARED_MAX


@event.listens_for(Engine, "begin")
def _new_transaction(connection):
    connection.info[WROTE] = False


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(connection, cursor, statement, parameters, context, executemany):
    if executemany or writes(statement):
        connection.info[WROTE] = True


def read_only(session) -> bool:
    """The session's open transaction has not changed anything and has nothing waiting to be flushed."""
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return False
    return not session.connection().info.get(WROTE, True)


def keep_prepared_statements(app: Flask) -> None:
    """End read-only requests with COMMIT (registered after Flask-SQLAlchemy, so it runs before its
    session removal, which rolls back whatever is left)."""

    @app.teardown_appcontext
    def _commit_read_only_transaction(error):
        if error is not None or not db.session.registry.has():
            return
        session = db.session()
        try:
            if read_only(session):
                session.commit()
        except SQLAlchemyError:
            log.warning("ending a read-only transaction failed; it is rolled back", exc_info=True)

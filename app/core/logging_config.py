"""Quiet, useful logs: one handler on stderr, plain text, the level from LOG_LEVEL.

At the default INFO level the application's own loggers (``app.*``, ``orderdesk.*``) say what it does,
one line per request among them, while libraries speak only to warn: Flask-AppBuilder registers views at
INFO, the development server would log each request a second time (in colour, even into a file), and
Alembic announces its dialect on every command. ``LOG_LEVEL=DEBUG`` lets everything through.
"""
from __future__ import annotations

import logging

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
OWN_LOGGERS = ("app", "orderdesk", "alembic.runtime.migration")
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# What Alembic says before every command, migrating or not; "Running upgrade ..." lines still show.
ALEMBIC_CHATTER = ("Context impl ", "Will assume ")


class InvalidLogLevel(ValueError):
    pass


def _drop_alembic_chatter(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(ALEMBIC_CHATTER)


def configure_logging(level_name: str) -> None:
    """Idempotent: a process that configured logging itself (gunicorn, pytest) keeps its handlers."""
    name = (level_name or "INFO").strip().upper()
    if name not in LEVELS:
        raise InvalidLogLevel(f"LOG_LEVEL={level_name!r}: use one of {', '.join(LEVELS)}")
    level = getattr(logging, name)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(level if level == logging.DEBUG else max(level, logging.WARNING))
    for own in OWN_LOGGERS:
        logging.getLogger(own).setLevel(level)
    # Every request is logged once, by app.core.request_logging, not again by the development server.
    logging.getLogger("werkzeug").setLevel(max(level, logging.WARNING))
    migration = logging.getLogger("alembic.runtime.migration")
    if _drop_alembic_chatter not in migration.filters:
        migration.addFilter(_drop_alembic_chatter)

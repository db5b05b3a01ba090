"""LOG_LEVEL is checked, and Alembic's per-command chatter is dropped while its migration lines stay."""
from __future__ import annotations

import logging

import pytest

from app.core.logging_config import InvalidLogLevel, configure_logging


def test_an_unknown_log_level_fails_loudly_with_the_choices():
    with pytest.raises(InvalidLogLevel, match="LOG_LEVEL='loud': use one of DEBUG, INFO, WARNING, ERROR"):
        configure_logging("loud")


def test_alembic_says_only_what_it_migrates(caplog):
    configure_logging("info")
    migration = logging.getLogger("alembic.runtime.migration")
    with caplog.at_level(logging.INFO, logger="alembic.runtime.migration"):
        migration.info("Context impl SQLiteImpl.")
        migration.info("Will assume non-transactional DDL.")
        migration.info("Running upgrade %s -> %s, %s", "0002", "0003", "Index location names")
    assert [record.getMessage() for record in caplog.records] == [
        "Running upgrade 0002 -> 0003, Index location names"]


def test_libraries_speak_only_to_warn_at_info_and_everything_at_debug():
    try:
        configure_logging("INFO")
        assert logging.getLogger("app.sla").getEffectiveLevel() == logging.INFO
        assert logging.getLogger("flask_appbuilder.base").getEffectiveLevel() == logging.WARNING
        assert logging.getLogger("werkzeug").getEffectiveLevel() == logging.WARNING
        configure_logging("DEBUG")
        assert logging.getLogger("flask_appbuilder.base").getEffectiveLevel() == logging.DEBUG
    finally:
        configure_logging("INFO")

"""The migrations, not create_all, build the schema: the migrated database must match the models exactly."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.core.extensions import metadata
from app.search.fulltext import is_search_index


def _declared(name, type_, parent_names) -> bool:
    # Migration 0004's full-text tables (SQLite FTS5) and expression indexes (PostgreSQL) have no model.
    return not (name and is_search_index(name))


def test_migrated_schema_matches_models(db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": _declared})
        differences = compare_metadata(context, metadata)
    assert differences == [], f"models and migrations differ; add a migration: {differences}"


def test_human_numbers_have_a_sequence_or_counter(db):
    from app.core.model_base import NUMBERED_MODELS, next_number

    with db.engine.begin() as connection:
        for model in NUMBERED_MODELS.values():
            first, second = next_number(connection, model), next_number(connection, model)
            prefix = model.__number_prefix__
            assert first.startswith(prefix) and len(first) == len(prefix) + 7
            assert int(second[len(prefix):]) == int(first[len(prefix):]) + 1

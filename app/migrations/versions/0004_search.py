"""Full-text search: PostgreSQL GIN expression indexes, SQLite FTS5 tables kept current by triggers.

The texts searched (app/search/fulltext.py holds the same definitions for the queries): case short
descriptions and descriptions, journal text, account names, contact names, order external ids and
descriptions. PostgreSQL keeps an expression index current by itself; SQLite's FTS5 tables are
external-content tables over the record tables, kept current by insert, update and delete triggers.

Revision ID: 0004_search
Revises: 0008
Create Date: 2026-12-04 15:30:00

"""
from alembic import op

# Its own id: another revision numbered 0004 (session generation) landed first.
revision = '0004_search'
down_revision = '0008'
branch_labels = None
depends_on = None

# table -> (text configuration, columns). Keep in step with app/search/fulltext.py SEARCHED_TEXTS.
SEARCHED_TEXTS = {
    "order_case": ("english", ("short_description", "description")),
    "journal_entry": ("english", ("text",)),
    "account": ("simple", ("name",)),
    "contact": ("simple", ("first_name", "last_name")),
    "customer_order": ("simple", ("external_id", "description")),
}
# Identifiers such as EXT-7781-A: PostgreSQL's parser would read "-7781" as a signed number, so their
# punctuation becomes spaces (as SQLite's tokenizer treats it).
IDENTIFIER_TABLES = ("customer_order",)


def _document(table: str, config: str, columns) -> str:
    joined = " || ' ' || ".join(f"coalesce({column}, '')" for column in columns)
    if table in IDENTIFIER_TABLES:
        joined = f"regexp_replace({joined}, '[^[:alnum:]]+', ' ', 'g')"
    return f"to_tsvector('{config}'::regconfig, {joined})"


def _sqlite_triggers(table: str, columns) -> list[str]:
    fts = f"fts_{table}"
    names = ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    remove = f"INSERT INTO {fts} ({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    add = f"INSERT INTO {fts} (rowid, {names}) VALUES (new.id, {new});"
    watched = ", ".join(columns)
    return [
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {watched} ON {table} BEGIN {remove} {add} END",
    ]


def upgrade():
    dialect = op.get_bind().dialect.name
    for table, (config, columns) in SEARCHED_TEXTS.items():
        if dialect == "postgresql":
            op.execute(f"CREATE INDEX fts_{table} ON {table} USING gin ({_document(table, config, columns)})")
        elif dialect == "sqlite":
            tokenizer = "porter unicode61" if config == "english" else "unicode61"
            op.execute(f"CREATE VIRTUAL TABLE fts_{table} USING fts5({', '.join(columns)}, "
                       f"content='{table}', content_rowid='id', tokenize='{tokenizer}')")
            for statement in _sqlite_triggers(table, columns):
                op.execute(statement)
            op.execute(f"INSERT INTO fts_{table} (fts_{table}) VALUES ('rebuild')")


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in SEARCHED_TEXTS:
        if dialect == "postgresql":
            op.execute(f"DROP INDEX IF EXISTS fts_{table}")
        elif dialect == "sqlite":
            for suffix in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS fts_{table}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS fts_{table}")

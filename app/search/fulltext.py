"""Full-text conditions over the searched texts, one definition for both databases.

PostgreSQL matches ``to_tsvector(...) @@ to_tsquery(...)`` with exactly the expression of the GIN index of
migration 0004, so the planner uses it; SQLite asks the FTS5 table the triggers keep current. Both stem
English in case and journal texts (``delivered`` finds ``delivery``) and match names word for word.
"""
from __future__ import annotations

import re

from sqlalchemy import Integer, text
from sqlalchemy.sql.elements import ColumnElement

from app.core.extensions import db

# table -> (text configuration, columns); the same as migration 0004's.
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
# Words beyond this many add little and cost a condition each.
MAX_WORDS = 8
WORD = re.compile(r"\w+", re.UNICODE)


CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
MAX_QUERY = 200


def cleaned(query: str) -> str:
    """What was typed, without control characters (PostgreSQL refuses a NUL in any text), trimmed."""
    return CONTROL.sub(" ", query or "").strip()[:MAX_QUERY]


def words_of(query: str) -> list[str]:
    """The words of a search, lower-cased, without operators: anything typed is safe to search for."""
    return list(dict.fromkeys(WORD.findall((query or "").lower())))[:MAX_WORDS]


def is_search_index(name: str) -> bool:
    """Tables and indexes of migration 0004 that no model declares (FTS5 tables and their shadow tables,
    PostgreSQL expression indexes)."""
    return name.startswith("fts_")


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def matches(model, words: list[str]) -> ColumnElement:
    """A condition on *model*: every word occurs in its searched text."""
    table = model.__tablename__
    config, columns = SEARCHED_TEXTS[table]
    if _dialect() == "postgresql":
        document = " || ' ' || ".join(f"coalesce({table}.{column}, '')" for column in columns)
        if table in IDENTIFIER_TABLES:
            document = f"regexp_replace({document}, '[^[:alnum:]]+', ' ', 'g')"
        return text(f"to_tsvector('{config}'::regconfig, {document}) @@ "
                    f"to_tsquery('{config}'::regconfig, :fts_{table})").bindparams(
            **{f"fts_{table}": " & ".join(words)})
    # Each word quoted: FTS5 reads it as a plain term whatever it spells (AND, NEAR, a column name).
    found = text(f"SELECT rowid AS id FROM fts_{table} WHERE fts_{table} MATCH :fts_{table}").bindparams(
        **{f"fts_{table}": " AND ".join(f'"{word}"' for word in words)}).columns(id=Integer)
    return model.id.in_(found)

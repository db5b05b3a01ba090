"""Full-text conditions over the searched texts, one definition for both databases.

PostgreSQL matches ``to_tsvector(...) @@ to_tsquery(...)`` with exactly the expression of the GIN index of
migration 0004, so the planner uses it; SQLite asks the FTS5 table the triggers keep current. Both stem
English in case and journal texts (``delivered`` finds ``delivery``) and match names word for word.
"""
from __future__ import annotations

import re

from sqlalchemy import Integer, column, select, table, text
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
# Matches from which a word counts as frequent (SQLite: the list's order drives the query, not the matches).
FREQUENT = 5000
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


def matches(model, words: list[str], prefix: bool = False) -> ColumnElement:
    """A condition on *model*: every word occurs in its searched text (with *prefix*, the last word may be
    the start of one: a type-ahead's half-typed word).

    Whatever the list's sort, the condition must not make the database test every record's text in that
    order. PostgreSQL: the planner knows the frequent words (the most common lexemes ANALYZE keeps for the
    GIN index) and walks the sort order for them, meeting matches at once; of any other word it knows
    nothing and would walk the whole table (5 to 15 s at 1,000,000 cases), so a rarer word's few matches
    are gathered through the GIN index first. SQLite: the FTS5 table answers the matching rowids.
    """
    table = model.__tablename__
    config, columns = SEARCHED_TEXTS[table]
    if _dialect() == "postgresql":
        document = " || ' ' || ".join(f"coalesce({table}.{column}, '')" for column in columns)
        if table in IDENTIFIER_TABLES:
            document = f"regexp_replace({document}, '[^[:alnum:]]+', ' ', 'g')"
        condition = (f"to_tsvector('{config}'::regconfig, {document}) @@ "
                     f"to_tsquery('{config}'::regconfig, :fts_{table})")
        # The statistics know whole words only: a prefix's matches are always gathered through the index.
        if prefix or not _all_frequent(table, words):
            condition = f"{table}.id = ANY(ARRAY(SELECT {table}.id FROM {table} WHERE {condition}))"
        return text(condition).bindparams(**{f"fts_{table}": " & ".join(words) + (":*" if prefix else "")})
    return _sqlite_in(model.id, table, words, prefix)


def related_matches(foreign_key, related, words: list[str]) -> ColumnElement:
    """A condition on a many-to-one *foreign_key*: its *related* record's text holds every word."""
    if _dialect() == "postgresql":
        return foreign_key.in_(select(related.id).where(matches(related, words)))
    return _sqlite_in(foreign_key, related.__tablename__, words)


def _match_expression(words: list[str], prefix: bool = False) -> str:
    # Each word quoted: FTS5 reads it as a plain term whatever it spells (AND, NEAR, a column name).
    return " AND ".join(f'"{word}"' for word in words) + ("*" if prefix else "")


def _sqlite_in(column, table: str, words: list[str], prefix: bool = False) -> ColumnElement:
    """*column* among the rowids of *table*'s FTS5 matches. SQLite would otherwise look each match up and
    sort them all for the list's order (2 s for a word in a quarter of a million cases, 6 s through their
    three-quarters of a million lines); for a frequent word the list's own order is walked instead, each
    row tested against the matches (``+ 0``: the column's index must not drive the query)."""
    match = _match_expression(words, prefix)
    found = text(f"SELECT rowid AS id FROM fts_{table} WHERE fts_{table} MATCH :fts_{table}").bindparams(
        **{f"fts_{table}": match}).columns(id=Integer)
    frequent = db.session.execute(text(
        f"SELECT count(*) FROM (SELECT rowid FROM fts_{table} WHERE fts_{table} MATCH :match LIMIT :probe)"),
        {"match": match, "probe": FREQUENT}).scalar() >= FREQUENT
    return (column + 0).in_(found) if frequent else column.in_(found)


def newest_matching(query, model, words: list[str]):
    """*query* of *model* narrowed to the records whose text holds every word, newest first, so that a
    LIMIT stops early however many records match.

    SQLite: the FTS5 table drives, its rowids read newest first (an ``IN`` would gather and sort every
    match: 0.1 s for a word in a quarter of a million cases). PostgreSQL: ``matches`` already keeps the
    planner from walking the table for rare words and lets it walk the primary key for frequent ones.
    """
    if _dialect() == "postgresql":
        return query.where(matches(model, words)).order_by(model.id.desc())
    name = f"fts_{model.__tablename__}"
    index = table(name, column("rowid", Integer))
    return (query.join(index, index.c.rowid == model.id)
            .where(text(f"{name} MATCH :{name}").bindparams(**{name: _match_expression(words)}))
            .order_by(index.c.rowid.desc()))


def _all_frequent(table: str, words: list[str]) -> bool:
    """Whether every word's lexeme is among the most common ones of *table*'s full-text index."""
    config = SEARCHED_TEXTS[table][0]
    return bool(db.session.execute(text(
        "SELECT coalesce(bool_and(lexeme = ANY(coalesce((SELECT most_common_elems::text::text[] FROM pg_stats "
        "WHERE schemaname = current_schema() AND tablename = :index_name LIMIT 1), '{}'))), false) "
        f"FROM unnest(tsvector_to_array(to_tsvector('{config}'::regconfig, :words))) AS lexeme"),
        {"index_name": f"fts_{table}", "words": " ".join(words)}).scalar())

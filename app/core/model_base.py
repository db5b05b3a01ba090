"""What every business record shares: a human number, who/when columns, and a version for locking.

Human numbers (prefix + 7 digits) come from a PostgreSQL sequence per table, which stays unique across
concurrent transactions and across app instances; on SQLite, where writers are serialised anyway, from a
counter row updated in the inserting transaction. Writers that insert many records at once (an API order
and its lines) reserve all their numbers in one statement with ``allocate_numbers``.
"""
from __future__ import annotations

import contextvars
import datetime as dt

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declared_attr, relationship

from app.core.extensions import Model

# The user on whose behalf the current unit of work runs (request user, CLI user, API token user).
acting_user_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("acting_user_id", default=None)


def utcnow() -> dt.datetime:
    """Naive UTC timestamps everywhere: SQLite has no time zones, PostgreSQL columns are 'without time zone'."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class NumberSequence(Model):
    """Counter behind human record numbers on databases without sequences (SQLite)."""

    __tablename__ = "number_sequence"
    name = Column(String(40), primary_key=True)
    last_value = Column(Integer, nullable=False, default=0)


NUMBERED_MODELS: dict[str, type] = {}


def sequence_name(model) -> str:
    return f"{model.__tablename__}_number_seq"


def next_number(connection, model) -> str:
    """Return the next human number for *model*, unique under concurrent inserts."""
    prefix = model.__number_prefix__
    if connection.dialect.name == "postgresql":
        value = connection.execute(text(f"SELECT nextval('{sequence_name(model)}')")).scalar_one()
    else:
        value = connection.execute(
            text("UPDATE number_sequence SET last_value = last_value + 1 WHERE name = :n RETURNING last_value"),
            {"n": model.__tablename__},
        ).scalar()
        if value is None:
            connection.execute(
                text("INSERT INTO number_sequence (name, last_value) VALUES (:n, 1)"), {"n": model.__tablename__}
            )
            value = 1
    return f"{prefix}{value:07d}"


def allocate_numbers(connection, counts: dict[type, int]) -> dict[type, list[str]]:
    """Reserve *counts[model]* human numbers per model in one statement, ascending, unique under
    concurrent inserts; for writers that insert many records at once instead of one by one."""
    counts = {model: count for model, count in counts.items() if count > 0}
    if not counts:
        return {}
    models = list(counts)
    if connection.dialect.name == "postgresql":
        columns = ", ".join(
            f"ARRAY(SELECT nextval('{sequence_name(model)}') FROM generate_series(1, :n{index}))"
            for index, model in enumerate(models)
        )
        row = connection.execute(text(f"SELECT {columns}"),
                                 {f"n{index}": counts[model] for index, model in enumerate(models)}).one()
        values = {model: sorted(row[index]) for index, model in enumerate(models)}
    else:
        values = _allocate_from_counters(connection, models, counts)
    return {model: [f"{model.__number_prefix__}{value:07d}" for value in values[model]] for model in models}


def _allocate_from_counters(connection, models: list[type], counts: dict[type, int]) -> dict[type, list[int]]:
    names = {model.__tablename__: model for model in models}
    cases = " ".join(f"WHEN :name{index} THEN :n{index}" for index in range(len(models)))
    parameters = {f"name{index}": model.__tablename__ for index, model in enumerate(models)}
    parameters.update({f"n{index}": counts[model] for index, model in enumerate(models)})
    listed = ", ".join(f":name{index}" for index in range(len(models)))
    rows = connection.execute(
        text(f"UPDATE number_sequence SET last_value = last_value + CASE name {cases} END "
             f"WHERE name IN ({listed}) RETURNING name, last_value"),
        parameters,
    ).all()
    last = {names[name]: value for name, value in rows}
    for model in models:
        if model not in last:  # the first record of its kind: start the counter
            connection.execute(text("INSERT INTO number_sequence (name, last_value) VALUES (:n, :v)"),
                               {"n": model.__tablename__, "v": counts[model]})
            last[model] = counts[model]
    return {model: list(range(last[model] - counts[model] + 1, last[model] + 1)) for model in models}


class Numbered:
    """Mixin: a human number such as ORDCS0000012, assigned on insert."""

    __number_prefix__: str = ""

    @declared_attr
    def number(cls):
        return Column(String(20), unique=True, nullable=False, index=True)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("__number_prefix__"):
            NUMBERED_MODELS[cls.__name__] = cls
            event.listen(cls, "before_insert", _assign_number)

    def __str__(self):
        return self.number or f"new {type(self).__name__}"


def _assign_number(mapper, connection, target):
    if not target.number:
        target.number = next_number(connection, type(target))


class Audited:
    """Mixin: created/changed by and on, and a version counter used for optimistic locking.

    SQLAlchemy checks the version in every UPDATE's WHERE clause, so a stale write raises
    StaleDataError instead of silently overwriting; forms and the API also carry the version so the
    user hears about a conflict before anything is written.
    """

    @declared_attr
    def created_on(cls):
        return Column(DateTime, nullable=False, default=utcnow)

    @declared_attr
    def changed_on(cls):
        return Column(DateTime, nullable=False, default=utcnow, index=True)

    @declared_attr
    def created_by_id(cls):
        return Column(Integer, ForeignKey("ab_user.id"), nullable=True)

    @declared_attr
    def changed_by_id(cls):
        return Column(Integer, ForeignKey("ab_user.id"), nullable=True)

    @declared_attr
    def created_by(cls):
        return relationship("User", foreign_keys=[cls.created_by_id], lazy="select")

    @declared_attr
    def changed_by(cls):
        return relationship("User", foreign_keys=[cls.changed_by_id], lazy="select")

    @declared_attr
    def version(cls):
        return Column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record):
    """SQLite ignores foreign keys unless asked; enforce them so both databases refuse the same writes.

    Its default page cache is 2 MB per connection: at a million cases every list read goes back to the
    file for the index pages it just used. A 64 MB cache and memory-mapped reads keep them at hand.
    """
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.close()


@event.listens_for(Session, "before_flush")
def _stamp_audit_columns(session, flush_context, instances):
    user_id = acting_user_id.get()
    now = utcnow()
    for obj in session.new:
        if isinstance(obj, Audited):
            obj.created_by_id = obj.created_by_id or user_id
            obj.changed_by_id = obj.changed_by_id or user_id
            obj.created_on = obj.created_on or now
            obj.changed_on = now
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            obj.changed_by_id = user_id
            obj.changed_on = now

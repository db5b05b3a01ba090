"""The few SQL spellings that differ between PostgreSQL and SQLite, for set-based data generation.

Rows are generated inside the database (``INSERT … SELECT`` over ``generate_series`` on PostgreSQL, a
recursive CTE on SQLite) so a million rows cost no Python per row.
"""
from __future__ import annotations

BASE_TIME = "2024-06-01 00:00:00"
BASE_DATE = "2024-06-01"


class Dialect:
    def __init__(self, name: str):
        self.name = name
        self.pg = name == "postgresql"

    def insert_series(self, table: str, columns: dict[str, str], first: int, last: int) -> str:
        """INSERT one row per ``i`` in first..last; *columns* maps column → SQL expression of ``i``."""
        names = ", ".join(columns)
        exprs = ", ".join(f"{expr} AS {name}" for name, expr in columns.items())
        if self.pg:
            return f"INSERT INTO {table} ({names}) SELECT {exprs} FROM generate_series({first}, {last}) AS s(i)"
        return (f"WITH RECURSIVE s(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM s WHERE i < {last}) "
                f"INSERT INTO {table} ({names}) SELECT {exprs} FROM s")

    def number(self, prefix: str, expr: str) -> str:
        """A human number: prefix + 7 digits, as ``app.model_base.next_number`` writes it."""
        if self.pg:
            return f"('{prefix}' || lpad(CAST(({expr}) AS text), 7, '0'))"
        return f"('{prefix}' || printf('%07d', {expr}))"

    def uuid_like(self, expr: str) -> str:
        if self.pg:
            return f"('00000000-0000-4000-8000-' || lpad(CAST(({expr}) AS text), 12, '0'))"
        return f"('00000000-0000-4000-8000-' || printf('%012d', {expr}))"

    def timestamp(self, minutes_expr: str) -> str:
        if self.pg:
            return f"(TIMESTAMP '{BASE_TIME}' + ({minutes_expr}) * INTERVAL '1 minute')"
        # SQLAlchemy's SQLite DateTime format, so ORM reads and string comparisons agree.
        return f"(datetime('{BASE_TIME}', '+' || ({minutes_expr}) || ' minutes') || '.000000')"

    def date(self, days_expr: str) -> str:
        if self.pg:
            return f"(DATE '{BASE_DATE}' + CAST(({days_expr}) AS integer))"
        return f"date('{BASE_DATE}', '+' || ({days_expr}) || ' days')"

    @staticmethod
    def pick(expr: str, values: list) -> str:
        """CASE (expr) WHEN 0 THEN values[0] … — values are SQL literals (quote strings yourself)."""
        whens = " ".join(f"WHEN {index} THEN {value}" for index, value in enumerate(values))
        return f"(CASE ({expr}) {whens} END)"


def q(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"

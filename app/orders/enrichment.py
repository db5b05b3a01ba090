"""Reference enrichment: matching the references an API order carries to our records.

An order sent by an external system names accounts, contacts, offerings, specifications, sites and
inventory items by our human number or by name (or e-mail). They are looked up with one query per kind
of record, whatever the number of items, so creating an order costs the same few statements for 2 items
as for 200. A reference that matches nothing becomes an enrichment issue on the order (raised by the
API layer, fixed later with ``order_workflows.resolve_enrichment_issue``).
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import or_, select

from app.core.extensions import db

# References per query: well below the bind-parameter limits of SQLite and PostgreSQL, with one
# parameter per reference and per matched column.
REFERENCES_PER_QUERY = 500


def find_by_reference(model, references: Iterable[Any], *extra_columns, options=()) -> dict[str, Any]:
    """{reference: record} for the records of *model* whose human number, or else one of *extra_columns*
    (a name, an e-mail), equals a reference; references that match nothing are absent.

    Where several records match one reference, a number match wins over a name match, and then the
    oldest record. *options* are loader options (e.g. the related records the caller will read).
    """
    wanted = sorted({str(reference) for reference in references if reference not in (None, "")})
    rows = []
    for start in range(0, len(wanted), REFERENCES_PER_QUERY):
        part = wanted[start:start + REFERENCES_PER_QUERY]
        conditions = [model.number.in_(part)] + [column.in_(part) for column in extra_columns]
        query = select(model).where(or_(*conditions)).options(*options).order_by(model.id)
        rows.extend(db.session.scalars(query).unique())
    matched, found = set(wanted), {}
    for column in (model.number, *extra_columns):
        for row in rows:
            value = getattr(row, column.key)
            if value in matched and value not in found:
                found[value] = row
    return found

"""psycopg cursors describe their columns on demand: the same description for whoever reads it, and none
built for statements SQLAlchemy has compiled before (it already knows their columns)."""
import psycopg
import pytest
from psycopg._column import Column
from sqlalchemy import select, text

from app.core.cursor_description import LazyDescriptionCursor
from app.models import OrderCase
from tests import factories
from tests.conftest import IS_POSTGRES

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="psycopg cursors need PostgreSQL (TEST_DATABASE_URL)")

ROWS = "SELECT 1 AS one, 'two'::text AS two, now() AS three"


@pytest.fixture
def built_columns(monkeypatch):
    """How many psycopg Column objects were built."""
    built = []
    original = Column.__init__

    def counting(self, cursor, index):
        built.append(index)
        original(self, cursor, index)

    monkeypatch.setattr(Column, "__init__", counting)
    return built


def test_the_app_connections_use_the_on_demand_cursor(app, db):
    with app.app_context(), db.engine.connect() as connection:
        assert type(connection.connection.dbapi_connection.cursor()) is LazyDescriptionCursor


def test_the_description_reads_as_psycopg_s_own(app, db):
    with app.app_context(), db.engine.connect() as connection:
        dbapi_connection = connection.connection.dbapi_connection
        lazy = dbapi_connection.cursor()
        lazy.execute(ROWS)
        plain = psycopg.Cursor(dbapi_connection)
        plain.execute(ROWS)
        assert len(lazy.description) == 3
        assert [tuple(column) for column in lazy.description] == [tuple(column) for column in plain.description]
        assert lazy.description[-1].name == "three" and [c.name for c in lazy.description[:2]] == ["one", "two"]
        lazy.execute("SET LOCAL statement_timeout = 0")
        assert lazy.description is None


def test_textual_sql_still_names_its_columns(app, db):
    with app.app_context():
        result = db.session.execute(text(ROWS))
        assert list(result.keys()) == ["one", "two", "three"]
        assert result.one().two == "two"


def test_a_statement_run_before_builds_no_column_descriptions(app, db, built_columns):
    with app.app_context():
        case = factories.make_case(factories.make_account())
        db.session.commit()
        statement = select(OrderCase).where(OrderCase.id == case.id)
        db.session.execute(statement).scalar_one()
        db.session.expire_all()
        built_columns.clear()
        found = db.session.execute(select(OrderCase).where(OrderCase.id == case.id)).scalar_one()
        assert (found.id, found.number) == (case.id, case.number)
        assert built_columns == []

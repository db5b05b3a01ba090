"""Read-only requests end with COMMIT, so PostgreSQL keeps the plans psycopg prepared; anything that
wrote, or failed, still rolls back."""
import pytest
from sqlalchemy import event, select, text, update

from app.models import OrderCase
from app.core.prepared_statements import writes
from tests import factories
from tests.conftest import IS_POSTGRES


@pytest.mark.parametrize("statement, changes", [
    ("SELECT order_case.id FROM order_case", False),
    ("  select id, updated_at, deleted FROM t FOR UPDATE", False),
    ("WITH worst AS MATERIALIZED (SELECT 1 AS id) SELECT id FROM worst", False),
    ("WITH moved AS (UPDATE t SET x = 1 RETURNING id) SELECT id FROM moved", True),
    ("INSERT INTO audit_event (id) SELECT id FROM order_case", True),
    ("UPDATE order_case SET version = 2", True),
    ("DELETE FROM order_case", True),
    ("TRUNCATE order_case", True),
    ("SAVEPOINT sa_1", True),
])
def test_statements_that_may_change_data_are_told_apart(statement, changes):
    assert writes(statement) is changes


def committed_case(db) -> OrderCase:
    case = factories.make_case(factories.make_account())
    case.short_description = "Before"
    db.session.commit()
    return case


@pytest.fixture
def transaction_ends(db):
    ends = []
    with db.engine.connect():  # the engine exists before listening
        pass
    listeners = {"commit": lambda conn: ends.append("commit"), "rollback": lambda conn: ends.append("rollback")}
    for name, listener in listeners.items():
        event.listen(db.engine, name, listener)
    yield ends
    for name, listener in listeners.items():
        event.remove(db.engine, name, listener)


def test_a_context_that_only_read_commits(app, db, transaction_ends):
    with app.app_context():
        db.session.execute(select(OrderCase.id).limit(1)).all()
    assert transaction_ends == ["commit"]


def test_a_context_that_flushed_a_change_rolls_it_back(app, db, transaction_ends):
    case = committed_case(db)
    transaction_ends.clear()
    with app.app_context():
        db.session.get(OrderCase, case.id).short_description = "Never committed"
        db.session.flush()
    assert transaction_ends == ["rollback"]
    db.session.expire_all()
    assert db.session.get(OrderCase, case.id).short_description == "Before"


def test_a_context_with_unflushed_changes_or_a_bulk_update_rolls_back(app, db, transaction_ends):
    case = committed_case(db)
    transaction_ends.clear()
    with app.app_context():
        db.session.get(OrderCase, case.id).short_description = "Pending"
    with app.app_context():
        db.session.execute(update(OrderCase).where(OrderCase.id == case.id).values(short_description="Bulk"))
    assert transaction_ends == ["rollback", "rollback"]
    db.session.expire_all()
    assert db.session.get(OrderCase, case.id).short_description == "Before"


def test_a_failed_request_rolls_back(app, db, transaction_ends):
    with pytest.raises(RuntimeError), app.app_context():
        db.session.execute(select(OrderCase.id).limit(1)).all()
        raise RuntimeError("the view failed")
    assert transaction_ends == ["rollback"]


@pytest.mark.skipif(not IS_POSTGRES, reason="prepared statements are PostgreSQL's")
def test_pages_leave_their_prepared_statements_on_the_connection(app, db, client_for):
    agent = client_for("agent")
    for _ in range(3):
        assert agent.get("/ordercaseview/list/").status_code == 200
    with app.app_context():  # the pool hands back the connection the last page used (LIFO)
        prepared = db.session.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
    assert any("FROM order_case" in statement for statement in prepared)

"""SLA upkeep scales with the case, not with its lines: the workflows' SLA sync writes changed task SLAs
with one executemany UPDATE and new ones with one executemany INSERT, and the lists' SLA column picks the
worst SLA per case in the database."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import event

from app.sla import clocks as sla
from app import workflows as wf
from app.core.choices import RequestType, SlaStage
from app.core.extensions import db
from app.models import OrderCase, TaskSla
from tests import factories

T0 = dt.datetime(2026, 3, 2, 8, 0)


@contextmanager
def counted():
    """Every statement sent to the database inside the block: [(sql, executemany)]."""
    statements: list[tuple[str, bool]] = []

    def record(_conn, _cursor, statement, _parameters, _context, executemany):
        statements.append((statement, executemany))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def task_sla_writes(statements) -> list[str]:
    return [sql for sql, _ in statements if sql.lstrip().upper().startswith(("UPDATE TASK_SLA", "INSERT INTO TASK_SLA"))]


def agent(users) -> User:
    return db.session.get(User, users["agent"].id)


def submitted_case(users, lines: int) -> tuple[int, list[int]]:
    sla.seed_default_sla_definitions()
    account = factories.make_account()
    order = factories.make_order(account, lines=lines)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    for line in case.lines:
        line.request_type, line.requested_quantity = RequestType.QUANTITY, 7
    db.session.commit()
    case_id, line_ids = case.id, sorted(line.id for line in case.lines)
    wf.submit_case(case_id, agent(users))
    return case_id, line_ids


def assign_and_accept(users, lines: int) -> tuple[list, list, int]:
    case_id, line_ids = submitted_case(users, lines)
    with counted() as assign:
        wf.assign_case_to_me(case_id, agent(users))
    with counted() as accept:
        wf.accept_line(line_ids[0], agent(users))
    db.session.expire_all()
    return assign, accept, case_id


def test_assign_to_me_and_accept_cost_the_same_on_10_and_200_lines(users):
    small_assign, small_accept, small_case = assign_and_accept(users, 10)
    large_assign, large_accept, large_case = assign_and_accept(users, 200)

    assert abs(len(large_assign) - len(small_assign)) <= 2, (len(small_assign), len(large_assign))
    assert abs(len(large_accept) - len(small_accept)) <= 2, (len(small_accept), len(large_accept))
    assert len(large_assign) < 40 and len(large_accept) < 40, (len(large_assign), len(large_accept))
    # The task SLA writes do not grow with the lines: the clocks a bulk action gave the same figures are
    # one UPDATE … WHERE id IN, not a row each; at most one INSERT.
    for small, large in ((small_assign, large_assign), (small_accept, large_accept)):
        writes = task_sla_writes(large)
        assert len(writes) == len(task_sla_writes(small)) <= 4, writes
        assert sum(w.lstrip().upper().startswith("INSERT") for w in writes) <= 1, writes
    assert any(" IN (" in w for w in task_sla_writes(large_assign)), task_sla_writes(large_assign)

    # The work was done: every line's response clock stopped at Assign to me, the accepted line's
    # resolution clock stopped too.
    for case_id, lines in ((small_case, 10), (large_case, 200)):
        clocks = db.session.query(TaskSla).filter(TaskSla.case_id == case_id).all()
        assert len(clocks) == 2 + 2 * lines
        assert {t.stage for t in clocks if t.definition.kind == "response"} == {SlaStage.ACHIEVED}
        accepted = min(line.id for line in db.session.get(OrderCase, case_id).lines)
        resolution = next(t for t in clocks if t.case_line_id == accepted and t.definition.kind == "resolution")
        assert resolution.stage == SlaStage.ACHIEVED and resolution.stopped_at is not None


def test_submit_inserts_every_task_sla_of_a_large_case_at_once(users):
    sla.seed_default_sla_definitions()
    account = factories.make_account()
    order = factories.make_order(account, lines=120)
    case = factories.make_case(account, order=order, order_lines=order.lines)
    with counted() as statements:
        wf.submit_case(case.id, agent(users))
    inserts = [sql for sql in task_sla_writes(statements) if sql.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1, len(inserts)
    assert db.session.query(TaskSla).filter(TaskSla.case_id == case.id).count() == 2 + 2 * 120


def test_a_sync_with_nothing_changed_writes_nothing(users):
    case_id, _ = submitted_case(users, 5)
    case = db.session.get(OrderCase, case_id)
    sla.sync_case_slas(case, T0)
    db.session.commit()
    before = {t.id: t.computed_at for t in db.session.query(TaskSla).filter(TaskSla.case_id == case_id)}
    with counted() as statements:
        sla.sync_case_slas(db.session.get(OrderCase, case_id), T0)
        db.session.commit()
    assert task_sla_writes(statements) == []
    db.session.expire_all()
    assert {t.id: t.computed_at for t in db.session.query(TaskSla).filter(TaskSla.case_id == case_id)} == before


def severity(task_sla: TaskSla) -> tuple:
    stage = "at risk" if task_sla.at_risk else task_sla.stage
    order = {SlaStage.BREACHED: 0, "at risk": 1, SlaStage.IN_PROGRESS: 2, SlaStage.PAUSED: 3, SlaStage.ACHIEVED: 4}
    return order.get(stage, 5), -(task_sla.elapsed_percent or 0.0), task_sla.planned_due_at, task_sla.id


def python_worst(case_ids, lines_only=False) -> dict[int, tuple]:
    """The straightforward reading of "worst": every task SLA in Python, the smallest severity per case."""
    worst: dict[int, TaskSla] = {}
    for task_sla in db.session.query(TaskSla).filter(TaskSla.case_id.in_(case_ids)):
        if lines_only and task_sla.case_line_id is None:
            continue
        current = worst.get(task_sla.case_id)
        if current is None or severity(task_sla) < severity(current):
            worst[task_sla.case_id] = task_sla
    return {case_id: (t.id, t.stage, t.at_risk, t.elapsed_percent, t.planned_due_at, t.case_line_id)
            for case_id, t in worst.items()}


def as_tuples(statuses) -> dict[int, tuple]:
    return {case_id: (s.task_sla_id, s.stage, s.at_risk, s.elapsed_percent, s.planned_due_at, s.case_line_id)
            for case_id, s in statuses.items()}


@pytest.mark.parametrize("worst", ["breached", "at risk", "in progress", "paused", "achieved"])
def test_worst_slas_matches_a_python_scan_of_every_task_sla(users, worst):
    case_id, line_ids = submitted_case(users, 60)
    other_id, _ = submitted_case(users, 3)
    clocks = db.session.query(TaskSla).filter(TaskSla.case_id == case_id).order_by(TaskSla.id).all()
    # A spread of stages, percentages and due times, from milder than *worst* up to it, on the lines.
    milder = {"breached": [SlaStage.PAUSED, SlaStage.ACHIEVED, SlaStage.IN_PROGRESS],
              "at risk": [SlaStage.PAUSED, SlaStage.ACHIEVED, SlaStage.IN_PROGRESS],
              "in progress": [SlaStage.PAUSED, SlaStage.ACHIEVED], "paused": [SlaStage.ACHIEVED],
              "achieved": [SlaStage.ACHIEVED]}[worst]
    for index, task_sla in enumerate(clocks):
        task_sla.stage = milder[index % len(milder)]
        task_sla.at_risk = False
        task_sla.elapsed_percent = float((index * 37) % 90)
        task_sla.planned_due_at = T0 + dt.timedelta(hours=(index * 11) % 50)
    line_clocks = [t for t in clocks if t.case_line_id is not None]
    worst_as = (SlaStage.IN_PROGRESS, True) if worst == "at risk" else (worst, False)
    for task_sla in line_clocks[5:40:7]:
        task_sla.stage, task_sla.at_risk = worst_as
    # Two equally bad clocks with the same percentage: the earlier due time is the worse.
    tied = line_clocks[12], line_clocks[19]
    for task_sla, hours in zip(tied, (30, 6)):
        task_sla.elapsed_percent, task_sla.planned_due_at = 95.0, T0 + dt.timedelta(hours=hours)
        task_sla.stage, task_sla.at_risk = worst_as
    db.session.commit()

    for lines_only in (False, True):
        expected = python_worst([case_id, other_id], lines_only)
        assert as_tuples(sla.worst_slas([case_id, other_id, 999999], lines_only)) == expected
        assert expected[case_id][0] == tied[1].id
    status = sla.worst_sla(case_id)
    assert status.label == worst and status.case_line_id == tied[1].case_line_id


def test_worst_slas_reads_one_row_per_case(users):
    case_id, _ = submitted_case(users, 40)
    other_id, _ = submitted_case(users, 2)
    with counted() as statements:
        statuses = sla.worst_slas([case_id, other_id])
    assert len(statements) == 1 and set(statuses) == {case_id, other_id}
    assert sla.worst_slas([]) == {}
    result = db.session.execute(sla.worst_sla_query(), {"case_ids": [case_id, other_id]}).all()
    assert len(result) == 2

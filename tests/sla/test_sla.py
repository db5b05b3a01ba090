"""SLA clocks: schedules (24×7, business hours across nights, weekends and DST), pauses, stops,
recomputation from the recorded state history, task SLAs and the roll-up of lines to their case."""
from __future__ import annotations

import datetime as dt

import pytest

from app.sla import clocks as sla
from app.sla import schedules
from app.core.choices import CaseState, LineState, SlaKind, SlaSchedule, SlaStage, SlaTarget
from app.core.extensions import db
from app.models import AuditEvent, OrderCase, SlaDefinition, TaskSla
from tests import factories

H = 3600
T0 = dt.datetime(2026, 3, 2, 8, 0)  # a Monday, 08:00 UTC


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


# --------------------------------------------------------------------------- schedules


def test_always_schedule_counts_every_second():
    always = schedules.AlwaysSchedule()
    assert always.working_seconds(T0, T0 + hours(30)) == 30 * H
    assert always.working_seconds(T0, T0 - hours(1)) == 0
    assert always.add_working_seconds(T0, 4 * H) == T0 + hours(4)


def test_business_hours_skip_nights_and_weekends_in_the_zone():
    # New York, 09:00–17:00 Mon–Fri; in March 2026 before the 8th New York is UTC−5.
    schedule = schedules.BusinessHoursSchedule("09:00", "17:00", [1, 2, 3, 4, 5], "America/New_York")
    friday_4pm = dt.datetime(2026, 3, 6, 21, 0)  # Fri 16:00 local
    monday_noon = dt.datetime(2026, 3, 9, 16, 0)  # Mon 12:00 local (UTC−4 after the 8 March change)
    assert schedule.working_seconds(friday_4pm, monday_noon) == 4 * H
    assert schedule.add_working_seconds(friday_4pm, 4 * H) == monday_noon
    # Saturday contributes nothing; a night contributes nothing.
    assert schedule.working_seconds(dt.datetime(2026, 3, 7, 0, 0), dt.datetime(2026, 3, 8, 23, 0)) == 0
    assert schedule.working_seconds(dt.datetime(2026, 3, 4, 22, 0), dt.datetime(2026, 3, 5, 14, 0)) == 0
    # Starting before opening counts from opening time.
    assert schedule.add_working_seconds(dt.datetime(2026, 3, 4, 5, 0), H) == dt.datetime(2026, 3, 4, 15, 0)


def test_business_hours_across_the_spring_dst_change_in_berlin():
    berlin = schedules.BusinessHoursSchedule("09:00", "17:00", [1, 2, 3, 4, 5], "Europe/Berlin")
    # Fri 27 March 16:00 CET (15:00 UTC); clocks go forward on Sunday 29 March.
    friday_4pm = dt.datetime(2026, 3, 27, 15, 0)
    # Monday 30 March opens at 09:00 CEST = 07:00 UTC, not 08:00 UTC as the Monday before.
    assert berlin.add_working_seconds(friday_4pm, H) == dt.datetime(2026, 3, 27, 16, 0)
    assert berlin.add_working_seconds(friday_4pm, H + 1) == dt.datetime(2026, 3, 30, 7, 0, 1)
    assert berlin.add_working_seconds(friday_4pm, 4 * H) == dt.datetime(2026, 3, 30, 10, 0)
    assert berlin.working_seconds(friday_4pm, dt.datetime(2026, 3, 30, 10, 0)) == 4 * H
    # A whole DST-change week still has five full 8-hour days.
    assert berlin.working_seconds(dt.datetime(2026, 3, 23), dt.datetime(2026, 4, 6)) == 10 * 8 * H


def test_business_hours_across_the_autumn_dst_change_in_berlin():
    berlin = schedules.BusinessHoursSchedule("09:00", "17:00", [1, 2, 3, 4, 5], "Europe/Berlin")
    friday_3pm = dt.datetime(2026, 10, 23, 13, 0)  # 15:00 CEST
    monday_10am = dt.datetime(2026, 10, 26, 9, 0)  # 10:00 CET, after the 25 October change
    assert berlin.working_seconds(friday_3pm, monday_10am) == 3 * H
    assert berlin.add_working_seconds(friday_3pm, 3 * H) == monday_10am


def test_a_round_the_clock_business_day_is_23_hours_on_the_spring_change_day():
    every_day = schedules.BusinessHoursSchedule("00:00", "24:00", range(1, 8), "Europe/Berlin")
    change_day = every_day.working_seconds(dt.datetime(2026, 3, 28, 23, 0), dt.datetime(2026, 3, 29, 22, 0))
    assert change_day == 23 * H
    assert every_day.working_seconds(dt.datetime(2026, 10, 24, 22, 0), dt.datetime(2026, 10, 25, 23, 0)) == 25 * H


@pytest.mark.parametrize("args", [
    ("17:00", "09:00", [1], "UTC"),
    ("09:00", "17:00", [], "UTC"),
    ("09:00", "17:00", [8], "UTC"),
    ("09:00", "17:00", [1], "Mars/Olympus"),
    ("9am", "17:00", [1], "UTC"),
])
def test_a_broken_schedule_is_refused_with_a_clear_error(args):
    with pytest.raises(ValueError):
        schedules.BusinessHoursSchedule(*args)


# --------------------------------------------------------------------------- the clock (pure)


def rules(kind=SlaKind.RESPONSE, hours_target=4, applies_to=SlaTarget.CASE, pause=("Awaiting Info",), at_risk=75):
    return sla.SlaRules(kind, applies_to, int(hours_target * H), frozenset(pause), at_risk)


def changes(*steps):
    """steps: (hours after T0, old, new)."""
    return [sla.StateChange(T0 + hours(h), old, new) for h, old, new in steps]


def test_two_hours_awaiting_info_make_a_four_hour_clock_breach_two_hours_later():
    always = schedules.AlwaysSchedule()
    plain = changes((0, "Draft", "New"))
    paused = changes((0, "Draft", "New"), (1, "New", "Awaiting Info"), (3, "Awaiting Info", "New"))
    late = T0 + hours(10)
    without_pause = sla.compute_sla(rules(), always, plain, T0, late, "New")
    with_pause = sla.compute_sla(rules(), always, paused, T0, late, "New")
    assert without_pause.breached_at == T0 + hours(4)
    assert with_pause.breached_at == T0 + hours(6)
    assert with_pause.paused_seconds == 2 * H
    assert with_pause.stage == without_pause.stage == SlaStage.BREACHED


def test_while_paused_the_stage_is_paused_and_the_due_time_moves_out():
    history = changes((0, "Draft", "New"), (1, "New", "Work in Progress"), (2, "Work in Progress", "Awaiting Info"))
    clock = rules(SlaKind.RESOLUTION, hours_target=4)
    at_3h = sla.compute_sla(clock, schedules.AlwaysSchedule(), history, T0, T0 + hours(3), "Awaiting Info")
    at_5h = sla.compute_sla(clock, schedules.AlwaysSchedule(), history, T0, T0 + hours(5), "Awaiting Info")
    assert at_3h.stage == at_5h.stage == SlaStage.PAUSED
    assert at_3h.elapsed_percent == at_5h.elapsed_percent == 50.0
    assert at_3h.planned_due_at == T0 + hours(5)
    assert at_5h.planned_due_at == T0 + hours(7)
    assert at_5h.paused_seconds == 3 * H


def test_response_stops_at_the_first_work_in_progress():
    history = changes((0, "Draft", "New"), (3, "New", "Work in Progress"),
                      (4, "Work in Progress", "Awaiting Info"), (9, "Awaiting Info", "Work in Progress"))
    result = sla.compute_sla(rules(), schedules.AlwaysSchedule(), history, T0, T0 + hours(50), "Work in Progress")
    assert result.stage == SlaStage.ACHIEVED
    assert result.stopped_at == T0 + hours(3)
    assert result.elapsed_percent == 75.0
    assert result.planned_due_at == T0 + hours(4)
    assert result.breached_at is None and not result.at_risk


def test_meeting_the_target_at_the_very_instant_the_clock_stops_is_achieved():
    history = changes((0, "Draft", "New"), (4, "New", "Work in Progress"))
    result = sla.compute_sla(rules(), schedules.AlwaysSchedule(), history, T0, T0 + hours(5), "Work in Progress")
    assert result.stage == SlaStage.ACHIEVED and result.breached_at is None


def test_resolution_stops_at_resolved_and_resumes_when_the_customer_rejects():
    clock = rules(SlaKind.RESOLUTION, hours_target=10)
    resolved = changes((0, "Draft", "New"), (1, "New", "Work in Progress"), (6, "Work in Progress", "Resolved"))
    stopped = sla.compute_sla(clock, schedules.AlwaysSchedule(), resolved, T0, T0 + hours(7), "Resolved")
    much_later = sla.compute_sla(clock, schedules.AlwaysSchedule(), resolved, T0, T0 + hours(700), "Resolved")
    assert stopped == much_later
    assert stopped.stage == SlaStage.ACHIEVED and stopped.stopped_at == T0 + hours(6)
    assert stopped.elapsed_percent == 60.0

    reopened = resolved + changes((20, "Resolved", "Work in Progress"))
    running = sla.compute_sla(clock, schedules.AlwaysSchedule(), reopened, T0, T0 + hours(22), "Work in Progress")
    assert running.stage == SlaStage.IN_PROGRESS and running.stopped_at is None
    assert running.paused_seconds == 14 * H
    assert running.elapsed_percent == 80.0
    assert running.planned_due_at == T0 + hours(24)


def test_line_resolution_stops_at_any_terminal_state():
    clock = rules(SlaKind.RESOLUTION, hours_target=2, applies_to=SlaTarget.CASE_LINE)
    for outcome in LineState.TERMINAL:
        history = changes((0, "Draft", "New"), (3, "New", outcome))
        result = sla.compute_sla(clock, schedules.AlwaysSchedule(), history, T0, T0 + hours(9), outcome)
        assert result.stage == SlaStage.BREACHED
        assert result.stopped_at == T0 + hours(3) and result.breached_at == T0 + hours(2)


def test_at_risk_from_the_definitions_percentage():
    history = changes((0, "Draft", "New"))
    assert not sla.compute_sla(rules(at_risk=75), schedules.AlwaysSchedule(), history, T0, T0 + hours(2.9), "New").at_risk
    result = sla.compute_sla(rules(at_risk=75), schedules.AlwaysSchedule(), history, T0, T0 + hours(3), "New")
    assert result.at_risk and result.stage == SlaStage.IN_PROGRESS and result.elapsed_percent == 75.0
    breached = sla.compute_sla(rules(at_risk=75), schedules.AlwaysSchedule(), history, T0, T0 + hours(5), "New")
    assert not breached.at_risk and breached.stage == SlaStage.BREACHED


def test_business_hours_clock_stands_still_over_the_weekend():
    berlin = schedules.BusinessHoursSchedule("09:00", "17:00", [1, 2, 3, 4, 5], "Europe/Berlin")
    friday_4pm = dt.datetime(2026, 3, 27, 15, 0)
    history = [sla.StateChange(friday_4pm, "Draft", "New")]
    saturday = sla.compute_sla(rules(), berlin, history, friday_4pm, dt.datetime(2026, 3, 28, 12, 0), "New")
    assert saturday.elapsed_percent == 25.0 and saturday.stage == SlaStage.IN_PROGRESS
    assert saturday.planned_due_at == dt.datetime(2026, 3, 30, 10, 0)
    monday = sla.compute_sla(rules(), berlin, history, friday_4pm, dt.datetime(2026, 3, 30, 11, 0), "New")
    assert monday.stage == SlaStage.BREACHED and monday.breached_at == dt.datetime(2026, 3, 30, 10, 0)


# --------------------------------------------------------------------------- task SLAs in the database


def record_history(record, *steps, case_id=None):
    """Insert state audit events (hours after T0, old, new) and leave the record in the last state."""
    for h, old, new in steps:
        db.session.add(AuditEvent(
            record_type=record.__tablename__, record_id=record.id, record_number=record.number,
            case_id=case_id or getattr(record, "case_id", None) or record.id,
            action="test", field="state", old_value=old, new_value=new, created_on=T0 + hours(h),
        ))
        record.state = new
    db.session.commit()


def submitted_case(priority=4, lines=0, **history_kwargs):
    account = factories.make_account()
    order = factories.make_order(account, lines=max(lines, 1))
    case = factories.make_case(account, order=order, order_lines=order.lines[:lines] if lines else None)
    case.priority = priority
    case.opened_at = T0 - hours(1)
    for line in case.lines:
        line.priority = priority
    db.session.commit()
    record_history(case, (0, "Draft", "New"))
    for line in case.lines:
        record_history(line, (0, "Draft", "New"), case_id=case.id)
    return case


def definition(name, kind=SlaKind.RESPONSE, minutes=240, applies_to=SlaTarget.CASE, **fields):
    sla_definition = SlaDefinition(name=name, applies_to=applies_to, kind=kind, target_minutes=minutes,
                                   priorities=fields.pop("priorities", "1,2,3,4"), **fields)
    db.session.add(sla_definition)
    db.session.commit()
    return sla_definition


def test_seeding_creates_the_spec_defaults_once():
    created = sla.seed_default_sla_definitions()
    assert len(created) == 8
    assert sla.seed_default_sla_definitions() == []
    by_key = {(d.applies_to, d.kind, d.priorities): d for d in db.session.query(SlaDefinition)}
    for target in (SlaTarget.CASE, SlaTarget.CASE_LINE):
        assert by_key[(target, SlaKind.RESPONSE, "3,4")].target_minutes == 4 * 60
        assert by_key[(target, SlaKind.RESOLUTION, "3,4")].target_minutes == 3 * 24 * 60
        assert by_key[(target, SlaKind.RESPONSE, "1,2")].target_minutes == 60
        assert by_key[(target, SlaKind.RESOLUTION, "1,2")].target_minutes == 24 * 60
    assert all(d.schedule == SlaSchedule.ALWAYS and d.pause_states == "Awaiting Info"
               for d in by_key.values())


def test_attach_picks_definitions_by_priority_and_record_kind_and_is_idempotent():
    sla.seed_default_sla_definitions()
    critical = submitted_case(priority=1, lines=2)
    attached = sla.attach_slas(critical, T0 + hours(0.5))
    db.session.commit()
    assert sorted(t.definition.target_minutes for t in attached) == [60, 24 * 60]
    assert all(t.case_line_id is None and t.started_at == T0 for t in attached)
    assert sla.attach_slas(critical, T0 + hours(1)) == []
    line = critical.lines[0]
    line_slas = sla.attach_slas(line, T0 + hours(0.5))
    assert {t.definition.applies_to for t in line_slas} == {SlaTarget.CASE_LINE}
    assert all(t.case_id == critical.id and t.case_line_id == line.id for t in line_slas)

    low = submitted_case(priority=4)
    assert sorted(t.definition.target_minutes for t in sla.attach_slas(low, T0)) == [4 * 60, 3 * 24 * 60]


def test_a_draft_case_gets_no_sla():
    sla.seed_default_sla_definitions()
    account = factories.make_account()
    case = factories.make_case(account, order=factories.make_order(account, lines=1))
    assert sla.attach_slas(case, T0) == []


def test_inactive_definitions_and_other_priorities_do_not_attach():
    definition("Old response", active=False)
    definition("Critical only", priorities="1")
    case = submitted_case(priority=3)
    assert sla.attach_slas(case, T0) == []


def test_a_case_that_waits_two_hours_on_the_customer_breaches_two_hours_later():
    resolution = definition("Resolution 4 h", kind=SlaKind.RESOLUTION, minutes=240)
    waited, straight = submitted_case(), submitted_case()
    for case in (waited, straight):
        record_history(case, (0.5, "New", "Work in Progress"))
        sla.attach_slas(case, T0 + hours(0.5))
    record_history(waited, (1, "Work in Progress", "Awaiting Info"), (3, "Awaiting Info", "Work in Progress"))
    db.session.commit()
    sla.refresh_task_slas(T0 + hours(10))
    by_case = {t.case_id: t for t in db.session.query(TaskSla).filter_by(definition_id=resolution.id)}
    assert by_case[straight.id].breached_at == T0 + hours(4)
    assert by_case[waited.id].breached_at == T0 + hours(6)
    assert by_case[waited.id].paused_seconds == 2 * H
    assert by_case[straight.id].paused_seconds == 0


def test_refresh_reports_stage_changes_and_at_risk_once():
    definition("Response 4 h", at_risk_percent=50)
    case = submitted_case()
    sla.attach_slas(case, T0)
    db.session.commit()
    assert sla.refresh_task_slas(T0 + hours(1)) == []
    at_risk = sla.refresh_task_slas(T0 + hours(2))
    assert [(c.old_stage, c.new_stage, c.became_at_risk) for c in at_risk] == [
        (SlaStage.IN_PROGRESS, SlaStage.IN_PROGRESS, True)]
    assert sla.refresh_task_slas(T0 + hours(3)) == []
    breached = sla.refresh_task_slas(T0 + hours(4.5))
    assert len(breached) == 1 and breached[0].became_breached
    task_sla = db.session.query(TaskSla).one()
    assert task_sla.stage == SlaStage.BREACHED and not task_sla.at_risk
    assert task_sla.breached_at == T0 + hours(4) and task_sla.computed_at == T0 + hours(4.5)


def test_stages_recompute_identically_from_history():
    definition("Resolution 8 h", kind=SlaKind.RESOLUTION, minutes=480)
    case = submitted_case()
    record_history(case, (1, "New", "Work in Progress"), (2, "Work in Progress", "Awaiting Info"),
                   (5, "Awaiting Info", "Work in Progress"), (7, "Work in Progress", "Resolved"))
    sla.attach_slas(case, T0 + hours(8))
    db.session.commit()
    columns = ("started_at", "planned_due_at", "paused_seconds", "elapsed_percent", "stage", "stopped_at",
               "breached_at", "at_risk")

    def snapshot():
        db.session.expire_all()
        task_sla = db.session.query(TaskSla).one()
        return {column: getattr(task_sla, column) for column in columns}

    case_id = case.id
    first = snapshot()
    assert first["stage"] == SlaStage.ACHIEVED and first["elapsed_percent"] == 50.0
    assert first["paused_seconds"] == 3 * H and first["stopped_at"] == T0 + hours(7)
    # The same history read again, much later and in a fresh session (as after a restart).
    sla.sync_slas(case, T0 + hours(500))
    db.session.commit()
    db.session.remove()
    assert snapshot() == first
    # Scrambling the stored figures changes nothing: they are derived, not accumulated.
    db.session.query(TaskSla).update({"stage": SlaStage.BREACHED, "paused_seconds": 0, "elapsed_percent": 1})
    db.session.commit()
    sla.sync_slas(db.session.get(OrderCase, case_id), T0 + hours(9))
    db.session.commit()
    assert snapshot() == first


def test_sync_after_a_reopen_restarts_a_stopped_resolution_clock():
    definition("Resolution 10 h", kind=SlaKind.RESOLUTION, minutes=600)
    case = submitted_case()
    record_history(case, (1, "New", "Work in Progress"), (6, "Work in Progress", "Resolved"))
    sla.sync_slas(case, T0 + hours(6))
    db.session.commit()
    task_sla = db.session.query(TaskSla).one()
    assert task_sla.stage == SlaStage.ACHIEVED and task_sla.stopped_at is not None
    record_history(case, (8, "Resolved", "Work in Progress"))
    sla.sync_slas(case, T0 + hours(8))
    db.session.commit()
    assert task_sla.stage == SlaStage.IN_PROGRESS and task_sla.stopped_at is None
    assert task_sla.planned_due_at == T0 + hours(12)
    # Running again, so the periodic refresh picks it up.
    assert [c.new_stage for c in sla.refresh_task_slas(T0 + hours(13))] == [SlaStage.BREACHED]


def test_business_hours_definition_in_berlin_skips_the_weekend():
    definition("Business response", schedule=SlaSchedule.BUSINESS_HOURS, timezone="Europe/Berlin",
               business_day_start="09:00", business_day_end="17:00", business_days="1,2,3,4,5")
    case = submitted_case()
    friday_4pm = dt.datetime(2026, 3, 27, 15, 0)
    db.session.query(AuditEvent).filter_by(record_type="order_case", record_id=case.id).update(
        {"created_on": friday_4pm})
    db.session.commit()
    (task_sla,) = sla.attach_slas(case, dt.datetime(2026, 3, 28, 12, 0))
    assert task_sla.started_at == friday_4pm
    assert task_sla.planned_due_at == dt.datetime(2026, 3, 30, 10, 0)
    assert task_sla.stage == SlaStage.IN_PROGRESS and task_sla.elapsed_percent == 25.0
    assert sla.describe_time_left(task_sla, dt.datetime(2026, 3, 28, 12, 0)) == "3 h left"


def test_a_case_created_past_draft_starts_when_it_was_opened():
    definition("Response 4 h")
    account = factories.make_account()
    case = factories.make_case(account, order=factories.make_order(account, lines=1), state=CaseState.NEW)
    case.opened_at = T0
    db.session.commit()
    (task_sla,) = sla.attach_slas(case, T0 + hours(1))
    assert task_sla.started_at == T0 and task_sla.planned_due_at == T0 + hours(4)
    assert task_sla.elapsed_percent == 25.0


def test_line_slas_roll_up_to_the_case_as_its_worst_line():
    definition("Line resolution 4 h", kind=SlaKind.RESOLUTION, applies_to=SlaTarget.CASE_LINE)
    definition("Case response 8 h", minutes=480)
    case = submitted_case(lines=3)
    fast, slow, idle = case.lines
    record_history(fast, (1, "New", "Work in Progress"), (2, "Work in Progress", LineState.ACCEPTED), case_id=case.id)
    record_history(slow, (1, "New", "Work in Progress"), case_id=case.id)
    record_history(idle, (1, "New", "Work in Progress"), (1.5, "Work in Progress", "Awaiting Info"), case_id=case.id)
    for record in (case, fast, slow, idle):
        sla.sync_slas(record, T0 + hours(3.5))
    db.session.commit()

    worst = sla.worst_sla(case)
    assert worst.case_line_id == slow.id and worst.at_risk and worst.label == "at risk"
    assert worst.elapsed_percent == 87.5

    sla.refresh_task_slas(T0 + hours(5))
    worst = sla.worst_sla(case, lines_only=True)
    assert worst.stage == SlaStage.BREACHED and worst.case_line_id == slow.id
    by_line = {t.case_line_id: t.stage for t in db.session.query(TaskSla).filter(TaskSla.case_line_id.isnot(None))}
    assert by_line == {fast.id: SlaStage.ACHIEVED, slow.id: SlaStage.BREACHED, idle.id: SlaStage.PAUSED}

    other = submitted_case()
    statuses = sla.worst_slas([case.id, other.id])
    assert set(statuses) == {case.id} and statuses[case.id].stage == SlaStage.BREACHED
    assert sla.worst_sla(other) is None


def test_time_left_reads_for_people():
    definition("Response 4 h")
    case = submitted_case()
    (task_sla,) = sla.attach_slas(case, T0 + hours(1))
    assert sla.describe_time_left(task_sla, T0 + hours(1)) == "3 h left"
    assert sla.describe_time_left(task_sla, T0 + dt.timedelta(hours=30, minutes=15)) == "overdue by 1 d 2 h 15 min"
    record_history(case, (2, "New", "Work in Progress"))
    sla.sync_slas(case, T0 + hours(3))
    assert sla.describe_time_left(task_sla, T0 + hours(3)) == "Achieved"


def test_the_case_workflows_history_drives_the_case_and_line_clocks(users):
    """Real workflow operations write the history; one sync per operation keeps every clock right."""
    from flask_appbuilder.security.sqla.models import User

    from app import workflows

    sla.seed_default_sla_definitions()
    agent = db.session.get(User, users["agent"].id)
    account = factories.make_account()
    order = factories.make_order(account, lines=2)
    case = factories.make_case(account, order=order, order_lines=list(order.lines))
    case_id = case.id

    def sync():
        synced = sla.sync_case_slas(db.session.get(OrderCase, case_id))
        db.session.commit()
        return {(t.case_line_id, t.definition.kind): t.stage for t in synced}

    assert sync() == {}
    workflows.submit_case(case_id, agent)
    stages = sync()
    line_ids = [line.id for line in db.session.get(OrderCase, case_id).lines]
    assert stages == {(record, kind): SlaStage.IN_PROGRESS
                      for record in [None, *line_ids] for kind in (SlaKind.RESPONSE, SlaKind.RESOLUTION)}
    assert sla.sync_case_slas(db.session.get(OrderCase, case_id)) and db.session.query(TaskSla).count() == 6

    workflows.assign_case_to_me(case_id, agent)
    stages = sync()
    assert {stages[(record, SlaKind.RESPONSE)] for record in [None, *line_ids]} == {SlaStage.ACHIEVED}
    assert {stages[(record, SlaKind.RESOLUTION)] for record in [None, *line_ids]} == {SlaStage.IN_PROGRESS}

    workflows.request_case_information(case_id, agent, question="Which warehouse?")
    assert sync()[(None, SlaKind.RESOLUTION)] == SlaStage.PAUSED
    workflows.case_information_received(case_id, agent)
    assert sync()[(None, SlaKind.RESOLUTION)] == SlaStage.IN_PROGRESS


def test_raising_the_priority_replaces_the_running_clocks_and_keeps_the_finished_ones():
    sla.seed_default_sla_definitions()
    case = submitted_case(priority=4)
    record_history(case, (0.5, "New", "Work in Progress"))
    sla.sync_case_slas(case, T0 + hours(2))
    db.session.commit()
    assert {(t.definition.kind, t.definition.target_minutes, t.stage) for t in sla.slas_of(case)} == {
        (SlaKind.RESPONSE, 240, SlaStage.ACHIEVED), (SlaKind.RESOLUTION, 3 * 24 * 60, SlaStage.IN_PROGRESS)}

    case.priority = 1
    sla.sync_slas(case, T0 + hours(2))
    db.session.commit()
    # The finished 4 h response stays; the 1 h response and 1 day resolution run from the same start.
    assert {(t.definition.kind, t.definition.target_minutes, t.stage) for t in sla.slas_of(case)} == {
        (SlaKind.RESPONSE, 240, SlaStage.ACHIEVED), (SlaKind.RESPONSE, 60, SlaStage.ACHIEVED),
        (SlaKind.RESOLUTION, 24 * 60, SlaStage.IN_PROGRESS)}
    assert all(t.started_at == T0 for t in sla.slas_of(case))

"""Holiday calendars on business-hours SLA schedules: a country's public holidays (the ``holidays``
package) and the desk's own dates pause the clock like a night — across a daylight-saving change too, in
the schedule and in the clocks the case workflows start and stop."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from app import workflows as wf
from app.core.choices import CaseOrigin, Scope, SlaKind, SlaSchedule, SlaStage, SlaTarget
from app.core.extensions import db
from app.models import HolidayCalendar, HolidayDate, SlaDefinition, TaskSla
from app.sla import clocks as sla
from app.sla import schedules
from tests import factories
from tests.sla.test_sla_wiring import clock, person  # noqa: F401  (fixture: every module's utcnow controlled)

H = 3600


def berlin(days_off=None):
    return schedules.BusinessHoursSchedule("09:00", "17:00", [1, 2, 3, 4, 5], "Europe/Berlin", days_off)


def test_an_own_holiday_right_after_the_spring_dst_change_pauses_the_clock_like_a_night():
    # Fri 27 March 2026 16:00 CET (15:00 UTC); clocks go forward on Sunday 29 March; the desk is closed Monday 30.
    days_off = schedules.DaysOff(own=[dt.date(2026, 3, 30)])
    friday_4pm = dt.datetime(2026, 3, 27, 15, 0)
    schedule = berlin(days_off)
    # One hour on Friday, nothing on the weekend or the holiday, then Tuesday from 09:00 CEST = 07:00 UTC.
    assert schedule.add_working_seconds(friday_4pm, H + 1) == dt.datetime(2026, 3, 31, 7, 0, 1)
    assert schedule.add_working_seconds(friday_4pm, 4 * H) == dt.datetime(2026, 3, 31, 10, 0)
    assert schedule.working_seconds(friday_4pm, dt.datetime(2026, 3, 31, 10, 0)) == 4 * H
    assert schedule.working_seconds(dt.datetime(2026, 3, 30), dt.datetime(2026, 3, 31)) == 0
    # Without the calendar Monday counts.
    assert berlin().add_working_seconds(friday_4pm, 4 * H) == dt.datetime(2026, 3, 30, 10, 0)


def test_national_holidays_of_the_country_pause_the_clock():
    # Germany: Good Friday 3 April and Easter Monday 6 April 2026, both after the DST change (CEST, UTC+2).
    germany = schedules.DaysOff("DE")
    assert dt.date(2026, 4, 3) in germany and dt.date(2026, 4, 6) in germany
    thursday_4pm = dt.datetime(2026, 4, 2, 14, 0)  # 16:00 CEST
    schedule = berlin(germany)
    # 1 h on Thursday, Friday, the weekend and Monday off, then Tuesday 09:00–12:00 CEST.
    assert schedule.add_working_seconds(thursday_4pm, 4 * H) == dt.datetime(2026, 4, 7, 10, 0)
    # The holiday week has three working days, not five.
    assert schedule.working_seconds(dt.datetime(2026, 3, 30), dt.datetime(2026, 4, 6)) == 4 * 8 * H
    assert schedule.working_seconds(dt.datetime(2026, 4, 6), dt.datetime(2026, 4, 13)) == 4 * 8 * H


def test_across_the_autumn_change_a_holiday_and_the_hour_back_both_count_right():
    # New York: Election Day is not a federal holiday; Veterans Day (11 November) is. DST ends 1 November 2026.
    days_off = schedules.DaysOff("US", own=[dt.date(2026, 11, 2)])  # the desk closes the Monday after the change
    schedule = schedules.BusinessHoursSchedule("09:00", "17:00", [1, 2, 3, 4, 5], "America/New_York", days_off)
    friday_4pm = dt.datetime(2026, 10, 30, 20, 0)  # 16:00 EDT (UTC−4)
    # Tuesday 3 November opens at 09:00 EST = 14:00 UTC.
    assert schedule.add_working_seconds(friday_4pm, 2 * H) == dt.datetime(2026, 11, 3, 15, 0)
    tuesday_4pm = dt.datetime(2026, 11, 10, 21, 0)  # 16:00 EST on the eve of Veterans Day
    assert schedule.add_working_seconds(tuesday_4pm, 2 * H) == dt.datetime(2026, 11, 12, 15, 0)


@pytest.mark.parametrize("country, subdivision, message", [
    ("XX", None, "not a country code"), ("DE", "ZZ", "not a subdivision of DE"), (None, "BY", "needs its country")])
def test_unknown_calendars_are_refused_clearly(country, subdivision, message):
    with pytest.raises(ValueError, match=message):
        schedules.validate_calendar(country, subdivision)
    schedules.validate_calendar("DE", "BY")


def test_a_definitions_calendar_drives_its_clocks_and_an_edit_takes_effect():
    calendar = HolidayCalendar(name="Berlin desk", country="DE", subdivision="BE")
    definition = SlaDefinition(name="Resolve in 4 business hours", applies_to=SlaTarget.CASE,
                               kind=SlaKind.RESOLUTION, target_minutes=240, schedule=SlaSchedule.BUSINESS_HOURS,
                               timezone="Europe/Berlin", holiday_calendar=calendar)
    db.session.add(definition)
    db.session.commit()
    friday_4pm = dt.datetime(2026, 3, 27, 15, 0)
    assert sla_due(definition, friday_4pm) == dt.datetime(2026, 3, 30, 10, 0)
    calendar.dates.append(HolidayDate(day=dt.date(2026, 3, 30), name="Desk off-site"))
    db.session.commit()
    assert sla_due(definition, friday_4pm) == dt.datetime(2026, 3, 31, 10, 0)
    # 8 March (International Women's Day) is a public holiday in Berlin only: a Sunday in 2026, 2027 a Monday.
    assert dt.date(2027, 3, 8) in schedules.schedule_for(definition).days_off


def test_a_case_submitted_before_the_spring_change_waits_out_the_desks_holiday(users, clock):
    """Through the case workflows: submitted on Friday 27 March 2026 at 16:00 in Berlin, the desk closed on
    Monday 30 March (its own date), clocks forward on Sunday; the 4-hour response is due on Tuesday at 12:00
    CEST (10:00 UTC), and answering on Tuesday at 09:30 CEST used 1.5 of the 4 hours."""
    calendar = HolidayCalendar(name="Berlin desk", country="DE", subdivision="BE",
                               dates=[HolidayDate(day=dt.date(2026, 3, 30), name="Desk off-site")])
    db.session.add(SlaDefinition(
        name="Respond in 4 business hours", applies_to=SlaTarget.CASE, kind=SlaKind.RESPONSE, priorities="4",
        target_minutes=240, schedule=SlaSchedule.BUSINESS_HOURS, timezone="Europe/Berlin",
        business_day_start="09:00", business_day_end="17:00", business_days="1,2,3,4,5", at_risk_percent=75,
        active=True, holiday_calendar=calendar))
    db.session.commit()
    agent = person(users, "agent")
    account = factories.make_account()
    order = factories.make_order(account, lines=1)
    clock.now = dt.datetime(2026, 3, 27, 15, 0)
    case = wf.create_case(agent, service_id=factories.make_service().id, account_id=account.id,
                          scope=Scope.SINGLE_ORDER, origin=CaseOrigin.ORDER_LINE_ITEMS, order_id=order.id,
                          short_description="Customer wants more", order_line_ids=[order.lines[0].id], priority=4)
    factories.classify_lines(case.id)
    wf.submit_case(case.id, agent)
    (response,) = db.session.query(TaskSla).filter_by(case_id=case.id).all()
    assert (response.started_at, response.planned_due_at) == (clock.now, dt.datetime(2026, 3, 31, 10, 0))
    clock.now = dt.datetime(2026, 3, 31, 7, 30)
    wf.assign_case_to_me(case.id, agent)
    db.session.expire_all()
    response = db.session.get(TaskSla, response.id)
    assert response.stage == SlaStage.ACHIEVED
    assert response.elapsed_percent == pytest.approx(100 * 1.5 / 4, abs=0.01)


def sla_due(definition, start):
    rules = sla.SlaRules.of(definition)
    history = [sla.StateChange(start, "Draft", "New")]
    return sla.compute_sla(rules, schedules.schedule_for(definition), history, start, start, "New").planned_due_at


# ----------------------------------------------------------------------------------------------------
# The forms (administration, HTTP)


def test_the_sla_form_picks_days_hours_zone_and_calendar(client_for):
    calendar = HolidayCalendar(name="German desk", country="DE")
    db.session.add(calendar)
    db.session.commit()
    admin = client_for("admin")
    form = admin.get("/sladefinitionview/add").get_data(as_text=True)
    assert 'type="checkbox"' in form and "Wednesday" in form and 'type="time"' in form
    assert '<option value="Europe/Berlin">' in form and "German desk" in form
    saved = admin.submit("/sladefinitionview/add", {
        "name": "Berlin resolution", "applies_to": SlaTarget.CASE, "kind": SlaKind.RESOLUTION,
        "priorities": ["1", "2"], "target_minutes": "480", "schedule": SlaSchedule.BUSINESS_HOURS,
        "timezone": "Europe/Berlin", "business_day_start": "08:30", "business_day_end": "17:00",
        "business_days": ["1", "2", "3", "4", "5"], "holiday_calendar": str(calendar.id),
        "pause_states": ["Awaiting Info"], "at_risk_percent": "75", "active": "y"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    definition = db.session.query(SlaDefinition).filter_by(name="Berlin resolution").one()
    assert (definition.priorities, definition.business_days, definition.timezone, definition.holiday_calendar_id,
            definition.business_day_start) == ("1,2", "1,2,3,4,5", "Europe/Berlin", calendar.id, "08:30")
    edit = admin.get(f"/sladefinitionview/edit/{definition.id}").get_data(as_text=True)
    boxes = {re.search(r'value="(\d)"', tag).group(1): "checked" in tag
             for tag in re.findall(r'<input[^>]*name="business_days"[^>]*>', edit)}
    assert boxes == {"1": True, "2": True, "3": True, "4": True, "5": True, "6": False, "7": False}
    refused = admin.submit("/sladefinitionview/add", {
        "name": "No days", "applies_to": SlaTarget.CASE, "kind": SlaKind.RESPONSE, "priorities": ["1"],
        "target_minutes": "60", "schedule": SlaSchedule.BUSINESS_HOURS, "timezone": "Europe/Berlin",
        "business_day_start": "09:00", "business_day_end": "17:00", "at_risk_percent": "75"})
    assert refused.status_code == 200 and "Pick at least one working day." in refused.get_data(as_text=True)


def test_holiday_calendars_are_checked_against_the_holidays_package(client_for):
    admin = client_for("admin")
    refused = admin.submit("/holidaycalendarview/add", {"name": "Bad", "country": "DE", "subdivision": "ZZ"})
    assert refused.status_code == 200 and "not a subdivision of DE" in refused.get_data(as_text=True)
    saved = admin.submit("/holidaycalendarview/add", {"name": "Bavaria", "country": "DE", "subdivision": "by"})
    assert saved.status_code == 302
    calendar = db.session.query(HolidayCalendar).filter_by(name="Bavaria").one()
    assert (calendar.country, calendar.subdivision) == ("DE", "BY")
    added = admin.submit(f"/holidaydateview/add?_flt_0_calendar={calendar.id}",
                         {"day": "2026-12-24", "name": "Christmas Eve"})
    assert added.status_code == 302
    assert [(d.day, d.name) for d in db.session.get(HolidayCalendar, calendar.id).dates] == [
        (dt.date(2026, 12, 24), "Christmas Eve")]
    assert client_for("agent").get("/holidaycalendarview/list/").status_code in (302, 403)

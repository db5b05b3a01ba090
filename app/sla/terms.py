"""What an SLA definition promises, in words an agent reads on the case page: its target, the hours it
counts, what starts, pauses and stops its clock, and when it would be due if it started now.

The words come from the same definition fields and clock rules that ``app.sla.clocks`` computes with
(``SlaRules``, ``schedule_for``), so the page cannot promise what the clock does not do.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.core.choices import CaseState, SlaKind, SlaSchedule, SlaTarget
from app.core.model_base import utcnow
from app.models import SlaDefinition
from app.sla.clocks import SlaRules, definitions_for, format_duration
from app.sla.schedules import schedule_for

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
RECORD_WORDS = {SlaTarget.CASE: "the case", SlaTarget.CASE_LINE: "each line"}


@dataclass(frozen=True)
class SlaTerms:
    name: str
    applies_to: str
    kind: str
    target: str
    hours: str
    starts: str
    pauses: str
    stops: str
    at_risk: str
    # When it would be due if its clock started at the moment asked about (None: not asked).
    due_if_started: dt.datetime | None = None


def weekdays_text(days: str) -> str:
    """ISO weekdays "1,2,3,4,5" as "Mon–Fri"; runs of consecutive days are joined with a dash."""
    numbers = sorted({int(day) for day in days.split(",") if day.strip().isdigit() and 1 <= int(day) <= 7})
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(WEEKDAY_NAMES[run[0] - 1] if len(run) == 1 else
                     f"{WEEKDAY_NAMES[run[0] - 1]}{'–' if len(run) > 2 else ', '}{WEEKDAY_NAMES[run[-1] - 1]}"
                     for run in runs)


def hours_text(definition: SlaDefinition) -> str:
    if definition.schedule != SlaSchedule.BUSINESS_HOURS:
        return "Around the clock (24×7)"
    text = (f"Business hours only: {weekdays_text(definition.business_days or '')} "
            f"{definition.business_day_start}–{definition.business_day_end} {definition.timezone}")
    if definition.holiday_calendar is not None:
        text += f", not on the days off of {definition.holiday_calendar.name}"
    return text


def _states_text(states) -> str:
    return " or ".join(sorted(states))


def terms_of(definition: SlaDefinition, started_at: dt.datetime | None = None) -> SlaTerms:
    """The definition in words; with *started_at*, also when it would be due on its schedule."""
    rules = SlaRules.of(definition)
    record = RECORD_WORDS.get(definition.applies_to, "the record")
    if rules.kind == SlaKind.RESPONSE:
        stops = f"Met when work starts on {record} ({CaseState.WORK_IN_PROGRESS})"
    elif definition.applies_to == SlaTarget.CASE_LINE:
        stops = "Met when the line has its outcome (accepted, denied or cancelled)"
    else:
        stops = f"Met when the case is {CaseState.RESOLVED}; reopening resumes it"
    pauses = [f"while {record} is {_states_text(rules.pause_states)}"] if rules.pause_states else []
    if definition.schedule == SlaSchedule.BUSINESS_HOURS:
        pauses.append("outside business hours")
    due = None
    if started_at is not None:
        due = schedule_for(definition).add_working_seconds(started_at, rules.target_seconds)
    return SlaTerms(
        name=definition.name, applies_to=definition.applies_to, kind=rules.kind,
        target=f"{rules.kind.capitalize()} within {format_duration(rules.target_seconds)}",
        hours=hours_text(definition),
        starts=f"When {record} is submitted (leaves {CaseState.DRAFT})",
        pauses=("Pauses " + " and ".join(pauses)) if pauses else "Never pauses",
        stops=stops,
        at_risk=f"At risk from {rules.at_risk_percent}% of the target",
        due_if_started=due,
    )


def expected_terms(case_priority: int, line_priorities, now: dt.datetime | None = None) -> list[SlaTerms]:
    """The SLAs a Draft case would get if it were submitted *now*: the case's own (by its priority) and
    its lines' (by theirs; a case without lines yet, by the case's, which new lines take)."""
    now = now or utcnow()
    line_priorities = set(line_priorities) or {case_priority}
    definitions = definitions_for((SlaTarget.CASE, [case_priority]), (SlaTarget.CASE_LINE, line_priorities))
    return [terms_of(definition, now) for definition in definitions]

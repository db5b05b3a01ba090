"""Working many records at once: each record its own workflow operation (its own commit), and an
outcome per record, so one refusal neither holds the others back nor goes unreported."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

from flask import flash
from sqlalchemy import select

from app.core.exceptions import DomainError, InvalidInput
from app.core.extensions import db

# One request works at most this many records: beyond it a list selection is a mistake or a script.
MAX_RECORDS = 500
MAX_ID = 2_147_483_647


@dataclass
class Outcome:
    id: int
    number: str
    done: bool
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def record_ids(values, action: str) -> list[int]:
    """The selected records' ids, in the order given, each once; a clear refusal for junk or too many."""
    ids = list(dict.fromkeys(_id(value) for value in (values or [])))
    if None in ids:
        raise InvalidInput(f"{action}: the selection holds something that is not a record id.", {"ids": "Not ids"})
    if not ids:
        raise InvalidInput(f"{action} needs at least one selected record.", {"ids": "Select a record"})
    if len(ids) > MAX_RECORDS:
        raise InvalidInput(f"{action} works at most {MAX_RECORDS} records at a time; {len(ids)} were selected.",
                           {"ids": f"At most {MAX_RECORDS}"})
    return ids


def _id(value) -> int | None:
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else None


def each_record(model, ids: list[int], operation: Callable[[int], str]) -> list[Outcome]:
    """Run *operation(id)* for every record; its return value is the success message, a DomainError its
    refusal. Ids that name no record are reported as such."""
    numbers = dict(db.session.execute(select(model.id, model.number).where(model.id.in_(ids))).all())
    outcomes = []
    for record_id in ids:
        number = numbers.get(record_id)
        if number is None:
            outcomes.append(Outcome(record_id, f"#{record_id}", False, "No such record (it may have been deleted)."))
            continue
        try:
            message = operation(record_id)
        except DomainError as refusal:
            db.session.rollback()
            outcomes.append(Outcome(record_id, number, False, refusal.message))
        else:
            outcomes.append(Outcome(record_id, number, True, message))
    return outcomes


def summary(action: str, outcomes: list[Outcome]) -> str:
    done = sum(1 for outcome in outcomes if outcome.done)
    refused = len(outcomes) - done
    return f"{action}: {done} of {len(outcomes)} done" + (f", {refused} refused." if refused else ".")


def flash_outcomes(action: str, outcomes: list[Outcome]) -> None:
    """The outcome report of a bulk operation on a page: a summary, then every record's own outcome."""
    everything = all(outcome.done for outcome in outcomes)
    flash(summary(action, outcomes), "success" if everything else "warning")
    for outcome in outcomes:
        flash(f"{outcome.number}: {outcome.message}", "success" if outcome.done else "danger")


def run_and_report(action: str, run: Callable[[], list[Outcome]]) -> None:
    """Run a bulk operation for a page and flash its report; a refusal of the whole request (bad input,
    the wrong role) is flashed instead and writes nothing."""
    try:
        outcomes = run()
    except DomainError as refusal:
        db.session.rollback()
        flash(refusal.message, "danger")
    else:
        flash_outcomes(action, outcomes)

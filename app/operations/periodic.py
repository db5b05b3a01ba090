"""The periodic job: every time-driven task, one after the other, recorded as one run.

``PERIODIC_TASKS`` is the registry: a task is a name and a function of the run's time (naive UTC) that
does its work, commits it, and returns what it did (an object with ``summary()``, or anything ``str()``
reads well; a truthy ``error`` attribute marks the task failed). A new periodic task is one more entry there.

The job runs from ``flask periodic`` (cron, or a systemd timer, in production), on a schedule inside
``./scripts/run``, or from the Operations page. It is safe to run as often as wanted and from several
hosts: each task recomputes from stored state, and on PostgreSQL an advisory lock lets only one run
proceed at a time (the others skip). A task that fails is logged and recorded; the next ones still run.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import click
from sqlalchemy import text

from app.core.extensions import db
from app.core.model_base import utcnow
from app.exchange.outbox import deliver_due_messages
from app.mail.imap import poll_mailbox
from app.operations.models import PeriodicRun
from app.sla.notifications import send_queued
from app.sla.periodic import auto_close, sla_stages_and_notices
from app.tmf.events import deliver_due_events

log = logging.getLogger(__name__)

# Arbitrary constant naming this job's PostgreSQL advisory lock.
ADVISORY_LOCK_KEY = 7_420_011
# Runs older than this are pruned by the job itself.
RUN_RETENTION = dt.timedelta(days=7)


class Trigger:
    COMMAND = "command"
    SCHEDULE = "schedule"
    MANUAL = "manual"


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    run: Callable[[dt.datetime], object]


class Delivered(int):
    def summary(self) -> str:
        return f"{int(self)} delivered"


def deliver_tmf_events(now: dt.datetime) -> Delivered:
    """Events whose back-off has passed, in case no commit woke this process's sender since."""
    return Delivered(deliver_due_events(now))


def read_desk_mailbox(now: dt.datetime):
    """One batch of the desk mailbox (IMAP): replies become comments, new mail Draft cases."""
    return poll_mailbox()


def deliver_exchange_messages(now: dt.datetime) -> Delivered:
    """Service Exchange messages that are due, also when no web process runs its sender."""
    return Delivered(deliver_due_messages(now))


# In the order they run: notices (and acknowledgements of mail read) are queued before mail delivery
# sends them.
PERIODIC_TASKS: list[PeriodicTask] = [
    PeriodicTask("SLA stages and notices", sla_stages_and_notices),
    PeriodicTask("Auto-close", auto_close),
    PeriodicTask("Desk mailbox", read_desk_mailbox),
    PeriodicTask("Mail delivery", send_queued),
    PeriodicTask("TMF event delivery", deliver_tmf_events),
    PeriodicTask("Service Exchange delivery", deliver_exchange_messages),
]


@dataclass
class TaskOutcome:
    name: str
    ok: bool
    summary: str
    duration_ms: float
    result: object = None

    def as_record(self) -> dict:
        return {"task": self.name, "ok": self.ok, "summary": self.summary, "duration_ms": round(self.duration_ms, 1)}


@dataclass
class RunOutcome:
    skipped: bool = False
    run_id: int | None = None
    tasks: list[TaskOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(task.ok for task in self.tasks)

    def result(self, name: str):
        """What the task *name* returned (None when it failed or did not run)."""
        return next((task.result for task in self.tasks if task.name == name), None)

    def summary(self) -> str:
        if self.skipped:
            return "Another periodic run is in progress; nothing done."
        return " ".join(f"{task.name}: {task.summary}." for task in self.tasks)


@contextmanager
def _single_run():
    """Yield True when this process may run; on PostgreSQL only one run holds the lock at a time."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    with db.engine.connect() as connection:
        acquired = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}).scalar()
        try:
            yield bool(acquired)
        finally:
            if acquired:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            connection.commit()


def _describe(result) -> str:
    summary = getattr(result, "summary", None)
    return summary() if callable(summary) else str(result)


def _run_task(task: PeriodicTask, now: dt.datetime) -> TaskOutcome:
    started = time.perf_counter()
    try:
        result = task.run(now)
    except Exception as error:  # noqa: BLE001  (one broken task must not stop the others)
        db.session.rollback()
        log.exception("periodic task %r failed", task.name)
        return TaskOutcome(task.name, False, f"failed: {type(error).__name__}: {error}"[:1000],
                           (time.perf_counter() - started) * 1000)
    # A task that reports an error of its own (a mailbox out of reach, say) failed too, with its report.
    ok = not getattr(result, "error", "")
    return TaskOutcome(task.name, ok, _describe(result), (time.perf_counter() - started) * 1000, result)


def run_periodic_work(app, now: dt.datetime | None = None, trigger: str = Trigger.COMMAND) -> RunOutcome:
    """One pass of every periodic task as of *now* (naive UTC; default the current time), recorded."""
    now = now or utcnow()
    with app.app_context():
        outcome = RunOutcome()
        with _single_run() as may_run:
            if not may_run:
                outcome.skipped = True
                log.info(outcome.summary())
                return outcome
            run = PeriodicRun(started_at=utcnow(), trigger=trigger, host=f"{socket.gethostname()}:{os.getpid()}",
                              outcome="running")
            db.session.add(run)
            db.session.commit()
            outcome.run_id = run.id
            for task in PERIODIC_TASKS:
                outcome.tasks.append(_run_task(task, now))
            run = db.session.get(PeriodicRun, outcome.run_id)
            run.finished_at = utcnow()
            run.outcome = "ok" if outcome.ok else "failed"
            run.summary = outcome.summary()
            run.tasks = [task.as_record() for task in outcome.tasks]
            db.session.query(PeriodicRun).filter(PeriodicRun.started_at < run.started_at - RUN_RETENTION).delete(
                synchronize_session=False)
            db.session.commit()
        (log.info if outcome.ok else log.error)("periodic run %s: %s", run.outcome, outcome.summary())
        return outcome


def schedule_interval(app) -> float | None:
    """Seconds between runs when this process runs the job itself (./scripts/run), else None."""
    schedule = app.extensions.get("periodic_schedule")
    return schedule.interval if schedule is not None else None


def recent_runs(limit: int = 10) -> list[PeriodicRun]:
    return db.session.query(PeriodicRun).order_by(PeriodicRun.started_at.desc(), PeriodicRun.id.desc()).limit(limit).all()


def register_periodic_cli(app) -> None:
    @app.cli.command("periodic")
    @click.option("--now", "now_text", default=None, metavar="YYYY-MM-DDTHH:MM",
                  help="Run as of this UTC time instead of the current time.")
    def periodic_command(now_text):
        """Every periodic task once: SLA stages and notices, auto-close, mail and TMF event delivery (cron)."""
        now = None
        if now_text:
            try:
                now = dt.datetime.fromisoformat(now_text)
            except ValueError as exc:
                raise click.BadParameter(f"{now_text!r} is not an ISO date and time") from exc
            if now.tzinfo is not None:
                now = now.astimezone(dt.timezone.utc).replace(tzinfo=None)
        outcome = run_periodic_work(app, now)
        if outcome.skipped:
            click.echo(outcome.summary())
            return
        for task in outcome.tasks:
            click.echo(f"{task.name}: {task.summary}")
        if not outcome.ok:
            raise click.ClickException("some periodic tasks failed (details above and in the log)")


class PeriodicSchedule:
    """Runs the periodic job every *interval* seconds in a background thread of this process (the
    single-process server of ./scripts/run; production schedules ``flask periodic`` instead)."""

    def __init__(self, app, interval: float, first_after: float = 5):
        self.app, self.interval, self.first_after = app, interval, first_after
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="periodic-schedule", daemon=True)

    def start(self) -> "PeriodicSchedule":
        self.app.extensions["periodic_schedule"] = self
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self.app.extensions.pop("periodic_schedule", None)
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        wait = self.first_after
        while not self._stop.wait(wait):
            try:
                run_periodic_work(self.app, trigger=Trigger.SCHEDULE)
            except Exception:  # noqa: BLE001  (a database outage must not end the schedule)
                log.exception("periodic run failed")
            wait = self.interval

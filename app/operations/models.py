"""The record of each periodic run: when, where, what each task did, and whether it failed."""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Text

from app.core.extensions import Model


class PeriodicRun(Model):
    __tablename__ = "periodic_run"
    id = Column(Integer, primary_key=True)
    started_at = Column(DateTime, nullable=False)
    finished_at = Column(DateTime)
    # command (flask periodic, cron), schedule (./scripts/run), manual (Run now on the Operations page)
    trigger = Column(String(20), nullable=False)
    host = Column(String(255), nullable=False)
    # running until it ends; a row left running means the process died mid-run
    outcome = Column(String(20), nullable=False)
    summary = Column(Text)
    # [{"task", "ok", "summary", "duration_ms"}] in the order the tasks ran
    tasks = Column(JSON)

    __table_args__ = (Index("ix_periodic_run_started_at", "started_at"),)

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

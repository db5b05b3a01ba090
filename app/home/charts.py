"""The bar charts of the dashboard: bars of linked segments, drawn as inline SVG by the dashboard page."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func

from app.core.extensions import db


@dataclass
class Segment:
    label: str
    value: int
    url: str | None
    css: str = "bar"


@dataclass
class Bar:
    label: str
    segments: list[Segment]
    note: str = ""

    @property
    def total(self) -> int:
        return sum(segment.value for segment in self.segments)


@dataclass
class Chart:
    key: str
    title: str
    bars: list[Bar]
    legend: list[tuple[str, str]] = field(default_factory=list)
    unit: str = ""

    @property
    def maximum(self) -> float:
        return max([bar.total for bar in self.bars] + [1])


def seconds_between(start, end):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0

"""How values read on the pages: times in the signed-in user's time zone with the zone named, "—" for
nothing, Yes/No, lists as lists, field names as words, lower-case vocabulary capitalised.

The user's time zone is a preference row (user_preference); it rides in the session cookie once read,
so pages cost no extra query.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app, has_request_context, session
from markupsafe import Markup, escape
from sqlalchemy import Column, ForeignKey, Integer, String, select

from app.core.extensions import Model, db

NOTHING = "—"
SESSION_KEY = "time_zone"

# Field names the pages show as words (the rest: underscores become spaces, first letter capitalised).
FIELD_LABELS = {
    "assigned_to_id": "Assigned to", "assignment_group_id": "Assignment group", "contact_id": "Contact",
    "account_id": "Account", "offering_id": "Offering", "location_id": "Location",
    "requested_location_id": "Requested shipping location", "replacement_offering_id": "Replacement offering",
    "shipping_location_id": "Shipping location", "billing_location_id": "Billing location",
    "total_amount": "Total", "total_one_time": "One-time total", "total_recurring": "Recurring total",
    "unit_price": "Unit price", "order_date": "Order date", "needs_attention": "Needs attention",
}


class UserPreference(Model):
    """A back-office or portal user's own settings (one row per user, created on first save)."""

    __tablename__ = "user_preference"
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    time_zone = Column(String(64), nullable=False)


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    """The IANA zones a user may choose (Area/City names and UTC), sorted."""
    return tuple(sorted(name for name in available_timezones()
                        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/")))) + ("UTC",)


def default_time_zone() -> str:
    return current_app.config.get("DEFAULT_TIME_ZONE") or "UTC"


def stored_time_zone(user_id: int) -> str | None:
    return db.session.execute(select(UserPreference.time_zone).where(UserPreference.user_id == user_id)).scalar()


def remember_time_zone(user_id: int) -> None:
    """Put the user's zone in the session (at sign-in), so every page knows it without a query."""
    session[SESSION_KEY] = stored_time_zone(user_id) or default_time_zone()


def user_time_zone(user_id: int | None) -> str:
    """The zone a user reads times in wherever no session holds it (their e-mails): their choice, or the desk's."""
    return (stored_time_zone(user_id) if user_id is not None else None) or default_time_zone()


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    # Cached by name: a case page converts a few hundred moments, each asking for the user's zone.
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def current_time_zone() -> ZoneInfo:
    return _zone((session.get(SESSION_KEY) if has_request_context() else None) or default_time_zone())


def local(moment: dt.datetime) -> dt.datetime:
    """A stored moment (naive UTC, or aware) in the user's time zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(current_time_zone())


def when(moment, seconds: bool = False):
    """<time> with the moment in the user's zone, the zone named: "2026-12-04 16:14 CET"."""
    if moment is None:
        return NOTHING
    if isinstance(moment, dt.date) and not isinstance(moment, dt.datetime):
        return Markup(f'<time datetime="{moment.isoformat()}">{moment.isoformat()}</time>')
    shown = local(moment)  # once: a case page shows a few hundred moments
    machine = shown.isoformat(timespec="seconds")
    return Markup(f'<time datetime="{machine}">{escape(_as_text(shown, seconds))}</time>')


def day(moment):
    """<time> with the calendar day of *moment* in the user's zone (lists that show dates, not times)."""
    if moment is None:
        return NOTHING
    shown = local(moment).date() if isinstance(moment, dt.datetime) else moment
    return Markup(f'<time datetime="{shown.isoformat()}">{shown.isoformat()}</time>')


def when_text(moment, seconds: bool = False) -> str:
    """The moment as plain text (for attributes and messages): "2026-12-04 16:14 CET"."""
    if moment is None:
        return NOTHING
    return _as_text(local(moment), seconds)


def when_in_zone(moment: dt.datetime, zone_name: str) -> str:
    """The moment as text in the zone *zone_name*, read away from the pages (an e-mail), so the zone is named
    in full as well: "2026-12-04 16:14 CET (Europe/Berlin)", "2026-12-04 15:14 UTC"."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    zone = _zone(zone_name)
    text = _as_text(moment.astimezone(zone), False)
    return text if text.endswith(f" {zone.key}") else f"{text} ({zone.key})"


def _as_text(shown: dt.datetime, seconds: bool) -> str:
    return shown.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def readable(value):
    """Any value as the pages show it."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (dt.datetime, dt.date)):
        return when(value)
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(item) for item in value) or NOTHING
    return value


def field_label(field: str | None) -> str:
    if not field:
        return ""
    return FIELD_LABELS.get(field) or field.replace("_", " ").capitalize()


def capitalised(value: str | None) -> str:
    """Lower-case vocabulary (interaction and quote states) as a label: "work in progress" → "Work in progress"."""
    return (value[:1].upper() + value[1:]) if value else NOTHING


def install_display_filters(app) -> None:
    app.jinja_env.filters.update(when=when, day=day, when_text=when_text, readable=readable, field_label=field_label, capitalised=capitalised)
    app.jinja_env.globals["time_zone_name"] = lambda: str(current_time_zone())

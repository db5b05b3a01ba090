"""Sessions that end when the user signs out.

A signed session cookie stays valid until it expires, whoever holds it. So every user has a session
generation in the database: signing in writes the current one into the session, every request compares
them, and signing out moves the user's generation on. Every cookie issued before the sign-out — the one
just used, a copy someone took, another browser's — stops working at once, in every worker and instance.
"""
from __future__ import annotations

from flask import Flask, g, session
from flask_login import current_user, logout_user, user_logged_in, user_logged_out
from sqlalchemy import Column, ForeignKey, Integer, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.core.extensions import Model, db

SESSION_KEY = "_generation"


class UserSessionGeneration(Model):
    """The generation of a user's sessions; no row means generation 0 (never signed out)."""

    __tablename__ = "user_session_generation"
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    generation = Column(Integer, nullable=False, default=0)


def session_generation(user_id: int) -> int:
    return db.session.scalar(
        select(UserSessionGeneration.generation).where(UserSessionGeneration.user_id == user_id)) or 0


def generation_of(user_id_column):
    """The generation as a column, so the request's user and its generation load in one statement."""
    return (select(UserSessionGeneration.generation).where(UserSessionGeneration.user_id == user_id_column)
            .scalar_subquery())


def remember_loaded_generation(user_id: int, generation: int | None) -> None:
    g.loaded_session_generation = (user_id, generation or 0)


def end_all_sessions(user_id: int) -> None:
    """Invalidate every session cookie the user holds (commits)."""
    table = UserSessionGeneration.__table__
    advanced = db.session.execute(
        update(table).where(table.c.user_id == user_id).values(generation=table.c.generation + 1)).rowcount
    if not advanced:
        try:
            with db.session.begin_nested():
                db.session.execute(insert(table).values(user_id=user_id, generation=1))
        except IntegrityError:  # a concurrent sign-out created the row first
            db.session.execute(
                update(table).where(table.c.user_id == user_id).values(generation=table.c.generation + 1))
    db.session.commit()


def _signed_in(_app, user, **_extra) -> None:
    session[SESSION_KEY] = session_generation(user.id)


def _signed_out(_app, user, **_extra) -> None:
    if not g.get("session_revoked") and getattr(user, "id", None) is not None:
        end_all_sessions(user.id)


def _refuse_ended_session() -> None:
    """A session cookie from before the user's last sign-out: the request continues as anonymous."""
    if "_user_id" not in session or not current_user.is_authenticated:
        return
    loaded = g.get("loaded_session_generation")
    current = loaded[1] if loaded and loaded[0] == current_user.id else session_generation(current_user.id)
    if session.get(SESSION_KEY, 0) != current:
        g.session_revoked = True
        logout_user()
        session.clear()


def init_sessions(app: Flask) -> None:
    user_logged_in.connect(_signed_in, app)
    user_logged_out.connect(_signed_out, app)
    app.before_request(_refuse_ended_session)

"""One log line per request (request id, user, method, path, status, duration), and a clean 503 when the
database is unreachable.

The request id comes from the caller's ``X-Request-ID`` (a load balancer's, say) when it is a sane token,
otherwise a new one; it is returned in the response header and in the 503 body, so a user's report, the
proxy's log and this log line meet. A database outage (PostgreSQL restarting, network gone) answers 503
with ``Retry-After`` and no internal detail; the connection pool's pre-ping replaces the dead connections
on the next requests, so the application recovers by itself.
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, jsonify, request
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError, OperationalError, PendingRollbackError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger("orderdesk.request")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
UNAVAILABLE_MESSAGE = "The order desk cannot reach its database right now. Please try again in a moment."


def request_id() -> str:
    return g.get("request_id", "-")


def _begin() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def note_username(user) -> None:
    """Note the name of a user the request has loaded, for its log line: the request's commit expires
    the user's columns, and reading one afterwards would load the user again."""
    g.setdefault("usernames", {})[user.id] = user.username


def _user_label() -> str:
    # Only users already loaded by this request: logging must not cost a query of its own.
    caller = g.get("api_caller")  # a REST caller (JWT or API key), app/api/framework.py
    user = caller.user if caller is not None else g.get("tmf_user") or g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return "-"
    state = inspect(user, raiseerr=False)  # the identity stays readable when the columns are expired
    noted = g.get("usernames", {}).get(state.identity[0]) if state is not None and state.identity else None
    return noted or getattr(user, "username", None) or str(getattr(user, "id", "-"))


def _finish(response):
    response.headers[REQUEST_ID_HEADER] = request_id()
    started = g.get("request_started")
    duration = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    log.info("request_id=%s user=%s method=%s path=%s status=%s duration_ms=%.1f", request_id(), _user_label(),
             request.method, request.path, response.status_code, duration)
    return response


def _unavailable(error: SQLAlchemyError) -> bool:
    """Is this the database being out of reach (rather than a bug)?"""
    if isinstance(error, (OperationalError, PendingRollbackError, PoolTimeout)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _database_unavailable(error: SQLAlchemyError):
    """503 without a traceback or SQL in the page; the details go to the log under the request id."""
    from app.core.extensions import db

    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection is gone; the session is discarded at teardown anyway
        pass
    if _unavailable(error):
        log.error("request_id=%s database unavailable: %s", request_id(),
                  (str(getattr(error, "orig", None) or error).splitlines() or ["?"])[0])
        status = 503
    else:
        log.exception("request_id=%s database error", request_id())
        status = 500
    message = UNAVAILABLE_MESSAGE if status == 503 else "The request could not be processed."
    if request.path.startswith(("/api/", "/tmf-api/")) or request.accept_mimetypes.best == "application/json":
        response = jsonify({"message": message, "requestId": request_id(), "status": str(status)})
    else:
        response = app_response(f"<!doctype html><title>Service unavailable</title><h1>{message}</h1>"
                                f"<p>Reference: {request_id()}</p>", status)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


def app_response(body: str, status: int):
    from flask import make_response

    response = make_response(body, status)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response


def init_request_logging(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_finish)
    # SQLAlchemy errors the application does not handle itself (it maps StaleDataError to a conflict).
    app.register_error_handler(SQLAlchemyError, _database_unavailable)

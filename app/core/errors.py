"""One place that turns domain refusals into what the user sees: a flash message or a JSON 4xx."""
from __future__ import annotations

from flask import flash, jsonify, redirect, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import RequestEntityTooLarge

from app.core.exceptions import DomainError, VersionConflict
from app.core.extensions import db

API_PREFIXES = ("/api/", "/tmf-api/")

STALE_MESSAGE = (
    "Someone else changed this record while you were working on it; nothing was saved. "
    "Reload the page to see their change."
)


def wants_json() -> bool:
    return request.path.startswith(API_PREFIXES) or request.accept_mimetypes.best == "application/json"


def domain_error_response(error: DomainError):
    """Flash the refusal and go back (UI), or answer with its HTTP status and message (API)."""
    db.session.rollback()
    if wants_json():
        body = {"message": error.message}
        if error.field_errors:
            body["errors"] = error.field_errors
        return jsonify(body), error.status_code
    flash(error.message, "danger")
    return redirect(request.referrer or request.path)


def too_large_response(_error):
    """A request past MAX_CONTENT_LENGTH (an upload of too many or too big files) is refused unread."""
    limit = (request.max_content_length or 0) // (1024 * 1024)
    message = f"The upload is larger than {limit} MB in total; nothing was stored. Send fewer or smaller files."
    if wants_json():
        return jsonify({"message": message}), 413
    flash(message, "danger")
    return redirect(request.referrer or "/")


def register_error_handlers(app) -> None:
    app.register_error_handler(RequestEntityTooLarge, too_large_response)
    app.register_error_handler(DomainError, domain_error_response)
    app.register_error_handler(StaleDataError, lambda _exc: domain_error_response(VersionConflict(STALE_MESSAGE)))

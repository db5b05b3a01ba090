"""TM Forum API conventions shared by TMF622 and TMF641: Error bodies, attribute selection, filtering,
paging headers, merge patch, dates and authentication."""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from functools import wraps
from typing import Any, Callable

from flask import current_app, g, jsonify, request
from flask_jwt_extended import verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import PyJWTError

from app.core.exceptions import DomainError
from app.core.extensions import db
from app.core.request_logging import note_username
from app.core.roles import ADMIN, INTEGRATOR, role_names

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 2**63 - 1
# Roles that may call the TMF ordering APIs: external order systems and administrators.
TMF_ROLES = {INTEGRATOR, ADMIN}


class TmfError(Exception):
    """An error answered with a TMF ``Error`` body."""

    def __init__(self, status: int, reason: str, message: str = "", code: str | None = None):
        super().__init__(message or reason)
        self.status = status
        self.reason = reason
        self.message = message or reason
        self.code = code or str(status)


def error_response(status: int, reason: str, message: str = "", code: str | None = None):
    body = {
        "code": code or str(status),
        "reason": reason,
        "message": message or reason,
        "status": str(status),
        "@type": "Error",
    }
    response = jsonify(body)
    response.status_code = status
    response.headers["Content-Type"] = JSON_CONTENT_TYPE
    return response


def json_response(body: Any, status: int = 200, headers: dict | None = None):
    response = jsonify(body)
    response.status_code = status
    response.headers["Content-Type"] = JSON_CONTENT_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def no_content():
    """204 with no body and no Content-Type (Flask would label the empty body text/html)."""
    response = current_app.response_class(status=204)
    response.headers.remove("Content-Type")
    return response


def tmf_datetime(value: dt.datetime | dt.date | None) -> str | None:
    """ISO 8601 with milliseconds and Z, as the TMF examples write them."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    # Formatted by hand: strftime does not pad years before 1000 to the four digits ISO 8601 needs.
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
            f"{value.second:02d}.{value.microsecond // 1000:03d}Z")


def parse_datetime(value: Any, field: str) -> dt.datetime:
    """A TMF date-time string as a naive UTC datetime; 400 when it is not one."""
    if not isinstance(value, str):
        raise TmfError(400, "Invalid value", f"{field} must be an ISO 8601 date-time string")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:  # overflow: an offset that moves 0001-01-01 before year 1
        raise TmfError(400, "Invalid value", f"{field} is not an ISO 8601 date-time: {value!r}") from exc
    return parsed


def text_for_column(value: Any, where: str, column, *, numbers: bool = False) -> str:
    """*value* as the text to store in *column*: a string (a number too when *numbers*) no longer than the
    column. The limit is read from the model, so it follows the schema; PostgreSQL refuses longer text
    with an error (a 500), SQLite would store it whole."""
    if numbers and isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise TmfError(400, "Invalid attribute", f"{where} must be a string")
    limit = column.type.length
    if limit is not None and len(value) > limit:
        raise TmfError(400, "Invalid attribute", f"{where} is longer than {limit} characters")
    return value


def fits_numeric(value: Decimal, column) -> bool:
    """Whether *value*, rounded to the scale of a NUMERIC(precision, scale) *column*, can be stored in it."""
    precision, scale = column.type.precision, column.type.scale
    bound = Decimal(10) ** (precision - scale)
    return value.is_finite() and abs(value) < bound and abs(round(value, scale)) < bound


def object_list(value: Any, where: str) -> list[dict]:
    """The elements of an optional array attribute, each of which must be an object (the code that reads
    them calls .get on each)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TmfError(400, "Invalid attribute", f"{where} must be an array of objects")
    for position, element in enumerate(value):
        if not isinstance(element, dict):
            raise TmfError(400, "Invalid attribute", f"{where}[{position}] must be an object")
    return value


def select_fields(document: dict, fields: str | None, mandatory: tuple[str, ...] = ()) -> dict:
    """Apply ``fields=a,b,c.d``: keep the listed first-level attributes, and id, href, @type and the
    resource's *mandatory* attributes always (TMF630: a selection still returns what the resource
    schema requires); a dotted name keeps only those keys inside the elements of that attribute."""
    if not fields:
        return document
    refuse_nul_characters(fields, "fields")
    wanted: dict[str, set[str] | None] = {}
    for raw in fields.split(","):
        name = raw.strip()
        if not name:
            continue
        head, _, rest = name.partition(".")
        if rest:
            if wanted.get(head, set()) is not None:
                wanted.setdefault(head, set()).add(rest.partition(".")[0])
        else:
            wanted[head] = None
    result = {key: document[key] for key in ("id", "href", "@type", *mandatory) if key in document}
    for head, subkeys in wanted.items():
        if head not in document:
            continue
        value = document[head]
        if subkeys is None or head in mandatory:
            result[head] = value
        elif isinstance(value, list):
            result[head] = [
                {k: v for k, v in element.items() if k in subkeys} if isinstance(element, dict) else element
                for element in value
            ]
        elif isinstance(value, dict):
            result[head] = {k: v for k, v in value.items() if k in subkeys}
    return result


def refuse_nul_characters(value: Any, where: str = "the request") -> None:
    """NUL cannot be stored in PostgreSQL text; refuse it up front instead of failing in the database."""
    if isinstance(value, str):
        if "\x00" in value:
            raise TmfError(400, "Invalid value", f"{where} contains a NUL character")
    elif isinstance(value, dict):
        for key, element in value.items():
            refuse_nul_characters(key, where)
            refuse_nul_characters(element, where)
    elif isinstance(value, list):
        for element in value:
            refuse_nul_characters(element, where)


def paging() -> tuple[int, int]:
    try:
        offset = int(request.args.get("offset", 0))
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
    except ValueError as exc:
        raise TmfError(400, "Invalid paging", "offset and limit must be integers") from exc
    if offset < 0 or limit < 0:
        raise TmfError(400, "Invalid paging", "offset and limit must not be negative")
    # Past the largest SQL BIGINT (2^63 - 1) the database refuses the OFFSET; no page is that far anyway.
    return min(offset, MAX_OFFSET), min(limit, MAX_LIMIT)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else (arrays too) replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def request_json_object() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise TmfError(400, "Invalid body", "The request body must be a JSON object")
    refuse_nul_characters(body, "the request body")
    return body


def authenticated_caller():
    """The user behind the request's bearer token (an API key ``sst_…`` or a JWT), or None."""
    sm = current_app.appbuilder.sm
    api_key = sm.extract_api_key_from_request()
    if api_key:
        return sm.validate_api_key(api_key)
    if not request.headers.get("Authorization", "").lower().startswith("bearer "):
        return None
    try:
        verify_jwt_in_request()
    except (JWTExtendedException, PyJWTError):
        return None
    from flask_jwt_extended import current_user as jwt_user

    return jwt_user


def tmf_endpoint(view: Callable) -> Callable:
    """Authenticate the caller (integrator or admin) and turn TmfError into TMF Error bodies."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        try:
            user = authenticated_caller()
            if user is None or not getattr(user, "is_active", False):
                raise TmfError(401, "Unauthorized", "A valid bearer token (API key or JWT) is required")
            if not role_names(user) & TMF_ROLES:
                raise TmfError(403, "Forbidden", "This account may not use the ordering APIs")
            g.tmf_user = user
            note_username(user)
            return view(*args, **kwargs)
        except TmfError as error:
            db.session.rollback()
            return error_response(error.status, error.reason, error.message, error.code)
        except DomainError as refusal:
            db.session.rollback()
            return error_response(refusal.status_code, "Refused", refusal.message)
        except Exception:
            db.session.rollback()
            log.exception("TMF request failed: %s %s", request.method, request.path)
            return error_response(500, "Internal error", "The request could not be processed")

    return wrapper

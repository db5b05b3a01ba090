"""The JSON REST API's machinery: one declared endpoint per operation, callers, validation, paging, errors.

Every write calls the same workflow functions as the UI, so the business rules live only there; this
module authenticates the caller (JWT from ``POST /api/v1/auth/token`` or an ``sst_…`` API key), checks
the query string and body against the schemas the OpenAPI document publishes, limits reads to what
the caller may see, and turns refusals into JSON: 401/403 for who, 404 for what the caller may not
see, 409 for state and version conflicts, 422 with field messages for bad input.
"""
from __future__ import annotations

import logging
import re
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, Flask, Response, g, jsonify, request
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from app.core.exceptions import DomainError
from app.core.extensions import db
from app.portal.scope import AccountScope, customer_account_id, foreign_references
from app.api.schemas import CONTROL, ID
from app.core.input_guard import CONTROL_CHARACTER
from app.core.roles import ADMIN, AGENT, CUSTOMER, INTEGRATOR, MANAGER, role_names
from app.tmf.common import authenticated_caller

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
BACK_OFFICE = (AGENT, MANAGER, ADMIN)
CASE_READERS = (*BACK_OFFICE, CUSTOMER)
ORDER_READERS = (*BACK_OFFICE, CUSTOMER, INTEGRATOR)
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# Counting stops here: a count over a million rows would cost more than the page itself.
COUNT_CAP = 10_000
MAX_DB_INTEGER = 2_147_483_647
ERROR_STATUSES = {
    400: "Malformed request",
    401: "No valid bearer token (JWT or API key)",
    403: "The caller's role does not allow this",
    404: "No such record, or the caller may not see it",
    409: "The record is in a state that does not allow this, or its version moved",
    413: "The request is larger than the upload limit",
    422: "Invalid input; `errors` names the fields",
    429: "Too many login attempts",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors or {}


def error_body(status: int, message: str, errors: dict | None = None):
    body = {"message": message}
    if errors:
        body["errors"] = {str(k): str(v) for k, v in errors.items()}
    response = jsonify(body)
    response.status_code = status
    return response


def not_found(what: str = "record") -> ApiError:
    return ApiError(404, f"The {what} does not exist, or you may not see it.")


# ----------------------------------------------------------------------------------------------------
# The caller


class Caller:
    """The authenticated user and what follows from their roles."""

    def __init__(self, user):
        self.user = user
        self.roles = role_names(user)
        self.back_office = bool(self.roles & set(BACK_OFFICE))
        self.is_customer = CUSTOMER in self.roles and not self.back_office
        self._account_id: int | None | bool = False

    @property
    def account_id(self) -> int | None:
        """The account a customer acts for (through their linked contact); None when there is none."""
        if self._account_id is False:
            self._account_id = customer_account_id(self.user)
        return self._account_id

    @property
    def scope(self) -> AccountScope:
        """What a customer may see: their account's records (the portal's scope)."""
        return AccountScope(self.account_id)

    def refuse_foreign_references(self, values: dict) -> None:
        """A customer's ids must name their own account's records; others do not exist for them (422)."""
        if not self.is_customer:
            return
        errors = foreign_references(self.account_id, values)
        if errors:
            raise ApiError(422, f"{', '.join(sorted(errors))} names nothing on your account.", errors)


# ----------------------------------------------------------------------------------------------------
# Input validation against the published schemas


def _field_of(error) -> str:
    if error.validator == "required":
        match = re.match(r"'([^']+)' is a required property", error.message)
        return ".".join([*map(str, error.absolute_path), match.group(1) if match else "body"])
    if error.validator == "additionalProperties" and not error.absolute_path:
        extra = re.findall(r"'([^']+)'", error.message)
        return extra[0] if extra else "body"
    return ".".join(map(str, error.absolute_path)) or "body"


def _message_of(error) -> str:
    if error.validator == "required":
        return "Required"
    if error.validator == "additionalProperties":
        return "Unknown field"
    if error.validator == "enum":
        return "Choose one of: " + ", ".join(str(v) for v in error.validator_value if v is not None)
    if error.validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return "Must be " + " or ".join(k for k in kinds if k != "null") + (" or null" if "null" in kinds else "")
    if error.validator == "format":
        return {"date": "Not a date (YYYY-MM-DD)"}.get(error.validator_value, f"Not a {error.validator_value}")
    if error.validator in ("minimum", "maximum"):
        return f"Must be {'at least' if error.validator == 'minimum' else 'at most'} {error.validator_value}"
    if error.validator == "pattern":
        if CONTROL not in error.validator_value:
            return "Wrong format"
        return "Must not contain NUL or control characters" if CONTROL_CHARACTER.search(str(error.instance)) \
            else "Must not be blank"
    if error.validator in ("minLength", "maxLength"):
        return "Too short" if error.validator == "minLength" else f"At most {error.validator_value} characters"
    return error.message[:200]


def validate(instance: Any, schema: dict, what: str) -> None:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        errors.setdefault(_field_of(error), _message_of(error))
    if errors:
        raise ApiError(422, f"The {what} is not valid: " + "; ".join(f"{k}: {v}" for k, v in errors.items()) + ".",
                       errors)


def _coerce_query(parameters: list[dict]) -> dict:
    """The declared query parameters, converted to their schema types (422 on anything else)."""
    declared = {p["name"]: p["schema"] for p in parameters}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in request.args:
        if name not in declared:
            errors[name] = "Unknown parameter"
            continue
        raw = request.args.get(name, "")
        schema = declared[name]
        kinds = schema.get("type") if isinstance(schema.get("type"), list) else [schema.get("type")]
        value: Any = raw
        if "integer" in kinds:
            if re.fullmatch(r"-?\d{1,12}", raw.strip()):
                value = int(raw)
            elif "string" not in kinds:
                errors[name] = "Must be an integer"
                continue
        elif "boolean" in kinds:
            if raw.lower() not in ("true", "false"):
                errors[name] = "Must be true or false"
                continue
            value = raw.lower() == "true"
        values[name] = value
    try:
        validate(values, {"type": "object", "properties": declared}, "query string")
    except ApiError as invalid:
        errors.update(invalid.errors)
    if errors:
        raise ApiError(422, "The query string is not valid: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
                       + ".", errors)
    return values


# ----------------------------------------------------------------------------------------------------
# Declared endpoints: one decorator registers the route and its OpenAPI operation


PATH_PARAM = re.compile(r"{(\w+)}")


class Api:
    def __init__(self, app: Flask):
        self.app = app
        self.blueprint = Blueprint("rest_api", __name__, url_prefix=PREFIX)
        self.operations: dict[str, dict[str, dict]] = {}

    def route(self, method: str, path: str, *, summary: str, tag: str, roles=CASE_READERS,
              response: str | None = None, status: int = 200, body: dict | None = None,
              query: list[dict] | None = None, errors=(401, 403, 404, 422), description: str = "",
              auth: bool = True, limiter=None):
        query = query or []

        def decorate(view: Callable):
            @wraps(view)
            def handler(**path_args):
                try:
                    for name, value in path_args.items():
                        if value > MAX_DB_INTEGER:
                            raise not_found()
                    caller = _authenticate(roles) if auth else None
                    params = _coerce_query(query)
                    payload = None
                    if body is not None:
                        payload = request.get_json(silent=True)
                        if not isinstance(payload, dict):
                            raise ApiError(422, "The request body must be a JSON object.",
                                           {"body": "Must be a JSON object"})
                        validate(payload, body, "request body")
                    result = view(caller, params=params, body=payload, **path_args)
                except ApiError as error:
                    db.session.rollback()
                    return error_body(error.status, error.message, error.errors)
                except DomainError as refusal:
                    db.session.rollback()
                    return error_body(refusal.status_code, refusal.message, refusal.field_errors)
                if result is None:
                    return "", 204
                if isinstance(result, Response):
                    return result
                response = jsonify(result)
                response.status_code = status
                return response

            endpoint = f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}"
            final = limiter(handler) if limiter else handler
            self.blueprint.add_url_rule(PATH_PARAM.sub(r"<int:\1>", path), endpoint, final, methods=[method])
            self.operations.setdefault(path, {})[method.lower()] = _operation(
                endpoint, method, path, summary, tag, roles, response, status, body, query, errors, description, auth)
            return final

        return decorate


def _operation(endpoint, method, path, summary, tag, roles, response, status, body, query, errors, description,
               auth) -> dict:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {**ID, "maximum": MAX_DB_INTEGER}}
        for name in PATH_PARAM.findall(path)
    ] + [{"in": "query", "required": False, **parameter} for parameter in query]
    if auth:
        description = (description + "\n\n" if description else "") + f"Roles: {', '.join(roles)}."
    operation = {
        "operationId": endpoint,
        "summary": summary,
        "description": description,
        "tags": [tag],
        "parameters": parameters,
        "responses": {},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    success = {"description": "Success"}
    if response:
        success["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{response}"}}}
    operation["responses"][str(status)] = success
    # Every endpoint refuses unknown query parameters with 422 and malformed input (a JSON body nested too
    # deep, app/core/input_guard.py) with 400, so those statuses are always possible.
    codes = set(errors) | {400, 422} | ({401, 403} if auth else set())
    for code in sorted(codes):
        operation["responses"][str(code)] = {"$ref": f"#/components/responses/{code}"}
    if auth:
        operation["security"] = [{"bearer": []}]
    else:
        operation["security"] = []
    return operation


def _authenticate(roles) -> Caller:
    user = authenticated_caller()
    if user is None or not getattr(user, "is_active", False):
        raise ApiError(401, "A valid bearer token is required: a JWT from POST /api/v1/auth/token or an API key.")
    caller = Caller(user)
    if not caller.roles & set(roles):
        raise ApiError(403, "Your role may not use this part of the API.")
    g.api_caller = caller
    return caller


# ----------------------------------------------------------------------------------------------------
# Lists: filters, paging, capped counts


def page_params() -> list[dict]:
    return [
        {"name": "page", "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1},
         "description": "Page number, from 1"},
        {"name": "page_size", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE,
                                         "default": DEFAULT_PAGE_SIZE}, "description": "Records per page (≤ 100)"},
    ]


def id_filter(name: str, description: str) -> dict:
    return {"name": name, "schema": {**ID, "maximum": MAX_DB_INTEGER}, "description": description}


def enum_filter(name: str, vocabulary, description: str) -> dict:
    return {"name": name, "schema": {"type": "string", "enum": list(vocabulary.ALL)}, "description": description}


ASSIGNED_TO_FILTER = {
    "name": "assigned_to",
    "schema": {"type": ["integer", "string"], "pattern": "^(me|none|[0-9]{1,10})$", "minimum": 1,
               "maximum": MAX_DB_INTEGER},
    "description": "A user id, `me` (the caller) or `none` (unassigned)",
}


def assigned_to_clause(column, value, caller: Caller):
    if value == "me":
        return column == caller.user.id
    if value == "none":
        return column.is_(None)
    return column == int(value)


def paged(query, model, resource, params: dict, options=()) -> dict:
    """One page of *query* (newest first) and a count that stops at COUNT_CAP."""
    page = params.get("page", 1)
    page_size = params.get("page_size", DEFAULT_PAGE_SIZE)
    counted = db.session.scalar(
        select(func.count()).select_from(query.with_only_columns(model.id).order_by(None).limit(COUNT_CAP + 1)
                                         .subquery())
    )
    rows = db.session.scalars(
        query.options(*options).order_by(model.id.desc()).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return {
        "count": min(counted, COUNT_CAP),
        "count_capped": counted > COUNT_CAP,
        "page": page,
        "page_size": page_size,
        "items": [resource.render(row) for row in rows],
    }


def one(query, what: str):
    record = db.session.scalars(query).first()
    if record is None:
        raise not_found(what)
    return record


def version_schema(properties: dict | None = None, required: tuple = ()) -> dict:
    """A write's body: the record's version (required) plus the operation's own inputs."""
    return {
        "type": "object",
        "properties": {"version": {"type": "integer", "minimum": 1, "maximum": MAX_DB_INTEGER,
                                   "description": "The version of the record the caller last read"},
                       **(properties or {})},
        "required": ["version", *required],
        "additionalProperties": False,
    }

"""The REST API under /api/v1/: token login, the case, order and record endpoints, the OpenAPI document
and its Swagger UI page, JSON answers on every /api/v1 path."""
from __future__ import annotations

import datetime as dt
import logging

from flask import Flask, current_app, jsonify, request, url_for
from flask_jwt_extended import create_access_token
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from app.api import openapi
from app.core.extensions import csrf, db
from app.api.framework import BACK_OFFICE, ERROR_STATUSES, PREFIX, Api, ApiError, Caller, error_body
from app.api.attachments import register_attachment_routes
from app.api.cases import register_case_routes
from app.api.orders import register_order_routes
from app.api.schemas import component_schemas, text
from app.core.roles import CUSTOMER, INTEGRATOR

log = logging.getLogger(__name__)

TOKEN_REQUEST = {
    "type": "object",
    "properties": {"username": {**text(256), "minLength": 1}, "password": {**text(1024), "minLength": 1}},
    "required": ["username", "password"],
    "additionalProperties": False,
}


def _register_auth(api: Api) -> None:
    sm = api.app.appbuilder.sm
    limiter = None
    if sm.is_auth_limited:
        # The same limit as the login form: password guessing is as slow here as there.
        limiter = sm.limiter.limit(sm.auth_rate_limit, methods=["POST"])

    @api.route("POST", "/auth/token", summary="Log in: exchange a username and password for a JWT access token",
               tag="Authentication", auth=False, body=TOKEN_REQUEST, response="Token", errors=(401, 422, 429),
               limiter=limiter, description="Send the token as `Authorization: Bearer <token>`. API keys "
               "(`sst_…`) created by an administrator work the same way without logging in.")
    def issue_token(_caller, params, body):
        user = sm.auth_user_db(body["username"], body["password"])
        if not user:
            raise ApiError(401, "Wrong username or password, or the account is inactive.")
        expires = current_app.config.get("JWT_ACCESS_TOKEN_EXPIRES", dt.timedelta(minutes=15))
        seconds = int(expires.total_seconds()) if isinstance(expires, dt.timedelta) else int(expires or 0)
        return {"access_token": create_access_token(identity=str(user.id), fresh=True), "token_type": "Bearer",
                "expires_in": seconds}

    @api.route("GET", "/auth/me", summary="Who the bearer token belongs to", tag="Authentication",
               roles=(*BACK_OFFICE, CUSTOMER, INTEGRATOR), response="Caller", errors=())
    def who_am_i(caller: Caller, params, body):
        return {"id": caller.user.id, "username": caller.user.username, "roles": sorted(caller.roles),
                "account_id": caller.account_id if caller.is_customer else None}


def openapi_document(api: Api) -> dict:
    return openapi.build_document(api.operations, component_schemas(), ERROR_STATUSES)


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Order Operations REST API</title>
<link rel="stylesheet" href="{css}"></head>
<body><div id="swagger-ui" data-spec-url="{spec}"></div>
<script src="{js}"></script>
<script src="{init}"></script>
</body></html>"""


def register_rest_api(app: Flask) -> None:
    """Build the blueprint for *app* (its own operations registry) and answer JSON on every /api/v1 path."""
    api = Api(app)
    _register_auth(api)
    register_case_routes(api)
    register_order_routes(api)
    register_attachment_routes(api)
    blueprint = api.blueprint

    @blueprint.get("/openapi.json")
    def openapi_json():
        return jsonify(openapi_document(api))

    @blueprint.get("/docs")
    def docs():
        # Swagger UI from FAB's own static files: the page loads nothing from the internet.
        return DOCS_PAGE.format(
            css=url_for("appbuilder.static", filename="css/swagger/swagger-ui.css"),
            js=url_for("appbuilder.static", filename="js/swagger-ui-bundle.js"),
            spec=url_for("rest_api.openapi_json"),
            init=url_for("static", filename="js/swagger-init.js"),
        )

    @blueprint.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        message = "Too many attempts; wait a little and try again." if error.code == 429 else error.description
        return error_body(error.code or 500, message)

    @blueprint.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        log.exception("REST API request failed: %s %s", request.method, request.path)
        return error_body(500, "The request could not be processed; the error was logged.")

    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)
    app.extensions["rest_api"] = api
    _answer_unknown_paths_with_json(app)


def _answer_unknown_paths_with_json(app: Flask) -> None:
    """Routing errors under /api/v1 get JSON bodies; other paths keep the handler registered before."""
    for exception in (NotFound, MethodNotAllowed):
        previous = app.error_handler_spec[None][exception.code].get(exception)

        def handler(error, previous=previous):
            if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
                message = "No such endpoint." if error.code == 404 else f"{request.method} is not allowed here."
                response = error_body(error.code, message)
                if error.code == 405 and getattr(error, "valid_methods", None):
                    response.headers["Allow"] = ", ".join(error.valid_methods)
                return response
            return previous(error) if previous else error

        app.register_error_handler(exception, handler)

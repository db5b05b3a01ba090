"""Styled 400, 403, 404, 405 and 500 pages: the app's own navigation (the back office's menu bar, or the portal's
tabs under /portal), what happened in plain words, and a way back. The APIs keep their JSON bodies: for
their paths the handler registered before this one answers."""
from __future__ import annotations

import logging

from flask import current_app, render_template, request
from werkzeug.exceptions import BadRequest, Forbidden, InternalServerError, MethodNotAllowed, NotFound

from app.core.errors import API_PREFIXES, wants_json
from app.core.extensions import db

log = logging.getLogger(__name__)

# Machine interfaces answer errors their own way (JSON): the REST and TMF APIs, the exchange inbox.
MACHINE_PREFIXES = API_PREFIXES + ("/exchange/v1/",)

PAGES = {
    400: ("The request could not be read", "If you sent a form, it may have been open too long or sent twice: go "
          "back, reload the page and try again. Nothing was saved."),
    403: ("You may not open this page", "Your role does not give access to this page or action. If you need it, "
          "ask an administrator."),
    404: ("Page not found", "There is no page at this address: the record may have been deleted, or the link "
          "is mistyped."),
    405: ("This address does not take that request", "The page was asked for in a way it does not support, "
          "for instance a form sent to a page that only shows."),
    500: ("Something went wrong on our side", "The request could not be completed and nothing was saved. "
          "The error was logged; try again, and tell your administrator if it keeps happening."),
}


def error_page(error):
    """The styled page for *error*, with its status."""
    status = error.code if error.code in PAGES else 500
    title, explanation = PAGES[status]
    db.session.rollback()
    portal = request.path.startswith("/portal")
    appbuilder = current_app.appbuilder
    try:
        body = render_template(
            "errors/portal.html" if portal else "errors/page.html", status=status, title=title,
            explanation=explanation, back_url=_same_site_referrer(), appbuilder=appbuilder,
            base_template=appbuilder.base_template, contact=None,
        )
    except Exception:  # the page itself must not fail: a broken menu or session still gets an answer
        log.exception("The %s page could not be rendered", status)
        body = f"<!doctype html><html lang='en'><title>{title}</title><h1>{title}</h1><p>{explanation}</p>" \
               f"<p><a href='/'>Home</a></p></html>"
    return body, status


def _same_site_referrer() -> str | None:
    referrer = request.referrer or ""
    return referrer if referrer.startswith(request.host_url) and referrer != request.url else None


def register_error_pages(app) -> None:
    """Call after the APIs registered their handlers: those keep answering for their own paths."""
    for exception in (BadRequest, Forbidden, NotFound, MethodNotAllowed, InternalServerError):
        previous = app.error_handler_spec[None][exception.code].get(exception)

        def handler(error, previous=previous):
            if request.path.startswith(MACHINE_PREFIXES) or wants_json():
                return previous(error) if previous else error
            return error_page(error)

        app.register_error_handler(exception, handler)

"""The security headers of every response, set in one place.

The Content-Security-Policy lets a page run only scripts served by the application itself and inline
scripts carrying the request's nonce (``csp_nonce()`` in templates; Flask-AppBuilder's templates already
ask for it through ``baselib.get_nonce()``); inline event handlers are not allowed, so pages attach
behaviour from ``static/js/orderdesk.js`` instead. Styles allow ``'unsafe-inline'``: Flask-AppBuilder's
templates and widgets (Select2, the date picker) write ``style`` attributes, and a style cannot run code.
Nothing is loaded from another origin, and no page may be framed (clickjacking). HSTS is sent only on
requests that arrived over HTTPS (directly, or through a proxy gunicorn trusts for X-Forwarded-Proto).
"""
from __future__ import annotations

import secrets

from flask import Flask, g, request

HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce() -> str:
    """This request's nonce for inline scripts (the same for every script of the page)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def content_security_policy(nonce: str) -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _add_headers(response):
    headers = response.headers
    # A response that set a stricter policy of its own (attachment downloads: sandbox) keeps it.
    headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    return response


def init_security_headers(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_add_headers)

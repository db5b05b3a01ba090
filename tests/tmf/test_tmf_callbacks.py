"""TMF hub callbacks cannot be aimed at internal systems (SSRF): checked at registration and at every
delivery, redirects not followed; loopback here only because the test configuration allows it."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import func, select

from app.core.extensions import db
from app.tmf.events import deliver_due_events
from app.tmf.models import TmfEvent, TmfHubSubscription
from tests.tmf.test_tmf_api import CTK_622_BODY, P622, Tmf, api_key_for


@pytest.fixture
def tmf(client_for, users):
    return Tmf(client_for(None), api_key_for(users["integrator"]))


@pytest.fixture
def no_internal_networks(app):
    allowed = app.config["CALLBACK_ALLOWED_NETWORKS"]
    app.config["CALLBACK_ALLOWED_NETWORKS"] = ""
    yield
    app.config["CALLBACK_ALLOWED_NETWORKS"] = allowed


def subscriptions() -> int:
    return db.session.scalar(select(func.count()).select_from(TmfHubSubscription))


@pytest.mark.parametrize("callback", [
    "http://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
    "http://127.0.0.1:8080/listener",  # loopback
    "http://localhost/listener",
    "http://[::1]/listener",
    "http://[::ffff:10.0.0.1]/listener",  # private, spelt as IPv6
    "http://10.1.2.3/listener",
    "http://192.168.0.10/listener",
    "http://172.16.5.5/listener",
    "http://0.0.0.0/listener",
    "http://2130706433/listener",  # 127.0.0.1 as one number
    "ftp://example.com/listener",
    "file:///etc/passwd",
    "http:///no-host",
    "http://no-such-host.invalid/listener",
])
def test_internal_and_non_http_callbacks_are_refused_at_registration(tmf, no_internal_networks, callback):
    response = tmf.post(f"{P622}/hub", {"callback": callback})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["@type"] == "Error"
    assert subscriptions() == 0


class _Recorder(BaseHTTPRequestHandler):
    received: list = []
    redirect_to: str | None = None

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, json.loads(body)))
        if type(self).redirect_to:
            self.send_response(307)
            self.send_header("Location", type(self).redirect_to)
        else:
            self.send_response(201)
        self.end_headers()

    def log_message(self, *args):
        pass


def serve(handler):
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def listeners():
    class Redirecting(_Recorder):
        received = []

    class Target(_Recorder):
        received = []
        redirect_to = None

    target, redirecting = serve(Target), serve(Redirecting)
    Redirecting.redirect_to = f"http://127.0.0.1:{target.server_port}/stolen"
    yield {"redirecting": (f"http://127.0.0.1:{redirecting.server_port}/events", Redirecting.received),
           "target": (f"http://127.0.0.1:{target.server_port}/events", Target.received)}
    target.shutdown()
    redirecting.shutdown()


def events_of(callback: str) -> list[TmfEvent]:
    db.session.expire_all()
    return db.session.scalars(select(TmfEvent).join(TmfHubSubscription)
                              .where(TmfHubSubscription.callback == callback)).all()


def wait_for(condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_an_allowed_network_is_delivered_to_but_redirects_are_not_followed(app, tmf, listeners):
    redirecting, redirected_log = listeners["redirecting"]
    _target, stolen_log = listeners["target"]
    assert tmf.post(f"{P622}/hub", {"callback": redirecting}).status_code == 201
    assert tmf.post(f"{P622}/productOrder", CTK_622_BODY).status_code == 201
    wait_for(lambda: redirected_log and events_of(redirecting)[0].attempts >= 1)
    assert [path for path, _body in redirected_log][:1] == ["/events"]
    event = events_of(redirecting)[0]
    assert event.state == "queued" and "redirects are not followed" in event.last_error
    time.sleep(0.3)
    assert stolen_log == [], "the redirect was followed"


def test_delivery_checks_the_destination_again(app, tmf, listeners):
    callback, received = listeners["target"]
    assert tmf.post(f"{P622}/hub", {"callback": callback}).status_code == 201
    # The administrator withdraws the network before the event is sent (or the name now resolves to an
    # internal address): the event is not sent there.
    app.config["CALLBACK_ALLOWED_NETWORKS"] = ""
    try:
        dispatcher = app.extensions.pop("tmf_event_dispatcher")  # deliver here, not in the background
        try:
            assert tmf.post(f"{P622}/productOrder", CTK_622_BODY).status_code == 201
            assert deliver_due_events() == 0
        finally:
            app.extensions["tmf_event_dispatcher"] = dispatcher
    finally:
        app.config["CALLBACK_ALLOWED_NETWORKS"] = "127.0.0.0/8, ::1/128"
    event = events_of(callback)[0]
    assert event.state == "queued" and event.last_error.startswith("refused: 127.0.0.1 resolves to")
    assert received == []

"""HTTP between connected instances: POST a message to the other side's inbox, or check that it answers.

Requests go only to the base URL an administrator configured on the connection (``peer_url``), with the
API key the other side issued for this connection, and through the outbound guard (app/core/outbound.py)
like every request the application sends on its own: an internal address is called only when its network
is allowed (``CALLBACK_ALLOWED_NETWORKS``), and redirects are never followed.
"""
from __future__ import annotations

import http.client
import json
from dataclasses import dataclass

from app.core import outbound

INBOX_PATH = "/exchange/v1/messages"
PING_PATH = "/exchange/v1/ping"
TIMEOUT_SECONDS = 10
PEER_HEADER = "X-Exchange-Peer"


@dataclass
class Outcome:
    """``delivered``; ``refused`` (the other side answered and will not take it: an administrator's matter);
    or ``unreachable`` (down, timing out, failing, or not allowed by the outbound guard: the message waits,
    and the later ones behind it, until it goes through)."""

    result: str
    detail: str | None = None


def _request(connection, path: str, method: str, body: dict | None) -> Outcome:
    headers = {"Accept": "application/json", "Authorization": f"Bearer {connection.api_key}",
               PEER_HEADER: connection.own_url.rstrip("/")}
    try:
        answer = outbound.send(method, connection.peer_url.rstrip("/") + path, body, TIMEOUT_SECONDS, headers)
    except outbound.RefusedDestination as refused:
        return Outcome("unreachable", f"Not called: {refused}")
    except (OSError, http.client.HTTPException, ValueError) as error:
        return Outcome("unreachable", str(error)[:500] or type(error).__name__)
    if 200 <= answer.status < 300:
        return Outcome("delivered", answer.body[:2000].decode("utf-8", "replace"))
    detail = f"HTTP {answer.status}: {_reason(answer.body)}"
    # 5xx, rate limiting and timeouts at a proxy are the other side's passing trouble, and a redirect is
    # a misconfigured URL that is not followed; any other answer is the other side's considered refusal,
    # which retrying unchanged would only repeat.
    if answer.status >= 500 or answer.status in (408, 429) or 300 <= answer.status < 400:
        return Outcome("unreachable", detail)
    return Outcome("refused", detail)


def _reason(body: bytes) -> str:
    try:
        document = json.loads(body[:4000].decode("utf-8", "replace"))
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    if isinstance(document, dict):
        return str(document.get("message") or document.get("reason") or document)[:500]
    return str(document)[:500]


def post_message(connection, message) -> Outcome:
    return _request(connection, INBOX_PATH, "POST", {
        "id": message.message_id, "kind": message.kind, "subject": message.subject, "payload": message.payload,
    })


def ping(connection) -> Outcome:
    return _request(connection, PING_PATH, "GET", None)

"""HTTP between connected instances: POST a message to the other side's inbox, or check that it answers.

Requests go only to the base URL an administrator configured on the connection (``peer_url``), with the
API key of the other side's integrator user; nothing else is ever called.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

INBOX_PATH = "/exchange/v1/messages"
PING_PATH = "/exchange/v1/ping"
TIMEOUT_SECONDS = 10
PEER_HEADER = "X-Exchange-Peer"


@dataclass
class Outcome:
    """``delivered``; ``refused`` (the other side answered and will not take it: an administrator's matter);
    or ``unreachable`` (down, timing out or failing: try again later)."""

    result: str
    detail: str | None = None


def _request(connection, path: str, method: str, body: dict | None) -> Outcome:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        connection.peer_url.rstrip("/") + path, data=data, method=method,
        headers={"Content-Type": "application/json", "Accept": "application/json",
                 "Authorization": f"Bearer {connection.api_key}", PEER_HEADER: connection.own_url.rstrip("/")},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return Outcome("delivered", response.read(2000).decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        detail = f"HTTP {error.code}: {_reason(error)}"
        # 5xx, rate limiting and timeouts at a proxy are the other side's passing trouble; any other
        # answer is its considered refusal, which retrying unchanged would only repeat.
        if error.code >= 500 or error.code in (408, 429):
            return Outcome("unreachable", detail)
        return Outcome("refused", detail)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Outcome("unreachable", str(getattr(exc, "reason", exc))[:500])


def _reason(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read(4000).decode("utf-8", "replace"))
    except (ValueError, OSError):
        return error.reason or ""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("reason") or body)[:500]
    return str(body)[:500]


def post_message(connection, message) -> Outcome:
    return _request(connection, INBOX_PATH, "POST", {
        "id": message.message_id, "kind": message.kind, "subject": message.subject, "payload": message.payload,
    })


def ping(connection) -> Outcome:
    return _request(connection, PING_PATH, "GET", None)

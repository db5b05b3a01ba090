"""Requests the application sends on its own (TMF event callbacks, Service Exchange messages), kept away
from internal systems.

A callback URL is given by an API caller, so without checks the server could be made to POST to itself,
to the cloud metadata service (169.254.169.254) or to anything else on the internal network (SSRF).
Here a destination must be ``http``/``https`` and every address its host resolves to must be public,
unless it lies in a network an administrator allowed (``CALLBACK_ALLOWED_NETWORKS``, e.g. a listener on
the intranet, or loopback in the tests). The check runs when the URL is registered and again at every
delivery, on the addresses actually connected to (a name that resolved to a public address at
registration may resolve to an internal one later), and redirects are never followed.
"""
from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app


class RefusedDestination(ValueError):
    """The URL may not be called; the message says why."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    configured = current_app.config.get("CALLBACK_ALLOWED_NETWORKS") or ""
    if isinstance(configured, str):
        configured = [part for part in configured.replace(";", ",").split(",")]
    return [ipaddress.ip_network(part.strip(), strict=False) for part in configured if part and part.strip()]


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_destination(url: str) -> Destination:
    """The checked destination of *url* (addresses resolved now), or RefusedDestination."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise RefusedDestination(f"not a valid URL ({error})") from error
    if parts.scheme not in ("http", "https"):
        raise RefusedDestination("only http and https URLs are called")
    if not parts.hostname:
        raise RefusedDestination("the URL names no host")
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedDestination(f"the host {parts.hostname} does not resolve") from error
    addresses = tuple(dict.fromkeys(info[4][0] for info in found))
    networks = allowed_networks()
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not _public(address) and not any(address in network for network in networks):
            raise RefusedDestination(
                f"{parts.hostname} resolves to {address}, an internal address (private, loopback, link-local "
                "or reserved); an administrator may allow its network in CALLBACK_ALLOWED_NETWORKS")
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return Destination(parts.scheme, parts.hostname, port, path, addresses)


class _PinnedConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, not to whatever the name resolves to a moment later."""

    def __init__(self, destination: Destination, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout)
        self.destination = destination

    def connect(self):
        self.sock = socket.create_connection((self.destination.addresses[0], self.port), self.timeout)


class _PinnedTlsConnection(http.client.HTTPSConnection):
    def __init__(self, destination: Destination, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout, context=ssl.create_default_context())
        self.destination = destination

    def connect(self):
        raw = socket.create_connection((self.destination.addresses[0], self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.destination.host)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def send(method: str, url: str, payload: dict | None, timeout: float, headers: dict | None = None) -> Answer:
    """Send *payload* (JSON, or nothing) to *url* after checking it again, without following redirects.

    Raises RefusedDestination when the guard refuses the URL, OSError or HTTPException when the
    exchange fails; any answer, whatever its status, is returned with the start of its body.
    """
    destination = check_destination(url)
    connection_class = _PinnedTlsConnection if destination.scheme == "https" else _PinnedConnection
    connection = connection_class(destination, timeout)
    all_headers = {"Content-Type": "application/json;charset=utf-8", **(headers or {})}
    try:
        connection.request(method, destination.path, headers=all_headers,
                           body=json.dumps(payload).encode() if payload is not None else None)
        response = connection.getresponse()
        return Answer(response.status, response.read(65536))
    finally:
        connection.close()


def post_json(url: str, payload: dict, timeout: float, headers: dict | None = None) -> str | None:
    """POST *payload* to *url* after checking it again; None on a 2xx answer, else what went wrong."""
    try:
        answer = send("POST", url, payload, timeout, headers)
    except RefusedDestination as refused:
        return f"refused: {refused}"
    except (OSError, http.client.HTTPException, ValueError) as error:
        return str(error)[:500] or type(error).__name__
    if 200 <= answer.status < 300:
        return None
    if 300 <= answer.status < 400:
        return f"HTTP {answer.status} (redirects are not followed)"
    return f"HTTP {answer.status}"

"""The demo's mail sink: a local SMTP server that delivers nothing and keeps every message it receives in
a Maildir (``instance/mailbox`` under ``./scripts/run``), where the Operations page shows them and any mail
reader opens them (``mutt -f instance/mailbox``). A newcomer sees the notifications without configuring a
mail server, and no demo message can reach a real address."""
from __future__ import annotations

import mailbox
import socket
from pathlib import Path

from aiosmtpd.controller import Controller


class _KeepInMaildir:
    def __init__(self, directory: Path):
        self.mailbox = mailbox.Maildir(directory, create=True)

    async def handle_DATA(self, server, session, envelope):
        self.mailbox.add(envelope.original_content or envelope.content)
        return "250 Kept in the demo mailbox"


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class MailSink:
    """``MailSink(directory).start()`` listens on a free loopback port; ``config()`` says how to reach it."""

    def __init__(self, directory: Path | str, host: str = "127.0.0.1", port: int | None = None):
        self.directory = Path(directory)
        self.host = host
        self.port = port or _free_port(host)
        self._controller: Controller | None = None

    def start(self) -> "MailSink":
        self._controller = Controller(_KeepInMaildir(self.directory), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def config(self) -> dict:
        """The application settings that send every message here."""
        return {"MAIL_SERVER": self.host, "MAIL_PORT": self.port, "MAIL_USE_TLS": False, "MAIL_USE_SSL": False,
                "MAIL_USERNAME": "", "MAIL_PASSWORD": "", "MAIL_SINK_DIR": str(self.directory)}

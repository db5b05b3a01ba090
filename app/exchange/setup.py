"""Wiring the Service Exchange into an application: inbox, sender, order page status, command."""
from __future__ import annotations

import os

import click
from flask import Flask

from app.exchange import capture  # noqa: F401  (registers the change capture on every session)
from app.exchange.inbox import register_inbox
from app.exchange.ordering import order_status
from app.exchange.outbox import deliver_due_messages, init_sender, wake_sender


def register_exchange(app: Flask) -> None:
    register_inbox(app)
    init_sender(app)
    app.jinja_env.globals["exchange_order_status"] = order_status
    started_in: set[int] = set()

    @app.before_request
    def _start_sender():
        # Messages queued before a restart wait for no new commit: the first request of each process
        # starts the sender, which then polls.
        if os.getpid() not in started_in:
            started_in.add(os.getpid())
            wake_sender()

    @app.cli.command("exchange-deliver")
    def exchange_deliver_command():
        """Deliver the Service Exchange messages that are due (the background sender does this too)."""
        click.echo(f"{deliver_due_messages()} message(s) delivered.")

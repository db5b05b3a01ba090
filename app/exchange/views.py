"""Administrators' pages: connections with their health, publishing offerings, and the outbox with retry."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import select
from sqlalchemy.orm import undefer

from app.core.choices import ExchangeMessageState, ExchangeRole
from app.core.exceptions import DomainError
from app.core.extensions import db
from app.exchange import connections, publishing
from app.exchange.models import ExchangeConnection
from app.exchange.outbox import wake_sender
from app.models import Account, ProductOffering


def _connection(pk: int) -> ExchangeConnection:
    connection = db.session.scalars(select(ExchangeConnection).where(ExchangeConnection.id == pk)
                                    .options(undefer(ExchangeConnection.waiting),
                                             undefer(ExchangeConnection.refused))).first()
    return connection or abort(404)


class ServiceExchangeView(BaseView):
    route_base = "/exchange/connections"
    default_view = "list"
    base_permissions = ["can_list", "can_edit"]
    # Administrators only (no role grants them): reading the health is "list", changing anything "edit".
    method_permission_name = {"list": "list", "show": "list", "add": "edit", "edit": "edit", "publish": "edit",
                              "check": "edit", "retry": "edit", "send": "edit", "issue_key": "edit"}

    @expose("/")
    @has_access
    def list(self):
        rows = db.session.scalars(select(ExchangeConnection).options(
            undefer(ExchangeConnection.waiting), undefer(ExchangeConnection.refused))
            .order_by(ExchangeConnection.name)).all()
        return self.render_template("exchange/connections.html", title="Service Exchange connections",
                                    connections=rows)

    def _form(self, connection: ExchangeConnection | None):
        errors, status = {}, 200
        if request.method == "POST":
            try:
                saved = connections.save_connection(request.form, connection)
                flash(f"Connection {saved.name} saved.", "success")
                return redirect(url_for(".show", pk=saved.id))
            except DomainError as refused:
                db.session.rollback()
                flash(refused.message, "danger")
                errors, status = refused.field_errors, 422
        form = request.form if request.method == "POST" else {
            "name": connection.name, "our_role": connection.our_role, "account_id": str(connection.account_id or ""),
            "peer_url": connection.peer_url, "own_url": connection.own_url, "active": connection.active,
        } if connection else {"own_url": request.host_url.rstrip("/"), "active": "y"}
        accounts = db.session.scalars(select(Account).where(Account.active.is_(True))
                                      .order_by(Account.name).limit(1000)).all()
        return self.render_template("exchange/connection_form.html", connection=connection, form=form,
                                    errors=errors, accounts=accounts, roles=ExchangeRole.ALL,
                                    title="Edit connection" if connection else "New connection"), status

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def add(self):
        return self._form(None)

    @expose("/<int:pk>/edit", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        return self._form(_connection(pk))

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        connection = _connection(pk)
        offerings = published = []
        if connection.is_provider:
            offerings = db.session.scalars(select(ProductOffering).where(ProductOffering.provider.is_(None))
                                           .order_by(ProductOffering.name).limit(1000)).all()
            published = publishing.published_offerings(connection)
        return self.render_template("exchange/connection.html", title=f"Connection {connection.name}",
                                    connection=connection, offerings=offerings, published=published,
                                    messages=connections.recent_messages(connection),
                                    refused_state=ExchangeMessageState.REFUSED)

    @expose("/<int:pk>/publish", methods=["POST"])
    @has_access
    def publish(self, pk):
        connection = _connection(pk)
        try:
            ids = [int(value) for value in request.form.getlist("offering_id")]
            added, withdrawn = publishing.set_publications(connection, ids)
            flash(f"{added} offering(s) published, {withdrawn} withdrawn.", "success")
        except ValueError:
            flash("The form named an offering that does not exist.", "danger")
        except DomainError as refused:
            db.session.rollback()
            flash(refused.message, "danger")
        return redirect(url_for(".show", pk=pk))

    @expose("/<int:pk>/key", methods=["POST"])
    @has_access
    def issue_key(self, pk):
        connection = _connection(pk)
        try:
            key = connections.issue_peer_key(connection)
        except DomainError as refused:
            db.session.rollback()
            flash(refused.message, "danger")
            return redirect(url_for(".show", pk=pk))
        # Shown once, in this answer only: never in a redirect's flash (the session cookie is readable).
        response = make_response(self.render_template("exchange/connection_key.html", connection=connection,
                                                      key=key, title=f"Key for {connection.name}"))
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/<int:pk>/check", methods=["POST"])
    @has_access
    def check(self, pk):
        outcome = connections.check_connection(_connection(pk))
        if outcome.result == "delivered":
            flash("The other instance answered and knows this connection.", "success")
        else:
            flash(f"The other instance did not accept the check: {outcome.detail}", "danger")
        return redirect(url_for(".show", pk=pk))

    @expose("/<int:pk>/retry", methods=["POST"])
    @has_access
    def retry(self, pk):
        connection = _connection(pk)
        ids = [int(value) for value in request.form.getlist("message_id") if value.isdigit()] or None
        count = connections.retry_refused(connection, ids)
        flash(f"{count} refused message(s) queued again.", "success" if count else "info")
        return redirect(url_for(".show", pk=pk))

    @expose("/<int:pk>/send", methods=["POST"])
    @has_access
    def send(self, pk):
        _connection(pk)
        wake_sender()
        flash("Waiting messages are being sent.", "info")
        return redirect(url_for(".show", pk=pk))

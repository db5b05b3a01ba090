"""HTTP endpoints of TMF622 Product Ordering v4 and v5 and TMF641 Service Ordering v4: one set of views,
made for each API profile."""
from __future__ import annotations

import click
from flask import Blueprint, Flask, g, request
from sqlalchemy import func, select

from app.core.extensions import csrf, db
from app.core.model_base import utcnow
from app.core.outbound import RefusedDestination, check_destination
from app.models import CustomerOrder, OrderCase, OrderCaseLine, ProductInventory
from app.models import Quote
from app.tmf.common import (
    TmfError,
    error_response,
    json_response,
    no_content,
    paging,
    parse_datetime,
    request_json_object,
    select_fields,
    tmf_datetime,
    tmf_endpoint,
)
from app.tmf import json_patch
from app.tmf.events import init_event_delivery, queue_event
from app.tmf.listing import list_documents, list_orders
from app.tmf.models import TmfCancelRequest, TmfHubSubscription
from app.tmf.orders import (
    PROFILES,
    OrderApi,
    create_order,
    order_query,
    profiles_of,
    render_order,
)
from app.tmf.changes import cancel_through_workflow, patch_order
from app.tmf.query import parse_query
from app.tmf.schemas import check_body

JSON_PATCH = "application/json-patch+json"
JSON_PATCH_QUERY = "application/json-patch-query+json"
PATCH_MEDIA_TYPES = ("application/merge-patch+json", "application/json", JSON_PATCH, JSON_PATCH_QUERY)
FINAL_TMF_STATES = {"completed", "cancelled", "rejected", "failed", "partial"}


def _find_order(api: OrderApi, tmf_id: str) -> CustomerOrder:
    order = db.session.scalars(order_query(api).where(CustomerOrder.tmf_id == tmf_id)).first()
    if order is None:
        raise TmfError(404, "Not found", f"No {api.resource} with id {tmf_id}")
    return order


def make_blueprint(api: OrderApi) -> Blueprint:
    name = f"tmf_{api.resource}" if api.version == 4 else f"tmf_{api.resource}_v{api.version}"
    blueprint = Blueprint(name, __name__, url_prefix=api.base_path)
    blueprint.strict_slashes = False

    @blueprint.get(f"/{api.resource}", strict_slashes=False)
    @tmf_endpoint
    def list_of_orders():
        offset, limit = paging()
        conditions, sort = parse_query()
        total, page = list_orders(api, order_query(api), conditions, sort, offset, limit,
                                  lambda order: render_order(api, order))
        fields = request.args.get("fields")
        body = [select_fields(document, fields, (api.item_key,)) for document in page]
        return json_response(body, 200, {"X-Total-Count": str(total), "X-Result-Count": str(len(body))})

    @blueprint.post(f"/{api.resource}", strict_slashes=False)
    @tmf_endpoint
    def create():
        order = create_order(api, request_json_object(), g.tmf_user)
        # Rendered from the records just written (all loaded), before the commit expires them, instead of
        # reading the order back: the same document, without a query per line.
        document = render_order(api, order)
        db.session.commit()
        return json_response(document, 201, {"Location": document["href"]})

    @blueprint.get(f"/{api.resource}/<tmf_id>")
    @tmf_endpoint
    def retrieve(tmf_id):
        return json_response(select_fields(render_order(api, _find_order(api, tmf_id)), request.args.get("fields"),
                                           (api.item_key,)))

    @blueprint.patch(f"/{api.resource}/<tmf_id>")
    @tmf_endpoint
    def patch(tmf_id):
        if request.mimetype not in PATCH_MEDIA_TYPES:
            raise TmfError(415, "Unsupported media type", f"Use {', '.join(PATCH_MEDIA_TYPES)}")
        order = _find_order(api, tmf_id)
        if request.mimetype in (JSON_PATCH, JSON_PATCH_QUERY):
            shown = render_order(api, order)
            patched = json_patch.apply(shown, request.get_json(silent=True), query=request.mimetype == JSON_PATCH_QUERY)
            changes = json_patch.as_merge_patch(shown, patched)
        else:
            changes = request_json_object()
        patch_order(api, order, changes, g.tmf_user)
        db.session.commit()
        return json_response(render_order(api, _find_order(api, tmf_id)))

    @blueprint.delete(f"/{api.resource}/<tmf_id>")
    @tmf_endpoint
    def delete(tmf_id):
        order = _find_order(api, tmf_id)
        _refuse_delete_of_referenced(order)
        # Cancellation requests and enrichment issues belong to the order and go with it, before the
        # lines the issues may point at.
        for cancel_request in db.session.scalars(select(TmfCancelRequest).where(TmfCancelRequest.order_id == order.id)):
            db.session.delete(cancel_request)
        order.enrichment_issues.clear()
        db.session.flush()
        for line in order.lines:
            db.session.delete(line)
        db.session.delete(order)
        db.session.commit()
        return no_content()

    @blueprint.get(f"/{api.cancel_resource}", strict_slashes=False)
    @tmf_endpoint
    def list_cancellations():
        offset, limit = paging()
        conditions, sort = parse_query()
        rows = db.session.scalars(
            select(TmfCancelRequest).where(TmfCancelRequest.api == api.key).order_by(TmfCancelRequest.id.desc())
        )
        total, page = list_documents([_render_cancel(api, row) for row in rows], conditions, sort, offset, limit)
        body = [select_fields(document, request.args.get("fields"), (api.resource,)) for document in page]
        return json_response(body, 200, {"X-Total-Count": str(total), "X-Result-Count": str(len(body))})

    @blueprint.get(f"/{api.cancel_resource}/<tmf_id>")
    @tmf_endpoint
    def retrieve_cancellation(tmf_id):
        row = db.session.scalars(
            select(TmfCancelRequest).where(TmfCancelRequest.api == api.key, TmfCancelRequest.tmf_id == tmf_id)
        ).first()
        if row is None:
            raise TmfError(404, "Not found", f"No {api.cancel_resource} with id {tmf_id}")
        return json_response(select_fields(_render_cancel(api, row), request.args.get("fields"), (api.resource,)))

    @blueprint.post(f"/{api.cancel_resource}", strict_slashes=False)
    @tmf_endpoint
    def cancel():
        body = request_json_object()
        owned = [field for field in ("id", "href", "state", "effectiveCancellationDate") if field in body]
        if owned:
            raise TmfError(400, "Server-owned attribute", f"{', '.join(owned)} may not be set by the client")
        check_body(api.spec, api.cancel_definition, body)
        reference = body.get(api.resource)
        if not isinstance(reference, dict) or not isinstance(reference.get("id"), str):
            raise TmfError(400, "Missing attribute", f"{api.resource}.id is required (a string)")
        order = _find_order(api, reference["id"])
        reason = body.get("cancellationReason")
        if reason is not None and not isinstance(reason, str):
            raise TmfError(400, "Invalid attribute", "cancellationReason must be a string")
        requested = body.get("requestedCancellationDate")
        if requested is not None:
            requested = tmf_datetime(parse_datetime(requested, "requestedCancellationDate"))
        cancel_request = TmfCancelRequest(
            api=api.key, order=order, cancellation_reason=reason[:500] if reason else None,
            requested_cancellation_date=requested, state=api.cancel_accepted_state,
        )
        db.session.add(cancel_request)
        db.session.flush()
        # The task is worked at once; its listeners hear of it as created, then of its outcome.
        _queue_cancel_event(api, "Create", cancel_request)
        state = api.order_states.get(order.state)
        if state in FINAL_TMF_STATES:
            cancel_request.state = "terminatedWithError"
            cancel_request.error_message = f"The order is already {state}"
        else:
            try:
                cancel_through_workflow(order, g.tmf_user, reason=reason)
                cancel_request.state, cancel_request.effective_cancellation_date = "done", utcnow()
            except TmfError as refusal:
                cancel_request.state, cancel_request.error_message = "terminatedWithError", refusal.message
        document = _render_cancel(api, cancel_request)
        _queue_cancel_event(api, "StateChange", cancel_request)
        db.session.commit()
        return json_response(document, 201, {"Location": document["href"]})

    @blueprint.post("/hub", strict_slashes=False)
    @tmf_endpoint
    def register_listener():
        body = request_json_object()
        check_body(api.spec, api.hub_definition, body)
        callback = body.get("callback")
        if not isinstance(callback, str) or not callback.startswith(("http://", "https://")) or len(callback) > 1000:
            raise TmfError(400, "Missing attribute", "callback must be an http(s) URL of at most 1000 characters")
        try:
            check_destination(callback)
        except RefusedDestination as refused:
            raise TmfError(400, "Invalid callback", f"callback is refused: {refused}") from refused
        query = body.get("query")
        if query is not None and not isinstance(query, str):
            raise TmfError(400, "Invalid attribute", "query must be a string")
        subscription = TmfHubSubscription(api=api.subscription_key, callback=callback, query=query)
        db.session.add(subscription)
        db.session.commit()
        document = {"id": subscription.tmf_id, "callback": subscription.callback}
        if api.version >= 5:
            document["@type"] = "Hub"
        if subscription.query is not None:
            document["query"] = subscription.query
        return json_response(document, 201, {"Location": f"{request.host_url.rstrip('/')}{api.base_path}/hub/{subscription.tmf_id}"})

    @blueprint.delete("/hub/<tmf_id>")
    @tmf_endpoint
    def unregister_listener(tmf_id):
        subscription = db.session.scalars(
            select(TmfHubSubscription).where(TmfHubSubscription.api == api.subscription_key,
                                             TmfHubSubscription.tmf_id == tmf_id)
        ).first()
        if subscription is None:
            raise TmfError(404, "Not found", f"No hub subscription with id {tmf_id}")
        db.session.delete(subscription)
        db.session.commit()
        return no_content()

    return blueprint


def _refuse_delete_of_referenced(order: CustomerOrder) -> None:
    on_case = db.session.scalar(select(func.count()).select_from(OrderCase).where(OrderCase.order_id == order.id))
    on_case += db.session.scalar(
        select(func.count()).select_from(OrderCaseLine).where(OrderCaseLine.order_id == order.id)
    )
    produced = db.session.scalar(
        select(func.count()).select_from(ProductInventory).where(
            ProductInventory.order_line_id.in_([line.id for line in order.lines] or [0])
        )
    )
    if on_case or produced:
        raise TmfError(409, "Order in use", "The order is referenced by order cases or produced inventory; "
                       "cancel it instead")
    quote = db.session.scalar(select(Quote.number).where(Quote.order_id == order.id))
    if quote is not None:
        raise TmfError(409, "Order in use", f"The order was converted from quote {quote}, which keeps it as its "
                       "outcome; cancel the order instead")


def _queue_cancel_event(api: OrderApi, kind: str, row: TmfCancelRequest) -> None:
    """The cancel request's event, to the listeners of every version of the API, each in its own."""
    for profile in profiles_of(api.order_type):
        queue_event(profile, profile.cancel_type, kind, _render_cancel(profile, row))


def _render_cancel(api: OrderApi, row: TmfCancelRequest) -> dict:
    order_reference = {"id": row.order.tmf_id, "href": api.href(row.order.tmf_id), "@referredType": api.resource_type}
    if api.version >= 5:
        order_reference["@type"] = f"{api.resource_type}Ref"
    document = {
        "id": row.tmf_id,
        "href": api.cancel_href(row.tmf_id),
        "@type": api.cancel_type,
        "state": row.state,
        api.resource: order_reference,
    }
    if api.version >= 5:
        document["creationDate"] = tmf_datetime(row.created_on or utcnow())
    if row.cancellation_reason:
        document["cancellationReason"] = row.cancellation_reason
    if row.requested_cancellation_date:
        document["requestedCancellationDate"] = row.requested_cancellation_date
    if row.effective_cancellation_date:
        document["effectiveCancellationDate"] = tmf_datetime(row.effective_cancellation_date)
    if row.error_message:
        document["errorMessage"] = row.error_message
    return document


TMF_PREFIX = "/tmf-api/"


def register_tmf_apis(app: Flask) -> None:
    for api in PROFILES:
        blueprint = make_blueprint(api)
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
    init_event_delivery(app)

    def tmf_http_error(error):
        if request.path.startswith(TMF_PREFIX):
            response = error_response(error.code, error.name, error.description)
            # A 405 names the methods the resource has (RFC 9110); Werkzeug puts them on its own response.
            for name, value in error.get_headers():
                if name == "Allow":
                    response.headers["Allow"] = value
            return response
        return error

    for status in (404, 405):
        app.register_error_handler(status, tmf_http_error)
    # The input gate (app/core/input_guard.py) refuses over-nested bodies before any view runs.
    app.extensions["api_refusals"][TMF_PREFIX] = lambda status, message: error_response(status, "Bad request", message)

    @app.cli.command("create-api-key")
    @click.argument("username")
    @click.option("--name", default="cli", help="A label to recognise the key by.")
    def create_api_key_command(username, name):
        """Create an API key (bearer token for the APIs) for USERNAME and print it once."""
        sm = app.appbuilder.sm
        user = sm.find_user(username=username)
        if user is None:
            raise click.ClickException(f"No user named {username}")
        click.echo(sm.create_api_key(user, name)["key"])

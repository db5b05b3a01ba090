"""Changes to TMF orders after their creation: merge patches of their attributes, and the state changes
a client may ask for, carried out by the desk's own order workflows."""
from __future__ import annotations

from typing import Any

from app.models import CustomerOrder
from app.core.workflow_base import audit
from app.tmf.common import TmfError, merge_patch
from app.tmf.orders import TMF_ORDER_STATES, OrderApi, echoes_extensions, read_order_columns
from app.tmf.schemas import check_body

PATCH_FORBIDDEN = ("id", "href", "orderDate", "creationDate", "cancellationDate")


def patch_order(api: OrderApi, order: CustomerOrder, patch: dict, user) -> None:
    """Merge-patch the order's attributes. The state may only move to cancelled (by the cancel rules), and
    in v5 from draft to acknowledged (the client submits its draft, by the submit rules)."""
    forbidden = [field for field in PATCH_FORBIDDEN if field in patch]
    # v5 types every object, the patched order too: its own type is no change.
    if "@type" in patch and (api.version < 5 or patch["@type"] != api.resource_type):
        forbidden.append("@type")
    if forbidden:
        raise TmfError(400, "Read-only attribute", f"{', '.join(forbidden)} cannot be changed")
    if api.item_key in patch:
        raise TmfError(400, "Read-only attribute",
                       f"{api.item_key} cannot be patched; cancel the order and submit a new one")
    read_order_columns(api, patch)  # its refusals first, as on create
    check_body(api.spec, api.update_definition,
               {"@type": api.resource_type, **patch} if api.version >= 5 else patch, patch=True)
    if "cancellationReason" in patch and patch.get("state") != "cancelled":
        raise TmfError(400, "Read-only attribute", "cancellationReason is given when cancelling the order "
                       "(with state cancelled, or through the cancellation resource)")
    if "state" in patch:
        _change_state(api, order, patch["state"], patch.get("cancellationReason"), user)
    columns = read_order_columns(api, patch)
    for column, value in columns.items():
        if getattr(order, column) != value:
            audit(order, column, getattr(order, column), value, action=f"Updated via {api.key}")
            setattr(order, column, value)
    remaining = {key: value for key, value in patch.items()
                 if key not in api.modeled_order_fields and key not in ("state", "@type")}
    if remaining:
        if order.extra and not echoes_extensions(api, order):
            raise TmfError(409, "Written in another version",
                           f"the order's other attributes were written through TMF622 v{order.extra_version}, whose "
                           f"shapes differ from v{api.version}'s; change {', '.join(sorted(remaining))} through "
                           f"v{order.extra_version}")
        order.extra = merge_patch(order.extra or {}, remaining)
        order.extra_version = api.version


def _change_state(api: OrderApi, order: CustomerOrder, wanted: Any, reason: Any, user) -> None:
    from app.orders.workflows import submit_order

    states = TMF_ORDER_STATES + (("draft",) if api.version >= 5 else ())
    if wanted not in states:
        raise TmfError(400, "Invalid attribute", f"state must be one of {', '.join(states)}")
    current = api.order_states.get(order.state)
    if wanted == current:
        return
    if wanted == "cancelled":
        cancel_through_workflow(order, user, reason=reason)
    elif current == "draft" and wanted == "acknowledged":
        _through_workflow("Submission refused", submit_order, user, order.id, None)
    else:
        allowed = "cancelled, or from draft to acknowledged" if api.version >= 5 else "cancelled"
        raise TmfError(409, "Invalid state transition", f"the order is {current}; clients may only move it to {allowed}")


def cancel_through_workflow(order: CustomerOrder, user, reason: str | None) -> None:
    """Cancel by the order rules (no completed line; not already final); refusals become 409."""
    from app.orders.workflows import cancel_order

    if reason is not None and not isinstance(reason, str):
        raise TmfError(400, "Invalid attribute", "cancellationReason must be a string")
    _through_workflow("Cancellation refused", cancel_order, user, order.id, None, reason=reason)


def _through_workflow(refused: str, action, *args, **kwargs) -> None:
    """Run an order action of the desk's workflows; its refusals become TMF errors of the same status."""
    from app.core.exceptions import DomainError

    try:
        action(*args, **kwargs)
    except DomainError as refusal:
        raise TmfError(409 if refusal.status_code == 409 else 403 if refusal.status_code == 403 else 400,
                       refused, refusal.message) from refusal

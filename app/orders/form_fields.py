"""The relation fields shared by the back-office forms that name an account (order, quote, case intake): the
account type-ahead, the contact (and shipping location) that follow it, and the fragments orderdesk.js
fetches to refresh dependent fields in place (``[data-depends-on]`` in a ``[data-refresh-url]`` group).

Every form keeps working without script: its refresh button sends it again with ``refresh=1`` and the
whole form is rendered with the same fragment templates.
"""
from __future__ import annotations

from flask import request, url_for
from markupsafe import escape

from app.core.exceptions import DomainError, InvalidInput
from app.orders import lookups


def refreshing() -> bool:
    """The form was sent by its refresh button (a browser without script) to show the choices that follow
    a field, not to save it."""
    return request.form.get("refresh") == "1"


def account_fields(account_id, values, parties_endpoint: str, with_locations: bool,
                   no_contact: str = "(none)") -> dict:
    """What a form's account field (``orders/_account_field.html``) and the fields that follow it
    (``orders/_parties.html``) render; *no_contact* names what an empty contact stands for."""
    typed = request.form.get("account_search", "")[:lookups.MAX_TYPED]
    return {
        "account_id": account_id or "", "account_search": typed,
        "accounts": lookups.account_choices(account_id, typed),
        "parties": lookups.account_parties(account_id, values.get("contact_id"), values.get("shipping_location_id")),
        "refresh_url": url_for(parties_endpoint), "with_locations": with_locations, "no_contact": no_contact,
    }


def parties_fragment(view, parties_endpoint: str, with_locations: bool, no_contact: str = "(none)"):
    """The contact (and shipping location) fields for the account just chosen."""
    args = request.args
    parties = lookups.account_parties(args.get("account_id"), args.get("contact_id"),
                                      args.get("shipping_location_id"), account_changed=True)
    return view.render_template("orders/_parties.html", parties=parties, errors={}, with_locations=with_locations,
                                refresh_url=url_for(parties_endpoint), no_contact=no_contact)


def record_id(value, label: str) -> int:
    """The id of the record a fragment's address names; anything but digits is refused (422)."""
    found = lookups.parent_id(value, "id", label)
    if found is None:
        raise InvalidInput(f"{label} must be a record id (digits).", {"id": "Not a record id"})
    return found


def refused(error: DomainError):
    """A fragment's refusal: the message alone, for the page that asked to say or to fall back on."""
    return f'<p class="alert alert-danger" role="alert">{escape(error.message)}</p>', error.status_code

"""Ordering through the portal's cart over HTTP, for the tests of any package that needs a portal order."""
from __future__ import annotations


def order_through_the_cart(customer, fields: dict, shipping_location_id=None):
    """Add to cart the catalog fields given (``qty-<offering>``, ``char-<offering>-<definition>``), then
    Place order; the answer to Place order (or to Add to cart, when that is refused)."""
    added = customer.submit("/portal/catalog/", fields, post_url="/portal/cart/add")
    if added.status_code != 302:
        return added
    return customer.submit("/portal/cart/", {"shipping_location_id": shipping_location_id or ""},
                           post_url="/portal/cart/order")

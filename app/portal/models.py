"""The portal's own records: a customer's shopping cart (what they picked from the catalog, not yet ordered)."""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer
from sqlalchemy.orm import relationship

from app.core.extensions import Model
from app.core.model_base import utcnow


class CartItem(Model):
    """One offering in a contact's cart: a quantity and the characteristic values chosen for it.

    The cart belongs to the contact (the customer person), so it survives signing out and follows them
    to another device; placing the order empties it.
    """

    __tablename__ = "portal_cart_item"
    id = Column(Integer, primary_key=True)
    contact_id = Column(Integer, ForeignKey("contact.id", ondelete="CASCADE"), nullable=False, index=True)
    contact = relationship("Contact")
    offering_id = Column(Integer, ForeignKey("product_offering.id", ondelete="CASCADE"), nullable=False)
    offering = relationship("ProductOffering")
    quantity = Column(Integer, nullable=False)
    # {characteristic name: value}, only the values the customer chose.
    characteristics = Column(JSON, nullable=False, default=dict)
    added_on = Column(DateTime, nullable=False, default=utcnow)

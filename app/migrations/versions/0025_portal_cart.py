"""The portal's shopping cart: offerings a customer picked from the catalog, before ordering them.

Revision ID: 0025_portal_cart
Revises: 0004_search
Create Date: 2026-12-04 19:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0025_portal_cart'
down_revision = '0004_search'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "portal_cart_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contact.id", ondelete="CASCADE"), nullable=False),
        sa.Column("offering_id", sa.Integer(), sa.ForeignKey("product_offering.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("characteristics", sa.JSON(), nullable=False),
        sa.Column("added_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_portal_cart_item_contact_id", "portal_cart_item", ["contact_id"])


def downgrade():
    op.drop_index("ix_portal_cart_item_contact_id", table_name="portal_cart_item")
    op.drop_table("portal_cart_item")

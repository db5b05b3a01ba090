"""Service Exchange: each connection names the integrator user of this instance whose API key the other
instance must use, so no other key can speak for that instance.

Revision ID: 0027_exchange_peer_identity
Revises: 0025_portal_cart
Create Date: 2026-12-04 19:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0027_exchange_peer_identity'
down_revision = '0025_portal_cart'
branch_labels = None
depends_on = None


def upgrade():
    # Batch mode: SQLite adds a column with a foreign key only by copying the table.
    with op.batch_alter_table("exchange_connection") as batch:
        batch.add_column(sa.Column("peer_user_id", sa.Integer))
        batch.create_foreign_key("fk_exchange_connection_peer_user", "ab_user", ["peer_user_id"], ["id"])
        batch.create_index("ix_exchange_connection_peer_user_id", ["peer_user_id"], unique=True)


def downgrade():
    with op.batch_alter_table("exchange_connection") as batch:
        batch.drop_index("ix_exchange_connection_peer_user_id")
        batch.drop_constraint("fk_exchange_connection_peer_user", type_="foreignkey")
        batch.drop_column("peer_user_id")

"""Index location names: TMF622 order items reference their place by name as well as by id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:30:00

"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_location_name", "location", ["name"])


def downgrade():
    op.drop_index("ix_location_name", table_name="location")

"""Partial indexes for the open-case queues: open cases newest first, overall and per assignee.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

OPEN_CASE = "state NOT IN ('Closed', 'Cancelled')"


def upgrade():
    where = {"postgresql_where": sa.text(OPEN_CASE), "sqlite_where": sa.text(OPEN_CASE)}
    op.create_index("ix_order_case_open_number", "order_case", ["number"], **where)
    op.create_index("ix_order_case_open_assignee_number", "order_case", ["assigned_to_id", "number"], **where)


def downgrade():
    op.drop_index("ix_order_case_open_assignee_number", table_name="order_case")
    op.drop_index("ix_order_case_open_number", table_name="order_case")

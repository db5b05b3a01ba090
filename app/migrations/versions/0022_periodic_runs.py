"""Record every periodic run (when, where, each task's outcome) for the Operations page.

Revision ID: 0022
Revises: 0004
Create Date: 2026-12-04 15:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0022'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "periodic_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("summary", sa.Text()),
        sa.Column("tasks", sa.JSON()),
    )
    op.create_index("ix_periodic_run_started_at", "periodic_run", ["started_at"])


def downgrade():
    op.drop_index("ix_periodic_run_started_at", table_name="periodic_run")
    op.drop_table("periodic_run")

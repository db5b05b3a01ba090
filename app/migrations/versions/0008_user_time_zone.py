"""Per-user preferences: each user's time zone, in which the pages show times.

Revision ID: 0008
Revises: 0022
Create Date: 2026-12-04 16:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_preference",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
    )


def downgrade():
    op.drop_table("user_preference")

"""Session generations: signing out ends every session cookie the user was issued.

Revision ID: 0004
Revises: 0005
Create Date: 2026-12-04 15:45:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_session_generation",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False),
    )


def downgrade():
    op.drop_table("user_session_generation")

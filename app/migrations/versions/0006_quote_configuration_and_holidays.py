"""Quote lines keep their configuration (characteristics); SLA schedules get holiday calendars.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-04 15:40:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "quote_line_characteristic",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("quote_line_id", sa.Integer(), sa.ForeignKey("quote_line.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", sa.String(500)),
    )
    op.create_index("ix_quote_line_characteristic_quote_line_id", "quote_line_characteristic", ["quote_line_id"])
    op.create_table(
        "holiday_calendar",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("country", sa.String(10)),
        sa.Column("subdivision", sa.String(10)),
        sa.Column("description", sa.String(300)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("changed_on", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
        sa.Column("changed_by_id", sa.Integer(), sa.ForeignKey("ab_user.id")),
    )
    op.create_index("ix_holiday_calendar_changed_on", "holiday_calendar", ["changed_on"])
    op.create_table(
        "holiday_date",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("calendar_id", sa.Integer(), sa.ForeignKey("holiday_calendar.id"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.UniqueConstraint("calendar_id", "day", name="uq_holiday_date_calendar_day"),
    )
    with op.batch_alter_table("sla_definition") as batch:
        batch.add_column(sa.Column("holiday_calendar_id", sa.Integer()))
        batch.create_foreign_key("fk_sla_definition_holiday_calendar", "holiday_calendar",
                                 ["holiday_calendar_id"], ["id"])
        batch.create_index("ix_sla_definition_holiday_calendar_id", ["holiday_calendar_id"])


def downgrade():
    with op.batch_alter_table("sla_definition") as batch:
        batch.drop_index("ix_sla_definition_holiday_calendar_id")
        batch.drop_constraint("fk_sla_definition_holiday_calendar", type_="foreignkey")
        batch.drop_column("holiday_calendar_id")
    op.drop_table("holiday_date")
    op.drop_index("ix_holiday_calendar_changed_on", table_name="holiday_calendar")
    op.drop_table("holiday_calendar")
    op.drop_index("ix_quote_line_characteristic_quote_line_id", table_name="quote_line_characteristic")
    op.drop_table("quote_line_characteristic")

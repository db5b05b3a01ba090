"""Orders keep what TMF clients send and see: requested start and completion as instants (not days),
when and why an order was cancelled, the TMF priority "0" as 0, and which TMF API version the extension
attributes of an order were written in.

Revision ID: 0007
Revises: 0009
Create Date: 2026-12-04 15:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0009'
branch_labels = None
depends_on = None

REQUESTED = ("requested_start_date", "requested_completion_date")


def upgrade():
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    with op.batch_alter_table("customer_order") as batch:
        for column in REQUESTED:
            batch.alter_column(column, type_=sa.DateTime(), existing_type=sa.Date(), existing_nullable=True,
                               postgresql_using=f"{column}::timestamp")
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("cancellation_reason", sa.String(500), nullable=True))
        batch.add_column(sa.Column("extra_version", sa.SmallInteger(), nullable=True))
    if not postgres:
        # SQLite keeps the stored text: a day becomes that day at midnight, as SQLAlchemy writes instants.
        for column in REQUESTED:
            op.execute(f"UPDATE customer_order SET {column} = {column} || ' 00:00:00.000000' "
                       f"WHERE {column} IS NOT NULL AND length({column}) = 10")
    # Orders cancelled before this revision: the moment of the audited transition to Cancelled.
    op.execute(
        "UPDATE customer_order SET cancelled_at = (SELECT max(a.created_on) FROM audit_event a "
        "WHERE a.record_type = 'customer_order' AND a.record_id = customer_order.id "
        "AND a.field = 'state' AND a.new_value = 'Cancelled') WHERE state = 'Cancelled'"
    )
    # The TMF priority "0" used to be stored as 1 (its text kept among the extension attributes).
    orders = sa.table("customer_order", sa.column("id", sa.Integer), sa.column("priority", sa.Integer),
                      sa.column("channel", sa.String), sa.column("extra", sa.JSON))
    for order_id, extra in bind.execute(
        sa.select(orders.c.id, orders.c.extra).where(orders.c.channel.in_(("TMF622", "TMF641")))
    ):
        if isinstance(extra, dict) and "priority" in extra:
            rest = {key: value for key, value in extra.items() if key != "priority"}
            values = {"extra": rest}
            if str(extra["priority"]).strip() == "0":
                values["priority"] = 0
            bind.execute(orders.update().where(orders.c.id == order_id).values(**values))


def downgrade():
    with op.batch_alter_table("customer_order") as batch:
        batch.drop_column("extra_version")
        batch.drop_column("cancellation_reason")
        batch.drop_column("cancelled_at")
        for column in REQUESTED:
            batch.alter_column(column, type_=sa.Date(), existing_type=sa.DateTime(), existing_nullable=True,
                               postgresql_using=f"{column}::date")
    if op.get_bind().dialect.name != "postgresql":
        for column in REQUESTED:
            op.execute(f"UPDATE customer_order SET {column} = substr({column}, 1, 10) WHERE {column} IS NOT NULL")

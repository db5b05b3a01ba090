"""Service Exchange: connections between order desks, their message outbox and inbox, published offerings
and the links between exchanged orders and cases on both sides.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-04 15:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("product_offering", sa.Column("provider", sa.String(150)))
    op.create_table(
        "exchange_connection",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(150), nullable=False),
        sa.Column("our_role", sa.String(20), nullable=False),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), index=True),
        sa.Column("peer_url", sa.String(500), nullable=False, unique=True),
        sa.Column("own_url", sa.String(500), nullable=False),
        sa.Column("api_key", sa.String(500), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("last_contact_at", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", sa.DateTime),
        sa.Column("sender_lease_until", sa.DateTime),
        sa.Column("created_on", sa.DateTime, nullable=False),
    )
    op.create_table(
        "exchange_message",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("connection_id", sa.Integer, sa.ForeignKey("exchange_connection.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200)),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_on", sa.DateTime, nullable=False),
        sa.Column("delivered_on", sa.DateTime),
    )
    op.create_index("ix_exchange_message_connection_state", "exchange_message", ["connection_id", "state", "id"])
    op.create_table(
        "exchange_receipt",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("connection_id", sa.Integer, sa.ForeignKey("exchange_connection.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("received_on", sa.DateTime, nullable=False),
        sa.UniqueConstraint("connection_id", "message_id", name="uq_exchange_receipt_message"),
    )
    op.create_table(
        "exchange_publication",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("connection_id", sa.Integer, sa.ForeignKey("exchange_connection.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("offering_id", sa.Integer, sa.ForeignKey("product_offering.id"), nullable=False, index=True),
        sa.Column("published_on", sa.DateTime, nullable=False),
        sa.UniqueConstraint("connection_id", "offering_id", name="uq_exchange_publication"),
    )
    op.create_table(
        "exchange_offering",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("connection_id", sa.Integer, sa.ForeignKey("exchange_connection.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("remote_id", sa.String(64), nullable=False),
        sa.Column("offering_id", sa.Integer, sa.ForeignKey("product_offering.id"), nullable=False, unique=True),
        sa.Column("last_update", sa.DateTime, nullable=False),
        sa.UniqueConstraint("connection_id", "remote_id", name="uq_exchange_offering_remote"),
    )
    op.create_table(
        "exchange_order",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("connection_id", sa.Integer, sa.ForeignKey("exchange_connection.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("customer_order.id"), nullable=False, unique=True),
        sa.Column("remote_id", sa.String(64)),
        sa.Column("remote_number", sa.String(20)),
        sa.Column("remote_state", sa.String(30)),
        sa.Column("event_sequence", sa.Integer, nullable=False),
        sa.Column("remote_reason", sa.Text),
        sa.Column("updated_on", sa.DateTime, nullable=False),
        sa.UniqueConstraint("connection_id", "remote_id", name="uq_exchange_order_remote"),
    )
    op.create_table(
        "exchange_case",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("connection_id", sa.Integer, sa.ForeignKey("exchange_connection.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("order_case.id"), nullable=False, unique=True),
        sa.Column("remote_key", sa.String(64), nullable=False),
        sa.Column("remote_number", sa.String(20)),
        sa.Column("event_sequence", sa.Integer, nullable=False),
        sa.UniqueConstraint("connection_id", "remote_key", name="uq_exchange_case_remote"),
    )
    op.create_table(
        "exchange_case_line",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("exchange_case_id", sa.Integer, sa.ForeignKey("exchange_case.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("case_line_id", sa.Integer, sa.ForeignKey("order_case_line.id"), nullable=False, unique=True),
        sa.Column("remote_key", sa.String(64), nullable=False),
    )


def downgrade():
    for table in ("exchange_case_line", "exchange_case", "exchange_order", "exchange_offering",
                  "exchange_publication", "exchange_receipt", "exchange_message", "exchange_connection"):
        op.drop_table(table)
    with op.batch_alter_table("product_offering") as batch:
        batch.drop_column("provider")

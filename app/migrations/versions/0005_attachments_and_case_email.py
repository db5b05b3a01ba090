"""Attachments kept in the database, e-mail templates, the inbound mail record, and the outbox's copies,
threading ids and attached files.

Revision ID: 0005
Revises: 0007
Create Date: 2026-12-04 15:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_type", sa.String(40), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("order_case.id"), nullable=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sa.Column("created_on", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_attachment_case_id", "attachment", ["case_id"])
    op.create_index("ix_attachment_record", "attachment", ["record_type", "record_id"])
    op.create_table(
        "attachment_content",
        sa.Column("attachment_id", sa.Integer(), sa.ForeignKey("attachment.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "email_template",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_on", sa.DateTime(), nullable=False),
        sa.Column("changed_on", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sa.Column("changed_by_id", sa.Integer(), sa.ForeignKey("ab_user.id"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_email_template_changed_on", "email_template", ["changed_on"])
    op.create_table(
        "inbound_email",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_key", sa.String(255), nullable=False, unique=True),
        sa.Column("from_address", sa.String(320)),
        sa.Column("subject", sa.String(500)),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("order_case.id"), nullable=True),
        sa.Column("text", sa.Text()),
        sa.Column("raw", sa.LargeBinary()),
    )
    op.create_index("ix_inbound_email_received_on", "inbound_email", ["received_on"])
    op.create_index("ix_inbound_email_outcome", "inbound_email", ["outcome"])
    op.create_index("ix_inbound_email_case_id", "inbound_email", ["case_id"])
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("cc", sa.Text()))
        batch.add_column(sa.Column("message_id", sa.String(255)))
        batch.add_column(sa.Column("references", sa.Text()))
    op.create_index("ix_notification_message_id", "notification", ["message_id"])
    op.create_table(
        "notification_attachment",
        sa.Column("notification_id", sa.Integer(), sa.ForeignKey("notification.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("attachment_id", sa.Integer(), sa.ForeignKey("attachment.id", ondelete="CASCADE"),
                  primary_key=True),
    )


def downgrade():
    op.drop_table("notification_attachment")
    op.drop_index("ix_notification_message_id", table_name="notification")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("references")
        batch.drop_column("message_id")
        batch.drop_column("cc")
    op.drop_table("inbound_email")
    op.drop_table("email_template")
    op.drop_table("attachment_content")
    op.drop_table("attachment")

"""The outbox is looked up by the record a message is about (the earlier e-mails of a case that an agent's
e-mail threads under, the notices of an order in the portal); without an index each lookup read the whole
outbox, which only grows (about 0.9 s at a million messages on PostgreSQL, 0.05 ms with it).

Revision ID: 0028_notification_record_index
Revises: 0027_exchange_peer_identity
Create Date: 2026-12-05 05:30:00

"""
from alembic import op

revision = '0028_notification_record_index'
down_revision = '0027_exchange_peer_identity'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_notification_record", "notification", ["record_type", "record_id"])


def downgrade():
    op.drop_index("ix_notification_record", table_name="notification")

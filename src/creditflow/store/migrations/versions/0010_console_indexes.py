"""indexes for the console's pages on long ledgers and audit logs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index("ix_grants_account", ["account_id", "seq"], unique=False)

    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_entries_account_type", ["account_id", "type", "seq"], unique=False
        )
        batch_op.create_index("ix_entries_grant", ["grant_id", "seq"], unique=False)
        batch_op.create_index("ix_entries_type_at", ["type", "at"], unique=False)

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_action", ["action", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_action")

    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_index("ix_entries_type_at")
        batch_op.drop_index("ix_entries_grant")
        batch_op.drop_index("ix_entries_account_type")

    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index("ix_grants_account")

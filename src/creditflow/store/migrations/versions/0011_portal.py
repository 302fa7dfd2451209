"""one-time links into the customer portal

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import creditflow.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_links",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("return_url", sa.Text(), nullable=True),
        sa.Column("created_at", creditflow.store.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", creditflow.store.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", creditflow.store.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint("via IN ('api', 'mail')", name=op.f("ck_portal_links_via_known")),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_portal_links_expires_after_creation")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_portal_links_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_links_token_hash")),
    )
    with op.batch_alter_table("portal_links", schema=None) as batch_op:
        batch_op.create_index("ix_portal_links_account", ["account_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("portal_links", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_links_account")
    op.drop_table("portal_links")

"""provider calls recorded before they are made; idempotency keys that resume; plan changes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import creditflow.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_calls",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", creditflow.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", creditflow.store.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')",
            name=op.f("ck_provider_calls_status_known"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_provider_calls_attempts_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_calls")),
        sa.UniqueConstraint("kind", "subject_id", name="uq_provider_calls_kind_subject"),
    )
    op.create_table(
        "plan_changes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("subscription_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("from_plan", sa.String(length=64), nullable=False),
        sa.Column("from_interval", sa.String(length=8), nullable=False),
        sa.Column("to_plan", sa.String(length=64), nullable=False),
        sa.Column("to_interval", sa.String(length=8), nullable=False),
        sa.Column("grant_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", creditflow.store.types.UTCDateTime(), nullable=False),
        sa.Column("undone_at", creditflow.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_plan_changes_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_plan_changes_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_plan_changes")),
        sa.UniqueConstraint("id", name=op.f("uq_plan_changes_id")),
        sa.UniqueConstraint("order_id", name=op.f("uq_plan_changes_order_id")),
    )
    with op.batch_alter_table("plan_changes", schema=None) as batch_op:
        batch_op.create_index("ix_plan_changes_subscription", ["subscription_id", "seq"])
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheduled_interval", sa.String(length=8), nullable=True))
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_id", sa.String(length=64), nullable=True))
        batch_op.alter_column("response", existing_type=sa.Text(), nullable=True)
        batch_op.create_check_constraint(
            op.f("ck_idempotency_keys_answer_or_subject"),
            "response IS NOT NULL OR subject_id IS NOT NULL",
        )


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_keys WHERE response IS NULL")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_constraint("ck_idempotency_keys_answer_or_subject", type_="check")
        batch_op.alter_column("response", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("subject_id")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("scheduled_interval")
    op.drop_table("plan_changes")
    op.drop_table("provider_calls")

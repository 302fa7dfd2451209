"""staff, browser sessions and sign-in failures for the console and the portal; why an
account is suspended

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import creditflow.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("at", creditflow.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sign_in_failures")),
    )
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_failures_key", ["key", "at"], unique=False)

    op.create_table(
        "staff",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", creditflow.store.types.UTCDateTime(), nullable=False),
        sa.Column("disabled_at", creditflow.store.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint("role IN ('support', 'admin')", name=op.f("ck_staff_role_known")),
        sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f("ck_staff_status_known")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_staff")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_email")),
        sa.UniqueConstraint("id", name=op.f("uq_staff_id")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", creditflow.store.types.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", creditflow.store.types.UTCDateTime(), nullable=False),
        sa.Column("ended_at", creditflow.store.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('console', 'portal')", name=op.f("ck_web_sessions_kind_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_web_sessions_subject", ["kind", "subject_id"], unique=False)

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspension", sa.String(length=16), nullable=True))
    op.execute("UPDATE accounts SET suspension = 'chargeback' WHERE status = 'suspended'")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column(
            "actor", existing_type=sa.String(length=64), type_=sa.String(length=320)
        )
        batch_op.create_index("ix_audit_events_actor", ["actor", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_actor")
        batch_op.alter_column(
            "actor", existing_type=sa.String(length=320), type_=sa.String(length=64)
        )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("suspension")

    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_web_sessions_subject")

    op.drop_table("web_sessions")
    op.drop_table("staff")
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_failures_key")

    op.drop_table("sign_in_failures")

"""The schema. Alembic migrations (store/migrations) create it; this module describes it.

Cached numbers (a grant's `remaining` and `held`, an account's `available` and `held`) are
backed by CHECK constraints, and `creditflow check` recomputes each of them from `entries`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from creditflow.store.types import Sequence64, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("external_id", String(255), nullable=False, unique=True),
    Column("email", String(320), nullable=False),
    Column("country", String(2)),
    Column("status", String(16), nullable=False),
    # Sums of the grants' columns below, kept in the same transaction as every entry.
    Column("available", BigInteger, nullable=False, server_default=text("0")),
    Column("held", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", UTCDateTime, nullable=False),
    # The account's own low-balance threshold (credits.low), over the catalog's [alerts] one.
    Column("low_balance", BigInteger),
    # Why a suspended account is: `chargeback` (lifted when its disputes are won) or `support`
    # (lifted only by support).
    Column("suspension", String(16)),
    CheckConstraint("available >= 0", name="available_not_negative"),
    CheckConstraint("low_balance >= 0", name="low_balance_not_negative"),
    CheckConstraint("held >= 0", name="held_not_negative"),
    CheckConstraint("status IN ('active', 'suspended')", name="status_known"),
)

grants = Table(
    "grants",
    metadata,
    # `seq` orders grants by age for draw-down ("then oldest"); `id` is the public id.
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("granted", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("held", BigInteger, nullable=False, server_default=text("0")),
    Column("priority", Integer, nullable=False),
    Column("channel", String(8), nullable=False),
    Column("expires_at", UTCDateTime),
    Column("source_type", String(32), nullable=False),
    Column("source_id", String(64)),
    Column("reason", Text),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("granted > 0", name="granted_positive"),
    CheckConstraint("remaining >= 0", name="remaining_not_negative"),
    CheckConstraint("held >= 0", name="held_not_negative"),
    CheckConstraint("remaining + held <= granted", name="within_granted"),
    CheckConstraint("channel IN ('any', 'web', 'app')", name="channel_known"),
)
# Draw-down and balance reads look only at grants with credits left, however many there were.
Index(
    "ix_grants_live",
    grants.c.account_id,
    sqlite_where=text("remaining > 0 OR held > 0"),
    postgresql_where=text("remaining > 0 OR held > 0"),
)
# An account's grants, emptied ones too, newest first (its console page, an order's grants).
Index("ix_grants_account", grants.c.account_id, grants.c.seq)

entries = Table(
    "entries",
    metadata,
    # The ledger, append-only: each row is one transfer of `amount` credits from the ledger
    # account `debit_account` to `credit_account` (TigerBeetle's model). Ledger accounts are
    # named `grant:<grant id>`, `held:<grant id>`, and `issued|spent|expired|revoked:<account id>`.
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("transaction_id", String(32), nullable=False),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("type", String(16), nullable=False),
    Column("grant_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("debit_account", String(48), nullable=False),
    Column("credit_account", String(48), nullable=False),
    Column("amount", BigInteger, nullable=False),
    # The entry's effect on the customer's account, as the API shows it.
    Column("available_delta", BigInteger, nullable=False),
    Column("held_delta", BigInteger, nullable=False),
    Column("available_after", BigInteger, nullable=False),
    Column("held_after", BigInteger, nullable=False),
    Column("hold_id", String(32)),
    Column("reason", Text),
    Column("reference", String(255)),
    Column("at", UTCDateTime, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("debit_account <> credit_account", name="two_accounts"),
    CheckConstraint("available_after >= 0", name="available_after_not_negative"),
)
Index("ix_entries_account_seq", entries.c.account_id, entries.c.seq)
# The console: an account's ledger of one type, a page at a time, however rare the type; what
# became of a grant's credits (an order's usage, a dispute's evidence); the dashboard's credits
# by day, which reads only the entries of its window.
Index("ix_entries_account_type", entries.c.account_id, entries.c.type, entries.c.seq)
Index("ix_entries_grant", entries.c.grant_id, entries.c.seq)
Index("ix_entries_type_at", entries.c.type, entries.c.at)

holds = Table(
    "holds",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("credits", BigInteger, nullable=False),
    Column("captured", BigInteger, nullable=False, server_default=text("0")),
    Column("channel", String(8)),
    Column("reason", Text),
    Column("reference", String(255)),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("settled_at", UTCDateTime),
    Column("release_reason", String(16)),
    CheckConstraint("credits > 0", name="credits_positive"),
    CheckConstraint("captured >= 0 AND captured <= credits", name="captured_within_held"),
    CheckConstraint("status IN ('held', 'captured', 'released')", name="status_known"),
)
Index("ix_holds_account", holds.c.account_id)

hold_allocations = Table(
    "hold_allocations",
    metadata,
    # Which grants a hold took its credits from, in draw-down order, so a release gives them
    # back to the same grants (rule 5).
    Column("hold_id", String(32), ForeignKey("holds.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("grant_id", String(32), ForeignKey("grants.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("credits", BigInteger, nullable=False),
    PrimaryKeyConstraint("hold_id", "position"),
    CheckConstraint("credits > 0", name="credits_positive"),
)

due_work = Table(
    "due_work",
    metadata,
    # The queue of work the clock makes due: grant expiries, hold time-outs, and later renewals.
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("due_at", UTCDateTime, nullable=False),
    Column("task", String(32), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Among items due at one instant, lower ranks run first: a renewal must carry credits over
    # before the expiry due at the same instant clears them.
    Column("rank", Integer, nullable=False, server_default=text("100")),
    UniqueConstraint("task", "subject_id", name="uq_due_work_task_subject"),
)
Index("ix_due_work_due_at", due_work.c.due_at, due_work.c.seq)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    # The answer the client got, stored in the transaction of the last effect; NULL while a
    # use case of several steps (a provider call between transactions) is under way.
    Column("response", Text),
    # What a use case of several steps started (an order, a refund): a retry resumes it.
    Column("subject_id", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("scope", "key"),
    CheckConstraint("response IS NOT NULL OR subject_id IS NOT NULL", name="answer_or_subject"),
)
Index("ix_idempotency_keys_created_at", idempotency_keys.c.created_at)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("role", String(16), nullable=False),
    # SHA-256 of a 256-bit random secret: a slow hash adds nothing when the secret has that much
    # entropy, and a fast one keeps authentication off the hot path.
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("label", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    CheckConstraint("role IN ('admin', 'service', 'support', 'worker')", name="role_known"),
)

clock_state = Table(
    "clock_state",
    metadata,
    # Where the test clock stands, so a restarted test-clock server picks up where it left off.
    Column("name", String(16), primary_key=True),
    Column("now", UTCDateTime, nullable=False),
)

# Orders, payments and invoices (rules 21 and 22)

orders = Table(
    "orders",
    metadata,
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    # pack | addon | subscription | renewal | upgrade
    Column("kind", String(16), nullable=False),
    Column("status", String(24), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", BigInteger, nullable=False),
    # The tax inside `total` (inclusive prices) or added to the items (exclusive ones).
    Column("tax", BigInteger, nullable=False, server_default=text("0")),
    Column("provider", String(16), nullable=False),
    Column("provider_ref", String(255)),
    Column("checkout_url", Text),
    Column("subscription_id", String(32)),
    Column("channel", String(8)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("paid_at", UTCDateTime),
    CheckConstraint("total >= 0", name="total_not_negative"),
    CheckConstraint(
        "status IN ('pending', 'paid', 'failed', 'refunded', 'partially_refunded', 'disputed')",
        name="status_known",
    ),
)
Index("ix_orders_account", orders.c.account_id, orders.c.seq)
# A subscription's orders (its open renewal, its payments in order): read at every renewal.
Index("ix_orders_subscription", orders.c.subscription_id, orders.c.seq)

order_items = Table(
    "order_items",
    metadata,
    Column("order_id", String(32), ForeignKey("orders.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("product", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("credits", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    PrimaryKeyConstraint("order_id", "position"),
    CheckConstraint("credits >= 0", name="credits_not_negative"),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("order_id", String(32), ForeignKey("orders.id"), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("provider_payment_id", String(255), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    # A second successful payment of an order already paid: flagged and refundable (rule 22).
    Column("duplicate", Boolean, nullable=False, server_default=text("false")),
    # The card's (or payment method's) fingerprint, or the provider's customer id where there is
    # none: the refund rules link accounts that pay with the same card.
    Column("fingerprint", String(255)),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("provider", "provider_payment_id", name="uq_payments_provider_payment"),
    CheckConstraint("status IN ('succeeded', 'declined')", name="status_known"),
)
Index("ix_payments_order", payments.c.order_id)
Index("ix_payments_fingerprint", payments.c.fingerprint)

invoices = Table(
    "invoices",
    metadata,
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("order_id", String(32), ForeignKey("orders.id"), nullable=False, unique=True),
    Column("issued_at", UTCDateTime, nullable=False),
    # `INV-2026-000001`: drawn from `document_counters` in the paying transaction, so gapless
    # even on PostgreSQL, whose sequences skip the numbers of rolled-back transactions (rule 21).
    Column("number", String(32), unique=True),
    # What the invoice says, frozen when issued (JSON): a later catalog edit changes no invoice.
    Column("document", Text),
    Column("pdf_sha256", String(64)),
)

credit_notes = Table(
    "credit_notes",
    metadata,
    # A refund's document (`CN-2026-000001`), in its own gapless sequence.
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("order_id", String(32), ForeignKey("orders.id"), nullable=False),
    # Unique per increase of the money given back: `<order id>:<refunded total>`.
    Column("refund_id", String(64), nullable=False, unique=True),
    Column("amount", BigInteger, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("document", Text, nullable=False),
    Column("pdf_sha256", String(64)),
    CheckConstraint("amount > 0", name="amount_positive"),
)
Index("ix_credit_notes_order", credit_notes.c.order_id)

document_counters = Table(
    "document_counters",
    metadata,
    Column("series", String(16), nullable=False),
    Column("year", Integer, nullable=False),
    Column("last", BigInteger, nullable=False),
    PrimaryKeyConstraint("series", "year"),
    CheckConstraint("last >= 0", name="last_not_negative"),
)

payment_refunds = Table(
    "payment_refunds",
    metadata,
    # Money sent back through a provider, or reported by one: unique by the provider's id.
    Column("id", String(32), primary_key=True),
    Column("order_id", String(32), ForeignKey("orders.id"), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("provider_refund_id", String(255)),
    Column("provider_payment_id", String(255)),
    Column("amount", BigInteger, nullable=False),
    # pending: asked, not yet confirmed (Paddle's pending_approval); succeeded; failed.
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("provider", "provider_refund_id", name="uq_payment_refunds_provider_ref"),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_known"),
)
Index("ix_payment_refunds_order", payment_refunds.c.order_id)

disputes = Table(
    "disputes",
    metadata,
    # A chargeback: the account is suspended while it is open (source 001).
    Column("id", String(32), primary_key=True),
    Column("order_id", String(32), ForeignKey("orders.id"), nullable=False),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("provider_dispute_id", String(255)),
    Column("amount", BigInteger, nullable=False),
    Column("reason", Text),
    Column("status", String(8), nullable=False),
    # Credits of the order taken back while it was open; a won dispute gives them back.
    Column("credits_revoked", BigInteger, nullable=False, server_default=text("0")),
    # The provider's fee for the chargeback, owed by the account (minor units).
    Column("fee", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    UniqueConstraint("provider", "provider_dispute_id", name="uq_disputes_provider_ref"),
    CheckConstraint("status IN ('open', 'won', 'lost')", name="status_known"),
)
Index("ix_disputes_order", disputes.c.order_id)
Index("ix_disputes_account", disputes.c.account_id)

webhook_events = Table(
    "webhook_events",
    metadata,
    # Every verified provider event, stored before it is applied and unique by the provider's
    # event id in the same transaction as its effect: a redelivery finds it and does nothing.
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("provider", String(16), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("type", String(128), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("payload", Text, nullable=False),
    # applied | unmatched (no order or customer of ours) | ignored (a type we do not map)
    Column("outcome", String(16), nullable=False),
    Column("order_id", String(32)),
    Column("detail", Text),
    UniqueConstraint("provider", "event_id", name="uq_webhook_events_provider_event"),
    CheckConstraint("outcome IN ('applied', 'unmatched', 'ignored')", name="outcome_known"),
)
Index("ix_webhook_events_order", webhook_events.c.order_id)

mail_outbox = Table(
    "mail_outbox",
    metadata,
    # Mail is written here in the transaction that causes it, and sent after the commit, with
    # retries: never lost, never sent for a change that rolled back.
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("account_id", String(32), ForeignKey("accounts.id")),
    Column("to_address", String(320), nullable=False),
    Column("template", String(64), nullable=False),
    Column("context", Text, nullable=False),
    # JSON list of {"sha256", "name", "content_type"} in the file store.
    Column("attachments", Text, nullable=False, server_default=text("'[]'")),
    Column("status", String(8), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    CheckConstraint("status IN ('pending', 'sent')", name="status_known"),
)
Index("ix_mail_outbox_due", mail_outbox.c.status, mail_outbox.c.next_attempt_at)

test_payment_behaviors = Table(
    "test_payment_behaviors",
    metadata,
    Column("account_id", String(32), ForeignKey("accounts.id"), primary_key=True),
    Column("behavior", String(16), nullable=False),
    CheckConstraint("behavior IN ('succeed', 'decline')", name="behavior_known"),
)

# Subscriptions (rules 7 to 12)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("plan", String(64), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    # The provider's own subscription id, so its renewal events find ours.
    Column("provider_ref", String(255)),
    Column("provider", String(16), nullable=False),
    # Every boundary is anchor + n months (periods/cycles are computed, never accumulated).
    Column("anchor", UTCDateTime, nullable=False),
    Column("current_period_start", UTCDateTime, nullable=False),
    Column("current_period_end", UTCDateTime, nullable=False),
    Column("cycle_start", UTCDateTime, nullable=False),
    Column("cycle_end", UTCDateTime, nullable=False),
    Column("cancel_at_period_end", Boolean, nullable=False, server_default=text("false")),
    Column("scheduled_plan", String(64)),
    # A change of interval (year to month) waiting for the period end, like scheduled_plan.
    Column("scheduled_interval", String(8)),
    Column("retries", Integer, nullable=False, server_default=text("0")),
    Column("order_id", String(32)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    CheckConstraint("status IN ('incomplete', 'active', 'past_due', 'ended')", name="status_known"),
    CheckConstraint("interval IN ('month', 'year')", name="interval_known"),
)
Index("ix_subscriptions_account", subscriptions.c.account_id, subscriptions.c.seq)

# Daily claims, resources and quotas (rules 13 to 17)

daily_claims = Table(
    "daily_claims",
    metadata,
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("day", String(10), nullable=False),
    Column("credits", BigInteger, nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("account_id", "day"),
)

resources = Table(
    "resources",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("type", String(24), nullable=False),
    Column("name", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index("ix_resources_account", resources.c.account_id, resources.c.type)

quota_usage = Table(
    "quota_usage",
    metadata,
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("quota", String(64), nullable=False),
    Column("cycle_start", UTCDateTime, nullable=False),
    Column("used", Integer, nullable=False),
    PrimaryKeyConstraint("account_id", "quota", "cycle_start"),
    CheckConstraint("used >= 0", name="used_not_negative"),
)

jobs = Table(
    "jobs",
    metadata,
    # A metered image job (rules 19 and 20): queued with its cost held, claimed by one worker,
    # then succeeded (hold captured) or failed (hold released, free training given back).
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("params", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("cost", BigInteger, nullable=False),
    Column("hold_id", String(32)),
    Column("free_quota", String(64)),
    Column("quota_cycle_start", UTCDateTime),
    Column("input_sha256", String(64), nullable=False),
    Column("input_format", String(8), nullable=False),
    Column("input_width", Integer, nullable=False),
    Column("input_height", Integer, nullable=False),
    Column("input_bytes", BigInteger, nullable=False),
    Column("worker", String(32)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("claimed_at", UTCDateTime),
    Column("deadline_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("error", Text),
    CheckConstraint("cost >= 0", name="cost_not_negative"),
    CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status_known"),
)
Index("ix_jobs_queue", jobs.c.status, jobs.c.seq)
Index("ix_jobs_account", jobs.c.account_id, jobs.c.seq)

job_outputs = Table(
    "job_outputs",
    metadata,
    Column("job_id", String(32), ForeignKey("jobs.id"), nullable=False),
    Column("n", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("name", String(255), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    PrimaryKeyConstraint("job_id", "n"),
)

downloads = Table(
    "downloads",
    metadata,
    # Who fetched which output when: the refund rules ask whether a result was taken.
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("job_id", String(32), ForeignKey("jobs.id"), nullable=False),
    Column("n", Integer, nullable=False),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_downloads_job", downloads.c.job_id, downloads.c.seq)

refund_requests = Table(
    "refund_requests",
    metadata,
    # A customer's request, its recommendation (with the rule trace) and support's decision.
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("order_id", String(32), ForeignKey("orders.id"), nullable=False),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("description", Text),
    Column("evidence", Text, nullable=False),
    Column("job_ids", Text, nullable=False),
    Column("status", String(24), nullable=False),
    Column("recommendation", Text, nullable=False),
    Column("due_by", UTCDateTime, nullable=False),
    Column("overdue", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decision", Text),
    Column("decided_by", String(32)),
    Column("decided_at", UTCDateTime),
    Column("refund_id", String(32)),
    CheckConstraint(
        "status IN ('in_review', 'approved', 'partially_approved', 'resolved_with_credits', "
        "'denied')",
        name="status_known",
    ),
)
Index("ix_refund_requests_status_due", refund_requests.c.status, refund_requests.c.due_by)
Index("ix_refund_requests_account", refund_requests.c.account_id, refund_requests.c.decided_at)
# One open request per order: a second one while the first is in review is a conflict.
Index(
    "uq_refund_requests_open_order",
    refund_requests.c.order_id,
    unique=True,
    sqlite_where=refund_requests.c.status == "in_review",
    postgresql_where=refund_requests.c.status == "in_review",
)

incidents = Table(
    "incidents",
    metadata,
    # Outages the `service_outage` refund rule looks at (source 001).
    Column("id", String(32), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("summary", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
)

audit_events = Table(
    "audit_events",
    metadata,
    # Who did what, when and why: support decisions, disputes, incidents.
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(320), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("detail", Text, nullable=False),
)
Index("ix_audit_events_subject", audit_events.c.subject_id, audit_events.c.seq)
Index("ix_audit_events_actor", audit_events.c.actor, audit_events.c.seq)
# The audit log of one action, and the actions it holds (walked one per step, never scanned).
Index("ix_audit_events_action", audit_events.c.action, audit_events.c.seq)


provider_calls = Table(
    "provider_calls",
    metadata,
    # Every call to a payment provider's API (a checkout, a refund), recorded in the transaction
    # that needs it, before it is made; made after the commit, its outcome recorded, retried
    # from the due-work queue until it succeeds or definitively fails.
    Column("id", String(32), primary_key=True),
    # checkout (subject: an order) | refund (subject: a payment_refunds row)
    Column("kind", String(16), nullable=False),
    Column("subject_id", String(32), nullable=False),
    Column("provider", String(16), nullable=False),
    # The request as JSON, its idempotency key derived from our own id (the subject's).
    Column("request", Text, nullable=False),
    # pending (not yet answered) | succeeded | failed (for good)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("response", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("kind", "subject_id", name="uq_provider_calls_kind_subject"),
    CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_known"),
    CheckConstraint("attempts >= 0", name="attempts_not_negative"),
)


plan_changes = Table(
    "plan_changes",
    metadata,
    # Immediate changes of a subscription's plan or interval (upgrades, rule 10 and 25): what
    # it came from, the order that paid for it and the grant it made, so a refund of that order
    # can undo it (rule 24).
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("subscription_id", String(32), ForeignKey("subscriptions.id"), nullable=False),
    Column("order_id", String(32), ForeignKey("orders.id"), nullable=False, unique=True),
    Column("from_plan", String(64), nullable=False),
    Column("from_interval", String(8), nullable=False),
    Column("to_plan", String(64), nullable=False),
    Column("to_interval", String(8), nullable=False),
    Column("grant_id", String(32)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("undone_at", UTCDateTime),
)
Index("ix_plan_changes_subscription", plan_changes.c.subscription_id, plan_changes.c.seq)


events = Table(
    "events",
    metadata,
    # What happened, written in the transaction of the change it reports, with the object as
    # the API answered it then; the site replays what it missed from here.
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("type", String(48), nullable=False),
    Column("account_id", String(32)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("data", Text, nullable=False),
)
Index("ix_events_account", events.c.account_id, events.c.seq)
Index("ix_events_type", events.c.type, events.c.seq)
Index("ix_events_created_at", events.c.created_at)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    # JSON list of event types, or ["*"].
    Column("events", Text, nullable=False),
    Column("description", Text),
    Column("status", String(16), nullable=False),
    # The signing secret, and the one it replaced while that still signs (24 hours).
    Column("secret", String(64), nullable=False),
    Column("previous_secret", String(64)),
    Column("previous_secret_until", UTCDateTime),
    # Wall-clock time of the first failed delivery since the last good one: 5 days disable it.
    Column("failing_since", UTCDateTime),
    Column("disabled_reason", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    CheckConstraint("status IN ('enabled', 'disabled')", name="status_known"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # One event to one endpoint, queued in the event's transaction, sent after the commit by
    # the delivery loop, retried on the Standard Webhooks schedule (on the wall clock).
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("event_id", String(32), ForeignKey("events.id"), nullable=False),
    Column("endpoint_id", String(32), ForeignKey("webhook_endpoints.id"), nullable=False),
    # pending | delivered | failed (given up, or the endpoint deleted)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # NULL: due at once (queued on the engine's clock, which may be a test clock).
    Column("next_attempt_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
    CheckConstraint("attempts >= 0", name="attempts_not_negative"),
)
Index(
    "ix_webhook_deliveries_due",
    webhook_deliveries.c.status,
    webhook_deliveries.c.next_attempt_at,
)
Index("ix_webhook_deliveries_endpoint", webhook_deliveries.c.endpoint_id, webhook_deliveries.c.seq)
Index("ix_webhook_deliveries_event", webhook_deliveries.c.event_id)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("delivery_id", String(32), ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    # The answer's first bytes, as text.
    Column("response", Text),
    Column("duration_ms", Integer, nullable=False),
)
Index("ix_webhook_attempts_delivery", webhook_attempts.c.delivery_id, webhook_attempts.c.seq)


staff = Table(
    "staff",
    metadata,
    # The people who work in the support console. Passwords are argon2id hashes.
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
    CheckConstraint("role IN ('support', 'admin')", name="role_known"),
    CheckConstraint("status IN ('active', 'disabled')", name="status_known"),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    # A browser's session: of a staff member (console) or of one account (portal). The cookie
    # holds a random token; only its SHA-256 is kept here.
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("subject_id", String(32), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    CheckConstraint("kind IN ('console', 'portal')", name="kind_known"),
)
Index("ix_web_sessions_subject", web_sessions.c.kind, web_sessions.c.subject_id)

portal_links = Table(
    "portal_links",
    metadata,
    # A one-time link into the customer portal: minted by the site's backend (10 minutes) or
    # mailed to the account's address on request (15 minutes). Only the token's SHA-256 is kept;
    # `used_at` is set once, when the link becomes a browser session.
    Column("id", String(32), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("account_id", String(32), ForeignKey("accounts.id"), nullable=False),
    Column("via", String(8), nullable=False),
    Column("return_url", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    CheckConstraint("via IN ('api', 'mail')", name="via_known"),
    CheckConstraint("expires_at > created_at", name="expires_after_creation"),
)
Index("ix_portal_links_account", portal_links.c.account_id, portal_links.c.created_at)

sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    # Failed sign-ins by `email:…` and by `address:…`: five within the window and the door shuts.
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_sign_in_failures_key", sign_in_failures.c.key, sign_in_failures.c.at)

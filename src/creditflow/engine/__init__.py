"""`creditflow.Engine`: the Python API. The HTTP service is a thin layer over it.

An engine owns one database, one catalog, one clock and the payment providers, held together in
one `ServiceContext`, and is composed of parts over it (creditflow.engine.accounts, billing,
jobs, payments, support, operations). Each public method below is a part's method, put here with
its exact signature by `delegate`. Methods that change things take an optional
`idempotency_key` and run through the one idempotency mechanism (`services.idempotency`): a
caller that retries after a time-out never spends twice, never opens a second order, never
refunds twice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from creditflow.catalog_file import load_catalog
from creditflow.clock import Clock, SystemClock, TestClock
from creditflow.domain.catalog import Catalog
from creditflow.engine.accounts import Accounts
from creditflow.engine.billing import Billing
from creditflow.engine.console import Console
from creditflow.engine.events import Events
from creditflow.engine.jobs import Jobs
from creditflow.engine.operations import Operations
from creditflow.engine.parts import delegate
from creditflow.engine.payments import Payments
from creditflow.engine.portal import Portal
from creditflow.engine.support import Support
from creditflow.jobs.files import FileStore, LocalFileStore
from creditflow.mail.transports import MailTransport, transport_from_env
from creditflow.metrics import Metrics
from creditflow.payments.base import PaymentProvider, ProviderAdapter
from creditflow.payments.config import provider_adapters
from creditflow.payments.hosted import HostedProvider
from creditflow.payments.test_provider import TestPaymentProvider
from creditflow.services.context import ServiceContext
from creditflow.store.connections import connections_for
from creditflow.store.database import DatabaseSettings, create_db_engine
from creditflow.store.database import database_url as resolve_database_url
from creditflow.store.group_commit import Writers
from creditflow.store.migrate import upgrade_to_head

WRITER_SHARDS = 4
"""Group-commit writers on PostgreSQL, each with its own connection and a share of accounts."""


class Engine:
    """The credit ledger, in-process.

    >>> engine = Engine(database_url="sqlite:///credits.db")
    >>> account = engine.create_account(external_id="user-1", email="a@example.com")
    >>> engine.grant(account.id, credits=500, kind="purchased", reason="pack")
    >>> engine.consume(account.id, credits=120, idempotency_key="job-42")
    """

    def __init__(
        self,
        *,
        database_url: str | None = None,
        catalog: Catalog | str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        sqlite_synchronous: str = "FULL",
        pool_size: int = 10,
        migrate: bool = True,
        environ: Mapping[str, str] | None = None,
        providers: Mapping[str, PaymentProvider] | None = None,
        adapters: Mapping[str, ProviderAdapter] | None = None,
        mail_transport: MailTransport | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        files: FileStore | None = None,
        wall_clock: Clock | None = None,
        public_url: str | None = None,
    ) -> None:
        env = dict(os.environ if environ is None else environ)
        self.catalog = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
        self.database_url = resolve_database_url(database_url, env)
        self.db = create_db_engine(
            DatabaseSettings(
                url=self.database_url, sqlite_synchronous=sqlite_synchronous, pool_size=pool_size
            )
        )
        if migrate:
            upgrade_to_head(self.db)
        self._connections = connections_for(self.db)
        # Stripe, Paddle and Creem where their secrets are set (CREDITFLOW_STRIPE_… and so on).
        self.adapters: dict[str, ProviderAdapter] = dict(
            provider_adapters(env) if adapters is None else adapters
        )
        # Mail: SMTP with CREDITFLOW_SMTP_URL, else .eml files under CREDITFLOW_MAIL_DIR.
        self.mail_transport: MailTransport = mail_transport or transport_from_env(env)
        # Job inputs and outputs: under `data_dir` (default ./data) unless a store is given.
        self.files: FileStore = files or LocalFileStore(
            data_dir or env.get("CREDITFLOW_DATA_DIR") or "data"
        )
        self.clock: Clock = clock or SystemClock()
        self.metrics = Metrics()
        self.context = ServiceContext(
            connections=self._connections,
            clock=self.clock,
            catalog=self.catalog,
            files=self.files,
            providers={
                "test": TestPaymentProvider(),
                **{name: HostedProvider(adapter) for name, adapter in self.adapters.items()},
                **(providers or {}),
            },
            adapters=self.adapters,
            on_posted=self.metrics.count_transfers,
            writers=Writers(
                self._connections, shards=1 if self.db.dialect.name == "sqlite" else WRITER_SHARDS
            ),
        )
        self._accounts = Accounts(self.context)
        self._billing = Billing(self.context)
        self._jobs = Jobs(self.context)
        # Where this server is reached from outside, for links in mail (the portal's sign-in).
        self.public_url = (public_url or env.get("CREDITFLOW_PUBLIC_URL") or "").rstrip("/")
        self._payments = Payments(
            self.context,
            mail_transport=self.mail_transport,
            portal_url=f"{self.public_url}/portal/sign-in" if self.public_url else "",
        )
        self._support = Support(self.context)
        self._operations = Operations(self.context)  # resumes a test clock where it stood
        # Webhooks go out and console sessions idle in real time, whatever clock the engine
        # runs on.
        real_time = wall_clock or SystemClock()
        self._events = Events(
            self.context,
            wall_clock=real_time,
            allow_private=env.get("CREDITFLOW_WEBHOOKS_ALLOW_PRIVATE", "") == "1",
            operator=env.get("CREDITFLOW_OPERATOR_EMAIL") or self.catalog.site.email,
        )
        self.console = Console(self.context, wall_clock=real_time)
        """The support console's reads and actions (staff, sessions, pages), for /console."""
        self.portal = Portal(self.context, wall_clock=real_time, public_url=self.public_url)
        """The customer portal's links and sessions, for /portal."""

    def close(self) -> None:
        self._events.close()
        self.context.writers.close()
        self._connections.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def test_clock(self) -> TestClock | None:
        return self.clock if isinstance(self.clock, TestClock) else None

    # Accounts, credits and holds (creditflow.engine.accounts)
    create_account = delegate("_accounts", Accounts.create_account)
    account = delegate("_accounts", Accounts.account)
    find_account = delegate("_accounts", Accounts.find_account)
    accounts = delegate("_accounts", Accounts.accounts)
    grant = delegate("_accounts", Accounts.grant)
    consume = delegate("_accounts", Accounts.consume)
    consume_async = delegate("_accounts", Accounts.consume_async)
    balance = delegate("_accounts", Accounts.balance)
    balance_async = delegate("_accounts", Accounts.balance_async)
    ledger = delegate("_accounts", Accounts.ledger)
    hold = delegate("_accounts", Accounts.hold)
    hold_async = delegate("_accounts", Accounts.hold_async)
    capture = delegate("_accounts", Accounts.capture)
    capture_async = delegate("_accounts", Accounts.capture_async)
    release = delegate("_accounts", Accounts.release)
    release_async = delegate("_accounts", Accounts.release_async)
    get_hold = delegate("_accounts", Accounts.get_hold)
    alerts = delegate("_accounts", Accounts.alerts)
    set_alerts = delegate("_accounts", Accounts.set_alerts)

    # Orders, invoices, subscriptions, daily credits, entitlements (creditflow.engine.billing)
    checkout = delegate("_billing", Billing.checkout)
    record_payment = delegate("_billing", Billing.record_payment)
    order = delegate("_billing", Billing.order)
    orders = delegate("_billing", Billing.orders)
    invoice = delegate("_billing", Billing.invoice)
    document_pdf = delegate("_billing", Billing.document_pdf)
    set_test_payment_behavior = delegate("_billing", Billing.set_test_payment_behavior)
    export_documents = delegate("_billing", Billing.export_documents)
    subscribe = delegate("_billing", Billing.subscribe)
    subscription = delegate("_billing", Billing.subscription)
    subscriptions = delegate("_billing", Billing.subscriptions)
    cancel_subscription = delegate("_billing", Billing.cancel_subscription)
    resume_subscription = delegate("_billing", Billing.resume_subscription)
    change_plan = delegate("_billing", Billing.change_plan)
    claim_daily_credits = delegate("_billing", Billing.claim_daily_credits)
    daily_claim_status = delegate("_billing", Billing.daily_claim_status)
    addon_allowance = delegate("_billing", Billing.addon_allowance)
    entitlements = delegate("_billing", Billing.entitlements)
    create_resource = delegate("_billing", Billing.create_resource)
    check_loras = delegate("_billing", Billing.check_loras)
    use_free_training = delegate("_billing", Billing.use_free_training)

    # Image jobs (creditflow.engine.jobs)
    create_job = delegate("_jobs", Jobs.create_job)
    claim_job = delegate("_jobs", Jobs.claim_job)
    complete_job = delegate("_jobs", Jobs.complete_job)
    fail_job = delegate("_jobs", Jobs.fail_job)
    job = delegate("_jobs", Jobs.job)
    jobs = delegate("_jobs", Jobs.jobs)
    job_input = delegate("_jobs", Jobs.job_input)
    download_output = delegate("_jobs", Jobs.download_output)
    downloads = delegate("_jobs", Jobs.downloads)

    # Provider webhooks, refunds and mail (creditflow.engine.payments)
    receive_webhook = delegate("_payments", Payments.receive_webhook)
    unmatched_webhooks = delegate("_payments", Payments.unmatched_webhooks)
    refund_order = delegate("_payments", Payments.refund_order)
    refund = delegate("_payments", Payments.refund)
    deliver_mail = delegate("_payments", Payments.deliver_mail)
    outbox = delegate("_payments", Payments.outbox)

    # Refund requests, disputes and incidents (creditflow.engine.support)
    submit_refund_request = delegate("_support", Support.submit_refund_request)
    decide_refund_request = delegate("_support", Support.decide_refund_request)
    store_evidence_file = delegate("_support", Support.store_evidence_file)
    refund_request = delegate("_support", Support.refund_request)
    refund_requests = delegate("_support", Support.refund_requests)
    refund_queue = delegate("_support", Support.refund_queue)
    open_dispute = delegate("_support", Support.open_dispute)
    close_dispute = delegate("_support", Support.close_dispute)
    dispute = delegate("_support", Support.dispute)
    dispute_evidence = delegate("_support", Support.dispute_evidence)
    record_incident = delegate("_support", Support.record_incident)
    resolve_incident = delegate("_support", Support.resolve_incident)
    incidents = delegate("_support", Support.incidents)

    # Events and outgoing webhooks (creditflow.engine.events)
    events = delegate("_events", Events.events)
    event = delegate("_events", Events.event)
    redeliver_event = delegate("_events", Events.redeliver_event)
    create_webhook_endpoint = delegate("_events", Events.create_webhook_endpoint)
    webhook_endpoints = delegate("_events", Events.webhook_endpoints)
    webhook_endpoint = delegate("_events", Events.webhook_endpoint)
    update_webhook_endpoint = delegate("_events", Events.update_webhook_endpoint)
    delete_webhook_endpoint = delegate("_events", Events.delete_webhook_endpoint)
    rotate_webhook_secret = delegate("_events", Events.rotate_webhook_secret)
    webhook_deliveries = delegate("_events", Events.webhook_deliveries)
    deliver_webhooks = delegate("_events", Events.deliver_webhooks)

    # The clock, due work, checks and API keys (creditflow.engine.operations)
    run_due_work = delegate("_operations", Operations.run_due_work)
    advance_clock = delegate("_operations", Operations.advance_clock)
    saved_test_clock = delegate("_operations", Operations.saved_test_clock)
    forget_idempotency_keys = delegate("_operations", Operations.forget_idempotency_keys)
    check = delegate("_operations", Operations.check)
    create_api_key = delegate("_operations", Operations.create_api_key)
    has_api_keys = delegate("_operations", Operations.has_api_keys)
    find_api_key_by_hash = delegate("_operations", Operations.find_api_key_by_hash)

    # Staff of the support console (creditflow.engine.console; its pages use `console`)
    create_staff = delegate("console", Console.create_staff)
    staff = delegate("console", Console.staff)
    disable_staff = delegate("console", Console.disable_staff)

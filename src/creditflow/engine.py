"""`creditflow.Engine`: the Python API. The HTTP service is a thin layer over it.

An engine owns one database, one catalog and one clock. Every method is one use case in one
transaction; methods that change things take an optional `idempotency_key`, so a caller that
retries after a time-out never spends twice.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from creditflow.catalog_file import load_catalog
from creditflow.clock import Clock, SystemClock, TestClock, as_utc
from creditflow.domain.catalog import Catalog
from creditflow.domain.errors import InvalidRequest, NotFound
from creditflow.domain.kinds import GrantKind
from creditflow.engine_billing import BillingMethods
from creditflow.engine_jobs import JobMethods
from creditflow.engine_money import MoneyMethods
from creditflow.engine_refunds import RefundMethods
from creditflow.jobs.files import FileStore, LocalFileStore
from creditflow.mail.transports import MailTransport, transport_from_env
from creditflow.metrics import Metrics
from creditflow.payments.base import PaymentProvider, ProviderAdapter
from creditflow.payments.config import provider_adapters
from creditflow.payments.hosted import HostedProvider
from creditflow.payments.test_provider import TestPaymentProvider
from creditflow.services import accounts as account_cases
from creditflow.services import api_keys as key_cases
from creditflow.services import credits as credit_cases
from creditflow.services import holds as hold_cases
from creditflow.services.context import ServiceContext
from creditflow.services.due_work import run_due_work
from creditflow.services.idempotency import IdempotencyKey, fingerprint, recall, remember
from creditflow.services.integrity import Violation, check_ledger
from creditflow.services.ledger_history import list_entries
from creditflow.services.pagination import check_limit, decode_cursor, encode_cursor
from creditflow.services.views import (
    AccountView,
    ApiKeyView,
    BalanceView,
    ClockView,
    GrantView,
    HoldView,
    LedgerEntryView,
    Page,
    SpendView,
)
from creditflow.store.api_keys import ApiKeyRecord
from creditflow.store.connections import connections_for
from creditflow.store.database import DatabaseSettings, create_db_engine, database_url
from creditflow.store.migrate import upgrade_to_head
from creditflow.store.uow import UnitOfWork

M = TypeVar("M", bound=BaseModel)
IdempotencyArg = str | IdempotencyKey | None


class Engine(BillingMethods, JobMethods, MoneyMethods, RefundMethods):
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
    ) -> None:
        env = dict(os.environ if environ is None else environ)
        self.catalog = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
        self.database_url = _database_url(database_url, env)
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
        if isinstance(self.clock, TestClock):
            self._resume_test_clock(self.clock)
        self.metrics = Metrics()
        self._clock_lock = threading.Lock()
        self.context = ServiceContext(
            connections=self._connections,
            providers={
                "test": TestPaymentProvider(),
                **{name: HostedProvider(adapter) for name, adapter in self.adapters.items()},
                **(providers or {}),
            },
            clock=self.clock,
            catalog=self.catalog,
            on_posted=self.metrics.count_transfers,
        )

    def close(self) -> None:
        self._connections.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Accounts

    def create_account(
        self,
        *,
        external_id: str,
        email: str,
        country: str | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> AccountView:
        args: dict[str, Any] = {"external_id": external_id, "email": email, "country": country}
        return self._write(
            "create_account",
            args,
            idempotency_key,
            AccountView,
            lambda uow, now: account_cases.create_account(uow, now=now, **args),
        )

    def account(self, account_id: str) -> AccountView:
        with self.context.reading() as uow:
            return account_cases.account_view(account_cases.require_account(uow, account_id))

    def find_account(self, external_id: str) -> AccountView | None:
        with self.context.reading() as uow:
            record = uow.accounts.find_by_external_id(external_id)
            return account_cases.account_view(record) if record else None

    def accounts(self, *, limit: int | None = None, cursor: str | None = None) -> Page[AccountView]:
        size = check_limit(limit)
        after = decode_cursor(cursor, "accounts")
        with self.context.reading() as uow:
            rows = uow.accounts.page(after_id=after, limit=size + 1)
        more = len(rows) > size
        rows = rows[:size]
        return Page[AccountView](
            data=[account_cases.account_view(r) for r in rows],
            next_cursor=encode_cursor("accounts", rows[-1].id) if more else None,
        )

    # Credits

    def grant(
        self,
        account_id: str,
        *,
        credits: int,
        kind: GrantKind | str,
        reason: str | None = None,
        expires_at: datetime | None = None,
        priority: int | None = None,
        channel: str | None = None,
        source_type: str = "manual",
        source_id: str | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> GrantView:
        args: dict[str, Any] = {
            "account_id": account_id,
            "credits": credits,
            "kind": kind,
            "reason": reason,
            "expires_at": as_utc(expires_at) if expires_at else None,
            "priority": priority,
            "channel": channel,
            "source_type": source_type,
            "source_id": source_id,
        }
        return self._write(
            "grant",
            args,
            idempotency_key,
            GrantView,
            lambda uow, now: credit_cases.grant_credits(uow, catalog=self.catalog, now=now, **args),
        )

    def consume(
        self,
        account_id: str,
        *,
        credits: int,
        channel: str | None = None,
        reason: str | None = None,
        reference: str | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> SpendView:
        args: dict[str, Any] = {
            "account_id": account_id,
            "credits": credits,
            "channel": channel,
            "reason": reason,
            "reference": reference,
        }
        return self._write(
            "consume",
            args,
            idempotency_key,
            SpendView,
            lambda uow, now: credit_cases.consume_credits(
                uow, catalog=self.catalog, now=now, **args
            ),
        )

    def balance(self, account_id: str, *, channel: str | None = None) -> BalanceView:
        with self.context.reading() as uow:
            return credit_cases.get_balance(
                uow,
                catalog=self.catalog,
                now=self.clock.now(),
                account_id=account_id,
                channel=channel,
            )

    def ledger(
        self, account_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[LedgerEntryView]:
        with self.context.reading() as uow:
            return list_entries(uow, account_id=account_id, limit=limit, cursor=cursor)

    # Holds

    def hold(
        self,
        account_id: str,
        *,
        credits: int,
        channel: str | None = None,
        reason: str | None = None,
        reference: str | None = None,
        expires_in_seconds: int | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> HoldView:
        args: dict[str, Any] = {
            "account_id": account_id,
            "credits": credits,
            "channel": channel,
            "reason": reason,
            "reference": reference,
            "expires_in_seconds": expires_in_seconds,
        }
        return self._write(
            "hold",
            args,
            idempotency_key,
            HoldView,
            lambda uow, now: hold_cases.place_hold(uow, catalog=self.catalog, now=now, **args),
        )

    def capture(
        self, hold_id: str, *, credits: int | None = None, idempotency_key: IdempotencyArg = None
    ) -> HoldView:
        return self._write(
            "capture",
            {"hold_id": hold_id, "credits": credits},
            idempotency_key,
            HoldView,
            lambda uow, now: hold_cases.capture_hold(
                uow, now=now, hold_id=hold_id, credits=credits
            ),
        )

    def release(self, hold_id: str, *, idempotency_key: IdempotencyArg = None) -> HoldView:
        return self._write(
            "release",
            {"hold_id": hold_id},
            idempotency_key,
            HoldView,
            lambda uow, now: hold_cases.release_hold(uow, now=now, hold_id=hold_id),
        )

    def get_hold(self, hold_id: str) -> HoldView:
        with self.context.reading() as uow:
            return hold_cases.get_hold(uow, hold_id=hold_id)

    # The clock and its due work

    @property
    def test_clock(self) -> TestClock | None:
        return self.clock if isinstance(self.clock, TestClock) else None

    def run_due_work(self, *, limit: int | None = None) -> int:
        """Work what is due now (the background loop calls this)."""
        return run_due_work(self.context, until=self.clock.now(), limit=limit)

    def advance_clock(
        self,
        *,
        seconds: int | None = None,
        to: datetime | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> ClockView:
        """Move the test clock, working every due item in time order on the way.

        The advance spans many transactions (one per due item), so its idempotency key is
        checked before and stored after, rather than inside one transaction.
        """
        clock = self.test_clock
        if clock is None:
            raise NotFound("The test clock is off; start the service with --test-clock.")
        key = _key("advance_clock", {"seconds": seconds, "to": to}, idempotency_key)
        if key is not None:
            with self.context.reading() as uow:
                replay = recall(uow, key, ClockView)
            if replay is not None:
                return replay
        with self._clock_lock:
            target = _advance_target(clock.now(), seconds=seconds, to=to)
            processed = run_due_work(self.context, until=target, test_clock=clock)
            clock.move_to(target)
            self._save_test_clock(clock)
        view = ClockView(now=clock.now(), processed=processed)
        if key is not None:
            with self.context.writing() as uow:
                remember(uow, key, view, now=clock.now())
                uow.commit()
        return view

    def saved_test_clock(self) -> datetime | None:
        """Where a test clock last stood on this database; None if it never ran one."""
        with self.context.reading() as uow:
            return uow.clock_state.saved_now()

    def _save_test_clock(self, clock: TestClock) -> None:
        with self.context.writing() as uow:
            uow.clock_state.save(clock.now())
            uow.commit()

    def _resume_test_clock(self, clock: TestClock) -> None:
        """A restarted test-clock server resumes at the time its clock last stood."""
        with UnitOfWork(self._connections) as uow:
            saved = uow.clock_state.saved_now()
            if saved is None:
                uow.clock_state.save(clock.now())
                uow.commit()
        if saved is not None:
            clock.move_to(saved)

    # Operations

    def forget_idempotency_keys(self, *, older_than: timedelta) -> int:
        def forget(uow: UnitOfWork) -> int:
            return uow.idempotency.forget_older_than(self.clock.now() - older_than)

        return self.context.run_plain(forget)

    def check(self) -> list[Violation]:
        with self.context.reading() as uow:
            return check_ledger(uow.connection)

    def create_api_key(self, *, role: str, label: str | None = None) -> ApiKeyView:
        return self.context.run_plain(
            lambda uow: key_cases.create_api_key(uow, now=self.clock.now(), role=role, label=label)
        )

    def find_api_key_by_hash(self, secret_hash: str) -> ApiKeyRecord | None:
        with self.context.reading() as uow:
            return uow.api_keys.find_by_hash(secret_hash)

    def _write(
        self,
        operation: str,
        args: dict[str, Any],
        idempotency_key: IdempotencyArg,
        result_type: type[M],
        use_case: Callable[[UnitOfWork, datetime], M],
    ) -> M:
        key = _key(operation, args, idempotency_key)
        return self.context.run(
            lambda uow: use_case(uow, self.clock.now()), result_type=result_type, idempotency=key
        )


def _key(operation: str, args: dict[str, Any], key: IdempotencyArg) -> IdempotencyKey | None:
    if isinstance(key, str):
        return IdempotencyKey(key=key, fingerprint=fingerprint(operation, args))
    return key


def _database_url(explicit: str | None, environ: Mapping[str, str]) -> str:
    return database_url(explicit, dict(environ))


def _advance_target(now: datetime, *, seconds: int | None, to: datetime | None) -> datetime:
    if (seconds is None) == (to is None):
        raise InvalidRequest("Give either seconds or to, not both and not neither.")
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise InvalidRequest("seconds must be a whole number, 0 or more.", field="seconds")
        if seconds > 20 * 366 * 86400:
            raise InvalidRequest("seconds may move the clock at most 20 years.", field="seconds")
        return now + timedelta(seconds=seconds)
    assert to is not None
    target = as_utc(to)
    if target < now:
        raise InvalidRequest("The test clock never goes back.", field="to", now=now.isoformat())
    return target


def default_catalog_path() -> Path:
    return Path(__file__).parent / "catalogs" / "example.toml"

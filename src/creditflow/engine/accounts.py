"""The Python API of accounts, credits and holds: the ledger's own use cases."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from creditflow.clock import as_utc
from creditflow.domain.kinds import GrantKind
from creditflow.engine.parts import GroupedWrite, IdempotencyArg, Part, key_for
from creditflow.services import accounts as account_cases
from creditflow.services import alerts as alert_cases
from creditflow.services import credits as credit_cases
from creditflow.services import holds as hold_cases
from creditflow.services.ledger_history import list_entries
from creditflow.services.pagination import check_limit, decode_cursor, encode_cursor
from creditflow.services.views import (
    AccountView,
    AlertsView,
    BalanceView,
    GrantView,
    HoldView,
    LedgerEntryView,
    Page,
    SpendView,
)
from creditflow.store.uow import UnitOfWork


class Accounts(Part):
    # Accounts

    def create_account(
        self,
        *,
        external_id: str,
        email: str,
        country: str | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> AccountView:
        return self._once(
            key_for(idempotency_key, "create_account", external_id, email, country),
            AccountView,
            lambda uow, now: account_cases.create_account(
                uow, now=now, external_id=external_id, email=email, country=country
            ),
        )

    def account(self, account_id: str) -> AccountView:
        return self._read(
            lambda uow: account_cases.account_view(account_cases.require_account(uow, account_id))
        )

    def find_account(self, external_id: str) -> AccountView | None:
        record = self._read(lambda uow: uow.accounts.find_by_external_id(external_id))
        return account_cases.account_view(record) if record else None

    def accounts(self, *, limit: int | None = None, cursor: str | None = None) -> Page[AccountView]:
        size = check_limit(limit)
        after = decode_cursor(cursor, "accounts")
        rows = self._read(lambda uow: uow.accounts.page(after_id=after, limit=size + 1))
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
        source_id: str | None = "python",
        idempotency_key: IdempotencyArg = None,
    ) -> GrantView:
        expires = as_utc(expires_at) if expires_at else None
        return self._once(
            key_for(
                idempotency_key,
                "grant",
                account_id,
                credits,
                kind,
                reason,
                expires,
                priority,
                channel,
                source_type,
                source_id,
            ),
            GrantView,
            lambda uow, now: credit_cases.grant_credits(
                uow,
                catalog=self.catalog,
                now=now,
                account_id=account_id,
                credits=credits,
                kind=kind,
                reason=reason,
                expires_at=expires,
                priority=priority,
                channel=channel,
                source_type=source_type,
                source_id=source_id,
            ),
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
        return self._grouped(
            self._consume(account_id, credits, channel, reason, reference, idempotency_key)
        )

    async def consume_async(
        self,
        account_id: str,
        *,
        credits: int,
        channel: str | None = None,
        reason: str | None = None,
        reference: str | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> SpendView:
        """`consume`, awaited: for the HTTP service's event loop, which never waits on a commit."""
        return await self._grouped_async(
            self._consume(account_id, credits, channel, reason, reference, idempotency_key)
        )

    def _consume(
        self,
        account_id: str,
        credits: int,
        channel: str | None,
        reason: str | None,
        reference: str | None,
        idempotency_key: IdempotencyArg,
    ) -> GroupedWrite[SpendView]:
        return GroupedWrite(
            account_id,
            key_for(idempotency_key, "consume", account_id, credits, channel, reason, reference),
            SpendView,
            lambda uow, now: credit_cases.consume_credits(
                uow,
                catalog=self.catalog,
                now=now,
                account_id=account_id,
                credits=credits,
                channel=channel,
                reason=reason,
                reference=reference,
            ),
        )

    def balance(self, account_id: str, *, channel: str | None = None) -> BalanceView:
        return self._read(
            lambda uow: credit_cases.get_balance(
                uow,
                catalog=self.catalog,
                now=self.clock.now(),
                account_id=account_id,
                channel=channel,
            )
        )

    async def balance_async(self, account_id: str, *, channel: str | None = None) -> BalanceView:
        """`balance`, read by the account's writer: the event loop never waits on the database."""
        return await self._grouped_async(
            GroupedWrite(
                account_id,
                None,
                BalanceView,
                lambda uow, now: credit_cases.get_balance(
                    uow, catalog=self.catalog, now=now, account_id=account_id, channel=channel
                ),
            )
        )

    def ledger(
        self,
        account_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        type: str | None = None,
    ) -> Page[LedgerEntryView]:
        """Newest first; `type` keeps one kind of entry (grant, consume, hold, …)."""
        return self._read(
            lambda uow: list_entries(
                uow, account_id=account_id, limit=limit, cursor=cursor, type=type
            )
        )

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
        return self._grouped(
            self._hold(
                account_id, credits, channel, reason, reference, expires_in_seconds, idempotency_key
            )
        )

    async def hold_async(
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
        return await self._grouped_async(
            self._hold(
                account_id, credits, channel, reason, reference, expires_in_seconds, idempotency_key
            )
        )

    def _hold(
        self,
        account_id: str,
        credits: int,
        channel: str | None,
        reason: str | None,
        reference: str | None,
        expires_in_seconds: int | None,
        idempotency_key: IdempotencyArg,
    ) -> GroupedWrite[HoldView]:
        return GroupedWrite(
            account_id,
            key_for(
                idempotency_key,
                "hold",
                account_id,
                credits,
                channel,
                reason,
                reference,
                expires_in_seconds,
            ),
            HoldView,
            lambda uow, now: hold_cases.place_hold(
                uow,
                catalog=self.catalog,
                now=now,
                account_id=account_id,
                credits=credits,
                channel=channel,
                reason=reason,
                reference=reference,
                expires_in_seconds=expires_in_seconds,
            ),
        )

    def capture(
        self, hold_id: str, *, credits: int | None = None, idempotency_key: IdempotencyArg = None
    ) -> HoldView:
        return self._grouped(
            self._capture(self._hold_owner(hold_id), hold_id, credits, idempotency_key)
        )

    async def capture_async(
        self, hold_id: str, *, credits: int | None = None, idempotency_key: IdempotencyArg = None
    ) -> HoldView:
        owner = await self._hold_owner_async(hold_id)
        return await self._grouped_async(self._capture(owner, hold_id, credits, idempotency_key))

    def _capture(
        self, owner: str, hold_id: str, credits: int | None, idempotency_key: IdempotencyArg
    ) -> GroupedWrite[HoldView]:
        return GroupedWrite(
            owner,
            key_for(idempotency_key, "capture", hold_id, credits),
            HoldView,
            lambda uow, now: hold_cases.capture_hold(
                uow, now=now, hold_id=hold_id, credits=credits
            ),
        )

    def release(self, hold_id: str, *, idempotency_key: IdempotencyArg = None) -> HoldView:
        return self._grouped(self._release(self._hold_owner(hold_id), hold_id, idempotency_key))

    async def release_async(
        self, hold_id: str, *, idempotency_key: IdempotencyArg = None
    ) -> HoldView:
        owner = await self._hold_owner_async(hold_id)
        return await self._grouped_async(self._release(owner, hold_id, idempotency_key))

    def _release(
        self, owner: str, hold_id: str, idempotency_key: IdempotencyArg
    ) -> GroupedWrite[HoldView]:
        return GroupedWrite(
            owner,
            key_for(idempotency_key, "release", hold_id),
            HoldView,
            lambda uow, now: hold_cases.release_hold(uow, now=now, hold_id=hold_id),
        )

    def _hold_owner(self, hold_id: str) -> str:
        """The account a hold is on, whose writer settles it; "" with one writer or no hold."""
        if not self._sharded:
            return ""
        return self._read(lambda uow: _owner(uow, hold_id)).account_id

    async def _hold_owner_async(self, hold_id: str) -> str:
        if not self._sharded:
            return ""
        owner = await self._grouped_async(
            GroupedWrite("", None, HoldOwner, lambda uow, _now: _owner(uow, hold_id))
        )
        return owner.account_id

    def get_hold(self, hold_id: str) -> HoldView:
        return self._read(lambda uow: hold_cases.get_hold(uow, hold_id=hold_id))

    # Alerts

    def alerts(self, account_id: str) -> AlertsView:
        return self._read(
            lambda uow: alert_cases.get_alerts(uow, catalog=self.catalog, account_id=account_id)
        )

    def set_alerts(
        self,
        account_id: str,
        *,
        low_balance: int | None,
        idempotency_key: IdempotencyArg = None,
    ) -> AlertsView:
        """The account's own low-balance threshold (0: none); None goes back to the catalog's."""
        return self._once(
            key_for(idempotency_key, "set_alerts", account_id, low_balance),
            AlertsView,
            lambda uow, _now: alert_cases.set_alerts(
                uow, catalog=self.catalog, account_id=account_id, low_balance=low_balance
            ),
        )


class HoldOwner(BaseModel):
    account_id: str


def _owner(uow: UnitOfWork, hold_id: str) -> HoldOwner:
    hold = uow.holds.get(hold_id)
    return HoldOwner(account_id=hold.account_id if hold else "")

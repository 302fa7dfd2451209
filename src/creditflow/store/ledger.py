"""Repository of grants and ledger entries: the only code that writes either table.

`post` is the single path by which credits move: it applies a list of transfers to the grants'
cached columns and the account's cached sums, with guarded updates, then appends the entries.
Entries are never updated or deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, select, tuple_, update

from creditflow.domain.kinds import Channel, GrantKind
from creditflow.domain.ledger import Transfer
from creditflow.store.accounts import AccountRepository
from creditflow.store.raw_sql import Driver, Statement, Step
from creditflow.store.records import AccountRecord, EntryRecord, GrantRecord
from creditflow.store.tables import entries, grants


class LedgerConflict(RuntimeError):
    """A guarded update found fewer credits than the caller computed: a bug, never user error."""


@dataclass(frozen=True, slots=True)
class PostedEntry:
    transfer: Transfer
    available_after: int
    held_after: int


_GRANT_COLUMNS = (
    "seq, id, account_id, kind, granted, remaining, held, priority, channel, expires_at, "
    "source_type, source_id, reason, created_at"
)
_LIVE_GRANTS = Statement(
    f"SELECT {_GRANT_COLUMNS} FROM grants "
    "WHERE account_id = :account_id AND (remaining > 0 OR held > 0)"
)
_MOVE_GRANT = Statement(
    "UPDATE grants SET remaining = remaining + :remaining, held = held + :held "
    "WHERE id = :id AND remaining + :remaining >= 0 AND held + :held >= 0"
)
_GRANT = Statement(f"SELECT {_GRANT_COLUMNS} FROM grants WHERE id = :id")
"""Through the driver: due work reads a grant per expiry and per notice."""
_ENTRY_COLUMNS = (
    "transaction_id",
    "account_id",
    "type",
    "grant_id",
    "kind",
    "debit_account",
    "credit_account",
    "amount",
    "available_delta",
    "held_delta",
    "available_after",
    "held_after",
    "hold_id",
    "reason",
    "reference",
    "at",
)
_ENTRY_VALUES = {
    "available_after": "available - :available_later",
    "held_after": "held - :held_later",
}
_INSERT_ENTRY = Statement(
    f"INSERT INTO entries ({', '.join(_ENTRY_COLUMNS)}) "
    f"SELECT {', '.join(_ENTRY_VALUES.get(c, ':' + c) for c in _ENTRY_COLUMNS)} "
    "FROM accounts WHERE id = :moved_account"
)
"""An entry's balances are read from its account's row, moved just before in the same round
trip, less what the transfers after it in the same post move. (The row is named by a parameter
of its own: PostgreSQL types the one in the select list apart from the one in the WHERE.)"""


@dataclass(frozen=True, slots=True)
class BalanceMove:
    """An account's available credits before its first entry of a transaction and after its
    last: what the low-balance alert compares (a dip and recovery inside one is no crossing)."""

    before: int
    after: int
    low_balance: int | None
    """The account's own threshold, if it set one."""


class LedgerRepository:
    def __init__(
        self,
        connection: Connection,
        driver: Driver,
        accounts: AccountRepository,
        journal: list[Transfer],
        moves: dict[str, BalanceMove] | None = None,
    ) -> None:
        self._connection = connection
        self._driver = driver
        self._accounts = accounts
        self._journal = journal
        self._moves = {} if moves is None else moves

    def add_grant(
        self,
        *,
        id: str,
        account_id: str,
        kind: GrantKind,
        credits: int,
        priority: int,
        channel: Channel,
        expires_at: datetime | None,
        source_type: str,
        source_id: str | None,
        reason: str | None,
        now: datetime,
    ) -> None:
        """A new grant holds nothing until its `grant` transfer is posted."""
        self._driver.insert(
            grants,
            {
                "id": id,
                "account_id": account_id,
                "kind": kind.value,
                "granted": credits,
                "remaining": 0,
                "held": 0,
                "priority": priority,
                "channel": channel.value,
                "expires_at": expires_at,
                "source_type": source_type,
                "source_id": source_id,
                "reason": reason,
                "created_at": now,
            },
        )

    def grant(self, grant_id: str) -> GrantRecord | None:
        row = self._driver.one(_GRANT, {"id": grant_id})
        return self._raw_grant(row) if row else None

    def under_account_lock(self, grant: GrantRecord) -> GrantRecord | None:
        """`grant` as it stands under its account's lock, which a spend takes before it moves
        a grant. On PostgreSQL: the account locked, the grant read again. SQLite's write
        transaction (BEGIN IMMEDIATE) already was that lock when `grant` was read."""
        if not self._driver.postgresql:
            return grant
        self._accounts.get(grant.account_id, for_update=True)
        return self.grant(grant.id)

    def live_grants(self, account_id: str) -> list[GrantRecord]:
        """Grants with credits left or held; served by the partial index `ix_grants_live`."""
        rows = self._driver.all(_LIVE_GRANTS, {"account_id": account_id})
        return [self._raw_grant(row) for row in rows]

    def account_and_live_grants(
        self, account_id: str
    ) -> tuple[AccountRecord | None, list[GrantRecord]]:
        """The account, locked for update, and its live grants: a spend's reads, in one round
        trip on PostgreSQL (the grants are read once the lock is held)."""
        account, live = self._driver.together(
            [
                self._accounts.get_step(account_id, for_update=True),
                (_LIVE_GRANTS, {"account_id": account_id}),
            ]
        )
        record = self._accounts.record(account.fetchone())
        self._accounts.keep(record)
        return record, [self._raw_grant(row) for row in live.fetchall()] if record else []

    def _raw_grant(self, row: tuple[Any, ...]) -> GrantRecord:
        """A row of `_GRANT_COLUMNS` from the driver."""
        read_time = self._driver.read_time
        return GrantRecord(
            row[0],
            row[1],
            row[2],
            GrantKind(row[3]),
            row[4],
            row[5],
            row[6],
            row[7],
            Channel(row[8]),
            read_time(row[9]),
            row[10],
            row[11],
            row[12],
            read_time(row[13]),  # type: ignore[arg-type]
        )

    def extend_expiry(
        self,
        *,
        account_id: str,
        source_id: str,
        kind: GrantKind,
        expiring_at: datetime,
        new_expiry: datetime,
    ) -> list[str]:
        """Move the expiry of a source's grants that still hold credits (rule 8's rollover)."""
        condition = (
            (grants.c.account_id == account_id)
            & (grants.c.source_id == source_id)
            & (grants.c.kind == kind.value)
            & (grants.c.expires_at == expiring_at)
            & ((grants.c.remaining > 0) | (grants.c.held > 0))
        )
        ids = list(self._connection.execute(select(grants.c.id).where(condition)).scalars())
        if ids:
            self._connection.execute(
                update(grants).where(grants.c.id.in_(ids)).values(expires_at=new_expiry)
            )
        return ids

    def grants_of_source(
        self,
        account_id: str,
        *,
        source_type: str,
        source_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[GrantRecord]:
        """Every grant a source gave (an order, a subscription's cycles), emptied or not."""
        query = select(grants).where(
            grants.c.account_id == account_id,
            grants.c.source_type == source_type,
            grants.c.source_id == source_id,
        )
        if since is not None:
            query = query.where(grants.c.created_at >= since)
        if until is not None:
            query = query.where(grants.c.created_at < until)
        return [_grant_record(row) for row in self._connection.execute(query).all()]

    def moved_from(self, account_id: str, grant_ids: Sequence[str]) -> dict[str, int]:
        """Credits that left these grants (the account's), by entry type (consume, capture,
        expire, revoke); read through `ix_entries_grant` (see `_of_grants`)."""
        if not grant_ids:
            return {}
        rows = self._connection.execute(
            select(entries.c.type, func.sum(entries.c.amount))
            .where(_of_grants(grant_ids))
            .group_by(entries.c.type)
        ).all()
        return {str(row[0]): int(row[1]) for row in rows}

    def grants_page(self, account_id: str, *, limit: int) -> list[GrantRecord]:
        """The account's grants, emptied ones too, newest first."""
        query = (
            select(grants)
            .where(grants.c.account_id == account_id)
            .order_by(grants.c.seq.desc())
            .limit(limit)
        )
        return [_grant_record(row) for row in self._connection.execute(query).all()]

    def grants_by_id(self, grant_ids: Sequence[str]) -> dict[str, GrantRecord]:
        rows = self._connection.execute(select(grants).where(grants.c.id.in_(grant_ids))).all()
        return {row.id: _grant_record(row) for row in rows}

    def post(
        self,
        *,
        account_id: str,
        transaction_id: str,
        transfers: Sequence[Transfer],
        now: datetime,
        hold_id: str | None = None,
        reason: str | None = None,
        reference: str | None = None,
    ) -> list[PostedEntry]:
        """Apply `transfers` to the cached balances and append them to the ledger, in order.

        The grants' moves, the account's and the entries are sent together (one round trip on
        PostgreSQL): each entry reads the balance it carries from the account row just moved,
        less what the transfers after it move.
        """
        per_grant: dict[str, list[int]] = {}
        for transfer in transfers:
            deltas = per_grant.setdefault(transfer.grant_id, [0, 0])
            deltas[0] += transfer.remaining_delta
            deltas[1] += transfer.held_delta
        moved = [(grant_id, deltas) for grant_id, deltas in per_grant.items() if deltas != [0, 0]]
        total_available = sum(t.remaining_delta for t in transfers)
        total_held = sum(t.held_delta for t in transfers)
        at = self._driver.bind_time(now)
        rows: list[Mapping[str, Any]] = []
        later_available, later_held = total_available, total_held
        for transfer in transfers:
            later_available -= transfer.remaining_delta
            later_held -= transfer.held_delta
            rows.append(
                {
                    "transaction_id": transaction_id,
                    "account_id": account_id,
                    "type": transfer.type.value,
                    "grant_id": transfer.grant_id,
                    "kind": transfer.kind.value,
                    "debit_account": transfer.debit,
                    "credit_account": transfer.credit,
                    "amount": transfer.amount,
                    "available_delta": transfer.remaining_delta,
                    "held_delta": transfer.held_delta,
                    "available_later": later_available,
                    "held_later": later_held,
                    "hold_id": hold_id,
                    "reason": reason,
                    "reference": reference,
                    "at": at,
                    "moved_account": account_id,
                }
            )
        steps: list[Step] = [
            (_MOVE_GRANT, {"id": grant_id, "remaining": remaining, "held": held})
            for grant_id, (remaining, held) in moved
        ]
        steps.append(
            self._accounts.move_step(account_id, available=total_available, held=total_held)
        )
        if rows:
            steps.append((_INSERT_ENTRY, rows[0] if len(rows) == 1 else rows))
        cursors = self._driver.together(steps)
        for (grant_id, (remaining, held)), cursor in zip(moved, cursors, strict=False):
            if cursor.rowcount != 1:
                raise LedgerConflict(f"grant {grant_id} cannot move {remaining} / {held} credits")
        available, held, low_balance = self._accounts.moved(account_id, cursors[len(moved)])

        move = self._moves.get(account_id)
        before = move.before if move else available - total_available
        self._moves[account_id] = BalanceMove(before, available, low_balance)
        # Walk back from the final sums so each entry carries the balance right after it.
        available -= total_available
        held -= total_held
        posted: list[PostedEntry] = []
        for transfer in transfers:
            available += transfer.remaining_delta
            held += transfer.held_delta
            posted.append(PostedEntry(transfer, available, held))
        self._journal.extend(transfers)
        return posted

    def entries_of_grants(self, account_id: str, grant_ids: Sequence[str]) -> list[EntryRecord]:
        """Every movement of these grants' (the account's) credits, oldest first (a dispute's
        evidence); read through `ix_entries_grant` (see `_of_grants`)."""
        if not grant_ids:
            return []
        query = select(entries).where(_of_grants(grant_ids)).order_by(entries.c.seq)
        return [EntryRecord(**row) for row in self._connection.execute(query).mappings()]

    def entries_page(
        self, account_id: str, *, before_seq: int | None, limit: int, type: str | None = None
    ) -> list[EntryRecord]:
        """Newest first; `before_seq` is the cursor of the previous page.

        Read along `ix_entries_account_seq`, or `ix_entries_account_type` for one type, from
        the cursor on: a page costs the same at any depth, for any type, however rare.
        """
        if self._connection.dialect.name == "postgresql":
            query = _page_along_index(account_id, type, before_seq)
        else:
            # SQLite, without statistics, takes the index that matches the most equalities.
            query = select(entries).where(entries.c.account_id == account_id)
            if type is not None:
                query = query.where(entries.c.type == type)
            if before_seq is not None:
                query = query.where(entries.c.seq < before_seq)
            query = query.order_by(entries.c.seq.desc())
        rows = self._connection.execute(query.limit(limit)).mappings()
        return [EntryRecord(**row) for row in rows]


def _page_along_index(account_id: str, type: str | None, before_seq: int | None) -> Select[Any]:
    """The page for PostgreSQL, which must not walk `pk_entries` backwards instead.

    With `type = :t ORDER BY seq DESC LIMIT n`, PostgreSQL estimates the account's rows of the
    type as its share of the account times the type's share of the whole ledger; for a big
    account and a type it has few of (or none), that is thousands of rows, and reading the
    primary key backwards, filtering, looks cheaper than the index. It then reads the whole
    ledger (40 ms at 4 * 10^5 entries, and growing). Written as a range of the index's own
    order instead (`type >= :t AND (type, seq) < (:t, :before)`, ordered by type then seq, the
    same rows), only the index gives that order, and the row comparison starts its scan at the
    cursor. Without a type the account id plays the same part on `ix_entries_account_seq`.
    """
    last, value = (entries.c.account_id, account_id) if type is None else (entries.c.type, type)
    query = select(entries).where(last >= value)
    if type is not None:
        query = query.where(entries.c.account_id == account_id)
    if before_seq is None:
        query = query.where(last <= value)
    else:
        query = query.where(tuple_(last, entries.c.seq) < tuple_(value, before_seq))
    return query.order_by(last.desc(), entries.c.seq.desc())


def _of_grants(grant_ids: Sequence[str]) -> ColumnElement[bool]:
    """The entries of these grants, by grant id alone.

    A grant's entries are all its own account's (`creditflow check` holds each account's sums
    to its grants'), so the ids pick exactly the account's rows. Naming the account as well
    would change no row but would let SQLite's planner, which keeps no statistics here, walk
    the account's whole ledger (`ix_entries_account_type` serves a GROUP BY type, and
    `ix_entries_account_seq` an ORDER BY seq, without a sort) instead of these grants' few.
    """
    return entries.c.grant_id.in_(list(grant_ids))


def _grant_record(row: object) -> GrantRecord:
    mapping = row._mapping  # type: ignore[attr-defined]
    return GrantRecord(
        seq=mapping["seq"],
        id=mapping["id"],
        account_id=mapping["account_id"],
        kind=GrantKind(mapping["kind"]),
        granted=mapping["granted"],
        remaining=mapping["remaining"],
        held=mapping["held"],
        priority=mapping["priority"],
        channel=Channel(mapping["channel"]),
        expires_at=mapping["expires_at"],
        source_type=mapping["source_type"],
        source_id=mapping["source_id"],
        reason=mapping["reason"],
        created_at=mapping["created_at"],
    )

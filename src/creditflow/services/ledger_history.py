"""Reading an account's ledger, newest first."""

from __future__ import annotations

from creditflow.domain.errors import InvalidRequest
from creditflow.domain.kinds import EntryType
from creditflow.services.accounts import require_account
from creditflow.services.pagination import check_limit, decode_int_cursor, encode_cursor
from creditflow.services.views import LedgerEntryView, Page
from creditflow.store.records import EntryRecord
from creditflow.store.uow import UnitOfWork

_CURSOR = "entries"


def list_entries(
    uow: UnitOfWork,
    *,
    account_id: str,
    limit: int | None,
    cursor: str | None,
    type: str | None = None,
) -> Page[LedgerEntryView]:
    size = check_limit(limit)
    before = decode_int_cursor(cursor, _CURSOR)
    if type is not None and type not in set(EntryType):
        known = ", ".join(EntryType)
        raise InvalidRequest(f"Unknown entry type {type!r}; the types are {known}.", field="type")
    require_account(uow, account_id)
    rows = uow.ledger.entries_page(account_id, before_seq=before, limit=size + 1, type=type)
    more = len(rows) > size
    rows = rows[:size]
    return Page[LedgerEntryView](
        data=[entry_view(row) for row in rows],
        next_cursor=encode_cursor(_CURSOR, rows[-1].seq) if more else None,
    )


def entry_view(entry: EntryRecord) -> LedgerEntryView:
    return LedgerEntryView(
        id=f"ent_{entry.seq}",
        transaction_id=entry.transaction_id,
        at=entry.at,
        type=entry.type,
        credits=entry.available_delta,
        held=entry.held_delta,
        grant_id=entry.grant_id,
        kind=entry.kind,
        hold_id=entry.hold_id,
        reason=entry.reason,
        reference=entry.reference,
        balance_after=entry.available_after,
        held_after=entry.held_after,
    )

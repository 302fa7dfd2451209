"""Grant expiry as due work: credits left in a grant at its `expires_at` lapse (rules 6 to 8)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from creditflow.domain import ledger
from creditflow.domain.events import EventType
from creditflow.ids import new_id
from creditflow.services.credits import EXPIRE_GRANT, grant_view
from creditflow.services.events import emit
from creditflow.store.uow import UnitOfWork


def expire_grant(uow: UnitOfWork, *, now: datetime, grant_id: str) -> None:
    """Move what is left of a grant to `expired`; held credits lapse when their hold ends."""
    grant = uow.ledger.grant(grant_id)
    if grant is None or grant.expires_at is None:
        return
    if grant.expires_at > now:  # the expiry moved later (rollover): follow it
        uow.due_work.schedule(
            task=EXPIRE_GRANT, subject_id=grant.id, due_at=grant.expires_at, now=now
        )
        return
    grant = uow.ledger.under_account_lock(grant)
    if grant is None or grant.remaining == 0:
        return
    uow.ledger.post(
        account_id=grant.account_id,
        transaction_id=new_id("txn"),
        transfers=[ledger.expire(grant.account_id, grant.id, grant.kind, grant.remaining)],
        reason="expired",
        now=now,
    )
    emit(
        uow,
        EventType.CREDITS_EXPIRED,
        account_id=grant.account_id,
        obj=grant_view(replace(grant, remaining=0)),
        now=now,
    )

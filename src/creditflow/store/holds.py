"""Repository of holds and the grants each one took its credits from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from creditflow.domain.drawdown import Allocation
from creditflow.domain.kinds import Channel, GrantKind, HoldStatus
from creditflow.store.records import HoldRecord
from creditflow.store.tables import hold_allocations, holds


class HoldRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(
        self,
        *,
        id: str,
        account_id: str,
        credits: int,
        channel: Channel | None,
        reason: str | None,
        reference: str | None,
        expires_at: datetime,
        allocations: Sequence[Allocation],
        now: datetime,
    ) -> HoldRecord:
        values = {
            "id": id,
            "account_id": account_id,
            "status": HoldStatus.HELD.value,
            "credits": credits,
            "captured": 0,
            "channel": channel.value if channel else None,
            "reason": reason,
            "reference": reference,
            "expires_at": expires_at,
            "created_at": now,
            "settled_at": None,
            "release_reason": None,
        }
        self._connection.execute(insert(holds).values(values))
        self._connection.execute(
            insert(hold_allocations),
            [
                {
                    "hold_id": id,
                    "position": position,
                    "grant_id": a.grant_id,
                    "kind": a.kind.value,
                    "credits": a.credits,
                }
                for position, a in enumerate(allocations)
            ],
        )
        return _hold_record(values)

    def get(self, hold_id: str) -> HoldRecord | None:
        row = (
            self._connection.execute(select(holds).where(holds.c.id == hold_id)).mappings().first()
        )
        return _hold_record(row) if row else None

    def held_of(self, account_id: str) -> list[HoldRecord]:
        """Holds still in flight, oldest first."""
        rows = self._connection.execute(
            select(holds)
            .where(holds.c.account_id == account_id, holds.c.status == HoldStatus.HELD.value)
            .order_by(holds.c.created_at)
        ).mappings()
        return [_hold_record(row) for row in rows]

    def allocations(self, hold_id: str) -> list[Allocation]:
        rows = self._connection.execute(
            select(hold_allocations)
            .where(hold_allocations.c.hold_id == hold_id)
            .order_by(hold_allocations.c.position)
        ).mappings()
        return [Allocation(r["grant_id"], GrantKind(r["kind"]), r["credits"]) for r in rows]

    def settle(
        self,
        hold_id: str,
        *,
        status: HoldStatus,
        captured: int,
        release_reason: str | None,
        now: datetime,
    ) -> bool:
        """Flip a hold out of `held` at most once: False when another caller got there first."""
        result = self._connection.execute(
            update(holds)
            .where(holds.c.id == hold_id, holds.c.status == HoldStatus.HELD.value)
            .values(
                status=status.value,
                captured=captured,
                release_reason=release_reason,
                settled_at=now,
            )
        )
        return result.rowcount == 1


def _hold_record(row: object) -> HoldRecord:
    mapping = dict(row)  # type: ignore[call-overload]
    return HoldRecord(
        id=mapping["id"],
        account_id=mapping["account_id"],
        status=HoldStatus(mapping["status"]),
        credits=mapping["credits"],
        captured=mapping["captured"],
        channel=Channel(mapping["channel"]) if mapping["channel"] else None,
        reason=mapping["reason"],
        reference=mapping["reference"],
        expires_at=mapping["expires_at"],
        created_at=mapping["created_at"],
        settled_at=mapping["settled_at"],
        release_reason=mapping["release_reason"],
    )

"""Repository of what membership brings: daily claims, resources and free quotas used."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from creditflow.store.tables import daily_claims, quota_usage, resources
from creditflow.store.upsert import insert_ignoring_duplicates


class MembershipRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def claim_day(self, account_id: str, day: str, credits: int, now: datetime) -> bool:
        """False when the account has claimed that day already."""
        return insert_ignoring_duplicates(
            self._connection,
            daily_claims,
            {"account_id": account_id, "day": day, "credits": credits, "claimed_at": now},
            index_elements=["account_id", "day"],
        )

    def claimed(self, account_id: str, day: str) -> bool:
        found = self._connection.execute(
            select(daily_claims.c.day).where(
                daily_claims.c.account_id == account_id, daily_claims.c.day == day
            )
        ).first()
        return found is not None

    def add_resource(
        self, *, id: str, account_id: str, type: str, name: str, now: datetime
    ) -> None:
        self._connection.execute(
            insert(resources).values(
                id=id, account_id=account_id, type=type, name=name, created_at=now
            )
        )

    def resources_of(self, account_id: str) -> list[dict[str, object]]:
        rows = self._connection.execute(
            select(resources)
            .where(resources.c.account_id == account_id)
            .order_by(resources.c.created_at)
        ).mappings()
        return [dict(row) for row in rows]

    def resource_counts(self, account_id: str) -> dict[str, int]:
        rows = self._connection.execute(
            select(resources.c.type, func.count())
            .where(resources.c.account_id == account_id)
            .group_by(resources.c.type)
        )
        return {kind: int(count) for kind, count in rows}

    def quota_used(self, account_id: str, quota: str, cycle_start: datetime) -> int:
        used = self._connection.execute(
            select(quota_usage.c.used).where(
                quota_usage.c.account_id == account_id,
                quota_usage.c.quota == quota,
                quota_usage.c.cycle_start == cycle_start,
            )
        ).scalar_one_or_none()
        return int(used or 0)

    def change_quota(self, account_id: str, quota: str, cycle_start: datetime, by: int) -> None:
        key = {"account_id": account_id, "quota": quota, "cycle_start": cycle_start}
        if not insert_ignoring_duplicates(
            self._connection,
            quota_usage,
            {**key, "used": max(by, 0)},
            index_elements=["account_id", "quota", "cycle_start"],
        ):
            self._connection.execute(
                update(quota_usage)
                .where(
                    quota_usage.c.account_id == account_id,
                    quota_usage.c.quota == quota,
                    quota_usage.c.cycle_start == cycle_start,
                )
                .values(used=quota_usage.c.used + by)
            )

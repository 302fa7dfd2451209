"""Repository of staff members and of failed sign-ins."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from creditflow.store.tables import sign_in_failures, staff


@dataclass(frozen=True, slots=True)
class StaffRecord:
    id: str
    email: str
    role: str
    """`support` works the console; `admin` also manages staff and API keys."""
    password_hash: str
    status: str
    created_at: datetime
    disabled_at: datetime | None


_COLUMNS = [c for c in staff.c if c.name != "seq"]


class StaffRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, record: StaffRecord) -> None:
        self._connection.execute(insert(staff).values(**asdict(record)))

    def get(self, staff_id: str) -> StaffRecord | None:
        row = self._connection.execute(select(*_COLUMNS).where(staff.c.id == staff_id)).first()
        return StaffRecord(*row) if row else None

    def by_email(self, email: str) -> StaffRecord | None:
        row = self._connection.execute(
            select(*_COLUMNS).where(func.lower(staff.c.email) == email.lower())
        ).first()
        return StaffRecord(*row) if row else None

    def listed(self) -> list[StaffRecord]:
        rows = self._connection.execute(select(*_COLUMNS).order_by(staff.c.seq))
        return [StaffRecord(*row) for row in rows]

    def disable(self, staff_id: str, now: datetime) -> None:
        self._connection.execute(
            update(staff).where(staff.c.id == staff_id).values(status="disabled", disabled_at=now)
        )

    def set_password_hash(self, staff_id: str, password_hash: str) -> None:
        self._connection.execute(
            update(staff).where(staff.c.id == staff_id).values(password_hash=password_hash)
        )

    # Failed sign-ins

    def add_failure(self, keys: list[str], at: datetime) -> None:
        self._connection.execute(insert(sign_in_failures), [{"key": k, "at": at} for k in keys])

    def failures_since(self, key: str, since: datetime) -> int:
        return int(
            self._connection.execute(
                select(func.count())
                .select_from(sign_in_failures)
                .where(sign_in_failures.c.key == key, sign_in_failures.c.at >= since)
            ).scalar_one()
        )

    def forget_failures(self, key: str) -> None:
        self._connection.execute(delete(sign_in_failures).where(sign_in_failures.c.key == key))

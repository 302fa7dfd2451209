"""Repository of the due-work queue: what the clock makes due, and when.

The queue's statements go straight through the driver (store.raw_sql), like the spend's: a
batch of due work runs each of them thousands of times, and built by SQLAlchemy per call they
cost more than the work they queue.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from creditflow.store.raw_sql import Driver, Statement
from creditflow.store.records import DueItem
from creditflow.store.tables import due_work

_SCHEDULE = Statement(
    "INSERT INTO due_work (due_at, task, subject_id, created_at, rank)"
    " VALUES (:due_at, :task, :subject_id, :created_at, :rank)"
    " ON CONFLICT (task, subject_id) DO NOTHING"
)
_CANCEL = Statement("DELETE FROM due_work WHERE task = :task AND subject_id = :subject_id")
_NEXT_DUE = (
    "SELECT seq, due_at, task, subject_id FROM due_work WHERE due_at <= :until"
    " ORDER BY due_at, rank, seq LIMIT 1"
)
_NEXT_DUE_SQLITE = Statement(_NEXT_DUE)
_NEXT_DUE_POSTGRESQL = Statement(_NEXT_DUE + " FOR UPDATE SKIP LOCKED")
_DONE = Statement("DELETE FROM due_work WHERE seq = :seq")


class DueWorkRepository:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._connection = connection
        self._driver = driver

    def schedule(
        self, *, task: str, subject_id: str, due_at: datetime, now: datetime, rank: int = 100
    ) -> None:
        """Queue `task` for `subject_id`; one item per task and subject, the first one kept."""
        bind_time = self._driver.bind_time
        self._driver.execute(
            _SCHEDULE,
            {
                "due_at": bind_time(due_at),
                "task": task,
                "subject_id": subject_id,
                "created_at": bind_time(now),
                "rank": rank,
            },
        )

    def reschedule(
        self, *, task: str, subject_id: str, due_at: datetime, now: datetime, rank: int = 100
    ) -> None:
        """Queue `task` for `subject_id` at `due_at`, replacing any item already queued."""
        self.cancel(task=task, subject_id=subject_id)
        self.schedule(task=task, subject_id=subject_id, due_at=due_at, now=now, rank=rank)

    def cancel(self, *, task: str, subject_id: str) -> None:
        self._driver.execute(_CANCEL, {"task": task, "subject_id": subject_id})

    def next_due(self, until: datetime) -> DueItem | None:
        """The earliest item due at or before `until`; other servers skip the one locked here."""
        statement = _NEXT_DUE_POSTGRESQL if self._driver.postgresql else _NEXT_DUE_SQLITE
        row = self._driver.one(statement, {"until": self._driver.bind_time(until)})
        if row is None:
            return None
        due_at = self._driver.read_time(row[1])
        assert due_at is not None
        return DueItem(row[0], due_at, row[2], row[3])

    def done(self, item: DueItem) -> None:
        self._driver.execute(_DONE, {"seq": item.seq})

    def count(self) -> int:
        return int(
            self._connection.execute(select(func.count()).select_from(due_work)).scalar_one()
        )

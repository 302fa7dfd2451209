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
_DUE = (
    "SELECT seq, due_at, task, subject_id FROM due_work WHERE due_at <= :until"
    " ORDER BY due_at, rank, seq LIMIT :limit"
)
_DUE_SQLITE = Statement(_DUE)
_DUE_POSTGRESQL = Statement(_DUE + " FOR UPDATE SKIP LOCKED")
_DONE = Statement("DELETE FROM due_work WHERE seq = :seq")


class DueWorkRepository:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._connection = connection
        self._driver = driver
        self.earliest_scheduled: datetime | None = None
        """The earliest due time this unit of work queued an item at (see `due`)."""
        self.cancelled: set[tuple[str, str]] = set()
        """The tasks and subjects whose items this unit of work took off the queue."""
        self._absent: set[tuple[str, str]] = set()
        """Tasks and subjects whose item this unit of work deleted, with none queued since: a
        renewal reschedules the very item it was run from, and the DELETE that replacing it
        starts with would find nothing. Exact on PostgreSQL too: until this transaction ends,
        the deleted row holds its place in `uq_due_work_task_subject`, so another transaction
        inserting the same task and subject waits for it."""

    def schedule(
        self, *, task: str, subject_id: str, due_at: datetime, now: datetime, rank: int = 100
    ) -> None:
        """Queue `task` for `subject_id`; one item per task and subject, the first one kept."""
        if self.earliest_scheduled is None or due_at < self.earliest_scheduled:
            self.earliest_scheduled = due_at
        self._absent.discard((task, subject_id))
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
        key = (task, subject_id)
        if key in self._absent:
            return
        self.cancelled.add(key)
        if self._driver.execute(_CANCEL, {"task": task, "subject_id": subject_id}):
            self._absent.add(key)

    def due(self, until: datetime, *, limit: int) -> list[DueItem]:
        """The earliest items due at or before `until`, in the order they are to be worked;
        other servers skip the ones locked here.

        Read many at a time: one read per item was a tenth of a renewal's statements. The
        list stays the queue's head while the work it does queues nothing earlier than its
        last item and takes none of them off (`earliest_scheduled`, `cancelled`).
        """
        statement = _DUE_POSTGRESQL if self._driver.postgresql else _DUE_SQLITE
        rows = self._driver.all(statement, {"until": self._driver.bind_time(until), "limit": limit})
        items = []
        for seq, due_at, task, subject_id in rows:
            at = self._driver.read_time(due_at)
            assert at is not None
            items.append(DueItem(seq, at, task, subject_id))
        return items

    def done(self, item: DueItem) -> bool:
        """Take the item off the queue; False when it was no longer there."""
        if self._driver.execute(_DONE, {"seq": item.seq}) != 1:
            return False
        # One item per task and subject (uq_due_work_task_subject): none is left for them.
        self._absent.add((item.task, item.subject_id))
        return True

    def count(self) -> int:
        return int(
            self._connection.execute(select(func.count()).select_from(due_work)).scalar_one()
        )
